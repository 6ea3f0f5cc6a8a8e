"""Capacity: one row per UTC day and network interface (and per NAT gateway) from the hourly tables.

    flowlake capacity --lake LAKE --start 2026-11-01T00:00:00Z --end 2026-11-02T00:00:00Z
    spark-submit jobs/capacity.py --lake ... (same arguments)

Reads traffic_hourly and nat_gateway_hourly for the window's days and the 7 days before (for the
change against the same day a week before), and replaces exactly the window's days of
capacity_daily. The window is whole UTC days. How each figure is computed:
schemas/capacity_daily/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake.contracts import conform
from flowlake.lake import table_exists, table_path, write_table_slice
from flowlake.layout import normalize_uri
from flowlake.window import Window, add_window_arguments, job_arguments, slice_predicate

log = logging.getLogger("flowlake.capacity")

TABLE = "capacity_daily"
WEEK = 7
KEYS = ("account_id", "region", "vpc_id", "resource_type", "resource_id")
# Spark's exact percentile of 24 values at 0.95: position 0.95 * 23 = 21.85 of the sorted values.
P95_LOWER, P95_FRACTION = 21, 0.85


def _hourly_interfaces(traffic_hourly: DataFrame) -> DataFrame:
    return traffic_hourly.groupBy("hour", "account_id", "region", "vpc_id", "interface_id").agg(
        F.sum("bytes").alias("bytes"), F.sum("packets").alias("packets"), F.sum("records").alias("records")
    )


def _per_resource(traffic_hourly: DataFrame, nat_gateway_hourly: DataFrame | None) -> DataFrame:
    """Per hour and resource: interfaces from traffic_hourly, NAT gateways from nat_gateway_hourly."""
    interfaces = _hourly_interfaces(traffic_hourly)
    resources = interfaces.select(
        "hour",
        "account_id",
        "region",
        "vpc_id",
        F.lit("interface").alias("resource_type"),
        F.col("interface_id").alias("resource_id"),
        "interface_id",
        "bytes",
        "packets",
        "records",
    )
    if nat_gateway_hourly is None:
        return resources
    # The gateway's VPC: the one its interface's traffic records name (the format may have none).
    vpcs = interfaces.groupBy("interface_id").agg(F.max("vpc_id").alias("vpc_id"))
    gateways = (
        nat_gateway_hourly.groupBy("hour", "account_id", "region", "nat_gateway_id", "interface_id")
        .agg(
            F.sum(F.col("bytes_in_from_source") + F.col("bytes_in_from_destination")).alias("bytes"),
            F.sum(F.col("packets_in_from_source") + F.col("packets_in_from_destination")).alias("packets"),
            F.sum("records").alias("records"),
        )
        .join(vpcs, on="interface_id", how="left")
    )
    return resources.unionByName(
        gateways.select(
            "hour",
            "account_id",
            "region",
            "vpc_id",
            F.lit("nat_gateway").alias("resource_type"),
            F.col("nat_gateway_id").alias("resource_id"),
            "interface_id",
            "bytes",
            "packets",
            "records",
        )
    )


def _p95(hourly: Column) -> Column:
    """The 0.95 percentile of a day's 24 hourly bytes, hours without traffic as 0 (Spark's exact percentile)."""
    values = F.array_sort(
        F.concat(
            F.array_repeat(F.lit(0).cast("bigint"), 24 - F.size(hourly)),
            F.transform(hourly, lambda h: F.coalesce(h.bytes, F.lit(0)).cast("bigint")),
        )
    )
    low, high = F.element_at(values, P95_LOWER + 1), F.element_at(values, P95_LOWER + 2)
    return low + (high - low) * P95_FRACTION


def daily(per_resource: DataFrame) -> DataFrame:
    """Per day and resource: totals, the peak hour (the earliest on a tie) and the p95 of hourly bytes."""
    hours = F.array_sort(
        F.collect_list(
            F.struct(
                (-F.coalesce(F.col("bytes"), F.lit(0))).alias("negative_bytes"),
                F.col("hour").alias("hour"),
                F.col("bytes").alias("bytes"),
            )
        )
    )
    return (
        per_resource.withColumn("day", F.to_date("hour"))
        .groupBy("day", *KEYS, "interface_id")
        .agg(
            F.sum("bytes").alias("bytes"),
            F.sum("packets").alias("packets"),
            F.sum("records").alias("records"),
            hours.alias("hours"),
        )
        .select(
            "day",
            *KEYS,
            "interface_id",
            "bytes",
            "packets",
            "records",
            F.size("hours").alias("active_hours"),
            F.col("hours")[0]["hour"].alias("peak_hour"),
            F.col("hours")[0]["bytes"].alias("peak_hour_bytes"),
            _p95(F.col("hours")).alias("p95_hourly_bytes"),
        )
    )


def transform(traffic_hourly: DataFrame, nat_gateway_hourly: DataFrame | None, window: Window) -> DataFrame:
    """capacity_daily rows of the window's days. The inputs hold those days' hours and the week before's."""
    days = daily(_per_resource(traffic_hourly, nat_gateway_hourly))
    week_before = days.select(
        F.date_add("day", WEEK).alias("week_later"),
        *[F.col(k).alias(f"before_{k}") for k in KEYS],
        F.col("bytes").alias("bytes_week_before"),
    )
    same = (F.col("day") == F.col("week_later")) & F.expr(
        " AND ".join(f"{k} <=> before_{k}" for k in KEYS)  # vpc_id may be NULL on both sides
    )
    in_window = (F.col("day") >= F.lit(window.start.date())) & (F.col("day") < F.lit(window.end.date()))
    compared = days.where(in_window).join(week_before, on=same, how="left")
    change = F.col("bytes") - F.col("bytes_week_before")
    return conform(
        compared.withColumn("change_bytes", change).withColumn(
            "change_share",
            F.try_divide(change.cast("double"), F.when(F.col("bytes_week_before") != 0, F.col("bytes_week_before"))),
        ),
        TABLE,
    )


def require_whole_days(window: Window) -> None:
    for name, instant in (("start", window.start), ("end", window.end)):
        if (instant.hour, instant.minute, instant.second, instant.microsecond) != (0, 0, 0, 0):
            raise ValueError(f"capacity windows are whole UTC days: {name} {instant.isoformat()} is not midnight")


def _read(spark: SparkSession, lake: str, table: str, window: Window) -> DataFrame | None:
    path = table_path(lake, table)
    if not table_exists(spark, path):
        return None
    return spark.read.format("delta").load(path).where(slice_predicate(window, "hour"))


def run_capacity(spark: SparkSession, lake: str, window: Window) -> dict:
    require_whole_days(window)
    lake = normalize_uri(lake)
    started = time.monotonic()
    reach = Window(window.start - timedelta(days=WEEK), window.end)
    traffic = _read(spark, lake, "traffic_hourly", reach)
    if traffic is None:
        raise FileNotFoundError(f"no traffic_hourly table under {lake}: run flowlake aggregate first")
    rows = transform(traffic, _read(spark, lake, "nat_gateway_hourly", reach), window)
    predicate = f"day >= DATE '{window.start.date()}' AND day < DATE '{window.end.date()}'"
    written = write_table_slice(rows, lake, TABLE, predicate)["rows"]
    summary = {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "rows": {TABLE: written},
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info("capacity done: %s", json.dumps(summary))
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    add_window_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args, window = job_arguments(parser, argv)
    try:
        require_whole_days(window)
    except ValueError as error:
        parser.error(str(error))
    summary = run_capacity(spark or get_spark("flowlake-capacity"), args.lake, window)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

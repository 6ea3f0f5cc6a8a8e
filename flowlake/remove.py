"""Remove objects' rows from the lake on purpose: the one way an operator takes rows out, logged and audited.

    flowlake remove-objects --lake LAKE --start 2026-11-01T00:00:00Z --end 2026-11-02T00:00:00Z \
        --gone-from SOURCE --reason "raw logs expired, rows re-delivered under new keys" \
        [--nat-inventory FILE] [--security-config FILE]
    flowlake remove-objects --lake LAKE --start ... --end ... --object s3a://bucket/AWSLogs/.../name.log.gz --reason ...

Ingest never removes the rows of an object it can no longer list (an expired
source must not empty the lake). This command removes the rows of the window's
objects that are gone from SOURCE, or of the objects named, from flow_logs,
flow_logs_quarantine and source_objects; appends one row per object to
object_removals (when, who, why, how many rows); and re-aggregates every hour
whose rows it removed, with the NAT inventory and security settings the hourly runs use.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import time
from datetime import UTC, datetime

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from flowlake.aggregate import add_nat_arguments
from flowlake.aggregates.nat_gateway_hourly import DEFAULT_PRICE_PER_GB
from flowlake.contracts import table_schema
from flowlake.ingest import (
    FLOW_LOGS,
    QUARANTINE,
    SOURCE_OBJECTS,
    hours_of_objects,
    object_name,
    recorded_versions,
    sql_strings,
)
from flowlake.lake import table_exists, table_path
from flowlake.layout import list_window, normalize_uri
from flowlake.run import aggregate_hours
from flowlake.security import SecurityConfig, add_security_arguments, config_of
from flowlake.window import Window, add_window_arguments, job_arguments, utc_instant
from flowlake.writers import table_writer

log = logging.getLogger("flowlake.remove")

OBJECT_REMOVALS = "object_removals"


def objects_to_remove(
    spark: SparkSession, lake: str, window: Window, gone_from: str | None, named: list[str]
) -> list[str]:
    """The recorded objects of the window that are gone from gone_from, or that are named (URI or key)."""
    recorded = recorded_versions(spark, lake, window)
    if gone_from is not None:
        listed = {object_name(o.key) for o in list_window(spark, gone_from, window.start, window.end).objects}
        return sorted(source_file for name, (source_file, _) in recorded.items() if name not in listed)
    uris = sorted(source_file for source_file, _ in recorded.values())
    unknown = [name for name in named if not any(uri == name or uri.endswith("/" + name) for uri in uris)]
    if unknown:
        raise ValueError(f"not objects of the window in source_objects: {', '.join(unknown)}")
    return [uri for uri in uris if any(uri == name or uri.endswith("/" + name) for name in named)]


def _rows_per_object(spark: SparkSession, lake: str, table: str, window: Window, uris: list[str]) -> dict[str, int]:
    path = table_path(lake, table)
    if not table_exists(spark, path):
        return {}
    rows = (
        spark.read.format("delta")
        .load(path)
        .where(window.predicate("object_time"))
        .where(F.col("source_file").isin(uris))
        .groupBy("source_file")
        .count()
        .collect()
    )
    return {row.source_file: row["count"] for row in rows}


def remove_objects(
    spark: SparkSession,
    lake: str,
    window: Window,
    uris: list[str],
    reason: str,
    removed_at: datetime,
    *,
    nat_inventory: str | None = None,
    nat_price_per_gb: float = DEFAULT_PRICE_PER_GB,
    security: SecurityConfig | None = None,
) -> dict:
    """Deletes the objects' rows from the three ingest tables, audits them, and re-aggregates their hours (with
    the inventory and settings the hourly runs use)."""
    lake = normalize_uri(lake)
    started = time.monotonic()
    if not uris:
        log.info("no objects to remove in [%s, %s)", window.start.isoformat(), window.end.isoformat())
        return {"window_start": window.start.isoformat(), "window_end": window.end.isoformat(), "objects_removed": 0}
    hours = hours_of_objects(spark, lake, window, uris)
    records = _rows_per_object(spark, lake, FLOW_LOGS, window, uris)
    quarantined = _rows_per_object(spark, lake, QUARANTINE, window, uris)
    object_times = {
        row.source_file: row.object_time_s
        for row in spark.read.format("delta")
        .load(table_path(lake, SOURCE_OBJECTS))
        .where(F.col("source_file").isin(uris))
        .select("source_file", F.unix_seconds("object_time").alias("object_time_s"))
        .collect()
    }
    removed_by = getpass.getuser()
    audit = spark.createDataFrame(
        [
            (
                utc_instant(removed_at),
                removed_by,
                reason,
                uri,
                datetime.fromtimestamp(object_times[uri], UTC),
                records.get(uri, 0),
                quarantined.get(uri, 0),
            )
            for uri in uris
        ],
        table_schema(OBJECT_REMOVALS).struct(),
    )
    # The audit row first: a removal interrupted after it is seen, and re-running it completes it.
    with table_writer(spark, table_path(lake, OBJECT_REMOVALS)):
        audit.write.format("delta").mode("append").save(table_path(lake, OBJECT_REMOVALS))
    predicate = f"{window.predicate('object_time')} AND source_file IN ({sql_strings(uris)})"
    for table in (FLOW_LOGS, QUARANTINE, SOURCE_OBJECTS):
        path = table_path(lake, table)
        if table_exists(spark, path):
            with table_writer(spark, path):
                DeltaTable.forPath(spark, path).delete(predicate)
    for uri in uris:
        log.warning(
            "removed %s on purpose by %s (%s): %d records, %d quarantined lines",
            uri,
            removed_by,
            reason,
            records.get(uri, 0),
            quarantined.get(uri, 0),
        )
    hours_touched = [datetime.fromtimestamp(hour, UTC).isoformat() for hour in sorted(hours)]
    aggregated = aggregate_hours(spark, lake, hours_touched, nat_inventory, nat_price_per_gb, security)
    return {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "objects_removed": len(uris),
        "records_removed": sum(records.values()),
        "lines_quarantined_removed": sum(quarantined.values()),
        "removed_by": removed_by,
        "reason": reason,
        "hours_reaggregated": hours_touched,
        "aggregate": aggregated,
        "seconds": round(time.monotonic() - started, 2),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake remove-objects", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    add_window_arguments(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--gone-from", metavar="SOURCE", help="remove the window's objects that SOURCE no longer has")
    which.add_argument("--object", action="append", default=[], help="an object's URI or key (repeatable)")
    parser.add_argument("--reason", required=True, help="why: kept in object_removals and the log")
    add_nat_arguments(parser)
    add_security_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args, window = job_arguments(parser, argv)
    if not args.reason.strip():
        parser.error("--reason must say why")
    security = config_of(parser, args)
    spark = spark or get_spark("flowlake-remove-objects")
    lake = normalize_uri(args.lake)
    try:
        uris = objects_to_remove(spark, lake, window, args.gone_from, args.object)
    except ValueError as error:
        parser.error(str(error))
    summary = remove_objects(
        spark,
        lake,
        window,
        uris,
        args.reason,
        datetime.now(UTC),
        nat_inventory=args.nat_inventory,
        nat_price_per_gb=args.nat_price_per_gb,
        security=security,
    )
    log.info("remove-objects done: %s", json.dumps(summary))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

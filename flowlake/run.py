"""Run: ingest a window, then aggregate every hour it touched, in one Spark session.

    flowlake run --source SOURCE --lake LAKE --start 2026-11-01T10:00:00Z --end 2026-11-01T11:00:00Z \
        [--nat-inventory FILE] [--nat-price-per-gb 0.045]
    spark-submit jobs/run.py --source ... (same arguments)

Ingest owns the objects whose name timestamp is in the window, and each record
lands in the hour of its own start, which can be before the window: a record
starting at 10:58 delivered in an object named 11:05 belongs to hour 10. So the
hours aggregated are the window's, widened to whole hours, plus every hour the
ingest wrote records into.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from flowlake import pending
from flowlake.aggregate import add_nat_arguments, run_aggregate
from flowlake.aggregates.nat_gateway_hourly import DEFAULT_PRICE_PER_GB
from flowlake.ingest import build_parser as add_ingest_arguments
from flowlake.ingest import run_ingest
from flowlake.security import SecurityConfig, add_security_arguments, config_of
from flowlake.window import HOUR, Window, hour_of, job_arguments, parse_utc

log = logging.getLogger("flowlake.run")


def aggregate_windows(window: Window, hours_touched: list[str]) -> list[Window]:
    """Whole-hour windows covering the window's hours and the touched ones, adjacent hours merged."""
    hours = {hour_of(parse_utc(hour)) for hour in hours_touched}
    hour = hour_of(window.start)
    while hour < window.end:
        hours.add(hour)
        hour += HOUR
    windows: list[Window] = []
    for hour in sorted(hours):
        if windows and windows[-1].end == hour:
            windows[-1] = Window(windows[-1].start, hour + HOUR)
        else:
            windows.append(Window(hour, hour + HOUR))
    return windows


def with_owed(hours_touched: list[str], owed: list[datetime]) -> list[str]:
    """The hours the ingest touched and the pending ones, as sorted ISO instants."""
    return sorted({*hours_touched, *(hour.isoformat() for hour in owed)})


def aggregate_hours(
    spark: SparkSession,
    lake: str,
    hours_touched: list[str],
    nat_inventory: str | None = None,
    nat_price_per_gb: float = DEFAULT_PRICE_PER_GB,
    security: SecurityConfig | None = None,
) -> list[dict]:
    """Re-aggregates exactly the hours touched (adjacent ones in one window), with the hourly runs' inventory
    and settings: an hour re-aggregated from another inventory gets other NAT figures, or none."""
    if not hours_touched:
        return []
    first = hour_of(parse_utc(hours_touched[0]))
    return [
        run_aggregate(spark, lake, hours, nat_inventory, nat_price_per_gb=nat_price_per_gb, security=security)
        for hours in aggregate_windows(Window(first, first + HOUR), hours_touched)
    ]


def run_pipeline(
    spark: SparkSession,
    source: str,
    lake: str,
    window: Window,
    nat_inventory: str | None = None,
    *,
    ingested_at: datetime,
    nat_price_per_gb: float = DEFAULT_PRICE_PER_GB,
    security: SecurityConfig | None = None,
    aggregated_window: Window | None = None,
) -> dict:
    """Ingests the window's objects, then aggregates the hours of aggregated_window (default: the window), every
    hour the ingest touched and every hour a run before left pending (flowlake.pending: it failed after its
    ingest). The hourly job ingests hours before its own (lookback, catch-up) but aggregates only its hour and
    those: an hour nothing was added to keeps its figures, even when retention has since removed its records."""
    started = time.monotonic()
    ingested = run_ingest(spark, source, lake, window, ingested_at, note_pending=True)
    with pending.paying(spark, lake, pending.AGGREGATE) as owed:
        aggregated = [
            run_aggregate(spark, lake, hours, nat_inventory, nat_price_per_gb=nat_price_per_gb, security=security)
            for hours in aggregate_windows(aggregated_window or window, with_owed(ingested["hours_touched"], owed))
        ]
    summary = {"ingest": ingested, "aggregate": aggregated, "seconds": round(time.monotonic() - started, 2)}
    log.info("run done: %s", json.dumps(summary))
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake run", description=__doc__.split("\n\n")[0])
    add_ingest_arguments(parser)
    add_nat_arguments(parser)
    add_security_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args, window = job_arguments(parser, argv)
    security = config_of(parser, args)
    spark = spark or get_spark("flowlake-run")
    summary = run_pipeline(
        spark,
        args.source,
        args.lake,
        window,
        args.nat_inventory,
        ingested_at=datetime.now(UTC),
        nat_price_per_gb=args.nat_price_per_gb,
        security=security,
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

"""Hourly: one hour's whole run in one Spark session, as the hourly DAG runs it (one JVM start, not three).

    flowlake hourly --source SOURCE --lake LAKE --start 2026-11-01T10:00:00Z --end 2026-11-01T11:00:00Z \
        [--lookback-hours 2] [--catch-up-from END_OF_LAST_RUN] [--run-id ID] [--nat-inventory FILE] \
        [--data-docs DIR] [--param NAME=VALUE ...]
    spark-submit jobs/hourly.py --source ... (same arguments)

1. ingests the objects named in the window and in the lookback hours before it,
   so objects delivered late are picked up, and in the hours since the end of the
   last successful run (--catch-up-from), so an outage leaves no hour behind;
2. re-aggregates the window's hours and every hour whose records the ingest
   changed (see flowlake.run);
3. validates the window, from the hour of the first corrupt object it read (one delivered late is
   validated once, not never), and alerts as `flowlake validate` does.

What steps 2 and 3 owe the lake is noted in it before the ingest records its objects as read
(flowlake.pending): a run that fails after its ingest leaves those hours to its retry, or to the
next run, which aggregates and validates them too.

Exits 1 when a critical expectation fails (the tables are written all the same),
else 0. Every step replaces exactly its slice, so a rerun gives the same tables.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from pyspark.sql import SparkSession

from flowlake import pending
from flowlake.aggregate import add_nat_arguments
from flowlake.ingest import build_parser as add_ingest_arguments
from flowlake.run import run_pipeline
from flowlake.security import add_security_arguments, config_of
from flowlake.validate import add_validation_arguments, checked_thresholds, validate_and_alert
from flowlake.window import Window, job_arguments, parse_utc

DEFAULT_LOOKBACK_HOURS = 2
# After an outage, the hours since the last successful run are ingested too, this many at most.
DEFAULT_MAX_CATCH_UP_HOURS = 168


def ingest_window(
    window: Window, lookback_hours: int, catch_up_from: datetime | None = None, max_catch_up_hours: int = 0
) -> Window:
    """The window, the lookback hours before it, and the hours since catch_up_from (the end of the last
    successful run) up to max_catch_up_hours before the window."""
    start = window.start
    if catch_up_from is not None:
        start = max(min(start, catch_up_from), window.start - timedelta(hours=max_catch_up_hours))
    return Window(start - timedelta(hours=lookback_hours), window.end)


def validated_window(window: Window, ingested: dict, owed: list[datetime]) -> Window:
    """The window, from the hour of the first corrupt object the ingest read, or of the first hour owed (a run
    that read a corrupt object failed before validating it, or a sweep read one): one delivered late (read by
    the lookback, a catch-up or a sweep) is validated, and alerted, once."""
    corrupt = [parse_utc(hour) for hour in ingested["corrupt_object_hours"]]
    return Window(min([window.start, *corrupt, *owed]), window.end)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake hourly", description=__doc__.split("\n\n")[0])
    add_ingest_arguments(parser)
    parser.add_argument(
        "--lookback-hours",
        type=int,
        default=DEFAULT_LOOKBACK_HOURS,
        help=f"hours before the window whose objects are ingested again, for late deliveries (default {DEFAULT_LOOKBACK_HOURS})",
    )
    parser.add_argument(
        "--catch-up-from",
        type=parse_utc,
        help="the end of the last successful run: the hours since are ingested too (Airflow passes it after an outage)",
    )
    parser.add_argument(
        "--max-catch-up-hours",
        type=int,
        default=DEFAULT_MAX_CATCH_UP_HOURS,
        help=f"at most this many hours before the window are caught up (default {DEFAULT_MAX_CATCH_UP_HOURS}); "
        "older gaps are for a backfill",
    )
    add_nat_arguments(parser)
    add_security_arguments(parser)
    add_validation_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args, window = job_arguments(parser, argv, whole_hours=True)
    for option, hours in (("--lookback-hours", args.lookback_hours), ("--max-catch-up-hours", args.max_catch_up_hours)):
        if hours < 0:
            parser.error(f"{option} must not be negative")
    thresholds = checked_thresholds(parser, args)
    security = config_of(parser, args)
    spark = spark or get_spark("flowlake-hourly")
    started_at = datetime.now(UTC)
    summary = run_pipeline(
        spark,
        args.source,
        args.lake,
        ingest_window(window, args.lookback_hours, args.catch_up_from, args.max_catch_up_hours),
        args.nat_inventory,
        ingested_at=started_at,
        nat_price_per_gb=args.nat_price_per_gb,
        security=security,
        aggregated_window=window,
    )
    with pending.paying(spark, args.lake, pending.VALIDATE, before=window.end) as owed:
        validated = validated_window(window, summary["ingest"], owed)
        summary["validate"] = validate_and_alert(spark, args, validated, thresholds, started_at)
    summary["exit_code"] = summary["validate"]["exit_code"]
    print(json.dumps(summary))
    return summary["exit_code"]

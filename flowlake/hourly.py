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
   validated once, not never), or from the first hour caught up that no run validated yet (dq_results
   says which: an hour caught up is validated once, not on every run until one succeeds), and alerts as
   `flowlake validate` does.

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
from pyspark.sql import functions as F

from flowlake import pending
from flowlake.aggregate import add_nat_arguments
from flowlake.ingest import build_parser as add_ingest_arguments
from flowlake.lake import read_pinned, table_path
from flowlake.run import run_pipeline
from flowlake.security import add_security_arguments, config_of
from flowlake.validate import DQ_RESULTS, add_validation_arguments, checked_thresholds, validate_and_alert
from flowlake.window import HOUR, Window, hour_of, job_arguments, parse_utc, timestamp_literal

DEFAULT_LOOKBACK_HOURS = 2
# After an outage, the hours since the last successful run are ingested too, this many at most.
DEFAULT_MAX_CATCH_UP_HOURS = 168


def catch_up_start(window: Window, catch_up_from: datetime | None, max_catch_up_hours: int) -> datetime:
    """catch_up_from (the end of the last successful run), at most max_catch_up_hours before the window; the
    window's start when there is nothing to catch up."""
    if catch_up_from is None:
        return window.start
    return max(min(window.start, catch_up_from), window.start - timedelta(hours=max_catch_up_hours))


def ingest_window(
    window: Window, lookback_hours: int, catch_up_from: datetime | None = None, max_catch_up_hours: int = 0
) -> Window:
    """The window, the lookback hours before it, and the hours since catch_up_from (the end of the last
    successful run) up to max_catch_up_hours before the window."""
    start = catch_up_start(window, catch_up_from, max_catch_up_hours)
    return Window(start - timedelta(hours=lookback_hours), window.end)


def catch_up_hours(window: Window, catch_up_from: datetime | None, max_catch_up_hours: int) -> list[datetime]:
    """The hours ingest_window catches up before the window, from the hour catch_up_from falls in (one given by
    hand need not be on the hour): none for a run that follows a successful one."""
    start = hour_of(catch_up_start(window, catch_up_from, max_catch_up_hours))
    return [start + n * HOUR for n in range((window.start - start) // HOUR)]


def first_unvalidated_hour(hours: list[datetime], validated: list[Window]) -> datetime | None:
    """The first of the hours that no validated window holds whole; None when every one is validated."""
    return next((hour for hour in hours if not any(w.start <= hour and hour + HOUR <= w.end for w in validated)), None)


def validated_windows(spark: SparkSession, lake: str, catch_up: Window) -> list[Window]:
    """The windows validate runs validated that overlap catch_up, from dq_results as of now (none without it)."""
    results = read_pinned(spark, table_path(lake, DQ_RESULTS))
    if results is None:
        return []
    overlapping = results.where(
        (F.col("window_start") < timestamp_literal(catch_up.end))
        & (F.col("window_end") > timestamp_literal(catch_up.start))
    )
    # Seconds since 1970 (validated windows are whole hours): Python would read timestamps in the host's zone.
    bounds = overlapping.select(*[F.unix_seconds(c).alias(c) for c in ("window_start", "window_end")]).distinct()
    return [
        Window(datetime.fromtimestamp(row.window_start, UTC), datetime.fromtimestamp(row.window_end, UTC))
        for row in bounds.collect()
    ]


def first_unvalidated_catch_up_hour(
    spark: SparkSession, lake: str, window: Window, catch_up_from: datetime | None, max_catch_up_hours: int
) -> datetime | None:
    """The first hour caught up that no validate run validated; None when all were, or nothing is caught up (a
    run after a successful one, which reads nothing for it). catch_up_from stays where it was while runs fail,
    so validating every hour since would alert a failed hour again on every run, over a growing window."""
    hours = catch_up_hours(window, catch_up_from, max_catch_up_hours)
    if not hours:
        return None
    return first_unvalidated_hour(hours, validated_windows(spark, lake, Window(hours[0], window.start)))


def validated_window(
    window: Window, ingested: dict, owed: list[datetime], unvalidated_catch_up: datetime | None = None
) -> Window:
    """The window, from the hour of the first corrupt object the ingest read, of the first hour owed (a run
    that read a corrupt object failed before validating it, or a sweep read one), or of the first hour caught
    up that no run validated: one delivered late (read by the lookback, a catch-up or a sweep), or caught up
    after an outage, is validated, and alerted, once."""
    corrupt = [parse_utc(hour) for hour in ingested["corrupt_object_hours"]]
    caught_up = [] if unvalidated_catch_up is None else [unvalidated_catch_up]
    return Window(min([window.start, *corrupt, *owed, *caught_up]), window.end)


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
    unvalidated_catch_up = first_unvalidated_catch_up_hour(
        spark, args.lake, window, args.catch_up_from, args.max_catch_up_hours
    )
    with pending.paying(spark, args.lake, pending.VALIDATE, before=window.end) as owed:
        validated = validated_window(window, summary["ingest"], owed, unvalidated_catch_up)
        summary["validate"] = validate_and_alert(spark, args, validated, thresholds, started_at)
    summary["exit_code"] = summary["validate"]["exit_code"]
    print(json.dumps(summary))
    return summary["exit_code"]

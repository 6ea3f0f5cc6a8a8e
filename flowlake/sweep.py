"""Sweep: ingest whatever the bucket holds for the last N days that the lake does not, and re-aggregate those hours.

    flowlake sweep --source SOURCE --lake LAKE --end 2026-11-30T00:00:00Z [--days 7] [--nat-inventory FILE] [--security-config FILE]
    spark-submit jobs/sweep.py --source ... (same arguments)

The hourly runs read each hour plus a short lookback: an object delivered later
than that, or an hour an outage left behind, would be missed. Ingest reads only
the objects that source_objects does not hold (or holds in another version), so
a run over the last N days is exactly the comparison of the bucket with
source_objects: it reads what was missed, and nothing else. The maintenance DAG
runs it daily; the run names what it found.
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime, timedelta

from pyspark.sql import SparkSession

from flowlake import pending
from flowlake.aggregate import add_nat_arguments
from flowlake.ingest import run_ingest
from flowlake.run import aggregate_hours, with_owed
from flowlake.security import SecurityConfig, add_security_arguments, config_of
from flowlake.window import Window, configure_logging, parse_utc, require_whole_hours

log = logging.getLogger("flowlake.sweep")

DEFAULT_DAYS = 7


def sweep_window(end: datetime, days: int) -> Window:
    window = Window(end - timedelta(days=days), end)
    require_whole_hours(window)
    return window


def run_sweep(
    spark: SparkSession,
    source: str,
    lake: str,
    window: Window,
    nat_inventory: str | None,
    *,
    ingested_at: datetime,
    nat_price_per_gb: float,
    security: SecurityConfig | None = None,
) -> dict:
    """Ingests the window (only what the lake lacks is read) and re-aggregates only the hours that changed."""
    ingested = run_ingest(spark, source, lake, window, ingested_at, note_pending=True)
    with pending.paying(spark, lake, pending.AGGREGATE) as owed:
        hours = with_owed(ingested["hours_touched"], owed)
        aggregated = aggregate_hours(spark, lake, hours, nat_inventory, nat_price_per_gb, security)
    summary = {"ingest": ingested, "aggregate": aggregated}
    missed = ingested["objects_read"]
    if missed:
        log.warning(
            "sweep of [%s, %s): %d objects no run had ingested (or changed since), now read; hours re-aggregated: %s",
            window.start.isoformat(),
            window.end.isoformat(),
            missed,
            ", ".join(ingested["hours_touched"]),
        )
    summary["missed_objects"] = missed
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="local folder or s3a://bucket/prefix (s3:// accepted)")
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix for the Delta tables")
    parser.add_argument("--end", required=True, type=parse_utc, help="end of the swept days, UTC, exclusive (ISO 8601)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"days before --end (default {DEFAULT_DAYS})")
    add_nat_arguments(parser)
    add_security_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging()
    if args.days < 1:
        parser.error("--days must be at least 1")
    try:
        window = sweep_window(args.end, args.days)
    except ValueError as error:
        parser.error(str(error))
    security = config_of(parser, args)
    spark = spark or get_spark("flowlake-sweep")
    summary = run_sweep(
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

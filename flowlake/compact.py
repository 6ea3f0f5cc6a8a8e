"""Compact: OPTIMIZE every Delta table under the lake, then VACUUM with a safe retention.

    flowlake compact --lake LAKE [--retention-hours 168]

Retention below 7 days is refused: a reader or a concurrent writer may still
need files that an aggressive vacuum deletes.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from pyspark.sql import SparkSession

from flowlake.lake import lake_tables
from flowlake.window import configure_logging
from flowlake.writers import table_writer

log = logging.getLogger("flowlake.compact")

MIN_RETENTION_HOURS = 168


def compact_table(spark: SparkSession, path: str, retention_hours: int) -> dict:
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, path)
    started = time.monotonic()
    with table_writer(spark, path):
        metrics = table.optimize().executeCompaction().select("metrics.numFilesAdded", "metrics.numFilesRemoved")
        metrics = metrics.first()
        table.vacuum(retention_hours)
    return {
        "table": path,
        "files_added": int(metrics.numFilesAdded or 0),
        "files_removed": int(metrics.numFilesRemoved or 0),
        "seconds": round(time.monotonic() - started, 2),
    }


def run_compact(spark: SparkSession, lake: str, retention_hours: int) -> list[dict]:
    """Compacts every Delta table under the lake, whichever job wrote it."""
    if retention_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"retention of {retention_hours} h is below the safe minimum of {MIN_RETENTION_HOURS} h")
    results = []
    for path in lake_tables(spark, lake).values():
        results.append(compact_table(spark, path, retention_hours))
        log.info("compacted %s", json.dumps(results[-1]))
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake compact", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    parser.add_argument("--retention-hours", type=int, default=MIN_RETENTION_HOURS, help="vacuum retention (>= 168)")
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> list[dict]:
    from flowlake.spark_session import get_spark

    args = build_parser().parse_args(argv)
    configure_logging()
    results = run_compact(spark or get_spark("flowlake-compact"), args.lake, args.retention_hours)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()

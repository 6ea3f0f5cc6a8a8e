"""Compact: OPTIMIZE every Delta table under the lake (its files under 1 MiB), then VACUUM with a safe retention.

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
from flowlake.progress import spark_progress
from flowlake.spark_session import session_settings
from flowlake.window import configure_logging
from flowlake.writers import table_writer

log = logging.getLogger("flowlake.compact")

MIN_RETENTION_HOURS = 168
# The runs write each table's files by span of time: an hourly run's files hold its hours, flow_logs' hold spans of
# hours (each object's records in time order). OPTIMIZE would bin every file under 1 GB with the others of its
# partition in no order of time, with the whole table's when it has no partitions. A query of one hour then reads
# the whole day: the benchmark's day, one interface in one hour, 145x faster than the raw objects before, 53x after.
# And source_objects was rewritten whole every day, and read whole by every ingest's lookup of its window: 60 days
# of 100 flow logs, 2.8 GB written by the daily compactions against 94 MB; a year of them, 1.0-4.4 s per lookup
# against 0.6 s. Files this large are left as they are. Smaller ones are merged: those written since the last
# compaction (an hourly run's, late objects'), small and near in time.
SMALL_FILE_BYTES = 1024 * 1024
MIN_FILE_SIZE = "spark.databricks.delta.optimize.minFileSize"


def compact_table(spark: SparkSession, path: str, retention_hours: int) -> dict:
    """OPTIMIZE of the files under SMALL_FILE_BYTES, then VACUUM."""
    from delta.tables import DeltaTable

    table = DeltaTable.forPath(spark, path)
    started = time.monotonic()
    small_files = {MIN_FILE_SIZE: str(SMALL_FILE_BYTES)}
    with table_writer(spark, path), spark_progress(spark, f"compact: {path}"), session_settings(spark, small_files):
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
    results, failed = [], {}
    for path in lake_tables(spark, lake).values():
        # One table that cannot be compacted (its lease held, a broken log) leaves the others compacted and
        # vacuumed all the same, erased data included; the run fails after them, naming it.
        try:
            results.append(compact_table(spark, path, retention_hours))
        except Exception as error:  # noqa: BLE001 - py4j and Delta errors alike; raised below with the table
            failed[path] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            log.error("could not compact %s: %s", path, failed[path])
            continue
        log.info("compacted %s", json.dumps(results[-1]))
    if failed:
        raise CompactionError(
            f"{len(failed)} of {len(failed) + len(results)} tables not compacted: "
            + "; ".join(f"{path} ({error})" for path, error in failed.items())
        )
    return results


class CompactionError(RuntimeError):
    """Some tables could not be compacted; the others were."""


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

"""Ingest: flow-log objects of a window -> flow_logs, flow_logs_quarantine, source_objects.

A window [start, end) owns the objects whose name timestamp falls in it. A run
replaces exactly the rows of those objects in all three tables, so re-running a
window, in any order and any number of times, leaves the same tables, and an
object delivered late is picked up when its window runs again. Each record
lands in the UTC hour of its own start, whichever object carried it.

    flowlake ingest --source SOURCE --lake LAKE --start 2026-11-01T10:00:00Z --end 2026-11-01T12:00:00Z
    spark-submit jobs/ingest.py --source ... (same arguments)
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import UTC, datetime

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake import parse
from flowlake.contracts import conform
from flowlake.lake import write_table_slice
from flowlake.layout import Listing, list_window, normalize_uri
from flowlake.window import Window, add_window_arguments, job_arguments, timestamp_literal

log = logging.getLogger("flowlake.ingest")

FLOW_LOGS = "flow_logs"
QUARANTINE = "flow_logs_quarantine"
SOURCE_OBJECTS = "source_objects"
BINARY_FILE_SCHEMA = "path string, modificationTime timestamp, length bigint, content binary"


def read_objects(spark: SparkSession, listing: Listing) -> DataFrame:
    """The listed objects' bytes, one row per object (gzip is not splittable anyway)."""
    if not listing.objects:
        return spark.createDataFrame([], BINARY_FILE_SCHEMA)
    return spark.read.format("binaryFile").load([o.uri for o in listing.objects])


def parse_objects(objects: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(records, outcomes) of binaryFile rows, each object parsed by its own header (or Parquet schema).

    Two parses of the same bytes: parsing again for the few outcome rows
    (quarantined lines, one row per object) costs less than holding every
    record in a cache until the small tables are written.
    """
    objects = objects.select("path", "length", "content")
    records = objects.mapInArrow(parse.record_batches, _spark_schema(parse.record_schema()))
    outcomes = objects.mapInArrow(parse.outcome_batches, _spark_schema(parse.outcome_schema()))
    return records, outcomes


def transform(records: DataFrame, outcomes: DataFrame, root: str, ingested_at: datetime) -> dict[str, DataFrame]:
    """The rows of the three tables."""
    return {
        FLOW_LOGS: flow_log_rows(records),
        QUARANTINE: quarantine_rows(outcomes),
        SOURCE_OBJECTS: source_object_rows(outcomes, root, ingested_at),
    }


def _spark_schema(schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def flow_log_rows(records: DataFrame) -> DataFrame:
    event_time = F.coalesce(F.timestamp_seconds("start"), F.col("object_time"))
    return conform(
        records.withColumn("account_id", F.coalesce("account_id", "key_account_id"))
        .withColumn("region", F.coalesce("region", "key_region"))
        .withColumn("event_time", event_time)
        .withColumn("event_date", F.to_date(event_time)),
        FLOW_LOGS,
    )


def quarantine_rows(outcomes: DataFrame) -> DataFrame:
    rows = outcomes.where(F.col("row_kind") == parse.ROW_QUARANTINE)
    return conform(
        rows.withColumn("account_id", F.col("key_account_id")).withColumn("region", F.col("key_region")),
        QUARANTINE,
    )


def source_object_rows(outcomes: DataFrame, root: str, ingested_at: datetime) -> DataFrame:
    rows = outcomes.where(F.col("row_kind") == parse.ROW_OBJECT)
    return conform(
        rows.withColumn("object_key", F.expr(f"substring(source_file, {len(root) + 2})"))
        .withColumn("account_id", F.col("key_account_id"))
        .withColumn("region", F.col("key_region"))
        .withColumn("ingested_at", timestamp_literal(ingested_at)),
        SOURCE_OBJECTS,
    )


def write(tables: dict[str, DataFrame], lake: str, window: Window) -> dict[str, dict]:
    """Replaces the window's slice of each table; source_objects last, as the run's record.

    Returns what was observed while writing: the hours of the records and the objects' totals.
    """
    observe = {
        # Epoch seconds, not timestamps: Python would read those in its own local zone.
        FLOW_LOGS: {"hours": F.sort_array(F.collect_set(F.unix_seconds(F.date_trunc("hour", "event_time"))))},
        SOURCE_OBJECTS: {
            "lines_read": F.coalesce(F.sum("lines_read"), F.lit(0)),
            "records_written": F.coalesce(F.sum("records_written"), F.lit(0)),
            "lines_quarantined": F.coalesce(F.sum("lines_quarantined"), F.lit(0)),
            "corrupt_objects": F.count(F.when(F.col("status") == parse.STATUS_CORRUPT, 1)),
        },
    }
    written = {}
    for table in (FLOW_LOGS, QUARANTINE, SOURCE_OBJECTS):
        started = time.monotonic()
        written[table] = write_table_slice(
            tables[table], lake, table, window.predicate("object_time"), metrics=observe.get(table)
        )
        log.info("wrote %s in %.1fs", table, time.monotonic() - started)
    return written


def run_ingest(spark: SparkSession, source: str, lake: str, window: Window, ingested_at: datetime) -> dict:
    lake = normalize_uri(lake)
    started = time.monotonic()
    listing = list_window(spark, source, window.start, window.end)
    log.info(
        "window [%s, %s): %d flow-log objects (%d bytes), %d other objects skipped, listed in %.1fs",
        window.start.isoformat(),
        window.end.isoformat(),
        len(listing.objects),
        sum(o.size_bytes for o in listing.objects),
        len(listing.skipped),
        time.monotonic() - started,
    )
    records, outcomes = parse_objects(read_objects(spark, listing))
    # Outcome rows are few and feed two tables: parse them once.
    outcomes = outcomes.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        written = write(transform(records, outcomes, listing.root, ingested_at), lake, window)
    finally:
        outcomes.unpersist()
    objects = written[SOURCE_OBJECTS]
    summary = {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "objects": objects["rows"],
        **{name: objects[name] for name in ("lines_read", "records_written", "lines_quarantined", "corrupt_objects")},
        "skipped_objects": len(listing.skipped),
        "hours_touched": [datetime.fromtimestamp(hour, UTC).isoformat() for hour in written[FLOW_LOGS]["hours"]],
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info("ingest done: %s", json.dumps(summary))
    return summary


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="flowlake ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="local folder or s3a://bucket/prefix (s3:// accepted)")
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix for the Delta tables")
    add_window_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    args, window = job_arguments(build_parser(), argv)
    spark = spark or get_spark("flowlake-ingest")
    summary = run_ingest(spark, args.source, args.lake, window, datetime.now(UTC))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

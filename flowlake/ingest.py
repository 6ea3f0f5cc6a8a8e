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

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from flowlake import parse
from flowlake.contracts import conform, table_schema
from flowlake.lake import write_table_slice
from flowlake.layout import list_window, normalize_uri, parse_object_name
from flowlake.window import Window, add_window_arguments, job_arguments, utc_instant

log = logging.getLogger("flowlake.ingest")

FLOW_LOGS = "flow_logs"
QUARANTINE = "flow_logs_quarantine"
SOURCE_OBJECTS = "source_objects"
BINARY_FILE_SCHEMA = "path string, modificationTime timestamp, length bigint, content binary"


def read_objects(spark: SparkSession, uris: list[str]) -> DataFrame:
    """The objects' bytes, one row per object (gzip is not splittable anyway)."""
    if not uris:
        return spark.createDataFrame([], BINARY_FILE_SCHEMA)
    return spark.read.format("binaryFile").load(uris)


def parse_objects(objects: DataFrame, rows_of_objects) -> DataFrame:
    """binaryFile rows parsed, each object by its own header (or Parquet schema), into parsed_schema rows.

    rows_of_objects: parse.records_and_objects, or parse.quarantine_and_objects.
    """
    return objects.select("path", "length", "content").mapInArrow(rows_of_objects, _spark_schema(parse.parsed_schema()))


def _spark_schema(schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _of_kind(parsed: DataFrame, kind: str) -> DataFrame:
    return parsed.where(F.col("row_kind") == kind)


def flow_log_rows(parsed: DataFrame) -> DataFrame:
    """The records: the parser has already made them flow_logs rows."""
    return conform(_of_kind(parsed, parse.ROW_RECORD), FLOW_LOGS)


def quarantine_rows(parsed: DataFrame) -> DataFrame:
    return conform(_of_kind(parsed, parse.ROW_QUARANTINE), QUARANTINE)


# What is kept of each object row while the records are written: source_objects is built from it.
OBJECT_SUMMARY = (
    "source_file",
    "file_format",
    "log_format",
    "size_bytes",
    "lines_read",
    "records_written",
    "lines_quarantined",
    "status",
)


def object_summaries() -> Column:
    """An aggregate over parsed rows: each object row's summary, to observe while the records are written."""
    summary = F.struct(*OBJECT_SUMMARY)
    return F.collect_list(F.when(F.col("row_kind") == parse.ROW_OBJECT, summary)).alias("objects")


def source_object_frame(spark: SparkSession, summaries: list[dict], root: str, ingested_at: datetime) -> DataFrame:
    """source_objects rows of the objects' summaries; the rest of a row follows from the object's name."""
    rows = []
    for summary in summaries:
        name = parse_object_name(summary["source_file"].rsplit("/", 1)[-1])
        rows.append(
            {
                **summary,
                "object_key": summary["source_file"][len(root) + 1 :],
                "object_time": name["object_time"],
                "account_id": name["account_id"],
                "region": name["region"],
                "flow_log_id": name["flow_log_id"],
                "ingested_at": utc_instant(ingested_at),
            }
        )
    schema = table_schema(SOURCE_OBJECTS)
    return spark.createDataFrame([tuple(row[c] for c in schema.column_names) for row in rows], schema.struct())


def write_records(parsed: DataFrame, lake: str, window: Window) -> tuple[dict, list[dict]]:
    """Replaces the window's flow_logs rows with the parsed records; returns what the write observed
    (rows, hours as epoch seconds) and the summary of every object parsed."""
    objects = Observation()
    started = time.monotonic()
    written = write_table_slice(
        flow_log_rows(parsed.observe(objects, object_summaries())),
        lake,
        FLOW_LOGS,
        window.predicate("object_time"),
        # Epoch seconds, not timestamps: Python would read those in its own local zone.
        metrics={"hours": F.sort_array(F.collect_set(F.unix_seconds(F.date_trunc("hour", "event_time"))))},
    )
    summaries = [row.asDict() for row in objects.get["objects"]]
    log.info(
        "wrote %d records of %d objects to %s in %.1fs",
        written["rows"],
        len(summaries),
        FLOW_LOGS,
        time.monotonic() - started,
    )
    return written, summaries


def write_quarantine(spark: SparkSession, summaries: list[dict], lake: str, window: Window) -> int:
    """Replaces the window's quarantine rows: the objects with bad lines (or none at all) are parsed again
    for them, the others need not be."""
    started = time.monotonic()
    faulty = [s["source_file"] for s in summaries if s["lines_quarantined"]]
    parsed = parse_objects(read_objects(spark, faulty), parse.quarantine_and_objects)
    rows = write_table_slice(quarantine_rows(parsed), lake, QUARANTINE, window.predicate("object_time"))["rows"]
    log.info("wrote %d lines of %d objects to %s in %.1fs", rows, len(faulty), QUARANTINE, time.monotonic() - started)
    return rows


def write_source_objects(
    spark: SparkSession, summaries: list[dict], root: str, lake: str, window: Window, ingested_at: datetime
) -> None:
    """Written last: the record of what the run read, once the rows read from it are committed."""
    started = time.monotonic()
    frame = source_object_frame(spark, summaries, root, ingested_at)
    write_table_slice(frame, lake, SOURCE_OBJECTS, window.predicate("object_time"))
    log.info("wrote %d objects to %s in %.1fs", len(summaries), SOURCE_OBJECTS, time.monotonic() - started)


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
    parsed = parse_objects(read_objects(spark, [o.uri for o in listing.objects]), parse.records_and_objects)
    written, summaries = write_records(parsed, lake, window)
    write_quarantine(spark, summaries, lake, window)
    write_source_objects(spark, summaries, listing.root, lake, window, ingested_at)
    summary = {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "objects": len(summaries),
        **{
            name: sum(s[name] or 0 for s in summaries)
            for name in ("lines_read", "records_written", "lines_quarantined")
        },
        "corrupt_objects": sum(s["status"] == parse.STATUS_CORRUPT for s in summaries),
        "skipped_objects": len(listing.skipped),
        "hours_touched": [datetime.fromtimestamp(hour, UTC).isoformat() for hour in written["hours"]],
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

"""Ingest: flow-log objects of a window -> flow_logs, flow_logs_quarantine, source_objects.

A window [start, end) owns the objects whose name timestamp falls in it. A run
reads the window's objects that are new, or changed since they were read (ETag,
size or modification time), and replaces exactly their rows in all three
tables; the others' rows stay as they are. So re-running a window, in any order
and any number of times, leaves the same tables, an object delivered late is
picked up when its window runs again, and an object the source no longer has
(S3 lifecycle rules expire raw logs) keeps its rows: the lake is the system of
record, and only `flowlake remove-objects` removes rows, on purpose. Each record
lands in the UTC hour of its own start, whichever object carried it.

    flowlake ingest --source SOURCE --lake LAKE --start 2026-11-01T10:00:00Z --end 2026-11-01T12:00:00Z
    spark-submit jobs/ingest.py --source ... (same arguments)
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

from py4j.protocol import Py4JError, Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from flowlake import parse, pending, record_files
from flowlake.contracts import conform, table_schema
from flowlake.hadoop_files import hadoop_path, read_bytes
from flowlake.lake import commit_table_files, create_table, table_exists, table_path, write_table_slice
from flowlake.layout import FlowLogObject, list_window, normalize_uri
from flowlake.progress import spark_progress
from flowlake.spark_session import session_settings
from flowlake.window import Window, add_window_arguments, job_arguments, utc_instant

log = logging.getLogger("flowlake.ingest")

FLOW_LOGS = "flow_logs"
QUARANTINE = "flow_logs_quarantine"
SOURCE_OBJECTS = "source_objects"
# The audit of remove-objects: the objects in it stay out of the lake (flowlake.remove).
OBJECT_REMOVALS = "object_removals"
BINARY_FILE_SCHEMA = "path string, modificationTime timestamp, length bigint, content binary"
# Bytes of objects read together at least (see read_objects). On the benchmark's day of 5M records
# (4.3 MB of gzip an hour), spans of one hour made flow_logs 0.71x its gzip input and a query of one
# interface in one hour 100x faster than on the raw objects; spans of 8 MB, 0.68x and 142x.
READ_SPAN_BYTES = 8 * 1024 * 1024
# Bytes of a flow log's first text object read for its header line before the parse (a header of 40 fields
# is some 400 bytes of text), and objects read at once: the parse writes only the columns the formats have.
HEADER_BYTES = 16 * 1024
HEADER_READERS = 16
# Objects in a folder that the driver lists for a read, rather than a Spark job (see _listing_settings).
DRIVER_LISTED_OBJECTS = 1_000_000
# The Delta property naming the columns Delta keeps statistics on.
STATS_COLUMNS = "delta.dataSkippingStatsColumns"
# What Hadoop's glob patterns give a meaning to.
_GLOB_CHARACTERS = re.compile(r"[\\{}\[\]*?]")
# Objects named in warnings; the summary counts them all.
NAMED_IN_LOG = 5


@dataclass(frozen=True)
class ObjectChanges:
    """The window's objects as listed, against what source_objects recorded of them."""

    to_read: list[FlowLogObject]  # new, or changed since read: their rows are replaced
    # The source_file recorded (the URI the rows carry) of objects read before:
    changed: list[str]  # whose ETag, size or modification time differ: their rows are replaced
    unchanged: list[str]
    gone: list[str]  # no longer in the source: their rows stay
    removed: list[str] = field(default_factory=list)  # listed, but removed on purpose (remove-objects): not read

    @property
    def replaced(self) -> list[str]:
        """The source_file of every row the run replaces: the objects it reads, as listed and as recorded."""
        return sorted({o.uri for o in self.to_read} | set(self.changed))


def object_name(key: str) -> str:
    """What an object is known by: its name. AWS's names are unique (account, region, flow log, time and a
    hash), so the same source given at another folder level (the bucket, or its AWSLogs/ACCOUNT folder),
    copied or mounted elsewhere, holds the same objects, not new ones beside gone ones."""
    return key.rsplit("/", 1)[-1]


def compare_with_recorded(
    listed: list[FlowLogObject], recorded: dict[str, tuple[str, tuple]], removed: frozenset[str] = frozenset()
) -> ObjectChanges:
    """recorded: object name -> (source_file, (etag, size_bytes, modified_at in epoch milliseconds)); removed: the
    names of objects an operator removed on purpose, which stay out of the lake while the source still holds
    them."""
    skipped = sorted(o.uri for o in listed if object_name(o.key) in removed)
    by_name = {object_name(o.key): o for o in listed if object_name(o.key) not in removed}
    changed = [name for name, o in by_name.items() if name in recorded and recorded[name][1] != o.version()]
    return ObjectChanges(
        to_read=[o for name, o in by_name.items() if name not in recorded or recorded[name][1] != o.version()],
        changed=sorted(recorded[name][0] for name in changed),
        unchanged=sorted(
            recorded[name][0] for name, o in by_name.items() if name in recorded and recorded[name][1] == o.version()
        ),
        gone=sorted(
            source_file for name, (source_file, _) in recorded.items() if name not in by_name and name not in removed
        ),
        removed=skipped,
    )


def objects_rows(
    spark: SparkSession, lake: str, table: str, window: Window, uris: list[str] | None = None
) -> DataFrame | None:
    """The table's rows of the objects named in the window (of these objects' source_file alone, when given);
    None when the lake has no such table."""
    path = table_path(lake, table)
    if not table_exists(spark, path):
        return None
    rows = spark.read.format("delta").load(path).where(window.predicate("object_time"))
    return rows if uris is None else rows.where(F.col("source_file").isin(uris))


def removed_on_purpose(spark: SparkSession, lake: str, window: Window) -> frozenset[str]:
    """The names of the window's objects that remove-objects took out of the lake (object_removals)."""
    rows = objects_rows(spark, lake, OBJECT_REMOVALS, window)
    if rows is None:
        return frozenset()
    return frozenset(object_name(row.source_file) for row in rows.select("source_file").collect())


def recorded_versions(spark: SparkSession, lake: str, window: Window) -> dict[str, tuple[str, tuple]]:
    """What source_objects recorded of each object of the window when it was last read, by object name."""
    recorded = objects_rows(spark, lake, SOURCE_OBJECTS, window)
    if recorded is None:
        return {}
    rows = (
        recorded
        # Epoch milliseconds, not a timestamp: Python would read that in its own local zone.
        .select(
            "object_key", "source_file", "etag", "size_bytes", F.unix_millis("modified_at").alias("modified_ms")
        ).collect()
    )
    return {object_name(row.object_key): (row.source_file, (row.etag, row.size_bytes, row.modified_ms)) for row in rows}


def sql_strings(values: list[str]) -> str:
    """values as a list of Spark SQL string literals."""
    return ", ".join("'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" for value in values)


def objects_predicate(window: Window, replaced: list[str]) -> str:
    """The rows a run replaces: those of the objects it reads, and no others. Rows of an object neither listed
    nor recorded (a run that failed after writing flow_logs, and an object expired since) are kept: they are
    nowhere else."""
    return f"{window.predicate('object_time')} AND source_file IN ({sql_strings(replaced)})"


def hours_of_objects(spark: SparkSession, lake: str, window: Window, uris: list[str]) -> set[int]:
    """The hours (epoch seconds) of the flow_logs rows that objects of the window wrote."""
    records = objects_rows(spark, lake, FLOW_LOGS, window, uris) if uris else None
    if records is None:
        return set()
    rows = records.select(F.unix_seconds(F.date_trunc("hour", "event_time")).alias("hour")).distinct().collect()
    return {row.hour for row in rows}


def read_objects(spark: SparkSession, objects: list[FlowLogObject]) -> DataFrame:
    """The bytes of the listed objects, one row per object (gzip is not splittable anyway).

    Spark packs the objects of one read into tasks by size, whatever their times, and each task
    writes its own files: read in one go, a day's objects would make files that each span the day.
    So they are read in spans of whole hours of object time, each of at least READ_SPAN_BYTES (the
    last may be less): each file then holds a few hours of records, which a reader of one hour
    skips the other files by (their statistics), and files stay large enough to compress well.
    """
    if not objects:
        return spark.createDataFrame([], BINARY_FILE_SCHEMA)
    by_hour: dict[datetime, list[FlowLogObject]] = {}
    for listed in sorted(objects, key=lambda o: o.uri):
        by_hour.setdefault(listed.object_time.replace(minute=0), []).append(listed)
    spans: list[list[str]] = [[]]
    span_bytes = 0
    for _, hour_objects in sorted(by_hour.items()):
        if span_bytes >= READ_SPAN_BYTES:
            spans.append([])
            span_bytes = 0
        spans[-1] += [o.uri for o in hour_objects]
        span_bytes += sum(o.size_bytes for o in hour_objects)
    with session_settings(spark, _listing_settings(objects[0].uri)):
        return functools.reduce(DataFrame.unionByName, [_binary_files(spark, span) for span in spans])


def _binary_files(spark: SparkSession, uris: list[str]) -> DataFrame:
    """The objects' bytes. An object gone since it was listed is left out; one gone or refused when its task
    reads it (an expired object, a KMS key or storage class the reader cannot use) has no row: the run goes on,
    and unreadable_objects names it."""
    reader = spark.read.format("binaryFile").option("ignoreMissingFiles", "true").option("ignoreCorruptFiles", "true")
    try:
        return reader.load([_not_a_pattern(uri) for uri in uris])
    except AnalysisException as error:
        if "PATH_NOT_FOUND" not in str(error):
            raise
    present = [_not_a_pattern(uri) for uri in uris if _File(spark, uri).exists()]
    return reader.load(present) if present else spark.createDataFrame([], BINARY_FILE_SCHEMA)


def _not_a_pattern(uri: str) -> str:
    """The URI with the characters Hadoop's glob gives a meaning escaped: Spark matches each path it loads as a
    pattern, and a source folder named "logs [eu]" matched nothing (or, with "*" or "?", other folders)."""
    return _GLOB_CHARACTERS.sub(r"\\\g<0>", uri)


def unreadable_objects(spark: SparkSession, to_read: list[FlowLogObject], summaries: list[dict]) -> dict[str, str]:
    """The objects the read gave no row of, each with the reason: what opening it says now."""
    parsed = {summary["source_file"] for summary in summaries}

    def reason(uri: str) -> str:
        try:
            _File(spark, uri).read(1)
        except Py4JJavaError as error:
            return f"could not be read: {error.java_exception.toString()}"
        return "could not be read by the run's tasks, though it opens now (the run's log names the error)"

    unreadable = {o.uri: reason(o.uri) for o in to_read if o.uri not in parsed}
    for uri, why in unreadable.items():
        log.warning("%s %s: quarantined whole, the run goes on", uri, why)
    return unreadable


class _File:
    """An object of the source, through the file system Hadoop has for its URI (what Spark reads it with)."""

    def __init__(self, spark: SparkSession, uri: str):
        self.path, self.fs = hadoop_path(spark, uri)

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def read(self, size: int) -> bytes:
        return read_bytes(self.fs, self.path, size)


def still_unreadable(listed: FlowLogObject, recorded: dict[str, tuple[str, tuple]], unreadable: dict[str, str]) -> bool:
    """The object could not be read, and could not be read when it was last recorded either (no modification
    time recorded), in the same ETag and size."""
    etag, size_bytes, _ = listed.version()
    before = recorded.get(object_name(listed.key))
    return listed.uri in unreadable and before is not None and before[1] == (etag, size_bytes, None)


def unreadable_summaries(unreadable: dict[str, str], listed: dict[str, FlowLogObject]) -> list[dict]:
    """The summaries of unreadable objects, as the parse gives those it cannot read (status corrupt)."""
    return [
        {
            "source_file": uri,
            "file_format": listed[uri].file_format,
            "log_format": None,
            "size_bytes": listed[uri].size_bytes,
            "lines_read": None,
            "records_written": 0,
            "lines_quarantined": 1,
            "status": parse.STATUS_CORRUPT,
        }
        for uri in unreadable
    ]


def _listing_settings(uri: str) -> dict[str, str]:
    """Objects in a folder are listed by the driver, a file system call each: Spark lists the paths of a load
    of more than 32 in a job of its own, and the benchmark's day took 10 such jobs and 2.5 s before its
    parse began. Elsewhere (S3: a request per object) those jobs list them in parallel."""
    if urlparse(uri).scheme != "file":
        return {}
    return {"spark.sql.sources.parallelPartitionDiscovery.threshold": str(DRIVER_LISTED_OBJECTS)}


def parse_objects(objects: DataFrame, rows_of_objects, omitted: frozenset[str] = frozenset()) -> DataFrame:
    """binaryFile rows parsed, each object by its own header (or Parquet schema), into parsed_schema rows
    without the omitted columns.

    rows_of_objects: parse.records_and_objects, or parse.quarantine_and_objects.
    """
    return objects.select("path", "length", "content").mapInArrow(
        functools.partial(rows_of_objects, omitted=omitted), _spark_schema(parse.parsed_schema(omitted))
    )


def flow_log_headers(spark: SparkSession, objects: list[FlowLogObject]) -> list[list[str] | None]:
    """The header fields (parse.header_fields) of the first text object of each flow log among objects: a
    flow log writes every object in the format it was made with. None for a flow log of Parquet objects."""
    first: dict[tuple[str, str, str], FlowLogObject] = {}
    for listed in sorted(objects, key=lambda o: (o.object_time, o.uri)):
        first.setdefault((listed.account_id, listed.region, listed.flow_log_id), listed)

    def header(listed: FlowLogObject) -> list[str] | None:
        if listed.file_format != "text":
            return None
        try:
            start = _File(spark, listed.uri).read(min(HEADER_BYTES, listed.size_bytes))
        except Py4JError as error:
            log.warning("could not read the header of %s (%s): every column is written", listed.uri, error)
            return None
        return parse.header_fields(start)

    with ThreadPoolExecutor(max_workers=HEADER_READERS, thread_name_prefix="flowlake-header") as pool:
        return list(pool.map(header, first.values()))


def _spark_schema(schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _of_kind(parsed: DataFrame, kind: str) -> DataFrame:
    return parsed.where(F.col("row_kind") == kind)


def flow_log_rows(parsed: DataFrame) -> DataFrame:
    """The records: the parser has already made them flow_logs rows, with the columns their objects'
    formats have (Delta reads the others as NULL)."""
    return conform(_of_kind(parsed, parse.ROW_RECORD), FLOW_LOGS, present=parsed.columns)


def quarantine_rows(parsed: DataFrame) -> DataFrame:
    return conform(_of_kind(parsed, parse.ROW_QUARANTINE), QUARANTINE)


def object_summaries() -> Column:
    """An aggregate over parsed rows: each object row's summary, to observe while the records are written."""
    summary = F.struct(*parse.OBJECT_SUMMARY)
    return F.collect_list(F.when(F.col("row_kind") == parse.ROW_OBJECT, summary)).alias("objects")


def source_object_frame(
    spark: SparkSession,
    summaries: list[dict],
    listed: dict[str, FlowLogObject],
    root: str,
    ingested_at: datetime,
    not_read_whole: set[str],
) -> DataFrame:
    """source_objects rows of the objects' summaries; the rest of a row follows from the listing. The
    modification time of an object not read whole (unreadable, or its bad lines not read again for the
    quarantine) is not recorded, so the next run that lists it reads it (a read refused for a while, then
    allowed, leaves the object as it was)."""
    rows = []
    for summary in summaries:
        listing = listed[summary["source_file"]]
        rows.append(
            {
                **summary,
                "object_key": summary["source_file"][len(root) + 1 :],
                "object_time": listing.object_time,
                "account_id": listing.account_id,
                "region": listing.region,
                "flow_log_id": listing.flow_log_id,
                "etag": listing.etag,
                "modified_at": None if summary["source_file"] in not_read_whole else listing.modified_at,
                "ingested_at": utc_instant(ingested_at),
            }
        )
    schema = table_schema(SOURCE_OBJECTS)
    return spark.createDataFrame([tuple(row[c] for c in schema.column_names) for row in rows], schema.struct())


def write_records(
    spark: SparkSession, to_read: list[FlowLogObject], omitted: frozenset[str], lake: str, predicate: str
) -> tuple[dict, list[dict]]:
    """Replaces the flow_logs rows matching predicate with the records of the objects, parsed without the
    omitted columns; returns what the write observed (rows, hours as epoch seconds) and the summary of every
    object parsed. When an object has values in an omitted column, the write is made again with every column."""
    started = time.monotonic()
    table = table_path(lake, FLOW_LOGS)
    own_files = record_files.writes_files_itself(table, spark.sparkContext._jsc.hadoopConfiguration().get)
    write = _records_in_own_files if own_files else _records_through_spark
    try:
        with spark_progress(spark, f"ingest: parsing {len(to_read)} objects into {FLOW_LOGS}"):
            written, summaries = write(spark, to_read, omitted, lake, predicate)
    except Exception as error:  # Spark surfaces the Python worker's error as text, in its stack trace
        refusal = [line for line in str(error).splitlines() if parse.ColumnsNotPlannedError.__name__ in line]
        if not omitted or not refusal:
            raise
        log.warning("an object's format is not its flow log's first, parsed again with every column: %s", refusal[-1])
        return write_records(spark, to_read, frozenset(), lake, predicate)
    log.info(
        "wrote %d records of %d objects to %s in %.1fs",
        written["rows"],
        len(summaries),
        FLOW_LOGS,
        time.monotonic() - started,
    )
    return written, summaries


def _records_through_spark(
    spark: SparkSession, to_read: list[FlowLogObject], omitted: frozenset[str], lake: str, predicate: str
) -> tuple[dict, list[dict]]:
    """Spark's writer, where the Python workers cannot write the table's files themselves."""
    objects = Observation()
    parsed = parse_objects(read_objects(spark, to_read), parse.records_and_objects, omitted)
    written = write_table_slice(
        flow_log_rows(parsed.observe(objects, object_summaries())),
        lake,
        FLOW_LOGS,
        predicate,
        # Epoch seconds, not timestamps: Python would read those in its own local zone.
        metrics={"hours": F.sort_array(F.collect_set(F.unix_seconds(F.date_trunc("hour", "event_time"))))},
    )
    return written, [row.asDict() for row in objects.get["objects"]]


def _records_in_own_files(
    spark: SparkSession, to_read: list[FlowLogObject], omitted: frozenset[str], lake: str, predicate: str
) -> tuple[dict, list[dict]]:
    """The parse writes the files (record_files) and the driver commits them: Spark makes no row of a record."""
    schema = table_schema(FLOW_LOGS)
    create_table(spark, lake, FLOW_LOGS, predicate)
    write_files = functools.partial(
        record_files.write_record_files,
        storage=record_files.table_storage(
            table_path(lake, FLOW_LOGS), spark.sparkContext._jsc.hadoopConfiguration().get
        ),
        stats_columns=schema.properties[STATS_COLUMNS].split(","),
        delta_encoded=frozenset(schema.delta_encoded),
        omitted=omitted,
    )
    output = (
        read_objects(spark, to_read)
        .select("path", "length", "content")
        .mapInArrow(write_files, _spark_schema(record_files.OUTPUT_SCHEMA))
        .collect()
    )
    files = [row.asDict() for row in output if row.row_kind == record_files.ROW_FILE]
    commit_table_files(spark, lake, FLOW_LOGS, files, predicate)
    summaries = [
        {name: row[name] for name in parse.OBJECT_SUMMARY} for row in output if row.row_kind == parse.ROW_OBJECT
    ]
    written = {
        "rows": sum(file["records"] for file in files),
        "hours": sorted({hour for file in files for hour in file["hours"]}),
    }
    return written, summaries


def write_quarantine(
    spark: SparkSession,
    summaries: list[dict],
    listed: dict[str, FlowLogObject],
    unreadable: dict[str, str],
    lake: str,
    predicate: str,
) -> list[str]:
    """Replaces the quarantine rows matching predicate: the objects with bad lines (or none at all) are
    parsed again for them, the others need not be; an unreadable object is one row of its reason.

    Returns the objects with bad lines that gave none when read again (gone or refused since the first read):
    their lines are not in the quarantine, so the run must not record them as read."""
    started = time.monotonic()
    faulty = [
        listed[s["source_file"]] for s in summaries if s["lines_quarantined"] and s["source_file"] not in unreadable
    ]
    path = table_path(lake, QUARANTINE)
    # An hourly run's usual case, a replace of nothing by nothing, costs Delta a write, a search and a commit
    # attempt; a table not made yet is made by it, for its readers.
    if (
        not (faulty or unreadable)
        and table_exists(spark, path)
        and spark.read.format("delta").load(path).where(predicate).isEmpty()
    ):
        log.info("no lines to write to %s, nor any to replace (%.1fs)", QUARANTINE, time.monotonic() - started)
        return []
    parsed = parse_objects(read_objects(spark, faulty), parse.quarantine_and_objects)
    whole = spark.createDataFrame(
        [
            (uri, None, None, reason, o.flow_log_id, o.account_id, o.region, o.object_time)
            for uri, reason in unreadable.items()
            for o in [listed[uri]]
        ],
        table_schema(QUARANTINE).struct(),
    )
    written = write_table_slice(
        quarantine_rows(parsed).unionByName(whole),
        lake,
        QUARANTINE,
        predicate,
        metrics={"objects": F.collect_set("source_file")},
    )
    log.info(
        "wrote %d lines of %d objects to %s in %.1fs",
        written["rows"],
        len(faulty),
        QUARANTINE,
        time.monotonic() - started,
    )
    lost = sorted({o.uri for o in faulty} - set(written["objects"]))
    if lost:
        log.warning(
            "%d objects with bad lines gave none when read again for them (gone or refused since the first read): "
            "their lines are not in %s, and the next run that lists them reads them again: %s",
            len(lost),
            QUARANTINE,
            ", ".join(lost[:NAMED_IN_LOG]),
        )
    return lost


def write_source_objects(spark: SparkSession, frame: DataFrame, lake: str, predicate: str) -> None:
    """Written last: the record of what the run read, once the rows read from it are committed."""
    started = time.monotonic()
    rows = write_table_slice(frame, lake, SOURCE_OBJECTS, predicate)["rows"]
    log.info("wrote %d objects to %s in %.1fs", rows, SOURCE_OBJECTS, time.monotonic() - started)


def _warn_about(changes: ObjectChanges, misnamed: dict[str, str]) -> None:
    if changes.removed:
        log.info(
            "%d objects of the window not read: removed on purpose (object_removals): %s",
            len(changes.removed),
            ", ".join(changes.removed[:NAMED_IN_LOG]),
        )
    if changes.gone:
        log.warning(
            "%d objects of the window are gone from the source; their rows stay in the lake "
            "(flowlake remove-objects removes them on purpose): %s",
            len(changes.gone),
            ", ".join(changes.gone[:NAMED_IN_LOG]),
        )
    if changes.changed:
        log.warning(
            "%d objects changed since they were read (ETag, size or modification time), or unreadable when last "
            "listed; read again: %s",
            len(changes.changed),
            ", ".join(changes.changed[:NAMED_IN_LOG]),
        )
    if misnamed:
        log.warning(
            "%d objects skipped, their names are not a flow log's: %s", len(misnamed), "; ".join(misnamed.values())
        )


def run_ingest(
    spark: SparkSession, source: str, lake: str, window: Window, ingested_at: datetime, note_pending: bool = False
) -> dict:
    """Reads the window's new and changed objects into flow_logs, the quarantine and source_objects.

    note_pending: the hours the objects' records fell into, and those of the corrupt objects, are noted in the
    lake before source_objects records the objects (flowlake.pending), for runs that aggregate and validate them
    after the ingest."""
    lake = normalize_uri(lake)
    started = time.monotonic()
    listing = list_window(spark, source, window.start, window.end)
    recorded = recorded_versions(spark, lake, window)
    changes = compare_with_recorded(listing.objects, recorded, removed_on_purpose(spark, lake, window))
    log.info(
        "window [%s, %s): %d flow-log objects (%d bytes), %d to read (%d changed), %d unchanged, %d gone, "
        "%d other objects skipped, listed in %.1fs",
        window.start.isoformat(),
        window.end.isoformat(),
        len(listing.objects),
        sum(o.size_bytes for o in listing.objects),
        len(changes.to_read),
        len(changes.changed),
        len(changes.unchanged),
        len(changes.gone),
        len(listing.skipped) + len(listing.misnamed),
        time.monotonic() - started,
    )
    _warn_about(changes, listing.misnamed)
    summaries, hours, corrupt, corrupt_hours = [], set(), [], set()
    listed = {o.uri: o for o in changes.to_read}
    if changes.to_read:
        # The hours the replaced rows leave: they change too.
        hours = hours_of_objects(spark, lake, window, changes.changed)
        predicate = objects_predicate(window, changes.replaced)
        omitted = parse.omitted_columns(flow_log_headers(spark, changes.to_read))
        written, summaries = write_records(spark, changes.to_read, omitted, lake, predicate)
        hours |= set(written["hours"])
        unreadable = unreadable_objects(spark, changes.to_read, summaries)
        summaries += unreadable_summaries(unreadable, listed)
        not_quarantined = write_quarantine(spark, summaries, listed, unreadable, lake, predicate)
        corrupt = [s for s in summaries if s["status"] == parse.STATUS_CORRUPT]
        # By their names' hours: a corrupt object touches no hour of records. Not an object still unreadable as
        # it was: the run that first found it owed its hour a validation, and its alert, and each run that lists
        # it reads it again, in case the read is allowed now.
        corrupt_hours = {
            listed[s["source_file"]].object_time.replace(minute=0)
            for s in corrupt
            if not still_unreadable(listed[s["source_file"]], recorded, unreadable)
        }
        if note_pending:
            touched = {datetime.fromtimestamp(hour, UTC) for hour in hours}
            pending.note(spark, lake, {pending.AGGREGATE: touched, pending.VALIDATE: corrupt_hours}, ingested_at)
        frame = source_object_frame(
            spark, summaries, listed, listing.root, ingested_at, {*unreadable, *not_quarantined}
        )
        write_source_objects(spark, frame, lake, predicate)
    summary = {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "objects": len(listing.objects),
        "objects_read": len(summaries),
        "objects_changed": len(changes.changed),
        "objects_unchanged": len(changes.unchanged),
        "objects_gone": len(changes.gone),
        "objects_removed_on_purpose": len(changes.removed),
        **{
            name: sum(s[name] or 0 for s in summaries)
            for name in ("lines_read", "records_written", "lines_quarantined")
        },
        "corrupt_objects": len(corrupt),
        "skipped_objects": len(listing.skipped),
        "misnamed_objects": sorted(listing.misnamed.values()),
        "hours_touched": [datetime.fromtimestamp(hour, UTC).isoformat() for hour in sorted(hours)],
        "corrupt_object_hours": sorted(hour.isoformat() for hour in corrupt_hours),
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

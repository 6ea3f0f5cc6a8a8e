"""flow_logs' Parquet files written by the parse itself, in Spark's Python workers.

Spark's writer turns every parsed Arrow batch into JVM rows, encodes them into
Parquet and gathers Delta's statistics row by row: on the benchmark's day of 5M
records that was three quarters of the ingest JVM's CPU, and the ingest took 81 s
against 52-55 s (the plain Spark job's 49 s) with the workers writing the files
(pyarrow) and the driver only committing them (lake.commit_table_files). A task
writes one file per event_date it has records of, in the order the parse hands
them (each object's records together, in time order: see the flow_logs contract),
and yields one row per file (where, how many records, Delta's statistics, the
hours its records fall in) and one per object (its summary, as parse.ROW_OBJECT
rows carry it). Nothing is visible before the
commit: files of a failed task or run are never read, and vacuum removes them.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from flowlake import parse
from flowlake.layout import local_path

log = logging.getLogger("flowlake.record_files")

# Where the workers can write a table's files themselves: a folder every worker sees at the same path (one
# machine, or a shared mount), or S3 through pyarrow's client, set up as s3a is (table_storage). Other lakes
# are written by Spark's writer (ingest.write_records).
WRITABLE_SCHEMES = ("file", "s3a")
PARTITION_COLUMN = "event_date"
# Rows of a Parquet row group: a day's file of the benchmark holds one, as Spark's 128 MB groups did.
ROW_GROUP_ROWS = 1 << 20
# parquet-java's default zstd level, which Spark's files have: 69.6 MB for the day against Spark's 68.2 MB.
ZSTD_LEVEL = 3
# Delta keeps string statistics up to this many characters; a longer value's column gets none in that file
# (Delta then reads the file for any filter on it) rather than a bound of another making.
STATS_STRING_CHARS = 32
# What the parse of a task yields: ROW_OBJECT rows (parse.OBJECT_SUMMARY) and ROW_FILE rows (the rest).
ROW_FILE = "file"
OUTPUT_SCHEMA = pa.schema(
    [
        pa.field("row_kind", pa.string()),
        *[parse.parsed_schema().field(name) for name in parse.OBJECT_SUMMARY],
        pa.field("file_path", pa.string()),  # relative to the table's folder, as Delta's log names it
        pa.field(PARTITION_COLUMN, pa.string()),
        pa.field("file_bytes", pa.int64()),
        pa.field("modified_ms", pa.int64()),
        pa.field("records", pa.int64()),
        pa.field("stats", pa.string()),  # Delta's statistics of the file, as JSON
        pa.field("hours", pa.list_(pa.int64())),  # epoch seconds of the hours its records fall in
    ]
)


# What s3a does on writes that the workers' pyarrow client cannot (it has no option for them): encrypt with a
# KMS key or a customer's key, set an ACL, act as an assumed role. A bucket policy that requires one refuses the
# files the workers would write, or leaves them unreadable to the bucket's owner.
S3A_ONLY_SETTINGS = ("encryption.algorithm", "server-side-encryption-algorithm", "acl.default", "assumed.role.arn")


def pyarrow_reaches(table_uri: str) -> bool:
    """Whether the workers' pyarrow reaches the table's files: a local folder, or S3."""
    return urlparse(table_uri).scheme in WRITABLE_SCHEMES


def writes_files_itself(table_uri: str, setting: Callable[[str], str | None]) -> bool:
    """Whether ingest's workers write the table's files themselves, rather than through Spark's writer: where
    pyarrow reaches them, unless s3a is set (for the table's bucket, or every bucket) to do on writes what
    pyarrow cannot (S3A_ONLY_SETTINGS). setting: a Hadoop configuration value by name (the driver's)."""
    if not pyarrow_reaches(table_uri):
        return False
    if table_uri.startswith("file:"):
        return True
    bucket = _path_in_storage(table_uri).split("/", 1)[0]
    return not any(_s3a_setting(setting, bucket, name) for name in S3A_ONLY_SETTINGS)


def _s3a_setting(setting: Callable[[str], str | None], bucket: str, name: str) -> str | None:
    """s3a's setting for the bucket: its own (fs.s3a.bucket.BUCKET.name) first, then every bucket's."""
    return setting(f"fs.s3a.bucket.{bucket}.{name}") or setting(f"fs.s3a.{name}")


@dataclass(frozen=True)
class TableStorage:
    """Where a table's files go, as the workers reach it: its folder (a local path, or bucket/key on S3) and,
    on S3, the client's settings (s3_options)."""

    folder: str
    s3: dict | None = field(default=None, repr=False)  # it can hold keys: never in a log or an error

    def filesystem(self) -> pafs.FileSystem:
        if self.s3 is None:
            return pafs.LocalFileSystem()
        options = dict(self.s3)
        attempts = options.pop("attempts")
        return pafs.S3FileSystem(
            **options,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=attempts),
            connect_timeout=S3_CONNECT_SECONDS,
            request_timeout=S3_REQUEST_SECONDS,
        )


# A connection or answer that stalls this long is abandoned and the request retried, as s3a does.
S3_CONNECT_SECONDS = 30
S3_REQUEST_SECONDS = 120


def table_storage(table_uri: str, setting: Callable[[str], str | None]) -> TableStorage:
    """The table's storage for the workers. setting: a Hadoop configuration value by name (the driver's), from
    which an S3 table gets s3a's endpoint, region, addressing, keys and attempts, its bucket's own first."""
    folder = _path_in_storage(table_uri).rstrip("/")
    if table_uri.startswith("file:"):
        return TableStorage(folder)
    bucket = folder.split("/", 1)[0]

    def s3a(name: str) -> str | None:
        return _s3a_setting(setting, bucket, name)

    options: dict = {"attempts": int(s3a("attempts.maximum") or 5)}
    endpoint = s3a("endpoint")
    if endpoint:
        secure = (s3a("connection.ssl.enabled") or "true").lower() != "false"
        scheme, _, host = endpoint.rpartition("://")
        options |= {"endpoint_override": host, "scheme": scheme or ("https" if secure else "http")}
        options["force_virtual_addressing"] = (s3a("path.style.access") or "false").lower() != "true"
    region = s3a("endpoint.region") or os.environ.get("AWS_REGION")
    if region:
        options["region"] = region
    # Fixed keys when s3a has them; otherwise the AWS SDK's own chain (environment, profile, instance role).
    if s3a("access.key") and s3a("secret.key"):
        options |= {"access_key": s3a("access.key"), "secret_key": s3a("secret.key")}
        if s3a("session.token"):
            options["session_token"] = s3a("session.token")
    return TableStorage(folder, options)


# Footers read at once: on S3 each is two requests, whose wait would add up file by file.
FOOTER_READERS = 8


def columns_without_values(file_uris: Iterable[str], columns: Iterable[str], storage: TableStorage) -> tuple[str, ...]:
    """The columns that hold no value in any of the files, going by the NULL counts of their Parquet footers: a
    column a file lacks (the parse leaves out the fields its objects' formats lack, which Delta reads as NULL),
    or whose every row group counts as many NULLs as rows. A column without a NULL count has values.
    file_uris: the files as Spark names them (file:/... or s3a://bucket/key), all in storage."""
    wanted = tuple(columns)
    filesystem = storage.filesystem()
    paths = [_path_in_storage(uri) for uri in file_uris]
    with ThreadPoolExecutor(max_workers=FOOTER_READERS, thread_name_prefix="flowlake-footers") as pool:
        with_values = set().union(*pool.map(lambda path: _columns_with_values(filesystem, path, wanted), paths))
    return tuple(column for column in wanted if column not in with_values)


def _path_in_storage(uri: str) -> str:
    """A table's or a file's location as its storage names it: a local path, or bucket/key on S3. The URI's text
    is taken as it is, as Hadoop and s3a take it (flowlake.layout.local_path): a '#' is part of a name."""
    return local_path(uri) if uri.startswith("file:") else uri.split("://", 1)[1]


def _columns_with_values(filesystem: pafs.FileSystem, path: str, columns: tuple[str, ...]) -> set[str]:
    """A footer that cannot be read vouches for nothing: the read of the records, which follows, fails on a
    broken file with Spark's own error, and gets past a passing fault."""
    try:
        metadata = pq.read_metadata(path, filesystem=filesystem)
    except (OSError, pa.ArrowException) as error:
        log.warning("could not read the footer of %s (%s): its columns are taken to have values", path, error)
        return set(columns)
    with_values = set()
    for group in (metadata.row_group(g) for g in range(metadata.num_row_groups)):
        for chunk in (group.column(c) for c in range(group.num_columns)):
            if chunk.path_in_schema not in columns or chunk.path_in_schema in with_values:
                continue
            stats = chunk.statistics
            if stats is None or not stats.has_null_count or stats.null_count < group.num_rows:
                with_values.add(chunk.path_in_schema)
    return with_values


def _stats_timestamp(moment: datetime) -> str:
    """A timestamp bound as Delta's JSON statistics write it, to the millisecond (the caller rounds it outward)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Bounds:
    """Running min, max and NULL count of a column over the batches of one file."""

    def __init__(self):
        self.low = self.high = None
        self.nulls = 0

    def add(self, values: pa.Array) -> None:
        self.nulls += values.null_count
        if values.null_count == len(values):
            return
        both = pc.min_max(values)
        low, high = both["min"].as_py(), both["max"].as_py()
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def bounds(self):
        """(min, max) for Delta, or None when the file's values give none it could compare exactly."""
        if self.low is None:
            return None
        if isinstance(self.low, str) and max(len(self.low), len(self.high)) > STATS_STRING_CHARS:
            return None
        if isinstance(self.low, datetime):
            # Delta's statistics keep milliseconds: the low bound rounded down, the high one up.
            low = self.low.replace(microsecond=self.low.microsecond // 1000 * 1000)
            high = self.high + timedelta(microseconds=-self.high.microsecond % 1000)
            return _stats_timestamp(low), _stats_timestamp(high)
        return self.low, self.high


class _DateFile:
    """The open file of one event_date: batches buffered into row groups, statistics gathered as they come."""

    def __init__(
        self,
        filesystem: pafs.FileSystem,
        folder: str,
        date: str,
        schema: pa.Schema,
        stats_columns: list[str],
        delta_encoded: set[str],
    ):
        self.relative = f"{PARTITION_COLUMN}={date}/part-{uuid.uuid4()}.c000.zstd.parquet"
        self.filesystem = filesystem
        self.path = f"{folder}/{self.relative}"
        self.date = date
        if isinstance(filesystem, pafs.LocalFileSystem):  # S3 has no folders to make
            filesystem.create_dir(self.path.rsplit("/", 1)[0], recursive=True)
        names = schema.names
        self.writer = pq.ParquetWriter(
            self.path,
            schema,
            filesystem=filesystem,
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            data_page_version="2.0",
            use_dictionary=[name for name in names if name not in delta_encoded],
            column_encoding={name: "DELTA_BINARY_PACKED" for name in names if name in delta_encoded},
        )
        self.stats_columns = stats_columns
        self.bounds = {column: _Bounds() for column in stats_columns if column in names}
        self.buffered: list[pa.RecordBatch] = []
        self.buffered_rows = 0
        self.records = 0
        self.hours: set[int] = set()

    def write(self, batch: pa.RecordBatch) -> None:
        for column, bounds in self.bounds.items():
            bounds.add(batch.column(column))
        hours = pc.unique(pc.floor_temporal(batch.column("event_time"), unit="hour").cast(pa.int64()))
        self.hours.update(micros // 1_000_000 for micros in hours.to_pylist())
        self.records += batch.num_rows
        self.buffered.append(batch)
        self.buffered_rows += batch.num_rows
        if self.buffered_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.buffered:
            self.writer.write_table(pa.Table.from_batches(self.buffered), row_group_size=ROW_GROUP_ROWS)
        self.buffered, self.buffered_rows = [], 0

    def close(self) -> dict:
        self._flush()
        self.writer.close()
        written = self.filesystem.get_file_info(self.path)
        minimums, maximums, nulls = {}, {}, {}
        for column in self.stats_columns:
            bounds = self.bounds.get(column)
            nulls[column] = bounds.nulls if bounds else self.records  # a column the file lacks is NULL
            both = bounds.bounds() if bounds else None
            if both:
                minimums[column], maximums[column] = both
        stats = {"numRecords": self.records, "minValues": minimums, "maxValues": maximums, "nullCount": nulls}
        return {
            "row_kind": ROW_FILE,
            "file_path": self.relative,
            PARTITION_COLUMN: self.date,
            "file_bytes": written.size,
            "modified_ms": written.mtime_ns // 1_000_000,
            "records": self.records,
            "stats": json.dumps(stats, separators=(",", ":")),
            "hours": sorted(self.hours),
        }


def write_record_files(
    batches,
    *,
    storage: TableStorage,
    stats_columns: list[str],
    delta_encoded: frozenset[str],
    omitted: frozenset[str] = frozenset(),
):
    """mapInArrow body: binaryFile batches (path, length, content) -> OUTPUT_SCHEMA rows, the records written
    to Parquet files in the table's storage, partitioned by event_date."""
    filesystem = storage.filesystem()
    # The partition column stays in the files too, as Spark's writer leaves it: readers of the bare files have it.
    record_columns = [name for name in parse.parsed_schema(omitted).names if name not in parse.OUTCOME_COLUMNS]
    files: dict[str, _DateFile] = {}
    summaries = []
    for parsed in parse.record_and_object_batches(batches, omitted):
        if not parsed.num_rows:
            continue
        if parsed.column("row_kind")[0].as_py() == parse.ROW_OBJECT:
            summaries.append(parsed.select(list(parse.OBJECT_SUMMARY)))
            continue
        records = parsed.select(record_columns)
        dates = records.column(PARTITION_COLUMN)
        each_date = pc.unique(dates).to_pylist()
        for date in each_date:
            # Most batches hold one date: a filter would copy every column for nothing.
            of_date = records if len(each_date) == 1 else records.filter(pc.equal(dates, pa.scalar(date, dates.type)))
            key = date.isoformat()
            if key not in files:
                files[key] = _DateFile(
                    filesystem, storage.folder, key, of_date.schema, stats_columns, set(delta_encoded)
                )
            files[key].write(of_date)
    rows = [file.close() for file in files.values()]
    objects = pa.Table.from_batches(summaries).to_pylist() if summaries else []
    output = [{"row_kind": parse.ROW_OBJECT, **summary} for summary in objects] + rows
    if output:
        yield pa.RecordBatch.from_pylist(output, schema=OUTPUT_SCHEMA)

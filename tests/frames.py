"""Small frames of a table's contract, and rows read back from any frame, whatever the host's time zone.

PySpark converts TIMESTAMP values through the Python process's own zone: a naive
datetime given to createDataFrame is read as local time (time.mktime), and
collect() returns naive local datetimes (datetime.fromtimestamp). So frames are
built from aware datetimes only, and rows come back with every TIMESTAMP as an
aware UTC datetime computed from its microseconds since the epoch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from flowlake.contracts import table_schema
from flowlake.lake import table_path

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    """datetime(*args) in UTC."""
    return datetime(*args, tzinfo=UTC)


def _refuse_naive(value, where: str) -> None:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{where}: {value!r} has no time zone; PySpark would read it in the host's zone")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_naive(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_naive(item, where)


def frame(spark: SparkSession, table: str, rows: list[dict]) -> DataFrame:
    """A frame with exactly the columns and types of table's contract; a column a row does not name is NULL."""
    schema = table_schema(table)
    columns = schema.column_names
    for row in rows:
        unknown = sorted(set(row) - set(columns))
        if unknown:
            raise KeyError(f"{table} has no column {', '.join(unknown)}")
        for column, value in row.items():
            _refuse_naive(value, f"{table}.{column}")
    return spark.createDataFrame([tuple(row.get(c) for c in columns) for row in rows], schema.struct())


def frame_of(spark: SparkSession, rows: list[tuple], schema: str) -> DataFrame:
    """spark.createDataFrame(rows, schema) for a schema no table's contract describes, naive datetimes refused.

    schema in DDL, e.g. "hour timestamp, flow_log_id string".
    """
    for row in rows:
        _refuse_naive(row, schema)
    return spark.createDataFrame(rows, schema)


def read(spark: SparkSession, lake, table: str) -> DataFrame:
    """A Delta table of the lake, as a frame of its rows.

    A table in a local folder is read by delta-rs, and the frame holds its rows: through Spark, reading a
    table a test has just written builds the table's snapshot first (5 Spark jobs in all, 0.7-0.9 s for
    each of a run's eleven small tables; 0.06-0.1 s so, the same rows and types). A lake on S3 is read by
    Spark (s3a).
    """
    path = table_path(str(lake), table)
    # delta-rs takes "%41" in a local path for an escaped "A" (as a path and as a file: URL alike).
    if urlparse(path).scheme not in ("", "file") or "%" in path:
        return spark.read.format("delta").load(path)
    from deltalake import DeltaTable

    data = DeltaTable(path).to_pyarrow_table()
    # A table with no files gives columns of no chunks, which PySpark cannot take: one empty chunk each.
    return spark.createDataFrame(data if data.num_rows else data.schema.empty_table())


def table_files(folder) -> set[str]:
    """The data files of a local Delta table's newest version, by delta-rs: paths relative to the folder."""
    from deltalake import DeltaTable

    prefix = Path(folder).resolve().as_posix().rstrip("/") + "/"
    return {uri.removeprefix("file://").removeprefix(prefix) for uri in DeltaTable(str(folder)).file_uris()}


def append(df: DataFrame, lake, table: str) -> None:
    """Adds df's rows to the lake's table, partitioned as its contract says (as another run's write would)."""
    df.write.format("delta").mode("append").partitionBy(*table_schema(table).partition_by).save(
        table_path(str(lake), table)
    )


def _holds_timestamp(data_type: T.DataType) -> bool:
    if isinstance(data_type, T.TimestampType):
        return True
    if isinstance(data_type, T.ArrayType):
        return _holds_timestamp(data_type.elementType)
    if isinstance(data_type, T.MapType):
        return _holds_timestamp(data_type.keyType) or _holds_timestamp(data_type.valueType)
    if isinstance(data_type, T.StructType):
        return any(_holds_timestamp(f.dataType) for f in data_type.fields)
    return False


def collected(df: DataFrame, *columns: str) -> list[tuple]:
    """The frame's rows (of these columns, else all) in the frame's own order, each TIMESTAMP an aware UTC datetime.

    Dates stay dates: PySpark converts them without a zone.
    """
    selected = df.select(*columns) if columns else df
    fields = selected.schema.fields
    positional = selected.toDF(*(f"c{i}" for i in range(len(fields))))
    projection = []
    for i, field in enumerate(fields):
        if isinstance(field.dataType, T.TimestampType):
            projection.append(F.unix_micros(f"c{i}").alias(f"c{i}"))
        elif _holds_timestamp(field.dataType):
            raise TypeError(f"column {field.name} holds TIMESTAMP values inside a {field.dataType.simpleString()}")
        else:
            projection.append(F.col(f"c{i}"))
    timestamps = [isinstance(field.dataType, T.TimestampType) for field in fields]
    return [
        tuple(
            EPOCH + timedelta(microseconds=value) if is_timestamp and value is not None else value
            for value, is_timestamp in zip(row, timestamps, strict=True)
        )
        for row in positional.select(projection).collect()
    ]


def ordered(items) -> list:
    """Sorted with NULLs comparable, so whole row sets can be compared."""
    return sorted(items, key=repr)


def rows(df: DataFrame, *columns: str) -> list[tuple]:
    """The frame's rows (of these columns, else all), sorted, each TIMESTAMP an aware UTC datetime."""
    return ordered(collected(df, *columns))


def rows_without(df: DataFrame, *ignored: str) -> list[tuple]:
    """rows() of every column but the ignored ones."""
    return rows(df, *(c for c in df.columns if c not in ignored))


def spark_jobs(spark: SparkSession, action: Callable[[], object]) -> int:
    """How many Spark jobs action() runs in this thread (a job group is the thread's own)."""
    group = f"counted-{uuid.uuid4()}"
    spark.sparkContext.setLocalProperty("spark.jobGroup.id", group)
    try:
        action()
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))

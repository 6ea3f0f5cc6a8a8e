"""Writing Delta tables the one way flowlake does: replace exactly a slice, retry on conflicts."""

from __future__ import annotations

import itertools
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from flowlake.contracts import table_schema
from flowlake.hadoop_files import hadoop_path
from flowlake.writers import table_writer

log = logging.getLogger(__name__)
T = TypeVar("T")

# Delta's optimistic concurrency raises these when another writer committed
# first; the write is a deterministic replace of a slice, so retrying is safe.
_CONFLICTS = (
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentWriteException",
    "ConcurrentTransactionException",
    "MetadataChangedException",
    "ProtocolChangedException",
    "DELTA_CONCURRENT",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
)
MAX_ATTEMPTS = 8
# The thread's jobs run in the scheduler pool of this name (a local property of the thread).
SCHEDULER_POOL = "spark.scheduler.pool"


def table_path(lake: str, table: str) -> str:
    return f"{lake.rstrip('/')}/{table}"


def is_conflict(error: Exception) -> bool:
    text = f"{type(error).__name__} {error}"
    return any(name in text for name in _CONFLICTS)


def replace_where(
    df: DataFrame,
    path: str,
    predicate: str,
    partition_by: tuple[str, ...] = (),
    metrics: dict[str, Column] | None = None,
    properties: dict[str, str] | None = None,
) -> dict:
    """Atomically replaces the rows matching predicate with df (whose rows must all match it).

    Creates the table on first write, with the given Delta table properties. A crash before the commit leaves the
    table as it was: uncommitted files are never read and vacuum removes them.
    Returns {"rows": rows written, **metrics}, each metric an aggregate observed
    over the written rows during the write itself (no second read).
    """
    with table_writer(df.sparkSession, path):
        return _replace_where(df, path, predicate, partition_by, metrics, properties)


def _replace_where(
    df: DataFrame,
    path: str,
    predicate: str,
    partition_by: tuple[str, ...],
    metrics: dict[str, Column] | None,
    properties: dict[str, str] | None,
) -> dict:
    def write() -> dict:
        observation = Observation()
        observed = {"rows": F.count(F.lit(1)), **(metrics or {})}
        (
            df.observe(observation, *[column.alias(name) for name, column in observed.items()])
            .write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", predicate)
            .options(**(properties or {}))
            .partitionBy(*partition_by)
            .save(path)
        )
        return observation.get

    return _retried_on_conflict(path, write)


def _retried_on_conflict(path: str, write: Callable[[], T]) -> T:
    for attempt in itertools.count(1):
        try:
            return write()
        except Exception as error:  # py4j surfaces Delta's Java exceptions as plain Exceptions
            if attempt == MAX_ATTEMPTS or not is_conflict(error):
                raise
            delay = min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)
            log.warning(
                "concurrent write to %s (attempt %d), retrying in %.1fs: %s", path, attempt, delay, type(error).__name__
            )
            time.sleep(delay)


def create_table(spark: SparkSession, lake: str, table: str, predicate: str) -> None:
    """Makes a table of schemas/ with every column of its contract, if it is not there yet, by an empty write of
    the slice (which two runs into a new lake can both make)."""
    schema = table_schema(table)
    path = table_path(lake, table)
    if not table_exists(spark, path):
        empty = spark.createDataFrame([], schema.struct())
        replace_where(empty, path, predicate, schema.partition_by, None, schema.properties)


def commit_table_files(spark: SparkSession, lake: str, table: str, files: list[dict], predicate: str) -> None:
    """Replaces the rows matching predicate with the rows of Parquet files already written in the table's folder
    (record_files: each a dict of file_path relative to the folder, its partition value, file_bytes, modified_ms,
    records and Delta's stats), in one Delta commit, as replace_where does: the files that may hold matching rows are
    removed, the rows of theirs that do not match written again, the new files added. Retried on conflicts,
    files kept; the table must exist (create_table)."""
    path = table_path(lake, table)
    with table_writer(spark, path):
        _retried_on_conflict(
            path, lambda: _commit_files(spark, path, table_schema(table).partition_by, files, predicate)
        )


def _commit_files(
    spark: SparkSession, path: str, partition_by: tuple[str, ...], files: list[dict], predicate: str
) -> None:
    jvm = spark.sparkContext._jvm
    delta = jvm.org.apache.spark.sql.delta
    scala = jvm.scala.jdk.javaapi.CollectionConverters

    def scala_seq(values) -> object:
        java_list = jvm.java.util.ArrayList()
        for value in values:
            java_list.add(value)
        return scala.asScala(java_list).toSeq()

    delta_log = delta.DeltaLog.forTable(spark._jsparkSession, path)
    transaction = delta_log.startTransaction()
    # The predicate resolved against the table's columns, as Delta skips files by it (and records it as read,
    # so that a concurrent commit of files it matches is a conflict).
    condition = spark.read.format("delta").load(path).where(predicate)._jdf.queryExecution().analyzed().condition()
    # (The overload with keepNumRecords: the one-argument one of a Seq takes AddFiles, and erasure hides which.
    # The record counts kept are the history's deleted and copied rows.)
    candidates = list(scala.asJava(transaction.filterFiles(scala_seq([condition]), True)))

    def rows_of(files: list) -> DataFrame:
        return DataFrame(
            delta_log.createDataFrame(transaction.snapshot(), scala_seq(files), False, jvm.scala.Option.empty()), spark
        )

    replaced = F.coalesce(F.expr(predicate), F.lit(False))
    removed = _files_holding(spark, delta_log, candidates, rows_of, replaced)
    actions = jvm.java.util.ArrayList()
    rewritten = []
    if removed:
        # Rows the predicate does not make TRUE stay, as with replaceWhere.
        rewritten = list(scala.asJava(transaction.writeFiles(rows_of(removed).where(~replaced)._jdf)))
        actions.addAll(rewritten)
        for candidate in removed:
            actions.add(candidate.remove())
    for file in files:
        add = {
            "path": file["file_path"],
            "partitionValues": {column: file[column] for column in partition_by},
            "size": file["file_bytes"],
            "modificationTime": file["modified_ms"],
            "dataChange": True,
            "stats": file["stats"],
        }
        actions.add(delta.actions.Action.fromJson(json.dumps({"add": add})))
    if actions.isEmpty():
        return
    none = jvm.scala.Option.empty()
    operation = delta.DeltaOperations.Write(
        jvm.org.apache.spark.sql.SaveMode.Overwrite,
        jvm.scala.Option.apply(scala_seq(partition_by)),
        jvm.scala.Option.apply(predicate),
        *[none] * 6,
    )
    transaction.registerSQLMetrics(spark._jsparkSession, _history_metrics(spark, removed, rewritten, files))
    transaction.commit(scala.asScala(actions).toSeq(), operation)


def _files_holding(
    spark: SparkSession, delta_log, candidates: list, rows_of: Callable[[list], DataFrame], replaced: Column
) -> list:
    """The candidate files (those Delta's statistics could not rule out) that hold a row to replace: the only ones
    the commit removes and writes again without those rows, as Delta's replaceWhere does. An hourly run's new
    objects are named among those of the runs before it, so the files of those runs are candidates; they hold
    none of its rows and stay as they are."""
    if not candidates:
        return []
    # Absolute paths as Delta makes them of a file's path in the log and of the path a scan reads it by.
    absolute = spark.sparkContext._jvm.org.apache.spark.sql.delta.util.DeltaFileOperations.absolutePath
    base = delta_log.dataPath().toString()
    by_path = {absolute(base, candidate.path()).toString(): candidate for candidate in candidates}
    read = rows_of(candidates).where(replaced).select(F.input_file_name().alias("file")).distinct().collect()
    return [by_path[absolute(base, row.file).toString()] for row in read]


def _history_metrics(spark: SparkSession, removed: list, rewritten: list, files: list[dict]) -> object:
    """The commit's figures for Delta's history (DESCRIBE HISTORY's operationMetrics), as replaceWhere records
    them: files and rows written (the rows kept from removed files included), files and bytes removed, and the
    removed files' rows that were copied or deleted (left out, as Delta does, when a removed file has no count).
    """
    jvm = spark.sparkContext._jvm

    def records(action) -> int | None:
        count = action.numLogicalRecords()
        return count.get() if count.isDefined() else None

    added = [add for add in rewritten if add.getClass().getSimpleName() == "AddFile"]
    copied = sum(records(add) or 0 for add in added)
    figures = {
        "numFiles": len(added) + len(files),
        "numOutputRows": copied + sum(file["records"] for file in files),
        "numOutputBytes": sum(add.size() for add in added) + sum(file["file_bytes"] for file in files),
        "numRemovedFiles": len(removed),
        "numRemovedBytes": sum(file.size() for file in removed),
        "numAddedChangeFiles": len(rewritten) - len(added),
    }
    removed_records = [records(file) for file in removed]
    if None not in removed_records:
        figures |= {"numCopiedRows": copied, "numDeletedRows": sum(removed_records) - copied}
    metrics = jvm.java.util.HashMap()
    for name, value in figures.items():
        metric = jvm.org.apache.spark.sql.execution.metric.SQLMetrics.createMetric(spark.sparkContext._jsc.sc(), name)
        metric.set(value)
        metrics.put(name, metric)
    return jvm.org.apache.spark.api.python.PythonUtils.toScalaMap(metrics)


def write_table_slice(
    df: DataFrame, lake: str, table: str, predicate: str, metrics: dict[str, Column] | None = None
) -> dict:
    """replace_where for a table of schemas/: its partitioning and Delta properties come from its contract.

    df may lack columns of the contract (Delta reads them as NULL): the table is then made with every column
    first, by an empty write of the slice (which two runs into a new lake can both make), since a first write
    makes the table of the columns it has.
    """
    schema = table_schema(table)
    if set(schema.column_names) - set(df.columns):
        create_table(df.sparkSession, lake, table, predicate)
    return replace_where(df, table_path(lake, table), predicate, schema.partition_by, metrics, schema.properties)


def write_concurrently(spark: SparkSession, writes: dict[str, Callable[[], T]]) -> dict[str, T]:
    """Runs independent table writes at once, one thread each, and returns each one's result by name.

    Spark runs the jobs of several threads side by side: one table's planning,
    commit and small jobs overlap the others' work. Each write's jobs go to a
    scheduler pool named after it, and the session shares the cores fairly among
    pools (spark_session.runtime_conf): one table's one-task jobs (Delta's file
    lists and commits) then run between another's tasks instead of waiting for
    its whole stage, and its thread goes on. The first error is raised once
    every write has ended.
    """

    def in_own_pool(name: str, write: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            spark.sparkContext.setLocalProperty(SCHEDULER_POOL, name)
            return write()

        return run

    with ThreadPoolExecutor(max_workers=len(writes), thread_name_prefix="flowlake-write") as pool:
        futures = {name: pool.submit(in_own_pool(name, write)) for name, write in writes.items()}
        wait(futures.values())
    return {name: future.result() for name, future in futures.items()}


def require_lake(spark: SparkSession, lake: str):
    """The lake's root folder and its Hadoop file system; FileNotFoundError naming the lake when it is not there."""
    from flowlake.layout import normalize_uri

    root, fs = hadoop_path(spark, normalize_uri(lake))
    if not fs.exists(root):
        raise FileNotFoundError(f"no lake at {lake}: run flowlake ingest (or make demo) first")
    return root, fs


def lake_tables(spark: SparkSession, lake: str) -> dict[str, str]:
    """Every Delta table directly under the lake: {folder name: path}."""
    jvm = spark.sparkContext._jvm
    root, fs = require_lake(spark, lake)
    return {
        status.getPath().getName(): status.getPath().toString()
        for status in sorted(fs.listStatus(root), key=lambda s: s.getPath().getName())
        if status.isDirectory() and fs.exists(jvm.org.apache.hadoop.fs.Path(status.getPath(), "_delta_log"))
    }


def latest_snapshot(spark: SparkSession, path: str):
    """The Delta table's latest snapshot (version -1: no table), of the log Delta keeps for the session: a read of
    the table then uses the same snapshot. Its version and metadata (which any read needs) come with no Spark job
    where the commit has its checksum file, as Delta writes one."""
    jvm = spark.sparkContext._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    none = jvm.scala.Option.empty()
    return delta_log.update(False, none, none)


def read_pinned(spark: SparkSession, path: str) -> DataFrame | None:
    """The table as of its latest version now, and at that version whenever it is computed (None: no table).

    A read of a table's latest version is read again at each action, and what Spark keeps computed from it is
    dropped when the session writes the table: a run that reads a table it writes (security_findings' port
    history) would lose its kept frames, or have them dropped while a job read them (a run failed so)."""
    version = latest_snapshot(spark, path).version()
    return None if version < 0 else spark.read.format("delta").option("versionAsOf", version).load(path)


def table_exists(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, path)

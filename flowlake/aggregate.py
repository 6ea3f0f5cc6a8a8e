"""Aggregate: the flow_logs records of whole UTC hours -> the hourly tables of flowlake.aggregates.

A run replaces exactly its hours in every table, so re-running an hour (after
late records landed in it, for instance) corrects it and touches no other hour.

But for the hours whose records retention removed (before the day flowlake retention
records on flow_logs): they keep the figures they were aggregated to while their
records were there, and cannot be aggregated again. A run leaves them as they are,
aggregates the rest of its window, and names them in its summary (kept_hours,
records_removed_before) and in a warning.

    flowlake aggregate --lake LAKE --start 2026-11-01T10:00:00Z --end 2026-11-01T12:00:00Z \
        [--nat-inventory FILE] [--nat-price-per-gb 0.045] [--tables traffic_hourly,rejects_hourly]
    spark-submit jobs/aggregate.py --lake ... (same arguments)
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import operator
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import NamedTuple

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from flowlake import nat_inventory as inventory
from flowlake import privacy, record_files, retention
from flowlake.aggregates import HOURLY_TABLES, RECORD_COLUMNS, module_for
from flowlake.aggregates.nat_gateway_hourly import DEFAULT_PRICE_PER_GB
from flowlake.ingest import FLOW_LOGS
from flowlake.lake import table_path, write_concurrently, write_table_slice
from flowlake.layout import normalize_uri
from flowlake.progress import spark_progress
from flowlake.security import SecurityConfig, add_security_arguments, config_of
from flowlake.spark_session import session_settings
from flowlake.window import Window, add_window_arguments, job_arguments, require_whole_hours, slice_predicate

log = logging.getLogger("flowlake.aggregate")

# At most this much of flow_logs' files per part of the cached records: a table's aggregation takes each
# part in one task, whose hash map of addresses must fit its share of the heap. In Spark's parts of up to
# 128 MB, the benchmark's 5M records of random traffic were cached in 2 parts, and aggregating each by
# address spilled a gigabyte to disk (top talkers: 29-35 s per part's task; in 10 parts, 11-15 s in all).
CACHED_PART_BYTES = 16 * 1024 * 1024


def read_flow_logs(spark: SparkSession, lake: str, window: Window, version: int) -> DataFrame:
    """The window's records as of flow_logs' version: the one whose recorded retention the run went by, so that a
    retention committed meanwhile (its record, then its deletes) cannot take records from under the run."""
    return (
        spark.read.format("delta")
        .option("versionAsOf", version)
        .load(table_path(lake, FLOW_LOGS))
        .where(slice_predicate(window, "event_time"))
    )


def columns_without_values(spark: SparkSession, lake: str, records: DataFrame) -> tuple[str, ...]:
    """The RECORD_COLUMNS that no file of the window's records has a value in, by the files' Parquet footers
    (record_files.columns_without_values). A lake pyarrow cannot reach (neither a folder nor S3) has none:
    all its columns are cached."""
    table = table_path(lake, FLOW_LOGS)
    if not record_files.pyarrow_reaches(table):
        return ()
    files = records.inputFiles()
    if not files:
        return ()
    storage = record_files.table_storage(table, spark.sparkContext._jsc.hadoopConfiguration().get)
    return record_files.columns_without_values(files, RECORD_COLUMNS, storage)


class CachedRecords(NamedTuple):
    cache: DataFrame  # what to unpersist
    records: DataFrame  # RECORD_COLUMNS of the window's records, read from the cache
    count: int
    without_values: tuple[str, ...]  # columns not kept in memory: NULL in every record


def cache_records(records: DataFrame, assumed_empty: tuple[str, ...]) -> CachedRecords:
    """The records kept in memory for every table, but for the columns assumed empty, which they carry as
    typed NULLs instead: when every record is of a format without them (the default format lacks 13 of
    RECORD_COLUMNS), keeping them cost a 5M-record day some 7 s, and NULL constants let Spark drop what
    only they feed (transit gateway figures). The files the footers were read of may not be all the cache
    reads (a commit in between), so whether the columns are empty is counted while the cache is built (one
    count for all of them: one per column cost that day 1.3 s more); when one is not, every column is cached
    after all."""
    level = StorageLevel.MEMORY_AND_DISK
    if assumed_empty:
        check = Observation()
        kept = [c for c in records.columns if c not in assumed_empty]
        with_values = F.count_if(functools.reduce(operator.or_, [F.col(c).isNotNull() for c in assumed_empty]))
        cache = records.observe(check, with_values.alias("records_with_values")).select(*kept).persist(level)
        count, _ = _counted(cache)
        if not check.get["records_with_values"]:
            empty = {c: F.lit(None).cast(records.schema[c].dataType).alias(c) for c in assumed_empty}
            return CachedRecords(cache, cache.select(*[empty.get(c, c) for c in records.columns]), count, assumed_empty)
        cache.unpersist()
        cache = records.persist(level)
        count, values = _counted(cache, assumed_empty)
        log.warning(
            "records have %s, which the window's files had no value of when their footers were read (a file "
            "committed since): every column is cached",
            ", ".join(column for column in assumed_empty if values[column]),
        )
        return CachedRecords(cache, cache, count, ())
    cache = records.persist(level)
    return CachedRecords(cache, cache, _counted(cache)[0], ())


def read_window_records(spark: SparkSession, lake: str, window: Window, version: int) -> CachedRecords:
    """One read of the window serves every table: the columns they use, kept until the last is written, in
    parts of at most CACHED_PART_BYTES of files."""
    with session_settings(spark, {"spark.sql.files.maxPartitionBytes": str(CACHED_PART_BYTES)}):
        records = read_flow_logs(spark, lake, window, version).select(*RECORD_COLUMNS)
        return cache_records(records, columns_without_values(spark, lake, records))


def _counted(cache: DataFrame, columns: tuple[str, ...] = ()) -> tuple[int, dict[str, int]]:
    """The cache's rows, and the values in each of columns, counted by the pass that builds it; the cache is
    released when that fails (a bad data file), since the caller gets no handle to release it by."""
    try:
        counts = cache.select(F.count(F.lit(1)).alias("rows"), *[F.count(c).alias(c) for c in columns]).first()
    except BaseException:
        cache.unpersist()
        raise
    return counts["rows"], {column: counts[column] for column in columns}


def table_rows(
    table: str,
    flow_logs: DataFrame,
    options: dict,
    inputs: dict,
    shared: dict[str, DataFrame],
    intermediates: dict[str, DataFrame] | None = None,
) -> DataFrame:
    """The table's rows of the window: its transform of the records, its inputs, the shared tables it names and
    its intermediates computed already."""
    module = module_for(table)
    from_tables = computed_sources(module, shared)
    return module.transform(flow_logs, **options, **inputs.get(table, {}), **from_tables, **(intermediates or {}))


def computed_sources(module, shared: dict[str, DataFrame]) -> dict[str, DataFrame]:
    """The shared tables a table's module names (FROM_TABLES) that are computed already, by name."""
    return {source: shared[source] for source in getattr(module, "FROM_TABLES", ()) if source in shared}


class LakeInputs(NamedTuple):
    options: dict  # what every table's transform is given: the NAT inventory, its price, the security settings
    inputs: dict[str, dict]  # what a table reads from the lake besides the window's records, by table
    nat_source: str  # where the NAT inventory came from


def read_lake_inputs(
    spark: SparkSession,
    lake: str,
    window: Window,
    tables: tuple[str, ...],
    nat_inventory: str | None,
    nat_price_per_gb: float,
    security: SecurityConfig | None,
) -> LakeInputs:
    nat_gateways, nat_source = inventory.resolve(spark, lake, nat_inventory)
    options = {
        "nat_inventory": nat_gateways,
        "nat_price_per_gb": nat_price_per_gb,
        "security": security or SecurityConfig.load(),
    }
    inputs = {
        table: module_for(table).read_inputs(spark, lake, window, **options)
        for table in tables
        if hasattr(module_for(table), "read_inputs")
    }
    return LakeInputs(options, inputs, nat_source)


def run_aggregate(
    spark: SparkSession,
    lake: str,
    window: Window,
    nat_inventory: str | None = None,
    tables: tuple[str, ...] = HOURLY_TABLES,
    nat_price_per_gb: float = DEFAULT_PRICE_PER_GB,
    security: SecurityConfig | None = None,
) -> dict:
    """Replaces the window's hours of each table; nat_inventory is an inventory file (else the lake's table).

    The hours before the day retention removed flow_logs' records before are left as they are (see the module):
    a window wholly before it writes nothing.
    security: the security_findings settings (default: SecurityConfig.load()).
    """
    require_whole_hours(window)
    lake = normalize_uri(lake)
    started = time.monotonic()
    requested = window
    flow_logs_version, kept_from = retention.flow_logs_state(spark, lake)
    if flow_logs_version < 0:
        raise FileNotFoundError(f"no {FLOW_LOGS} table at {table_path(lake, FLOW_LOGS)}: run flowlake ingest first")
    part, kept = retention.with_records(window, kept_from)
    retention.warn_of_kept_hours(window, part, kept, "kept as they are, not aggregated again")
    if part is None:
        summary = {
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "hours": 0,
            **kept,
            "rows": dict.fromkeys(tables, 0),
            "nat_inventory": None,
            "columns_without_values": [],
            "pseudonymized": [],
            "seconds": round(time.monotonic() - started, 2),
        }
        log.info("aggregate done: %s", json.dumps(summary))
        return summary
    window = part
    # Addresses of the tables analysts read are pseudonymized when a key is configured (never logged).
    pseudonymizer = privacy.configured()
    # The lake inputs are read while the records are cached: their small jobs fill the cache's gaps.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowlake-inputs") as pool:
        reading = pool.submit(read_lake_inputs, spark, lake, window, tables, nat_inventory, nat_price_per_gb, security)
        with spark_progress(spark, f"aggregate: caching the records of [{window.start}, {window.end})"):
            cached = read_window_records(spark, lake, window, flow_logs_version)
    # The tables other tables are computed from (FROM_TABLES), each computed once and kept for all.
    users: dict[str, set[str]] = {}
    for table in tables:
        for source in getattr(module_for(table), "FROM_TABLES", ()):
            users.setdefault(source, set()).add(table)
    shared: dict[str, DataFrame] = {}
    intermediates: dict[str, dict[str, DataFrame]] = {}
    try:
        options, inputs, nat_source = reading.result()
        flow_logs = cached.records
        log.info(
            "read %d records of [%s, %s) in %.1fs%s",
            cached.count,
            window.start,
            window.end,
            time.monotonic() - started,
            f" ({len(cached.without_values)} columns without values: {', '.join(cached.without_values)})"
            if cached.without_values
            else "",
        )

        def needed_first(table: str) -> list[str]:
            """The shared tables a table needs computed before it is planned: its sources, or itself."""
            return sorted(({table} | set(getattr(module_for(table), "FROM_TABLES", ()))) & users.keys())

        def compute_first(table: str) -> None:
            for source in needed_first(table):
                if source in shared:
                    continue
                shared[source] = table_rows(source, flow_logs, options, inputs, {}).persist(
                    StorageLevel.MEMORY_AND_DISK
                )
                # Computed before the tables that use it are planned, so that Spark plans their joins by its
                # real size: planned uncomputed, the spikes' join broadcast millions of rows of the 5M random
                # traffic and ran the driver out of memory.
                log.info(
                    "computed %d rows of %s for %s", shared[source].count(), source, ", ".join(sorted(users[source]))
                )
            module = module_for(table)
            if hasattr(module, "intermediates"):
                frames = module.intermediates(
                    flow_logs, **options, **inputs.get(table, {}), **computed_sources(module, shared)
                )
                intermediates[table] = {}
                # Each is kept and counted before the next is kept (which plans it), so that the next is planned
                # by the real size of those it is computed from.
                for name, frame in frames.items():
                    intermediates[table][name] = frame.persist(StorageLevel.MEMORY_AND_DISK)
                    log.info("computed %d rows of %s for %s", intermediates[table][name].count(), name, table)

        def replaced_slice(table: str) -> str:
            """The table's rows a run of the window replaces: its hours', and more where its module says so."""
            module = module_for(table)
            if hasattr(module, "replaced_slice"):
                return module.replaced_slice(window, **options)
            return slice_predicate(window, "hour")

        def write(table: str, computed_first: Future | None) -> Callable[[], int]:
            def replace_hours() -> int:
                table_started = time.monotonic()
                if computed_first is not None:
                    computed_first.result()
                hours = (
                    shared[table]
                    if table in shared
                    else table_rows(table, flow_logs, options, inputs, shared, intermediates.get(table))
                )
                hours = privacy.pseudonymize_table(table, hours, pseudonymizer)
                rows = write_table_slice(hours, lake, table, replaced_slice(table))["rows"]
                log.info("wrote %d rows of %s in %.1fs", rows, table, time.monotonic() - table_started)
                return rows

            return replace_hours

        # What tables need computed first is computed one table after another, in the tables' order, and each
        # table is planned as soon as its own is ready; the tables that need nothing first are written meanwhile.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowlake-first") as pool:
            first = {
                table: pool.submit(compute_first, table)
                for table in tables
                if needed_first(table) or hasattr(module_for(table), "intermediates")
            }
            rows = write_concurrently(spark, {table: write(table, first.get(table)) for table in tables})
    finally:
        for frame in (
            *shared.values(),
            *[f for frames in intermediates.values() for f in frames.values()],
            cached.cache,
        ):
            frame.unpersist()
    # After every table is written: what a table does with its new rows (security_findings: alerts).
    after = {
        table: module_for(table).after_write(spark, lake, window, **options)
        for table in tables
        if hasattr(module_for(table), "after_write")
    }
    summary = {
        "window_start": requested.start.isoformat(),
        "window_end": requested.end.isoformat(),
        "hours": _hours(window.start, window.end),
        **kept,
        "rows": rows,
        "nat_inventory": nat_source,
        "columns_without_values": list(cached.without_values),
        "pseudonymized": sorted(set(tables) & set(privacy.PSEUDONYMIZED)) if pseudonymizer else [],
        **({"after_write": after} if after else {}),
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info("aggregate done: %s", json.dumps(summary))
    return summary


def _hours(start: datetime, end: datetime) -> int:
    return int((end - start) / timedelta(hours=1))


def add_nat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nat-inventory",
        help="NAT gateway inventory, CSV or JSON (default: the lake's nat_gateways table; without either, no NAT figures)",
    )
    parser.add_argument(
        "--nat-price-per-gb",
        type=float,
        default=DEFAULT_PRICE_PER_GB,
        help=f"NAT gateway data-processing price in USD per GB (default {DEFAULT_PRICE_PER_GB})",
    )


def registered_tables(names: str) -> tuple[str, ...]:
    """--tables: comma-separated registered hourly tables, in the registry's order (the order they are written)."""
    wanted = {name.strip() for name in names.split(",") if name.strip()}
    unknown = sorted(wanted - set(HOURLY_TABLES))
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or 'no table'}: not a registered hourly table; choose among {', '.join(HOURLY_TABLES)}"
        )
    return tuple(table for table in HOURLY_TABLES if table in wanted)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake aggregate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    add_window_arguments(parser)
    parser.add_argument(
        "--tables",
        type=registered_tables,
        default=HOURLY_TABLES,
        help="comma-separated hourly tables whose hours to replace, the others left as they are "
        "(after a fix to one table's logic, say); default: every registered one",
    )
    add_nat_arguments(parser)
    add_security_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args, window = job_arguments(parser, argv, whole_hours=True)
    security = config_of(parser, args)
    spark = spark or get_spark("flowlake-aggregate")
    summary = run_aggregate(
        spark,
        args.lake,
        window,
        args.nat_inventory,
        tables=args.tables,
        nat_price_per_gb=args.nat_price_per_gb,
        security=security,
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

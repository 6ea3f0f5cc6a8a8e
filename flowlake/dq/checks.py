"""The frames the data-quality suites run on, one per check, built from the lake's tables: with Spark,
or in pandas where the tables' schemas alone make the frame.

Schema, domains and ranges are checked on the tables themselves; completeness
and reconciliation are first computed here into small frames (one row per
object, per hour and flow log, per hour) whose columns the suites then check,
so that every result, whatever its kind, reports through Great Expectations.
Every function is a pure transform of DataFrames already read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from functools import reduce

import pandas as pd
import yaml
from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from flowlake.aggregate import slice_predicate
from flowlake.aggregates import HOURLY_TABLES
from flowlake.aggregates.hourly import with_hour
from flowlake.contracts import contract_file, table_schema
from flowlake.dq import suite_file
from flowlake.ingest import FLOW_LOGS, QUARANTINE, SOURCE_OBJECTS
from flowlake.parse import STATUS_CORRUPT
from flowlake.rules import is_traffic
from flowlake.window import Window, timestamp_literal, timestamps_as_text

# Tables whose contract the schema suite checks: every table validate reads.
CONTRACT_TABLES = (FLOW_LOGS, QUARANTINE, SOURCE_OBJECTS, *HOURLY_TABLES)
# Interfaces listed by name in one row of the interface check, at most.
MAX_SILENT_INTERFACES_LISTED = 20
RECONCILED_TABLE = "reconciled_table"
_ENTERS_NAT_GATEWAY = "enters_nat_gateway"
# A record's address in the results of the flow_logs suite.
RECORD_INDEX = ("source_file", "line_number")
# Columns the checks of the window's records read besides those their suites and rules name: shares and
# reconciliations count per hour and flow log, NAT gateway traffic is matched by interface and address,
# and flow_log_rows derives duration_seconds.
_RECORD_KEYS = ("event_time", "flow_log_id", "log_status", "interface_id", "dstaddr", "start", "end")


@dataclass(frozen=True)
class Thresholds:
    """The checks' settings: expectations/parameters.yaml, with per-run overrides."""

    aggregation_interval_seconds: int
    flow_duration_slack_seconds: int
    delivery_lookback_hours: int
    min_objects_per_hour: int
    interface_lookback_hours: int
    min_interface_reporting_share: float
    max_quarantined_share: float
    max_skipdata_share: float

    @classmethod
    def load(cls, overrides: dict[str, str] | None = None) -> Thresholds:
        values = yaml.safe_load(contract_file("expectations", "parameters.yaml").read_text())
        values.update(overrides or {})
        types = {f.name: {"int": int, "float": float}[f.type] for f in fields(cls)}
        unknown = sorted(set(values) - set(types))
        if unknown:
            raise ValueError(f"unknown data-quality parameter(s) {', '.join(unknown)}; known: {', '.join(types)}")
        converted = {}
        for name, value in values.items():
            try:
                converted[name] = types[name](value)
            except (TypeError, ValueError):
                kind = "a whole number" if types[name] is int else "a number"
                raise ValueError(f"data-quality parameter {name}: {value!r} is not {kind}") from None
        return cls(**converted)

    def suite_parameters(self) -> dict:
        """Values for the suites' {"$PARAMETER": name} references."""
        return {
            **asdict(self),
            "max_flow_duration_seconds": self.aggregation_interval_seconds + self.flow_duration_slack_seconds,
        }


@dataclass(frozen=True)
class Check:
    """One suite of expectations/ run on one frame (batch: what the frame holds)."""

    suite: str
    batch: str
    frame: DataFrame | pd.DataFrame  # pandas when made without Spark
    # Columns that name an offending row in the results (and so in alerts).
    index_columns: tuple[str, ...]
    # A frame of computed counts is small whatever the data. A frame of records grows with
    # them: it is validated in Spark once it holds more than MAX_ROWS_IN_MEMORY rows, each
    # expectation reading it again, so it must be made of cached rows.
    grows_with_records: bool = False


@dataclass(frozen=True)
class LakeTable:
    """A table as read: its rows in the documented columns (NULL where missing) and the schema found."""

    rows: DataFrame
    found: T.StructType | None  # None when the table does not exist


def conformed(spark: SparkSession, table: str, found: DataFrame | None) -> LakeTable:
    """The documented columns, whatever the table holds, so that one drifted column fails the schema
    check alone instead of breaking every other check."""
    contract = table_schema(table).struct()
    if found is None:
        return LakeTable(spark.createDataFrame([], contract), None)
    found_types = {f.name: f.dataType for f in found.schema.fields}
    # A cast of every column costs the plan's analysis more than the rest of a check frame: only
    # drifted columns get one.
    columns = [
        F.col(f.name)
        if found_types.get(f.name) == f.dataType
        else _cast_or_null(found, f)
        if f.name in found_types
        else F.lit(None).cast(f.dataType).alias(f.name)
        for f in contract.fields
    ]
    return LakeTable(found.select(columns), found.schema)


def _cast_or_null(found: DataFrame, field: T.StructField) -> Column:
    """The found column in its documented type where Spark can cast it (NULL where a value does not cast), else
    NULL: a string where an array is documented has no cast at all."""
    cast = F.col(field.name).try_cast(field.dataType).alias(field.name)
    try:
        found.select(cast)
    except AnalysisException:
        return F.lit(None).cast(field.dataType).alias(field.name)
    return cast


def schema_comparison(table: str, found: T.StructType | None) -> pd.DataFrame:
    """One row per column documented or found: its documented and found types, None where absent.

    Made of the schemas alone: no Spark job needed."""
    documented = {f.name: f.dataType.simpleString() for f in table_schema(table).struct().fields}
    actual = {f.name: f.dataType.simpleString() for f in (found.fields if found else [])}
    names = list(documented) + [name for name in actual if name not in documented]
    return pd.DataFrame(
        [(name, documented.get(name), actual.get(name)) for name in names],
        columns=["column", "documented", "found"],
        dtype=object,
    )


def suite_columns(suite: str) -> set[str]:
    """The columns a suite's expectations name, those of their row conditions included."""
    named = set()
    for expectation in suite_file(suite)["expectations"]:
        named |= {value for key, value in expectation["kwargs"].items() if key in ("column", "column_A", "column_B")}
        named |= set(_condition_columns(expectation["kwargs"].get("row_condition")))
    return named


def _condition_columns(condition) -> list[str]:
    """The columns a row condition reads ({"column": {"name": ...}}, nested in "and"/"or" conditions)."""
    if not isinstance(condition, dict):
        return []
    own = [condition["column"]["name"]] if isinstance(condition.get("column"), dict) else []
    return own + [name for inner in condition.get("conditions", []) for name in _condition_columns(inner)]


def in_memory(frame: DataFrame) -> pd.DataFrame:
    """A small frame collected in one Spark job, its values as Python gives them: an integer column
    with NULLs stays integers and None (pandas would make it floats, and 3 would show as 3.0)."""
    return pd.DataFrame([tuple(row) for row in frame.collect()], columns=frame.columns, dtype=object)


def flow_log_rows(flow_logs: DataFrame) -> DataFrame:
    """The window's records, with the length of their aggregation window, which no column holds."""
    return flow_logs.withColumn("duration_seconds", F.col("end") - F.col("start"))


def object_reconciliation(objects: DataFrame, flow_logs: DataFrame, quarantine: DataFrame) -> DataFrame:
    """Per object: what ingest says it read and wrote, and the rows the tables actually hold from it.

    A full join, so that rows of an object missing from source_objects show up too.
    """
    written = flow_logs.groupBy("source_file").agg(F.count(F.lit(1)).alias("flow_logs_rows"))
    quarantined = quarantine.groupBy("source_file").agg(F.count(F.lit(1)).alias("quarantine_rows"))
    joined = (
        objects.select("source_file", "status", "lines_read", "records_written", "lines_quarantined")
        .join(written, on="source_file", how="full")
        .join(quarantined, on="source_file", how="full")
    )
    return joined.select(
        "source_file",
        "status",
        "lines_read",
        (F.col("records_written") + F.col("lines_quarantined")).alias("written_plus_quarantined"),
        F.coalesce("records_written", F.lit(0)).alias("records_written"),
        F.coalesce("flow_logs_rows", F.lit(0)).alias("flow_logs_rows"),
        F.coalesce("lines_quarantined", F.lit(0)).alias("lines_quarantined"),
        F.coalesce("quarantine_rows", F.lit(0)).alias("quarantine_rows"),
    )


def window_hours(spark: SparkSession, window: Window) -> DataFrame:
    last = window.end - timedelta(hours=1)
    return spark.range(1).select(
        F.explode(
            F.sequence(timestamp_literal(window.start), timestamp_literal(last), F.expr("INTERVAL 1 HOUR"))
        ).alias("hour")
    )


def _hours_before(earlier: str, hour: str, hours: int) -> Column:
    return (F.col(earlier) >= F.col(hour) - F.expr(f"INTERVAL {int(hours)} HOURS")) & (F.col(earlier) < F.col(hour))


def hourly_delivery(objects: DataFrame, window: Window, lookback_hours: int) -> DataFrame:
    """Per hour of the window and flow log that delivered objects in the lookback_hours before it:
    the objects named in that hour (0 when it delivered none).

    objects: source_objects from lookback_hours before the window to its end.
    """
    keys = ("account_id", "region", "flow_log_id")
    delivered = objects.groupBy(F.date_trunc("hour", "object_time").alias("hour"), *keys).agg(
        F.count(F.lit(1)).alias("objects")
    )
    earlier = delivered.select(F.col("hour").alias("delivered_hour"), *keys)
    expected = (
        window_hours(objects.sparkSession, window)
        .join(earlier, on=_hours_before("delivered_hour", "hour", lookback_hours), how="inner")
        .select("hour", *keys)
        .distinct()
    )
    return expected.join(delivered, on=["hour", *keys], how="left").select(
        "hour", *keys, F.coalesce("objects", F.lit(0)).alias("objects")
    )


def interface_reporting(flow_logs: DataFrame, window: Window, lookback_hours: int) -> DataFrame:
    """Per hour of the window and flow log with records in it: how many of the interfaces it recorded
    in the lookback_hours before report OK or NODATA in the hour, and which do not.

    Hours in which a flow log has no record at all are the delivery check's, not this one's.
    flow_logs: records from lookback_hours before the window to its end.
    """
    # Traffic (which a format without log-status has only of) and NODATA both say the interface reported.
    reports = is_traffic() | (F.col("log_status") == "NODATA")
    per_interface = (
        with_hour(flow_logs)
        .where(F.col("interface_id").isNotNull())
        .groupBy("hour", "flow_log_id", "interface_id")
        .agg(F.bool_or(reports).alias("reported"))
    )
    active = per_interface.where(window.predicate("hour")).select("hour", "flow_log_id").distinct()
    seen = per_interface.select(
        F.col("hour").alias("seen_hour"), F.col("flow_log_id").alias("seen_flow_log_id"), "interface_id"
    )
    expected = (
        active.join(
            seen,
            on=(F.col("seen_flow_log_id") == F.col("flow_log_id")) & _hours_before("seen_hour", "hour", lookback_hours),
            how="inner",
        )
        .select("hour", "flow_log_id", "interface_id")
        .distinct()
    )
    reported = F.coalesce(F.col("reported"), F.lit(False))
    silent = F.array_sort(F.collect_list(F.when(~reported, F.col("interface_id"))))
    return (
        expected.join(per_interface, on=["hour", "flow_log_id", "interface_id"], how="left")
        .groupBy("hour", "flow_log_id")
        .agg(
            F.count(F.lit(1)).alias("expected_interfaces"),
            F.count(F.when(reported, 1)).alias("reporting_interfaces"),
            F.array_join(F.slice(silent, 1, MAX_SILENT_INTERFACES_LISTED), " ").alias("silent_interfaces"),
        )
        .withColumn("reporting_share", F.col("reporting_interfaces") / F.col("expected_interfaces"))
    )


def shares(objects: DataFrame, flow_logs: DataFrame) -> DataFrame:
    """Per hour and flow log: the share of lines quarantined (corrupt objects aside: the objects check
    reports them) and the share of SKIPDATA records."""
    quarantined = (
        objects.where(F.col("status") != STATUS_CORRUPT)
        .groupBy(F.date_trunc("hour", "object_time").alias("hour"), "flow_log_id")
        .agg(F.try_divide(F.sum("lines_quarantined"), F.sum("lines_read")).alias("quarantined_share"))
    )
    skipped = (
        with_hour(flow_logs)
        .groupBy("hour", "flow_log_id")
        .agg(
            F.try_divide(F.count(F.when(F.col("log_status") == "SKIPDATA", 1)), F.count(F.lit(1))).alias(
                "skipdata_share"
            )
        )
    )
    return quarantined.join(skipped, on=["hour", "flow_log_id"], how="full")


@dataclass(frozen=True)
class Reconciliation:
    """How an hourly table's totals follow from flow_logs: meta.flowlake of its reconcile_<table> suite."""

    table: str
    flow_logs_rows: str  # Spark SQL condition: the records the table counts
    totals: dict[str, dict[str, str]]  # total -> {"table": aggregate, "flow_logs": aggregate}
    # The records must also be addressed to a NAT gateway's private IP on its interface.
    entering_nat_gateway: bool = False

    @classmethod
    def of_suite(cls, suite: str) -> Reconciliation:
        return cls(**suite_file(suite)["meta"]["flowlake"]["reconciliation"])


def reconciliation_suite(table: str) -> str:
    return f"reconcile_{table}"


def hourly_reconciliations(
    tables_rows: dict[str, DataFrame],
    flow_logs: DataFrame,
    rules: list[Reconciliation],
    nat_gateways: DataFrame | None,
) -> DataFrame:
    """Per table and hour that either side has: the table's totals (table_<total>) and flow_logs'
    (flow_logs_<total>), every rule's at once.

    One aggregation of flow_logs serves every table: each record is counted once for each table whose
    rule takes it. Columns: reconciled_table, hour, then the totals of all rules (NULL in the rows of a
    table whose rule lacks them); reconciliation() cuts out one table's.
    """
    if nat_gateways is None:
        marked = flow_logs.withColumn(_ENTERS_NAT_GATEWAY, F.lit(False))
    else:
        addresses = nat_gateways.select(
            "interface_id", F.col("private_ip").alias("dstaddr"), F.lit(True).alias(_ENTERS_NAT_GATEWAY)
        ).distinct()
        marked = flow_logs.join(addresses, on=["interface_id", "dstaddr"], how="left")

    def takes(rule: Reconciliation) -> Column:
        taken = F.expr(rule.flow_logs_rows)
        return taken & F.coalesce(_ENTERS_NAT_GATEWAY, F.lit(False)) if rule.entering_nat_gateway else taken

    # The tables computed before the explode: Spark takes no SQL function (the rules') in a generator.
    taken_by = with_hour(marked).withColumn(
        RECONCILED_TABLE, F.array_compact(F.array(*[F.when(takes(r), F.lit(r.table)) for r in rules]))
    )
    counted = taken_by.withColumn(RECONCILED_TABLE, F.explode(RECONCILED_TABLE))
    names = list(dict.fromkeys(name for rule in rules for name in rule.totals))

    def each_tables_own(name: str) -> Column:
        # Grouped by table, a total is that table's own aggregate of its records.
        branches = " ".join(f"WHEN '{r.table}' THEN {r.totals[name]['flow_logs']}" for r in rules if name in r.totals)
        return F.expr(f"CASE {RECONCILED_TABLE} {branches} END").alias(f"flow_logs_{name}")

    flow_logs_totals = counted.groupBy(RECONCILED_TABLE, "hour").agg(*[each_tables_own(name) for name in names])
    table_totals = [
        tables_rows[rule.table]
        .groupBy("hour")
        .agg(*[F.expr(total["table"]).alias(f"table_{name}") for name, total in rule.totals.items()])
        .withColumn(RECONCILED_TABLE, F.lit(rule.table))
        for rule in rules
    ]
    all_tables = reduce(lambda one, other: one.unionByName(other, allowMissingColumns=True), table_totals)
    return all_tables.join(flow_logs_totals, on=[RECONCILED_TABLE, "hour"], how="full")


def reconciliation(reconciliations: pd.DataFrame, rule: Reconciliation) -> pd.DataFrame:
    """One table's hours of hourly_reconciliations, collected: hour, table_<total>..., flow_logs_<total>..."""
    columns = ["hour", *[f"table_{name}" for name in rule.totals], *[f"flow_logs_{name}" for name in rule.totals]]
    return reconciliations.loc[reconciliations[RECONCILED_TABLE] == rule.table, columns].reset_index(drop=True)


def record_columns_read(rules: list[Reconciliation]) -> list[str]:
    """The flow_logs columns that the checks of the window's records read, in the table's order.

    A word of a rule's SQL that names a column counts as read: one too many costs a little cache,
    one too few fails every run at once."""
    expressions = " ".join(
        text
        for rule in rules
        for text in (rule.flow_logs_rows, *(total["flow_logs"] for total in rule.totals.values()))
    )
    named = {*suite_columns(FLOW_LOGS), *RECORD_INDEX, *_RECORD_KEYS, *re.findall(r"[A-Za-z_]\w*", expressions)}
    return [name for name in table_schema(FLOW_LOGS).column_names if name in named]


# How long after the day retention keeps records from its objects may still hold records of the day before.
OBJECTS_CUT_BY_RETENTION = timedelta(hours=1)


def _records_of_objects(flow_logs: DataFrame, window: Window) -> DataFrame:
    """The rows of the window's objects. A record lands in the date of its own start, which is near
    its object's name time: a day either side bounds the partitions read."""
    first, last = (window.start - timedelta(days=1)).date(), (window.end + timedelta(days=1)).date()
    return flow_logs.where(
        f"event_date >= DATE '{first}' AND event_date <= DATE '{last}' AND {window.predicate('object_time')}"
    )


@contextmanager
def window_checks(
    spark: SparkSession,
    tables: dict[str, LakeTable],
    nat_gateways: DataFrame | None,
    window: Window,
    thresholds: Thresholds,
    records_kept_from: datetime | None = None,
) -> Iterator[list[Check]]:
    """build_checks, with the window's records read once and cached for every check that uses them,
    and every table's reconciliation computed at once and collected (a few rows per hour).

    Only the columns the checks read are cached, and on disk: a backfilled day of millions of
    records held in memory leaves the checks' own aggregations too little of a 2 GiB driver."""
    rules = [Reconciliation.of_suite(reconciliation_suite(table)) for table in HOURLY_TABLES]
    records = (
        tables[FLOW_LOGS]
        .rows.where(slice_predicate(window, "event_time"))
        .select(*record_columns_read(rules))
        .persist(StorageLevel.DISK_ONLY)
    )
    try:
        every_table = hourly_reconciliations(
            {table: tables[table].rows.where(slice_predicate(window, "hour")) for table in HOURLY_TABLES},
            records,
            rules,
            nat_gateways,
        )
        collected = in_memory(timestamps_as_text(every_table))
        reconciliations = {rule.table: reconciliation(collected, rule) for rule in rules}
        yield build_checks(spark, tables, records, reconciliations, window, thresholds, records_kept_from)
    finally:
        records.unpersist()


def build_checks(
    spark: SparkSession,
    tables: dict[str, LakeTable],
    records: DataFrame,
    reconciliations: dict[str, pd.DataFrame],
    window: Window,
    thresholds: Thresholds,
    records_kept_from: datetime | None = None,
) -> list[Check]:
    """Every check of the window, in the order they run. tables: CONTRACT_TABLES as read; records:
    flow_logs of the window's hours; reconciliations: each hourly table's reconciliation of the window;
    records_kept_from: the start of the day from which retention keeps flow_logs' records (None: all)."""
    flow_logs, objects = tables[FLOW_LOGS].rows, tables[SOURCE_OBJECTS].rows
    window_objects = objects.where(window.predicate("object_time"))
    # A record lands in the hour of its own start: objects named just after the day retention keeps records from
    # began hold records of the day before, which it removed on purpose. Their rows cannot add up to what they held.
    whole = F.lit(True)
    if records_kept_from is not None:
        whole = F.col("object_time") >= timestamp_literal(records_kept_from + OBJECTS_CUT_BY_RETENTION)
    delivery_from = Window(window.start - timedelta(hours=thresholds.delivery_lookback_hours), window.end)
    interfaces_from = Window(window.start - timedelta(hours=thresholds.interface_lookback_hours), window.end)
    checks = [
        Check("schema", f"columns of {table}", schema_comparison(table, tables[table].found), ("column",))
        for table in CONTRACT_TABLES
    ]
    checks += [
        Check("flow_logs", FLOW_LOGS, flow_log_rows(records), RECORD_INDEX, grows_with_records=True),
        Check(
            "objects",
            "source_objects with the rows written from each",
            object_reconciliation(
                window_objects.where(whole),
                _records_of_objects(flow_logs, window).where(whole),
                tables[QUARANTINE].rows.where(window.predicate("object_time")).where(whole),
            ),
            ("source_file",),
        ),
        Check(
            "delivery",
            "objects per hour and flow log",
            hourly_delivery(
                objects.where(delivery_from.predicate("object_time")), window, thresholds.delivery_lookback_hours
            ),
            ("hour", "flow_log_id"),
        ),
        Check(
            "interfaces",
            "interfaces reporting per hour and flow log",
            interface_reporting(
                flow_logs.where(slice_predicate(interfaces_from, "event_time")),
                window,
                thresholds.interface_lookback_hours,
            ),
            ("hour", "flow_log_id", "silent_interfaces"),
        ),
        Check("shares", "shares per hour and flow log", shares(window_objects, records), ("hour", "flow_log_id")),
    ]
    checks += [
        Check(reconciliation_suite(table), f"{table} and flow_logs per hour", reconciliations[table], ("hour",))
        for table in HOURLY_TABLES
    ]
    return checks

"""Retention and erasure: how long the lake keeps flow-log records, and removing one address from it.

    flowlake retention --lake LAKE --as-of 2026-11-30 [--days 90] [--aggregate-days 730]
    flowlake erase --lake LAKE --address 203.0.113.7

retention deletes the flow_logs rows of days before --days (FLOWLAKE_RETENTION_DAYS) and the
quarantine rows of objects named before then; the derived tables (hourly tables, capacity_daily,
security_alerts) keep --aggregate-days (FLOWLAKE_AGGREGATE_RETENTION_DAYS), at least as long;
then VACUUMs what it changed.

Before it deletes a flow_logs row, it records on the flow_logs table the day its records are kept
from: the table property flowlake.recordsRemovedBefore ('YYYY-MM-DD', never moved back). flowlake
aggregate leaves the hours before that day alone: an hour older than the raw retention keeps the
figures it was aggregated to while its records were there, and cannot be aggregated again (from no
records, its figures would be replaced by nothing). Recorded first, so that a crash in between
leaves the record and the rows, never rows deleted without the record.

erase removes an address from every table that holds addresses: the flow_logs rows with it as
srcaddr, dstaddr, pkt-srcaddr or pkt-dstaddr and the quarantined lines that contain it are
deleted (a record is the address's traffic: nothing of it can stay); in top_talkers_hourly and
security_findings the address (or its pseudonym, when a pseudonymization key is configured) is
replaced by NULL, so that the hour's totals still add up; a port scan from it gets a random finding_id
(in security_alerts too), since its ID hashes the source. It prints a JSON report. The tables may hold
the address as written before a key was configured or as a pseudonym with or without its network:
every form is looked for. Without a key, a lake whose tables hold pseudonyms is refused (exit 2) before
anything is erased: the address's pseudonym cannot be found without the key.

Delta keeps deleted rows in older files for time travel until a VACUUM whose retention has
passed: both commands vacuum with the safe retention (7 days), so the files that still hold what
was deleted go at the first vacuum 7 days later (flowlake compact runs daily in the maintenance DAG).
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import json
import logging
import operator
import os
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from flowlake import privacy
from flowlake.aggregates import HOURLY_TABLES
from flowlake.compact import MIN_RETENTION_HOURS
from flowlake.ingest import FLOW_LOGS, QUARANTINE
from flowlake.lake import latest_snapshot, table_exists, table_path
from flowlake.layout import normalize_uri
from flowlake.progress import spark_progress
from flowlake.security import FINDINGS, SECURITY_ALERTS
from flowlake.spark_session import session_settings
from flowlake.window import Window, configure_logging, timestamp_literal
from flowlake.writers import table_writer

log = logging.getLogger("flowlake.retention")

DEFAULT_DAYS = 90
DEFAULT_AGGREGATE_DAYS = 730
# table -> (column, its type): what a retention cutoff is compared with.
RAW_TABLES = {FLOW_LOGS: ("event_date", "date"), QUARANTINE: ("object_time", "timestamp")}
AGGREGATE_TABLES = {
    **{table: ("event_date", "date") for table in HOURLY_TABLES},
    "capacity_daily": ("day", "date"),
    "security_alerts": ("event_date", "date"),
}
ADDRESS_COLUMNS = ("srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr")
# flow_logs' table property: the UTC day ('YYYY-MM-DD') before which retention removed its records.
RECORDS_REMOVED_BEFORE = "flowlake.recordsRemovedBefore"


class FlowLogsState(NamedTuple):
    version: int  # flow_logs' latest version (-1: no table yet)
    kept_from: datetime | None  # the start of the day before which retention removed its records (None: none)


def flow_logs_state(spark: SparkSession, lake: str) -> FlowLogsState:
    """From flow_logs' latest snapshot, which a read of its records then uses: no Spark job of its own."""
    snapshot = latest_snapshot(spark, table_path(lake, FLOW_LOGS))
    if snapshot.version() < 0:
        return FlowLogsState(-1, None)
    return FlowLogsState(snapshot.version(), records_kept_from(snapshot))


def records_removed_before(snapshot) -> date | None:
    """The day before which retention removed the records of the flow_logs table of this snapshot (None: none)."""
    recorded = snapshot.metadata().configuration().get(RECORDS_REMOVED_BEFORE)
    return date.fromisoformat(recorded.get()) if recorded.isDefined() else None


def records_kept_from(snapshot) -> datetime | None:
    """The start (UTC) of the day from which the flow_logs table of this snapshot keeps its records (None: it
    keeps them all)."""
    removed_before = records_removed_before(snapshot)
    return None if removed_before is None else datetime.combine(removed_before, datetime.min.time(), tzinfo=UTC)


def with_records(window: Window, kept_from: datetime | None) -> tuple[Window | None, dict]:
    """The part of the window whose records flow_logs still keeps from kept_from (None: none of it), and what a
    run's summary says of the hours before, whose figures stay as they are: kept_hours and
    records_removed_before ({}: no such hour)."""
    if kept_from is None or kept_from <= window.start:
        return window, {}
    kept_end = min(window.end, kept_from)
    kept = {
        "kept_hours": int((kept_end - window.start) / timedelta(hours=1)),
        "records_removed_before": kept_from.date().isoformat(),
    }
    return (Window(kept_from, window.end) if kept_from < window.end else None), kept


def warn_of_kept_hours(window: Window, part: Window | None, kept: dict, what: str, why: str = "") -> None:
    """Logs the hours of the window that with_records left out (part: the rest, kept: its summary), as what a run
    did not do with them (and why that is fine)."""
    if not kept:
        return
    log.warning(
        "hours %s: [%s, %s) of the window (%d), since retention removed flow_logs' records before %s%s",
        what,
        window.start.isoformat(),
        (part.start if part else window.end).isoformat(),
        kept["kept_hours"],
        kept["records_removed_before"],
        why,
    )


def record_records_removed(spark: SparkSession, lake: str, cutoff: date) -> date | None:
    """Records on flow_logs that its records before cutoff are removed, unless a later day is recorded already;
    the day recorded now (None: no flow_logs table). Recorded even when no row is left to delete: an earlier
    retention, before the record existed, may have removed them."""
    path = table_path(lake, FLOW_LOGS)
    if not table_exists(spark, path):
        return None
    # Read under the lease: on S3, another retention could otherwise record a later day in between.
    with table_writer(spark, path):
        recorded = records_removed_before(latest_snapshot(spark, path))
        if recorded is not None and recorded >= cutoff:
            return recorded
        quoted = path.replace("`", "``")
        spark.sql(
            f"ALTER TABLE delta.`{quoted}` SET TBLPROPERTIES ('{RECORDS_REMOVED_BEFORE}' = '{cutoff.isoformat()}')"
        )
    log.info("retention: flow_logs records before %s recorded as removed, before they are deleted", cutoff)
    return cutoff


def _delta(spark: SparkSession, lake: str, table: str):
    from delta.tables import DeltaTable

    path = table_path(lake, table)
    return DeltaTable.forPath(spark, path) if table_exists(spark, path) else None


def _delete(spark: SparkSession, lake: str, table: str, condition: Column) -> int | None:
    """Deletes the rows matching condition; their count (None when the table does not exist)."""
    delta = _delta(spark, lake, table)
    if delta is None:
        return None
    with spark_progress(spark, f"retention: {table}"):
        rows = delta.toDF().where(condition).count()
        if rows:  # nothing to delete: no commit, so a re-run changes nothing
            with table_writer(spark, table_path(lake, table)):
                delta.delete(condition)
    return rows


def _vacuum(spark: SparkSession, lake: str, tables: list[str], hours: int) -> list[str]:
    """VACUUM of the tables this run changed. LITE: the files to remove are the ones the Delta log says
    were removed (what the run's deletes and updates left behind), with no listing of the table;
    FULL when the log no longer reaches back to the last vacuum. Without VACUUM's own START/END
    commits: the deletes are in each table's history, and those two commits cost more than the vacuum."""
    with session_settings(spark, {"spark.databricks.delta.vacuum.logging.enabled": "false"}):
        for table in tables:
            path = table_path(lake, table).replace("`", "``")
            with table_writer(spark, table_path(lake, table)):
                try:
                    spark.sql(f"VACUUM delta.`{path}` LITE RETAIN {int(hours)} HOURS").collect()
                except Exception as error:  # noqa: BLE001 - Delta asks for a full vacuum when LITE cannot tell
                    log.info("VACUUM LITE of %s not possible (%s): full VACUUM", table, type(error).__name__)
                    _delta(spark, lake, table).vacuum(hours)
    return tables


def _before(column: str, kind: str, cutoff: date) -> Column:
    if kind == "date":
        return F.col(column) < F.lit(cutoff)
    return F.col(column) < timestamp_literal(datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC))


def run_retention(
    spark: SparkSession,
    lake: str,
    days: int,
    aggregate_days: int,
    as_of: date,
    vacuum_hours: int = MIN_RETENTION_HOURS,
) -> dict:
    """Keeps the raw tables' last `days` days before as_of and the derived tables' last `aggregate_days`; records
    on flow_logs, first, the day its records are kept from (see the module)."""
    if days < 1 or aggregate_days < days:
        raise ValueError(f"retention of {days} days, {aggregate_days} for aggregates: need 1 <= days <= aggregate days")
    if vacuum_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"vacuum retention of {vacuum_hours} h is below the safe minimum of {MIN_RETENTION_HOURS} h")
    lake = normalize_uri(lake)
    raw_cutoff, aggregate_cutoff = as_of - timedelta(days=days), as_of - timedelta(days=aggregate_days)
    # Before any record is deleted, so that aggregate never replaces an hour's figures from records removed.
    records_removed = record_records_removed(spark, lake, raw_cutoff)
    deleted = {}
    for tables, cutoff in ((RAW_TABLES, raw_cutoff), (AGGREGATE_TABLES, aggregate_cutoff)):
        for table, (column, kind) in tables.items():
            rows = _delete(spark, lake, table, _before(column, kind, cutoff))
            if rows is not None:
                deleted[table] = rows
                log.info("retention: %d rows of %s before %s deleted", rows, table, cutoff)
    return {
        "as_of": as_of.isoformat(),
        "raw_kept_from": raw_cutoff.isoformat(),
        "aggregates_kept_from": aggregate_cutoff.isoformat(),
        # What flow_logs records: a later day than raw_kept_from when an earlier run counted from a later day.
        "records_removed_before": records_removed.isoformat() if records_removed else None,
        "deleted_rows": deleted,
        "vacuumed": _vacuum(spark, lake, [t for t, rows in deleted.items() if rows], vacuum_hours),
        "vacuum_retention_hours": vacuum_hours,
    }


class ErasureRefusedError(RuntimeError):
    """The lake holds the address in a form this run cannot find."""


def address_values(address: str, pseudonymizer: privacy.Pseudonymizer | None) -> tuple[list[str], list[str]]:
    """(the address as flow logs write it, its values in the pseudonymized tables). A non-address is refused.

    The pseudonymized tables may hold it as written before a key was configured, and as a pseudonym with or
    without its network (FLOWLAKE_PSEUDONYM_KEEP_NETWORK may have changed): every form is looked for."""
    parsed = ipaddress.ip_address(address.strip())  # ValueError: not an address (nothing else reaches a predicate)
    forms = sorted({address.strip(), str(parsed)})
    if pseudonymizer is None:
        return forms, forms
    pseudonyms = {privacy.pseudonym(pseudonymizer.key, form, keep) for form in forms for keep in (False, True)}
    return forms, sorted(set(forms) | pseudonyms)


def _refuse_unfindable_pseudonyms(spark: SparkSession, lake: str) -> None:
    """Without a key, an address written as a pseudonym cannot be found: refused before anything is erased."""
    for table, columns in privacy.PSEUDONYMIZED.items():
        delta = _delta(spark, lake, table)
        if delta is None:
            continue
        rows = delta.toDF()
        pseudonymized = F.lit(False)
        for column in columns:
            if privacy.is_array_column(rows, column):
                matches = F.exists(column, lambda value: value.rlike(privacy.PSEUDONYM_PATTERN))
            else:
                matches = F.col(column).rlike(privacy.PSEUDONYM_PATTERN)
            pseudonymized = pseudonymized | F.coalesce(matches, F.lit(False))
        if rows.where(pseudonymized).limit(1).count():
            raise ErasureRefusedError(
                f"{table} holds pseudonymized addresses and no pseudonymization key is configured, so the "
                f"address's pseudonym cannot be found: set {privacy.KEY_VARIABLE} (or the Airflow connection "
                f"{privacy.PSEUDONYM_KEY_CONNECTION}) to the key the tables were written with, and erase again; "
                "nothing was erased"
            )


def _new_scan_ids(spark: SparkSession, lake: str, published: list[str]) -> int:
    """A port scan's finding_id is a hash over its source, which an erased source would be found again from by
    hashing every address: the scans of the address get random IDs, in security_findings and security_alerts
    alike (merged from the pairs, so that no ID is in a Delta commit's text). Returns how many."""
    findings = _delta(spark, lake, FINDINGS)
    if findings is None:
        return 0
    scans = findings.toDF().where((F.col("finding_type") == "port_scan") & F.col("srcaddr").isin(published))
    pairs = [(row.finding_id, secrets.token_hex(32)) for row in scans.select("finding_id").distinct().collect()]
    if not pairs:
        return 0
    new_ids = spark.createDataFrame(pairs, "finding_id string, new_id string")
    for table in (FINDINGS, SECURITY_ALERTS):
        delta = _delta(spark, lake, table)
        if delta is None:
            continue
        with table_writer(spark, table_path(lake, table)):
            (
                delta.alias("kept")
                .merge(new_ids.alias("new"), "kept.finding_id = new.finding_id")
                .whenMatchedUpdate(set={"finding_id": "new.new_id"})
                .execute()
            )
    return len(pairs)


def run_erase(
    spark: SparkSession,
    lake: str,
    address: str,
    pseudonymizer: privacy.Pseudonymizer | None = None,
    vacuum_hours: int = MIN_RETENTION_HOURS,
) -> dict:
    raw, published = address_values(address, pseudonymizer)
    lake = normalize_uri(lake)
    if pseudonymizer is None:
        _refuse_unfindable_pseudonyms(spark, lake)
    # The values the writes match, in a one-row frame the tables are merged with: a delete or update by a
    # condition holding them as literals would write the address into each Delta commit's text.
    values = {"raw": raw, "pattern": _whole_field(raw), "published": published}
    erased = spark.createDataFrame(
        [tuple(values.values())], "raw array<string>, pattern string, published array<string>"
    )
    as_literals = {name: F.lit(value) for name, value in values.items()}
    report: dict = {"address": address.strip(), "tables": {}}
    flow_logs = _delta(spark, lake, FLOW_LOGS)
    hours = []
    if flow_logs is not None:
        hours = [
            r.hour
            for r in flow_logs.toDF()
            .where(_with_address(as_literals["raw"]))
            .select(F.date_format(F.date_trunc("hour", "event_time"), "yyyy-MM-dd'T'HH:mm:ssXXX").alias("hour"))
            .distinct()
            .orderBy("hour")
            .collect()
        ]
    changed = []
    for table, matches, value in ((FLOW_LOGS, _with_address, "raw"), (QUARANTINE, _quarantined_with, "pattern")):
        delta = _delta(spark, lake, table)
        if delta is None:
            continue
        with spark_progress(spark, f"retention: {table}"):
            rows = delta.toDF().where(matches(as_literals[value])).count()
            if rows:
                with table_writer(spark, table_path(lake, table)):
                    merged = delta.alias("kept").merge(erased.alias("erased"), matches(F.col(f"erased.{value}")))
                    merged.whenMatchedDelete().execute()
                changed.append(table)
        report["tables"][table] = {"rows_deleted": rows}
    report["port_scans_given_new_ids"] = _new_scan_ids(spark, lake, published)
    for table, columns in privacy.PSEUDONYMIZED.items():
        delta = _delta(spark, lake, table)
        if delta is None:
            continue
        arrays = {column for column in columns if privacy.is_array_column(delta.toDF(), column)}
        rows = delta.toDF().where(_holding(columns, arrays, as_literals["published"])).count()
        if rows:
            with table_writer(spark, table_path(lake, table)):
                published_erased = F.col("erased.published")
                merged = delta.alias("kept").merge(erased.alias("erased"), _holding(columns, arrays, published_erased))
                merged.whenMatchedUpdate(set=_without(columns, arrays, published_erased)).execute()
            changed.append(table)
        report["tables"][table] = {"rows_updated": rows}
    report["hours_touched"] = hours
    report["vacuumed"] = _vacuum(spark, lake, changed, vacuum_hours)
    report["vacuum_retention_hours"] = vacuum_hours
    report["note"] = (
        f"older Delta files still hold the erased values until a vacuum {vacuum_hours} hours from now "
        "(flowlake compact, daily); the hourly totals of hours_touched still count the deleted records "
        "until those hours are aggregated again (flowlake aggregate)"
    )
    log.info("erase: %s", json.dumps({k: v for k, v in report.items() if k != "address"}))
    return report


def _with_address(values: Column) -> Column:
    """A flow_logs row with one of the values (an array column) in an address column."""
    found = [F.array_contains(values, F.col(column)) for column in ADDRESS_COLUMNS]
    return F.coalesce(functools.reduce(operator.or_, found), F.lit(False))


def _holding(columns: tuple[str, ...], arrays: set[str], values: Column) -> Column:
    """A row of a pseudonymized table with one of the values (an array column) in one of its address columns
    (arrays: those of them that are arrays of addresses)."""
    found = [F.arrays_overlap(F.col(c), values) if c in arrays else F.array_contains(values, F.col(c)) for c in columns]
    return F.coalesce(functools.reduce(operator.or_, found), F.lit(False))


def _without(columns: tuple[str, ...], arrays: set[str], values: Column) -> dict[str, Column]:
    """The address columns without the values: NULL in their place, or left out of an array."""
    return {
        c: F.array_except(F.col(c), values)
        if c in arrays
        else F.when(F.array_contains(values, F.col(c)), F.lit(None)).otherwise(F.col(c))
        for c in columns
    }


def _whole_field(raw: list[str]) -> str:
    """The regular expression of the address as a whole field of a text: between spaces, tabs or any character
    an address cannot hold."""
    return "|".join(f"(^|[^0-9A-Za-z.:]){_escaped(a)}([^0-9A-Za-z.:]|$)" for a in raw)


def _quarantined_with(pattern: Column) -> Column:
    """A quarantined line holding the address as a whole field, or a reason quoting it: a whole object's reason
    quotes its first line."""
    return F.coalesce(F.rlike("raw_line", pattern), F.lit(False)) | F.coalesce(F.rlike("reason", pattern), F.lit(False))


def _escaped(address: str) -> str:
    return address.replace(".", "[.]")


def _as_of(text: str) -> date:
    return date.fromisoformat(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake retention", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    parser.add_argument(
        "--days",
        type=int,
        default=int(os.environ.get("FLOWLAKE_RETENTION_DAYS") or DEFAULT_DAYS),
        help=f"days of flow_logs and quarantine kept (default: FLOWLAKE_RETENTION_DAYS, else {DEFAULT_DAYS})",
    )
    parser.add_argument(
        "--aggregate-days",
        type=int,
        default=int(os.environ.get("FLOWLAKE_AGGREGATE_RETENTION_DAYS") or DEFAULT_AGGREGATE_DAYS),
        help="days of hourly tables, capacity_daily and security_alerts kept "
        f"(default: FLOWLAKE_AGGREGATE_RETENTION_DAYS, else {DEFAULT_AGGREGATE_DAYS})",
    )
    parser.add_argument(
        "--as-of", type=_as_of, required=True, help="the UTC day counted back from (the maintenance DAG: its run's day)"
    )
    parser.add_argument("--vacuum-hours", type=int, default=MIN_RETENTION_HOURS, help="VACUUM retention (>= 168)")
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.days < 1 or args.aggregate_days < args.days or args.vacuum_hours < MIN_RETENTION_HOURS:
        parser.error("need 1 <= --days <= --aggregate-days and --vacuum-hours >= 168")
    configure_logging()
    report = run_retention(
        spark or get_spark("flowlake-retention"),
        args.lake,
        args.days,
        args.aggregate_days,
        args.as_of,
        args.vacuum_hours,
    )
    print(json.dumps(report))
    return report


def build_erase_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowlake erase", description="Removes an IP address from every table of the lake; prints a JSON report."
    )
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    parser.add_argument("--address", required=True, help="the IPv4 or IPv6 address to erase")
    parser.add_argument("--vacuum-hours", type=int, default=MIN_RETENTION_HOURS, help="VACUUM retention (>= 168)")
    return parser


def main_erase(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    parser = build_erase_parser()
    args = parser.parse_args(argv)
    try:
        ipaddress.ip_address(args.address.strip())
    except ValueError:
        parser.error(f"--address {args.address!r} is not an IPv4 or IPv6 address")
    if args.vacuum_hours < MIN_RETENTION_HOURS:
        parser.error("--vacuum-hours must be at least 168")
    configure_logging()
    try:
        report = run_erase(
            spark or get_spark("flowlake-erase"), args.lake, args.address, privacy.configured(), args.vacuum_hours
        )
    except ErasureRefusedError as error:
        parser.exit(2, f"flowlake erase: {error}\n")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()

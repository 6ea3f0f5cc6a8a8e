"""Remove objects' rows from the lake on purpose: the one way an operator takes rows out, logged and audited.

    flowlake remove-objects --lake LAKE --start 2026-11-01T00:00:00Z --end 2026-11-02T00:00:00Z \
        --gone-from SOURCE --reason "raw logs expired, rows re-delivered under new keys" \
        [--nat-inventory FILE] [--security-config FILE]
    flowlake remove-objects --lake LAKE --start ... --end ... --object s3a://bucket/AWSLogs/.../name.log.gz --reason ...

Ingest never removes the rows of an object it can no longer list (an expired
source must not empty the lake), and never reads again an object removed here
while the source still holds it (a lookback, the sweep, a backfill): its name
stays in object_removals. This command removes, from flow_logs,
flow_logs_quarantine and source_objects, the rows of the objects named, or of
the window's objects that lie in SOURCE and are gone from it, and re-aggregates
every hour their rows were in, with the NAT inventory and security settings the
hourly runs use. Only an object read from SOURCE or a folder below it (whatever
folder level the ingest was given), or from a folder SOURCE holds a copy of (see
objects_in), can be gone from it: the objects of other folders (another
account's, another region's, another bucket's) keep their rows whatever SOURCE
lists, and the summary counts them (objects_outside_gone_from).

Each object's removal is a row of object_removals (when, who, why, how many
rows, the hours they were in), written with status "removing" before any row
is deleted, and set to "removed" once the rows are deleted and the hours
re-aggregated. So a removal interrupted at any step (a table's writer lease held
by an hourly run, a crash) is completed by running the same command again: it
takes up the objects still "removing", whose rows may already be gone, and
re-aggregates the hours their rows were in. Run again once complete, it changes
nothing.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from flowlake.aggregate import add_nat_arguments
from flowlake.aggregates.nat_gateway_hourly import DEFAULT_PRICE_PER_GB
from flowlake.contracts import table_schema
from flowlake.ingest import (
    FLOW_LOGS,
    NAMED_IN_LOG,
    OBJECT_REMOVALS,
    QUARANTINE,
    SOURCE_OBJECTS,
    object_name,
    objects_rows,
    recorded_versions,
    sql_strings,
)
from flowlake.lake import table_exists, table_path, write_table_slice
from flowlake.layout import list_window, normalize_uri, parse_object_name
from flowlake.run import aggregate_hours
from flowlake.security import SecurityConfig, add_security_arguments, config_of
from flowlake.window import Window, add_window_arguments, job_arguments, timestamp_literal, utc_instant
from flowlake.writers import table_writer

log = logging.getLogger("flowlake.remove")

# object_removals.status: written before any row is deleted, then once the removal is complete.
REMOVING = "removing"
REMOVED = "removed"
# AWSLogs/ACCOUNT/vpcflowlogs/REGION, or their Hive-style names: the folders of one account's flow logs of a region.
REGION_FOLDERS = 4
# Schemes of one S3 bucket (normalize_uri reads s3:// as s3a://).
S3_SCHEMES = frozenset({"s3", "s3a", "s3n"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _location(uri: str) -> tuple[tuple[str, str], list[str]]:
    """(file system: scheme and bucket, folders and name) of a qualified URI, as Hadoop or normalize_uri spell it:
    s3://, s3n:// and s3a:// name the same bucket, file:/x and file:///x the same file."""
    scheme, _, rest = uri.partition(":")
    authority = ""
    if rest.startswith("//"):
        authority, _, rest = rest[2:].partition("/")
    scheme = scheme.lower()
    return ("s3a" if scheme in S3_SCHEMES else scheme, authority), [part for part in rest.split("/") if part]


def lies_under(folder: str, uri: str) -> bool:
    """Whether the object at uri lies in folder or a folder below it, compared folder by folder: s3a://b/AWSLogs/1
    holds neither s3a://b/AWSLogs/111/... nor another bucket's AWSLogs/1/.... uri is source_objects' source_file,
    the object's full URI when it was read, whatever folder level its source was given at (the bucket,
    AWSLogs/ or an account's folder)."""
    folder_store, folders = _location(normalize_uri(folder))
    store, parts = _location(normalize_uri(uri))
    return store == folder_store and len(parts) > len(folders) and parts[: len(folders)] == folders


def _anchored(uri: str) -> tuple[tuple[str, str], tuple[str, ...], tuple[str, ...]] | None:
    """(file system, folders above AWSLogs, path from AWSLogs on) of an object's URI, None without an AWSLogs
    folder. Its last AWSLogs folder: none of the folders AWS puts below it is named so."""
    store, parts = _location(normalize_uri(uri))
    at = [i for i, part in enumerate(parts[:-1]) if part == "AWSLogs"]
    if not at:
        return None
    return store, tuple(parts[: at[-1]]), tuple(parts[at[-1] :])


def objects_in(folder: str, recorded: Iterable[str], listed: Iterable[str]) -> set[str]:
    """The recorded objects (source_file URIs) that lie in folder, which lists the objects listed (URIs).

    An object lies in folder when it was read from folder or a folder below it, whatever folder level its source
    was given at; or when it was read from a folder that folder holds a copy of (copied, or mounted elsewhere),
    as its listing shows: an object it lists under the name of one read elsewhere makes the region folder that
    one was read from (PREFIX/AWSLogs/ACCOUNT/vpcflowlogs/REGION) a copy of the listed one's. Every other object
    (another account's, another region's, another bucket's) lies outside folder, whatever it lists.
    """
    recorded = set(recorded)
    by_name = {object_name(uri): uri for uri in recorded}
    copies: dict[tuple, set[tuple]] = {}
    for uri in listed:
        read_at = by_name.get(object_name(uri))
        if read_at is None or lies_under(folder, read_at):
            continue
        original, copy = _anchored(read_at), _anchored(uri)
        if original and copy and original[2][:REGION_FOLDERS] == copy[2][:REGION_FOLDERS]:
            copies.setdefault((original[0], original[1], original[2][:REGION_FOLDERS]), set()).add(copy[:2])

    def inside(uri: str) -> bool:
        if lies_under(folder, uri):
            return True
        anchored = _anchored(uri)
        if anchored is None:
            return False
        store, above, path = anchored
        return any(
            lies_under(folder, _uri(copy_store, copy_above + path))
            for copy_store, copy_above in copies.get((store, above, path[:REGION_FOLDERS]), ())
        )

    return {uri for uri in recorded if inside(uri)}


def _uri(store: tuple[str, str], parts: tuple[str, ...]) -> str:
    scheme, authority = store
    return f"{scheme}://{authority}/" + "/".join(parts)


@dataclass(frozen=True)
class Removal:
    """One object's row of object_removals; hours in epoch seconds."""

    removed_at: datetime
    removed_by: str
    reason: str
    source_file: str
    object_time: datetime
    records_removed: int
    lines_quarantined_removed: int
    hours: frozenset[int] | None
    status: str | None  # NULL on rows written before removals had one: those were complete
    completed_at: datetime | None = None

    def row(self) -> tuple:
        values = {
            **self.__dict__,
            "hours": None if self.hours is None else [datetime.fromtimestamp(h, UTC) for h in sorted(self.hours)],
        }
        return tuple(values[column] for column in table_schema(OBJECT_REMOVALS).column_names)


def _instant(micros: int | None) -> datetime | None:
    return None if micros is None else EPOCH + timedelta(microseconds=micros)


def recorded_removals(spark: SparkSession, lake: str, window: Window) -> list[Removal]:
    """The rows of object_removals of the window's objects (a table made before hours and status has neither)."""
    table = objects_rows(spark, lake, OBJECT_REMOVALS, window)
    if table is None:
        return []

    def present(name: str, value):
        return value if name in table.columns else F.lit(None)

    # Epoch seconds and microseconds, not timestamps: Python would read those in its own local zone.
    rows = table.select(
        F.unix_micros("removed_at").alias("removed_at"),
        "removed_by",
        "reason",
        "source_file",
        F.unix_micros("object_time").alias("object_time"),
        "records_removed",
        "lines_quarantined_removed",
        present("hours", F.transform("hours", F.unix_seconds)).alias("hours"),
        present("status", F.col("status")).alias("status"),
        present("completed_at", F.unix_micros("completed_at")).alias("completed_at"),
    ).collect()
    return [
        Removal(
            removed_at=_instant(row.removed_at),
            removed_by=row.removed_by,
            reason=row.reason,
            source_file=row.source_file,
            object_time=_instant(row.object_time),
            records_removed=row.records_removed,
            lines_quarantined_removed=row.lines_quarantined_removed,
            hours=None if row.hours is None else frozenset(row.hours),
            status=row.status,
            completed_at=_instant(row.completed_at),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Selection:
    uris: list[str]  # the source_file of each object whose rows to remove
    # --gone-from: the objects of the window source_objects records elsewhere than in it, kept whatever it lists
    outside: int | None = None
    # --object: the objects named whose removal is complete (run again, the command has nothing left to do)
    already_removed: list[str] = field(default_factory=list)


def names_object(name: str, uri: str) -> bool:
    """Whether a name given on the command line (a URI, s3:// as well as s3a://, or a key or path ending in the
    object's name) names the object recorded at uri."""
    if name.startswith("s3://"):
        name = normalize_uri(name)
    return uri == name or uri.endswith("/" + name)


def objects_to_remove(
    spark: SparkSession, lake: str, window: Window, gone_from: str | None, named: list[str]
) -> Selection:
    """The objects of the window whose rows to remove: those in gone_from (or a folder below it) that it no
    longer has, or those named (URI or key); recorded in source_objects, or whose removal began and was
    interrupted (their source_objects rows may be deleted already)."""
    recorded = {source_file for source_file, _ in recorded_versions(spark, lake, window).values()}
    removals = recorded_removals(spark, lake, window)
    under_way = {r.source_file for r in removals if r.status == REMOVING}
    if gone_from is not None:
        # Only the objects read from inside it are candidates: a mistyped folder, missing too, removes none.
        listing = list_window(spark, gone_from, window.start, window.end, missing_is_empty=True)
        listed = {object_name(o.key) for o in listing.objects}
        inside = objects_in(listing.root, recorded | under_way, [o.uri for o in listing.objects])
        outside = len(recorded - inside)
        if outside:
            log.info(
                "%d objects of the window were read from outside %s: kept, whatever it lists", outside, listing.root
            )
        return Selection(sorted(uri for uri in inside if object_name(uri) not in listed), outside=outside)
    candidates = recorded | under_way
    removed = {r.source_file for r in removals if r.status != REMOVING} - candidates
    unknown = [name for name in named if not any(names_object(name, uri) for uri in candidates | removed)]
    if unknown:
        raise ValueError(f"not objects of the window in source_objects or object_removals: {', '.join(unknown)}")
    return Selection(
        sorted(uri for uri in candidates if any(names_object(name, uri) for name in named)),
        already_removed=sorted(uri for uri in removed if any(names_object(name, uri) for name in named)),
    )


def _rows_per_object(spark: SparkSession, lake: str, table: str, window: Window, uris: list[str]) -> dict[str, int]:
    rows = objects_rows(spark, lake, table, window, uris)
    if rows is None:
        return {}
    return {row.source_file: row["count"] for row in rows.groupBy("source_file").count().collect()}


def _records_per_object(
    spark: SparkSession, lake: str, window: Window, uris: list[str]
) -> dict[str, tuple[int, frozenset[int]]]:
    """The flow_logs rows of each object: how many, and their hours (epoch seconds)."""
    records = objects_rows(spark, lake, FLOW_LOGS, window, uris)
    if records is None:
        return {}
    rows = (
        records.groupBy("source_file")
        .agg(
            F.count(F.lit(1)).alias("records"),
            # Epoch seconds, not timestamps: Python would read those in its own local zone.
            F.collect_set(F.unix_seconds(F.date_trunc("hour", "event_time"))).alias("hours"),
        )
        .collect()
    )
    return {row.source_file: (row.records, frozenset(row.hours)) for row in rows}


def _with_every_column(spark: SparkSession, path: str) -> None:
    """Adds to an object_removals made before them the columns its contract has since gained (NULL in its rows)."""
    if not table_exists(spark, path):
        return
    present = set(spark.read.format("delta").load(path).columns)
    missing = [c for c in table_schema(OBJECT_REMOVALS).columns if c["name"] not in present]
    if missing:
        columns = ", ".join(f"{c['name']} {c['type']}" for c in missing)
        with table_writer(spark, path):
            spark.sql(f"ALTER TABLE delta.`{path.replace('`', '``')}` ADD COLUMNS ({columns})")


def _audit_predicate(window: Window, uris: list[str]) -> str:
    return f"{window.predicate('object_time')} AND status = '{REMOVING}' AND source_file IN ({sql_strings(uris)})"


def remove_objects(
    spark: SparkSession,
    lake: str,
    window: Window,
    uris: list[str],
    reason: str,
    removed_at: datetime,
    *,
    nat_inventory: str | None = None,
    nat_price_per_gb: float = DEFAULT_PRICE_PER_GB,
    security: SecurityConfig | None = None,
) -> dict:
    """Deletes the objects' rows from the three ingest tables and re-aggregates the hours they were in (with the
    inventory and settings the hourly runs use), each object's removal audited in object_removals first.

    Every step can be interrupted and run again: the audit rows are written first, with the hours, as
    "removing"; the deletes and the re-aggregation are idempotent; the rows are "removed" last. An object
    whose removal is under way keeps its audit row (who, why, how many rows when it began) and is completed."""
    lake = normalize_uri(lake)
    started = time.monotonic()
    uris = sorted(set(uris))
    under_way = {r.source_file: r for r in recorded_removals(spark, lake, window) if r.status == REMOVING}
    left = sorted(set(under_way) - set(uris))
    if left:
        log.warning(
            "%d removals of the window began and were interrupted; the command that began them completes them: %s",
            len(left),
            ", ".join(left[:NAMED_IN_LOG]),
        )
    if not uris:
        log.info("no objects to remove in [%s, %s)", window.start.isoformat(), window.end.isoformat())
        return {"window_start": window.start.isoformat(), "window_end": window.end.isoformat(), "objects_removed": 0}
    records = _records_per_object(spark, lake, window, uris)
    quarantined = _rows_per_object(spark, lake, QUARANTINE, window, uris)
    removed_by = getpass.getuser()
    removals: dict[str, Removal] = {}
    for uri in uris:
        count, hours = records.get(uri, (0, frozenset()))
        if uri in under_way:
            # Its rows may be gone already: it keeps what its removal found when it began, and gains the hours of
            # any rows written since (the object read again meanwhile).
            removals[uri] = replace(under_way[uri], hours=(under_way[uri].hours or frozenset()) | hours)
            continue
        removals[uri] = Removal(
            removed_at=utc_instant(removed_at),
            removed_by=removed_by,
            reason=reason,
            source_file=uri,
            object_time=parse_object_name(object_name(uri))["object_time"],
            records_removed=count,
            lines_quarantined_removed=quarantined.get(uri, 0),
            hours=hours,
            status=REMOVING,
        )
    # The audit rows first, with the hours to re-aggregate: once any row is deleted, a run of the same command
    # finds the objects and their hours there.
    changed = [removal for uri, removal in removals.items() if removal != under_way.get(uri)]
    if changed:
        audit_path = table_path(lake, OBJECT_REMOVALS)
        _with_every_column(spark, audit_path)
        audit = spark.createDataFrame([r.row() for r in changed], table_schema(OBJECT_REMOVALS).struct())
        write_table_slice(audit, lake, OBJECT_REMOVALS, _audit_predicate(window, [r.source_file for r in changed]))
    predicate = f"{window.predicate('object_time')} AND source_file IN ({sql_strings(uris)})"
    for table in (FLOW_LOGS, QUARANTINE, SOURCE_OBJECTS):
        path = table_path(lake, table)
        if table_exists(spark, path):
            with table_writer(spark, path):
                DeltaTable.forPath(spark, path).delete(predicate)
    for removal in removals.values():
        log.warning(
            "removed %s on purpose by %s (%s): %d records, %d quarantined lines",
            removal.source_file,
            removal.removed_by,
            removal.reason,
            removal.records_removed,
            removal.lines_quarantined_removed,
        )
    hours = sorted(set().union(*(removal.hours for removal in removals.values())))
    hours_touched = [datetime.fromtimestamp(hour, UTC).isoformat() for hour in hours]
    aggregated = aggregate_hours(spark, lake, hours_touched, nat_inventory, nat_price_per_gb, security)
    with table_writer(spark, table_path(lake, OBJECT_REMOVALS)):
        DeltaTable.forPath(spark, table_path(lake, OBJECT_REMOVALS)).update(
            _audit_predicate(window, uris),
            {"status": F.lit(REMOVED), "completed_at": timestamp_literal(datetime.now(UTC))},
        )
    return {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "objects_removed": len(uris),
        "objects_resumed": len(set(uris) & set(under_way)),
        "records_removed": sum(r.records_removed for r in removals.values()),
        "lines_quarantined_removed": sum(r.lines_quarantined_removed for r in removals.values()),
        "removed_by": removed_by,
        "reason": reason,
        "hours_reaggregated": hours_touched,
        "aggregate": aggregated,
        "seconds": round(time.monotonic() - started, 2),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake remove-objects", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    add_window_arguments(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--gone-from", metavar="SOURCE", help="remove the window's objects that SOURCE no longer has")
    which.add_argument("--object", action="append", default=[], help="an object's URI or key (repeatable)")
    parser.add_argument("--reason", required=True, help="why: kept in object_removals and the log")
    add_nat_arguments(parser)
    add_security_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args, window = job_arguments(parser, argv)
    if not args.reason.strip():
        parser.error("--reason must say why")
    security = config_of(parser, args)
    spark = spark or get_spark("flowlake-remove-objects")
    lake = normalize_uri(args.lake)
    try:
        selection = objects_to_remove(spark, lake, window, args.gone_from, args.object)
    except ValueError as error:
        parser.error(str(error))
    summary = remove_objects(
        spark,
        lake,
        window,
        selection.uris,
        args.reason,
        datetime.now(UTC),
        nat_inventory=args.nat_inventory,
        nat_price_per_gb=args.nat_price_per_gb,
        security=security,
    )
    if args.gone_from is not None:
        summary["objects_outside_gone_from"] = selection.outside
    else:
        summary["objects_already_removed"] = selection.already_removed
    log.info("remove-objects done: %s", json.dumps(summary))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

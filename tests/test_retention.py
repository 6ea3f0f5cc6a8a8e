"""Retention and aggregation: the hours whose records retention removed keep their figures, and the day
retention removed records before is recorded on flow_logs first and never moves back."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from deltalake import DeltaTable as DeltaRsTable

from flowlake import retention
from flowlake.aggregate import run_aggregate
from flowlake.aggregates import HOURLY_TABLES
from flowlake.lake import table_path
from flowlake.window import Window
from tests.frames import append, frame, read, rows, utc
from tests.test_progress import recording

ACCOUNT, REGION = "111122223333", "us-east-1"
SCANNER = "198.51.100.9"
HOUR = timedelta(hours=1)
# A retention as of AS_OF keeping 1 day removes the records of days before 2026-11-08: OLD's, the last hour
# before that day; RECENT is the first after it.
AS_OF = date(2026, 11, 9)
OLD, RECENT = utc(2026, 11, 7, 23), utc(2026, 11, 8, 0)
KEPT_FROM = utc(2026, 11, 8)
# A table of the records' figures and one computed from another's (port_traffic_hourly's): each has rows in OLD.
TABLES = ("traffic_hourly", "security_findings")


def record(hour, srcaddr, dstport, action="ACCEPT", size=100) -> dict:
    return {
        "version": 5,
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": "vpc-1",
        "interface_id": "eni-web",
        "srcaddr": srcaddr,
        "dstaddr": "10.0.0.20",
        "srcport": 40000,
        "dstport": dstport,
        "protocol": 6,
        "packets": 1,
        "bytes": size,
        "start": int(hour.timestamp()) + 60,
        "end": int(hour.timestamp()) + 120,
        "action": action,
        "log_status": "OK",
        "flow_direction": "ingress",
        "event_time": hour + timedelta(minutes=1),
        "event_date": hour.date(),
    }


# OLD: a scan of 20 ports (a security finding) and one conversation; RECENT: one conversation.
RECORDS = [
    *[record(OLD, SCANNER, port, "REJECT", size=40) for port in range(1000, 1020)],
    record(OLD, "10.0.0.1", 443, size=5000),
    record(RECENT, "10.0.0.1", 443, size=700),
]


def before_kept_day(spark, lake: str) -> dict[str, list[tuple]]:
    """The tables' rows of the hours before KEPT_FROM."""
    return {table: rows(read(spark, lake, table).where(f"hour < '{KEPT_FROM.isoformat()}'")) for table in TABLES}


def versions(lake: str, tables) -> dict[str, int]:
    return {table: DeltaRsTable(table_path(lake, table)).version() for table in tables}


def traffic(spark, lake: str) -> list[tuple]:
    return rows(read(spark, lake, "traffic_hourly"), "hour", "action", "records", "packets", "bytes")


def test_hours_whose_records_retention_removed_keep_their_figures_and_later_hours_are_aggregated_again(
    spark, tmp_path, caplog, monkeypatch
):
    blocks: list[tuple[str, int]] = []
    monkeypatch.setattr(retention, "spark_progress", recording(spark, blocks))
    lake = str(tmp_path / "lake")
    append(frame(spark, "flow_logs", RECORDS), lake, "flow_logs")
    run_aggregate(spark, lake, Window(OLD, RECENT + HOUR), tables=TABLES)
    figures = before_kept_day(spark, lake)
    assert traffic(spark, lake) == [
        (OLD, "ACCEPT", 1, 1, 5000),
        (OLD, "REJECT", 20, 20, 800),
        (RECENT, "ACCEPT", 1, 1, 700),
    ]
    assert rows(read(spark, lake, "security_findings"), "hour", "finding_type") == [(OLD, "port_scan")]

    removed = retention.run_retention(spark, lake, days=1, aggregate_days=30, as_of=AS_OF)
    assert removed["deleted_rows"]["flow_logs"] == 21
    # Each table's deletion runs with its progress logged.
    assert [(what, jobs > 0) for what, jobs in blocks] == [
        (f"retention: {table}", True) for table in ("flow_logs", *TABLES)
    ]
    assert rows(read(spark, lake, "flow_logs"), "event_time") == [(RECENT + timedelta(minutes=1),)]

    # A window wholly before the day: nothing written, not a commit.
    written = versions(lake, TABLES)
    caplog.set_level(logging.WARNING, logger="flowlake.aggregate")
    untouched = run_aggregate(spark, lake, Window(OLD, OLD + HOUR))
    assert before_kept_day(spark, lake) == figures
    assert versions(lake, TABLES) == written
    assert {key: value for key, value in untouched.items() if key != "seconds"} == {
        "window_start": OLD.isoformat(),
        "window_end": (OLD + HOUR).isoformat(),
        "hours": 0,
        "kept_hours": 1,
        "records_removed_before": "2026-11-08",
        "rows": dict.fromkeys(HOURLY_TABLES, 0),
        "nat_inventory": None,
        "columns_without_values": [],
        "pseudonymized": [],
    }
    assert (
        "hours kept as they are, not aggregated again: [2026-11-07T23:00:00+00:00, 2026-11-08T00:00:00+00:00) of "
        "the window (1), since retention removed flow_logs' records before 2026-11-08"
    ) in caplog.text

    # A window across the day: its hours before it are kept, the others aggregated from the records there
    # now (one more in RECENT).
    append(frame(spark, "flow_logs", [record(RECENT, "10.0.0.1", 443, size=300)]), lake, "flow_logs")
    straddling = run_aggregate(spark, lake, Window(OLD, RECENT + HOUR), tables=TABLES)

    assert before_kept_day(spark, lake) == figures
    assert traffic(spark, lake) == [
        (OLD, "ACCEPT", 1, 1, 5000),
        (OLD, "REJECT", 20, 20, 800),
        (RECENT, "ACCEPT", 2, 2, 1000),
    ]
    assert rows(read(spark, lake, "security_findings"), "hour", "finding_type") == [(OLD, "port_scan")]
    assert (straddling["window_start"], straddling["window_end"]) == (OLD.isoformat(), (RECENT + HOUR).isoformat())
    assert (straddling["hours"], straddling["kept_hours"], straddling["records_removed_before"]) == (1, 1, "2026-11-08")
    assert straddling["rows"] == {"traffic_hourly": 1, "security_findings": 0}


def recorded(lake: str) -> tuple[str | None, int]:
    """The day flow_logs records retention removed records before, and the table's version."""
    table = DeltaRsTable(table_path(lake, "flow_logs"))
    return table.metadata().configuration.get("flowlake.recordsRemovedBefore"), table.version()


def test_the_day_records_are_removed_before_is_recorded_before_they_are_and_never_moves_back(
    spark, tmp_path, monkeypatch
):
    from delta.tables import DeltaTable

    lake = str(tmp_path / "lake")
    records = [record(OLD, "10.0.0.1", 443), record(RECENT, "10.0.0.1", 443)]
    append(frame(spark, "flow_logs", records), lake, "flow_logs")

    # A retention that stops before its delete (a crash) has recorded the day: the rows are still there.
    def crash(*args, **kwargs):
        raise RuntimeError("crashed before the delete")

    with monkeypatch.context() as patched:
        patched.setattr(DeltaTable, "delete", crash)
        with pytest.raises(RuntimeError, match="crashed before the delete"):
            retention.run_retention(spark, lake, days=1, aggregate_days=30, as_of=AS_OF)
    assert recorded(lake) == ("2026-11-08", 1)
    assert len(rows(read(spark, lake, "flow_logs"))) == 2

    # Run again, it deletes; the day stays.
    report = retention.run_retention(spark, lake, days=1, aggregate_days=30, as_of=AS_OF)
    assert (report["deleted_rows"]["flow_logs"], report["records_removed_before"]) == (1, "2026-11-08")
    assert recorded(lake) == ("2026-11-08", 2)

    # Again, with an earlier day, or keeping more days: not a commit, and the later day stays recorded.
    for as_of, days in ((AS_OF, 1), (AS_OF - timedelta(days=3), 1), (AS_OF, 5)):
        report = retention.run_retention(spark, lake, days=days, aggregate_days=30, as_of=as_of)
        assert (report["deleted_rows"]["flow_logs"], report["records_removed_before"]) == (0, "2026-11-08")
        assert recorded(lake) == ("2026-11-08", 2)

    # A later day moves it on (a commit, then the delete's), and so does one with no record left to delete.
    report = retention.run_retention(spark, lake, days=1, aggregate_days=30, as_of=AS_OF + timedelta(days=1))
    assert (report["deleted_rows"]["flow_logs"], report["records_removed_before"]) == (1, "2026-11-09")
    assert recorded(lake) == ("2026-11-09", 4)
    report = retention.run_retention(spark, lake, days=1, aggregate_days=30, as_of=AS_OF + timedelta(days=2))
    assert (report["deleted_rows"]["flow_logs"], report["records_removed_before"]) == (0, "2026-11-10")
    assert recorded(lake) == ("2026-11-10", 5)

"""The tests' own frame helpers: what goes in and comes out of Spark does not depend on the host's zone."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest

from flowlake.contracts import table_schema
from tests.frames import append, frame, frame_of, lake_snapshot, rows, utc


def test_the_run_is_in_a_zone_other_than_utc():
    assert time.localtime(utc(2026, 7, 1).timestamp()).tm_gmtoff != 0


def test_timestamps_come_back_as_the_same_utc_instants_around_a_change_of_local_time(spark):
    # 05:30 and 06:30 UTC on 2026-11-01 are both 01:30 in New York, where summer time ends at 06:00 UTC.
    instants = [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30, 0, 1)]
    eastern = timezone(timedelta(hours=-4))
    df = frame(
        spark,
        "source_objects",
        [
            {"object_key": "a", "object_time": instants[0].astimezone(eastern), "lines_read": 1},
            {"object_key": "b", "object_time": instants[1]},
        ],
    )
    assert rows(df, "object_key", "object_time", "lines_read") == [("a", instants[0], 1), ("b", instants[1], None)]
    assert rows(df.selectExpr("CAST(object_time AS STRING)")) == [
        ("2026-11-01 05:30:00",),
        ("2026-11-01 06:30:00.000001",),
    ]


def test_dates_stay_dates_and_nulls_sort(spark):
    df = frame_of(spark, [(None, date(2026, 11, 1)), (utc(2026, 11, 1), None)], "t timestamp, d date")
    assert rows(df) == [(None, date(2026, 11, 1)), (utc(2026, 11, 1), None)]


def test_naive_datetimes_and_unknown_columns_are_refused(spark):
    with pytest.raises(ValueError, match="no time zone"):
        frame(spark, "flow_logs", [{"event_time": datetime(2026, 11, 1, 10)}])
    with pytest.raises(ValueError, match="no time zone"):
        frame_of(spark, [(datetime(2026, 11, 1, 10),)], "hour timestamp")
    with pytest.raises(KeyError, match="no column hours"):
        frame(spark, "traffic_hourly", [{"hours": utc(2026, 11, 1, 10)}])


def test_a_lake_snapshot_holds_every_row_but_the_ignored_columns(spark, tmp_path):
    objects = [
        {"object_key": "a", "object_time": utc(2026, 11, 1, 5, 30), "lines_read": 1, "ingested_at": utc(2026, 12, 1)},
        {"object_key": "b", "object_time": utc(2026, 11, 1, 6), "ingested_at": utc(2026, 12, 2)},
    ]
    append(frame(spark, "source_objects", objects), tmp_path / "lake", "source_objects")
    (snapshot,) = lake_snapshot(tmp_path / "lake", ["source_objects"], "ingested_at").values()
    kept = [c for c in table_schema("source_objects").column_names if c != "ingested_at"]
    found = [dict(zip(kept, row, strict=True)) for row in snapshot]
    assert [(r["object_key"], r["object_time"], r["lines_read"]) for r in found] == [
        ("a", utc(2026, 11, 1, 5, 30), 1),
        ("b", utc(2026, 11, 1, 6), None),
    ]

"""The tests' own frame helpers: what goes in and comes out of Spark does not depend on the host's zone."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest

from flowlake.contracts import table_schema
from tests.frames import append, frame, frame_of, read, rows, utc


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


def test_a_local_table_reads_as_spark_reads_it_nulls_maps_dates_and_partitions_alike(spark, tmp_path):
    flow_logs = [
        {
            "event_time": utc(2026, 11, 1, 5, 30),
            "event_date": date(2026, 11, 1),
            "interface_id": "eni-1",
            "bytes": 10,
            "extra_fields": {"ecs-cluster-name": "web"},
        },
        {"event_time": utc(2026, 11, 2, 6), "event_date": date(2026, 11, 2), "interface_id": None, "bytes": None},
    ]
    append(frame(spark, "flow_logs", flow_logs), tmp_path / "lake", "flow_logs")
    by_spark = spark.read.format("delta").load(str(tmp_path / "lake" / "flow_logs"))
    found = read(spark, tmp_path / "lake", "flow_logs")
    assert found.schema == by_spark.schema
    assert rows(found) == rows(by_spark)
    assert rows(found, "interface_id", "extra_fields") == [("eni-1", {"ecs-cluster-name": "web"}), (None, None)]
    assert rows(found, "event_time", "event_date", "bytes") == [
        (utc(2026, 11, 1, 5, 30), date(2026, 11, 1), 10),
        (utc(2026, 11, 2, 6), date(2026, 11, 2), None),
    ]


def test_a_local_table_without_rows_reads_as_an_empty_frame_of_its_columns(spark, tmp_path):
    append(frame(spark, "flow_logs", []), tmp_path / "lake", "flow_logs")
    found = read(spark, tmp_path / "lake", "flow_logs")
    assert (found.columns, found.count()) == (table_schema("flow_logs").column_names, 0)

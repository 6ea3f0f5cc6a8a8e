"""top_talkers_hourly: these records, exactly these ranked rows and the others row."""

from __future__ import annotations

from datetime import date

from flowlake.aggregates import HOURLY_TABLES, module_for
from flowlake.aggregates.top_talkers_hourly import transform
from flowlake.contracts import table_schema
from tests.frames import frame, rows, utc


def record(hour, srcaddr, dstaddr, bytes_, packets, status="OK"):
    return {
        "account_id": "123456789010",
        "region": "us-east-1",
        "interface_id": "eni-0aaa",
        "srcaddr": srcaddr,
        "dstaddr": dstaddr,
        "bytes": bytes_,
        "packets": packets,
        "log_status": status,
        "event_time": utc(2025, 11, 1, hour, 7),
        "event_date": date(2025, 11, 1),
    }


RECORDS = [
    record(10, "10.0.0.1", "10.0.0.9", 500, 5),
    record(10, "10.0.0.2", "10.0.0.9", 300, 3),
    record(10, "10.0.0.3", "10.0.0.8", 100, 1),
    record(10, "10.0.0.4", "10.0.0.8", 100, 2),
    record(10, None, None, None, None, status="NODATA"),
    record(10, "10.0.0.1", "10.0.0.7", 50, 1),
    record(11, "10.0.0.5", "10.0.0.9", 70, 1),
]


def flow_logs(spark):
    return frame(spark, "flow_logs", RECORDS)


def ranked(df) -> list[tuple]:
    """(UTC hour of day, direction, rank, address, bytes, packets, records), sorted."""
    return sorted(
        [
            (hour.hour, *rest)
            for hour, *rest in rows(df, "hour", "direction", "rank", "address", "bytes", "packets", "records")
        ],
        key=repr,
    )


def test_top_two_of_each_direction_and_everyone_else(spark):
    result = transform(flow_logs(spark), top_talkers=2)
    assert [(f.name, f.dataType) for f in result.schema] == [
        (f.name, f.dataType) for f in table_schema("top_talkers_hourly").struct()
    ]
    assert set(rows(result, "account_id", "region", "event_date")) == {("123456789010", "us-east-1", date(2025, 11, 1))}
    assert ranked(result) == sorted(
        [
            (10, "source", 1, "10.0.0.1", 550, 6, 2),
            (10, "source", 2, "10.0.0.2", 300, 3, 1),
            (10, "source", None, None, 200, 3, 2),
            (10, "destination", 1, "10.0.0.9", 800, 8, 2),
            (10, "destination", 2, "10.0.0.8", 200, 3, 2),
            (10, "destination", None, None, 50, 1, 1),
            (11, "source", 1, "10.0.0.5", 70, 1, 1),
            (11, "destination", 1, "10.0.0.9", 70, 1, 1),
        ],
        key=repr,
    )


def test_ties_go_to_the_lower_address(spark):
    sources = [r for r in ranked(transform(flow_logs(spark), top_talkers=3)) if r[0] == 10 and r[1] == "source"]
    assert [(rank, address) for _, _, rank, address, *_ in sources] == [
        (1, "10.0.0.1"),
        (2, "10.0.0.2"),
        (3, "10.0.0.3"),
        (None, None),
    ]


def test_registered_so_aggregate_the_dag_and_validation_pick_it_up():
    assert "top_talkers_hourly" in HOURLY_TABLES
    assert module_for("top_talkers_hourly").TABLE == "top_talkers_hourly"

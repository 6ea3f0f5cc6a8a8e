"""One rule for which records are traffic, the same in the hourly tables, the named queries and the checks."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from flowlake.aggregates import module_for
from flowlake.dq.checks import Reconciliation
from flowlake.rules import is_traffic
from flowlake.sql import run_named_query
from tests.frames import frame, rows, utc

HOUR = {"start": "2026-11-01T10:00:00Z", "end": "2026-11-01T11:00:00Z"}


def record(src: str, size: int, log_status: str | None, minute: int = 0) -> dict:
    start = utc(2026, 11, 1, 10, minute)
    return {
        "account_id": "123456789010",
        "region": "us-east-1",
        "interface_id": "eni-0a",
        "srcaddr": src,
        "dstaddr": "10.0.0.9",
        "packets": 1,
        "bytes": size,
        "start": int(start.timestamp()),
        "end": int(start.timestamp()) + 60,
        "action": "ACCEPT" if log_status in ("OK", None) else None,
        "log_status": log_status,
        "event_time": start,
        "event_date": date(2026, 11, 1),
    }


# A flow log of a custom format without log-status (NULL) beside a default-format one.
RECORDS = [
    record("10.0.0.1", 500, None),
    record("10.0.0.2", 300, "OK", 1),
    record("10.0.0.3", 0, "NODATA", 2),
    record("10.0.0.4", 0, "SKIPDATA", 3),
]
TRAFFIC_SOURCES = [("10.0.0.1",), ("10.0.0.2",)]


@pytest.fixture(scope="module")
def flow_logs(spark):
    df = frame(spark, "flow_logs", RECORDS)
    df.createOrReplaceTempView("flow_logs")
    return df


def test_a_record_without_log_status_is_traffic_and_nodata_skipdata_are_not(flow_logs):
    assert rows(flow_logs.where(is_traffic()), "srcaddr") == TRAFFIC_SOURCES
    # The same rule as a SQL function, which every session registers for the queries and the suites.
    assert rows(flow_logs.where("is_traffic(log_status)"), "srcaddr") == TRAFFIC_SOURCES


def test_the_top_talkers_query_and_table_count_the_same_records(spark, flow_logs):
    queried = run_named_query(spark, "top_talkers_bytes", HOUR)
    table = module_for("top_talkers_hourly").transform(flow_logs).where("direction = 'source' AND rank IS NOT NULL")
    assert rows(queried, "srcaddr", "bytes") == [("10.0.0.1", 500), ("10.0.0.2", 300)]
    assert rows(table, "address", "bytes") == rows(queried, "srcaddr", "bytes")


def test_the_total_bytes_query_and_traffic_hourly_agree(spark, flow_logs):
    total = rows(run_named_query(spark, "total_bytes", HOUR), "bytes")
    hourly = module_for("traffic_hourly").transform(flow_logs).agg(F.sum("bytes").alias("bytes"))
    assert total == rows(hourly) == [(800,)]


def test_the_reconciliation_suites_count_the_records_the_tables_count(flow_logs):
    counted = flow_logs.where(Reconciliation.of_suite("reconcile_traffic_hourly").flow_logs_rows)
    assert rows(counted, "srcaddr") == TRAFFIC_SOURCES

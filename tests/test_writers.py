"""On S3 without Delta's DynamoDB log store, a second concurrent writer of a table is refused, not let
race the first: the table stays as the first writer leaves it, and a run after it completes the window."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime

import pytest

from flowlake.ingest import run_ingest
from flowlake.layout import object_key
from flowlake.spark_session import session_settings
from flowlake.window import Window
from flowlake.writers import LEASE_FILE, LEASE_SECONDS, ConcurrentWriterError, needs_lease, table_writer
from tests.flowlog_objects import ACCOUNT, DEFAULT_FORMAT, REGION
from tests.frames import read, rows

BUCKET = "flowlake-writers"
HOUR = datetime(2025, 11, 1, 10, tzinfo=UTC)
WINDOW = Window(HOUR, HOUR.replace(hour=11))
INGESTED_AT = datetime(2026, 11, 27, tzinfo=UTC)
LAKE = f"s3a://{BUCKET}/lake"


def put_object(s3_client, minute: int, size: int) -> None:
    start = int(HOUR.timestamp()) + 60 * minute
    line = f"2 {ACCOUNT} eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 {size} {start} {start + 60} ACCEPT OK"
    key = object_key(ACCOUNT, REGION, "fl-0123abcd", HOUR.replace(minute=minute), f"{minute:08x}", prefix="raw")
    s3_client.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(f"{DEFAULT_FORMAT}\n{line}\n".encode()))


def ingested_bytes(spark) -> list[tuple]:
    return rows(read(spark, LAKE, "flow_logs"), "bytes")


@pytest.fixture(scope="module")
def bucket(s3_client):
    s3_client.create_bucket(Bucket=BUCKET)
    return BUCKET


def test_a_second_writer_of_a_table_on_s3_is_refused_and_the_next_run_loses_nothing(spark_s3, s3_client, bucket):
    put_object(s3_client, 5, 100)
    run_ingest(spark_s3, f"s3a://{bucket}/raw", LAKE, WINDOW, INGESTED_AT)
    put_object(s3_client, 10, 200)

    # Another writer is in the middle of writing flow_logs.
    with table_writer(spark_s3, f"{LAKE}/flow_logs"):
        with pytest.raises(ConcurrentWriterError, match=r"^s3a://flowlake-writers/lake/flow_logs: another writer"):
            run_ingest(spark_s3, f"s3a://{bucket}/raw", LAKE, WINDOW, INGESTED_AT)
        assert ingested_bytes(spark_s3) == [(100,)]

    summary = run_ingest(spark_s3, f"s3a://{bucket}/raw", LAKE, WINDOW, INGESTED_AT)
    assert (summary["objects_read"], summary["objects_unchanged"]) == (1, 1)
    assert ingested_bytes(spark_s3) == [(100,), (200,)]
    # Every write released its lease.
    leases = s3_client.list_objects_v2(Bucket=bucket, Prefix="lake/").get("Contents", [])
    assert [o["Key"] for o in leases if o["Key"].endswith(LEASE_FILE)] == []


def test_the_lease_of_a_writer_that_crashed_is_taken_over_once_it_is_old(spark_s3, s3_client, bucket):
    key = f"lake/source_objects/{LEASE_FILE}"
    crashed = {"token": "gone", "host": "elsewhere", "pid": 1, "taken_at": time.time() - LEASE_SECONDS - 60}
    s3_client.put_object(Bucket=bucket, Key=key, Body=json.dumps(crashed).encode())
    put_object(s3_client, 15, 300)
    summary = run_ingest(spark_s3, f"s3a://{bucket}/raw", LAKE, WINDOW, INGESTED_AT)
    assert summary["objects_read"] == 1
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=key)


def test_only_s3_tables_without_the_dynamodb_log_store_take_a_lease(spark_s3, tmp_path):
    assert needs_lease(spark_s3, f"s3a://{BUCKET}/lake/flow_logs")
    assert needs_lease(spark_s3, f"s3://{BUCKET}/lake/flow_logs")
    assert not needs_lease(spark_s3, str(tmp_path / "lake" / "flow_logs"))
    assert not needs_lease(spark_s3, f"file:{tmp_path}/lake/flow_logs")
    with session_settings(spark_s3, {"spark.delta.logStore.s3a.impl": "io.delta.storage.S3DynamoDBLogStore"}):
        assert not needs_lease(spark_s3, f"s3a://{BUCKET}/lake/flow_logs")

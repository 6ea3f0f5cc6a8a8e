"""Ingest from a real S3-compatible server over s3a://, exactly as from AWS."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

from flowlake.ingest import run_ingest
from flowlake.layout import object_key
from flowlake.window import Window
from tests.flowlog_objects import DEFAULT_FORMAT
from tests.frames import read, rows

BUCKET = "flowlake-test-logs"


def put_text_object(s3_client, key: str, lines: list[str]) -> None:
    body = gzip.compress(("\n".join([DEFAULT_FORMAT, *lines]) + "\n").encode())
    s3_client.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_ingest_from_s3_many_accounts_and_regions_into_an_s3_lake(spark_s3, s3_client):
    s3_client.create_bucket(Bucket=BUCKET)
    hour = datetime(2025, 11, 1, 10, tzinfo=UTC)
    keys = {
        ("111111111111", "us-east-1", False): [
            "2 111111111111 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 100 1761991200 1761991260 ACCEPT OK"
        ],
        ("222222222222", "eu-west-1", True): [
            "2 222222222222 eni-0bbb 10.1.0.1 10.1.0.2 3 4 17 2 250 1761991500 1761991560 REJECT OK",
            "2 222222222222 eni-0bbb 10.1.0.1 10.1.0.2 3 4 17 2 oops 1761991500 1761991560 REJECT OK",
        ],
    }
    for (account, region, hive), lines in keys.items():
        key = object_key(
            account, region, "fl-0123abcd", hour.replace(minute=5), "abcdef01", prefix="flow/logs", hive=hive
        )
        put_text_object(s3_client, key, lines)
    # Another service's object in the same date folder, and an object of the next hour.
    s3_client.put_object(
        Bucket=BUCKET,
        Key="flow/logs/AWSLogs/111111111111/elasticloadbalancing/us-east-1/2025/11/01/x.log.gz",
        Body=b"x",
    )
    put_text_object(
        s3_client,
        object_key(
            "111111111111", "us-east-1", "fl-0123abcd", hour.replace(hour=11, minute=5), "abcdef02", prefix="flow/logs"
        ),
        ["2 111111111111 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 999 1761994800 1761994860 ACCEPT OK"],
    )

    lake = f"s3a://{BUCKET}/lake"

    def ingest(ingested_at: datetime) -> dict:
        return run_ingest(spark_s3, f"s3://{BUCKET}/flow/logs", lake, Window(hour, hour.replace(hour=11)), ingested_at)

    summary = ingest(datetime(2026, 11, 27, tzinfo=UTC))

    assert (
        summary["objects"],
        summary["records_written"],
        summary["lines_quarantined"],
        summary["skipped_objects"],
    ) == (2, 2, 1, 1)
    flow_logs = read(spark_s3, lake, "flow_logs")
    assert rows(flow_logs, "account_id", "region", "interface_id", "bytes") == [
        ("111111111111", "us-east-1", "eni-0aaa", 100),
        ("222222222222", "eu-west-1", "eni-0bbb", 250),
    ]
    (bad,) = read(spark_s3, lake, "flow_logs_quarantine").collect()
    assert (bad.account_id, bad.line_number, bad.reason) == ("222222222222", 3, "bytes is not a valid bigint: 'oops'")
    assert bad.source_file.startswith(f"s3a://{BUCKET}/flow/logs/AWSLogs/aws-account-id=222222222222/")
    listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix="lake/flow_logs/_delta_log/")
    assert any(o["Key"].endswith("00000000000000000000.json") for o in listed["Contents"])

    # The first object rewritten (a new ETag): its row is replaced in the S3 lake's files, the other's kept.
    first = object_key(
        "111111111111", "us-east-1", "fl-0123abcd", hour.replace(minute=5), "abcdef01", prefix="flow/logs"
    )
    put_text_object(
        s3_client, first, ["2 111111111111 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 300 1761991200 1761991260 ACCEPT OK"]
    )
    again = ingest(datetime(2026, 11, 28, tzinfo=UTC))
    assert (again["objects_read"], again["objects_changed"]) == (1, 1)
    assert rows(read(spark_s3, lake, "flow_logs"), "account_id", "region", "interface_id", "bytes") == [
        ("111111111111", "us-east-1", "eni-0aaa", 300),
        ("222222222222", "eu-west-1", "eni-0bbb", 250),
    ]

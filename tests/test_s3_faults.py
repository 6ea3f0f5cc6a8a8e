"""Ingest through a proxy that injects S3's faults, reading objects and writing the lake's three
tables: the run completes with exactly the tables a run from the same objects without faults writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowlake.generate import generate
from flowlake.ingest import run_ingest
from flowlake.window import Window
from tests.frames import read, rows_without
from tests.servers import FaultyS3Proxy

pytestmark = pytest.mark.slow

BUCKET = "flowlake-faults"
START = datetime(2026, 11, 1, 10, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(hours=1))
INGESTED_AT = datetime(2026, 11, 30, tzinfo=UTC)
# Where the two lakes differ by design: the objects' URIs, and what only S3 knows of an object.
LOCATION_COLUMNS = ("source_file", "etag", "modified_at")
# s3a's pauses before retrying, for this bucket alone: the faults and the number of attempts are
# production's (flowlake.spark_session), the pauses between them only lengthened the run (46 s).
SHORT_PAUSES = {"retry.interval": "50ms", "retry.throttle.interval": "100ms"}


@pytest.fixture(scope="module")
def faulty_proxy(spark_s3, s3_endpoint):
    """The proxy, in front of the S3 server for this bucket alone (s3a's per-bucket endpoint)."""
    conf = spark_s3.sparkContext._jsc.hadoopConfiguration()
    with FaultyS3Proxy(s3_endpoint) as proxy:
        settings = {"endpoint": proxy.url, **SHORT_PAUSES}
        for name, value in settings.items():
            conf.set(f"fs.s3a.bucket.{BUCKET}.{name}", value)
        yield proxy
        for name in settings:
            conf.unset(f"fs.s3a.bucket.{BUCKET}.{name}")


def test_a_run_through_s3_faults_writes_the_tables_of_a_run_without_them(spark_s3, faulty_proxy, s3_client, tmp_path):
    source = tmp_path / "source"
    generate(str(source), START, 1, records_per_hour=300)
    s3_client.create_bucket(Bucket=BUCKET)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        s3_client.put_object(Bucket=BUCKET, Key=f"raw/{path.relative_to(source)}", Body=path.read_bytes())
    through_faults = f"s3a://{BUCKET}/lake"
    summary = run_ingest(spark_s3, f"s3a://{BUCKET}/raw", through_faults, WINDOW, INGESTED_AT)
    without_faults = tmp_path / "lake"
    expected = run_ingest(spark_s3, str(source), str(without_faults), WINDOW, INGESTED_AT)

    # The run met every kind of fault, reading objects and writing tables alike.
    assert all(count > 0 for count in faulty_proxy.injected.values()), faulty_proxy.injected
    assert {"GET", "HEAD", "PUT"} <= faulty_proxy.faulted_methods
    assert summary["objects"] == expected["objects"] > 0
    assert summary["records_written"] == expected["records_written"] > 0
    for table in ("flow_logs", "flow_logs_quarantine", "source_objects"):
        found = read(spark_s3, through_faults, table)
        assert rows_without(found, *LOCATION_COLUMNS) == rows_without(
            read(spark_s3, without_faults, table), *LOCATION_COLUMNS
        ), table
    statuses = read(spark_s3, through_faults, "source_objects").groupBy("status").count().collect()
    assert {(r.status, r["count"]) for r in statuses} == {("ok", summary["objects"])}

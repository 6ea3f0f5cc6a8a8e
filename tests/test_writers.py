"""On S3 without Delta's DynamoDB log store, a second concurrent writer of a table is refused, not let
race the first: the table stays as the first writer leaves it, and a run after it completes the window."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowlake import writers
from flowlake.ingest import run_ingest
from flowlake.layout import object_key
from flowlake.spark_session import session_settings
from flowlake.window import Window
from flowlake.writers import LEASE_FOLDER, LEASE_SECONDS, ConcurrentWriterError, _Lease, needs_lease, table_writer
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


def put_lease(s3_client, table_key: str, generation: int, holder: dict) -> None:
    key = f"{table_key}/{LEASE_FOLDER}/{generation:08d}"
    s3_client.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(holder).encode())


def lease_objects(s3_client, prefix: str) -> dict[str, str]:
    """{key: holder's token, or "released"} of every lease generation object under prefix (a lake or a table's
    key)."""
    listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    holders = {
        o["Key"]: json.loads(s3_client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())
        for o in listed
        if f"/{LEASE_FOLDER}/" in o["Key"] and not o["Key"].endswith("/")
    }
    return {key: "released" if "released_at" in holder else holder["token"] for key, holder in holders.items()}


def held_by_this_process(table: str) -> str:
    """The start of the refusal to write table while this process holds its lease."""
    holder = rf"host {re.escape(socket.gethostname())}, process {os.getpid()}"
    return rf"^{re.escape(table)}: another writer is writing this table \({holder}, since "


def crashed_holder() -> dict:
    """The lease of a writer that crashed: renewed last more than LEASE_SECONDS ago."""
    crashed_at = time.time() - LEASE_SECONDS - 60
    return {"token": "gone", "host": "elsewhere", "pid": 1, "taken_at": crashed_at - 600, "renewed_at": crashed_at}


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
    # Every write released its lease, and each table's folder keeps only its highest generation.
    leases = lease_objects(s3_client, "lake/")
    assert leases
    assert leases == {key: "released" for key in leases}
    assert len({key.rsplit("/", 1)[0] for key in leases}) == len(leases)


def test_the_lease_of_a_writer_that_crashed_is_taken_over_once_it_is_old(spark_s3, s3_client, bucket, caplog):
    put_lease(s3_client, "lake/source_objects", 2, crashed_holder())
    put_object(s3_client, 15, 300)
    with caplog.at_level(logging.WARNING, logger="flowlake.writers"):
        summary = run_ingest(spark_s3, f"s3a://{bucket}/raw", LAKE, WINDOW, INGESTED_AT)
    assert summary["objects_read"] == 1
    taken_over = [r.getMessage() for r in caplog.records if r.name == "flowlake.writers"]
    assert len(taken_over) == 1
    assert taken_over[0].startswith(f"{LAKE}/source_objects: took over the writer lease of {{'token': 'gone', ")
    assert taken_over[0].endswith(f"(generation 2), not renewed for over {LEASE_SECONDS}s")
    # The taker deleted the crashed writer's generation, and released its own when it ended.
    assert lease_objects(s3_client, "lake/source_objects/") == {
        f"lake/source_objects/{LEASE_FOLDER}/00000003": "released"
    }


def ended_process() -> int:
    """The ID of a process of this machine that has ended."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(ended.stdout)


def test_the_lease_of_a_writer_gone_from_this_machine_is_taken_over_at_once(spark_s3, s3_client, bucket, caplog):
    """The retry of an Airflow task killed past its timeout, on the same worker: the killed driver and its JVM
    exist no more, so the retry need not wait LEASE_SECONDS. A holder with either process still there, or of
    another machine or process namespace, is waited for."""
    table = f"{LAKE}/killed"
    here = {
        "host": socket.gethostname(),
        "boot_id": Path("/proc/sys/kernel/random/boot_id").read_text().strip(),
        "pid_namespace": os.readlink("/proc/self/ns/pid"),
        "pid": os.getpid(),
        "jvm_pid": spark_s3.sparkContext._jvm.java.lang.ProcessHandle.current().pid(),
    }
    now = time.time()
    killed = here | {"token": "killed", "pid": ended_process(), "jvm_pid": ended_process(), "taken_at": now}
    killed["renewed_at"] = now
    for not_gone in (
        {"jvm_pid": here["jvm_pid"]},
        {"pid": here["pid"]},
        {"host": "elsewhere"},
        {"boot_id": "another boot"},
        {"pid_namespace": "pid:[1]"},
    ):
        put_lease(s3_client, "lake/killed", 2, killed | not_gone)
        with pytest.raises(ConcurrentWriterError, match=rf"\(host {re.escape((killed | not_gone)['host'])}, process "):
            _Lease(spark_s3, table).acquire()
    put_lease(s3_client, "lake/killed", 2, killed)
    with caplog.at_level(logging.WARNING, logger="flowlake.writers"), table_writer(spark_s3, table):
        pass
    taken_over = [r.getMessage() for r in caplog.records if r.name == "flowlake.writers"]
    assert len(taken_over) == 1
    assert (
        taken_over[0]
        == f"{table}: took over the writer lease of {killed} (generation 2), whose processes on this machine are gone"
    )
    assert lease_objects(s3_client, "lake/killed/") == {f"lake/killed/{LEASE_FOLDER}/00000003": "released"}


def test_of_two_writers_that_saw_the_same_stale_lease_only_the_first_takes_it_over(
    spark_s3, s3_client, bucket, monkeypatch
):
    crashed = crashed_holder()
    put_lease(s3_client, "lake/two_takers", 3, crashed)
    first, second = _Lease(spark_s3, f"{LAKE}/two_takers"), _Lease(spark_s3, f"{LAKE}/two_takers")
    # Both saw generation 3 stale; the second acts on that view after the first took over.
    seen_by_second = second._observe()
    assert seen_by_second == ([3], crashed)
    monkeypatch.setattr(second, "_observe", lambda: seen_by_second)
    first.acquire()
    try:
        with pytest.raises(ConcurrentWriterError, match=held_by_this_process(f"{LAKE}/two_takers")):
            second.acquire()
        assert lease_objects(s3_client, "lake/two_takers/") == {
            f"lake/two_takers/{LEASE_FOLDER}/00000004": first.holder["token"]
        }
    finally:
        first.release()
    assert lease_objects(s3_client, "lake/two_takers/") == {f"lake/two_takers/{LEASE_FOLDER}/00000004": "released"}


def test_a_writer_acting_on_an_old_view_of_the_lease_is_refused_after_later_writes(
    spark_s3, s3_client, bucket, monkeypatch
):
    table = f"{LAKE}/old_view"
    put_lease(s3_client, "lake/old_view", 3, crashed_holder())
    stalled = _Lease(spark_s3, table)
    # A writer saw generation 3 stale, then stalled; meanwhile one writer took the lease over and ended.
    seen_before_stalling = stalled._observe()
    monkeypatch.setattr(stalled, "_observe", lambda: seen_before_stalling)
    with table_writer(spark_s3, table):
        pass
    with table_writer(spark_s3, table):
        with pytest.raises(ConcurrentWriterError, match=held_by_this_process(table)):
            stalled.acquire()
        # Another writer holds generation 5; the one that stalled created nothing that counts.
        leases = lease_objects(s3_client, "lake/old_view/")
        assert list(leases) == [f"lake/old_view/{LEASE_FOLDER}/00000005"]
        assert leases[f"lake/old_view/{LEASE_FOLDER}/00000005"] != "released"


def test_a_writer_that_creates_a_generation_below_the_highest_is_refused(spark_s3, s3_client, bucket, monkeypatch):
    table = f"{LAKE}/below_highest"
    put_lease(s3_client, "lake/below_highest", 2, crashed_holder())
    stalled = _Lease(spark_s3, table)
    seen_before_stalling = stalled._observe()
    monkeypatch.setattr(stalled, "_observe", lambda: seen_before_stalling)
    # Meanwhile generation 3 was taken and released, and a writer took generation 4 and deleted the lower ones:
    # generation 3, which the stalled writer creates, is free again.
    holder = crashed_holder() | {"token": "holder", "host": "other", "pid": 7, "renewed_at": time.time()}
    put_lease(s3_client, "lake/below_highest", 4, holder)
    s3_client.delete_object(Bucket=BUCKET, Key=f"lake/below_highest/{LEASE_FOLDER}/00000002")
    with pytest.raises(ConcurrentWriterError, match=r"\(host other, process 7, since "):
        stalled.acquire()
    assert lease_objects(s3_client, "lake/below_highest/") == {f"lake/below_highest/{LEASE_FOLDER}/00000004": "holder"}


def test_a_writer_that_holds_the_lease_longer_than_lease_seconds_keeps_it(spark_s3, s3_client, bucket, monkeypatch):
    monkeypatch.setattr(writers, "LEASE_SECONDS", 2)
    monkeypatch.setattr(writers, "LEASE_RENEW_SECONDS", 0.3)
    table = f"{LAKE}/long_write"
    with table_writer(spark_s3, table):
        time.sleep(3)
        with pytest.raises(ConcurrentWriterError, match=held_by_this_process(table)), table_writer(spark_s3, table):
            pytest.fail("a second writer wrote while the first held the lease")
    with table_writer(spark_s3, table):
        assert list(lease_objects(s3_client, "lake/long_write/")) == [f"lake/long_write/{LEASE_FOLDER}/00000001"]


def test_a_holder_whose_lease_was_taken_over_stops_renewing_it(spark_s3, s3_client, bucket, monkeypatch, caplog):
    monkeypatch.setattr(writers, "LEASE_RENEW_SECONDS", 0.2)
    table = f"{LAKE}/taken_from"
    taker = crashed_holder() | {"token": "taker", "renewed_at": time.time()}
    with caplog.at_level(logging.ERROR, logger="flowlake.writers"), table_writer(spark_s3, table):
        # Another writer judged this holder's generation 0 stale, took the lease over and deleted generation 0.
        put_lease(s3_client, "lake/taken_from", 1, taker)
        s3_client.delete_object(Bucket=BUCKET, Key=f"lake/taken_from/{LEASE_FOLDER}/00000000")
        time.sleep(1)
        assert lease_objects(s3_client, "lake/taken_from/") == {f"lake/taken_from/{LEASE_FOLDER}/00000001": "taker"}
    assert [r.getMessage() for r in caplog.records] == [
        f"{table}: this write's lease (generation 0) was taken over or removed (generations now [1]): another "
        "writer may be writing the table; the lease is no longer renewed"
    ]
    assert lease_objects(s3_client, "lake/taken_from/") == {f"lake/taken_from/{LEASE_FOLDER}/00000001": "taker"}


def test_only_s3_tables_without_the_dynamodb_log_store_take_a_lease(spark_s3, tmp_path):
    assert needs_lease(spark_s3, f"s3a://{BUCKET}/lake/flow_logs")
    assert needs_lease(spark_s3, f"s3://{BUCKET}/lake/flow_logs")
    assert not needs_lease(spark_s3, str(tmp_path / "lake" / "flow_logs"))
    assert not needs_lease(spark_s3, f"file:{tmp_path}/lake/flow_logs")
    with session_settings(spark_s3, {"spark.delta.logStore.s3a.impl": "io.delta.storage.S3DynamoDBLogStore"}):
        assert not needs_lease(spark_s3, f"s3a://{BUCKET}/lake/flow_logs")

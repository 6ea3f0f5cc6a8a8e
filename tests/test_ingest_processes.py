"""Ingest runs as separate processes: concurrent windows, and a crash in the middle of a write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowlake.ingest import run_ingest
from flowlake.window import Window
from tests.flowlog_objects import write_object
from tests.frames import read

pytestmark = pytest.mark.slow
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The crash's new objects: a task writes their records for some seconds, which the kill falls into.
RECORDS_PER_NEW_OBJECT = 25_000


def ingest_process(source: Path, lake: Path, start: str, end: str) -> subprocess.Popen:
    env = {**os.environ, "FLOWLAKE_SPARK_MASTER": "local[1]", "FLOWLAKE_DRIVER_MEMORY": "1g"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flowlake.ingest",
            "--source",
            str(source),
            "--lake",
            str(lake),
            "--start",
            start,
            "--end",
            end,
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def record(start: int, bytes_: int) -> str:
    return f"2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 {bytes_} {start} {start + 60} ACCEPT OK"


def test_two_windows_ingested_at_the_same_time_lose_nothing(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    expected = []
    for hour in (10, 11):
        for minute in range(5, 60, 5):
            start = int(datetime(2025, 11, 1, hour, minute - 5, tzinfo=UTC).timestamp())
            lines = [record(start, hour * 1000 + minute * 10 + i) for i in range(3)]
            expected += [hour * 1000 + minute * 10 + i for i in range(3)]
            write_object(
                source,
                datetime(2025, 11, 1, hour, minute, tzinfo=UTC),
                lines,
                object_hash=f"{hour:02d}{minute:02d}abcd",
            )

    # Both start on an empty lake, so they also race to create each table.
    first = ingest_process(source, lake, "2025-11-01T10:00:00Z", "2025-11-01T11:00:00Z")
    second = ingest_process(source, lake, "2025-11-01T11:00:00Z", "2025-11-01T12:00:00Z")
    outputs = [p.communicate(timeout=600)[0].decode() for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    flow_logs = read(spark, lake, "flow_logs")
    assert sorted(r.bytes for r in flow_logs.select("bytes").collect()) == sorted(expected)
    objects = read(spark, lake, "source_objects")
    assert objects.count() == 22
    assert objects.agg({"records_written": "sum"}).first()[0] == 66


def _committed_versions(table: Path) -> list[str]:
    return sorted(p.name for p in (table / "_delta_log").glob("*.json"))


def test_a_crash_in_the_middle_of_a_write_leaves_the_tables_as_they_were(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    hour = datetime(2025, 11, 1, 10, tzinfo=UTC)
    start = int(hour.timestamp())
    write_object(source, hour.replace(minute=5), [record(start, 1), record(start, 2)], object_hash="0000aaaa")
    window = Window(hour, hour.replace(hour=11))
    run_ingest(spark, str(source), str(lake), window, datetime(2026, 11, 27, tzinfo=UTC))
    flow_logs_dir = lake / "flow_logs"
    before_versions = _committed_versions(flow_logs_dir)
    before_files = set(flow_logs_dir.rglob("*.parquet"))

    # Enough new data that writing it takes a while; the re-run is killed once it has started writing files.
    for i in range(4):
        write_object(
            source,
            hour.replace(minute=10 + 5 * i),
            [record(start, 7)] * RECORDS_PER_NEW_OBJECT,
            object_hash=f"1111{i:04d}",
        )
    crashing = ingest_process(source, lake, "2025-11-01T10:00:00Z", "2025-11-01T11:00:00Z")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and crashing.poll() is None:
        if set(flow_logs_dir.rglob("*.parquet")) - before_files:
            break
        time.sleep(0.02)
    assert crashing.poll() is None, "the ingest finished before it could be killed mid-write"
    os.killpg(crashing.pid, signal.SIGKILL)
    crashing.wait(timeout=60)

    assert set(flow_logs_dir.rglob("*.parquet")) - before_files, "no data file was written before the crash"
    assert _committed_versions(flow_logs_dir) == before_versions
    table = read(spark, lake, "flow_logs")
    assert sorted(r.bytes for r in table.select("bytes").collect()) == [1, 2]

    # A re-run after the crash completes the window: it reads the four objects the crash left unrecorded.
    summary = run_ingest(spark, str(source), str(lake), window, datetime(2026, 11, 27, tzinfo=UTC))
    assert (summary["objects_read"], summary["objects_unchanged"], summary["records_written"]) == (
        4,
        1,
        4 * RECORDS_PER_NEW_OBJECT,
    )
    assert read(spark, lake, "flow_logs").count() == 2 + 4 * RECORDS_PER_NEW_OBJECT

"""The lake is the system of record: expired sources, rewritten objects and removals on purpose.

One hour of three objects. Object A carries a record of hour 9 and one of hour
10, B and C one record of hour 10 each. Then, as S3 does: A and B expire, C is
rewritten under the same key with other records, and an operator removes the
expired objects' rows on purpose.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime

import pytest

from flowlake import remove, sweep
from flowlake.ingest import run_ingest
from flowlake.run import run_pipeline
from flowlake.window import Window
from tests.flowlog_objects import ACCOUNT, write_object, write_raw
from tests.frames import ordered, read, rows, utc

HOUR = Window(utc(2026, 11, 1, 10), utc(2026, 11, 1, 11))
INGESTED_AT = datetime(2026, 11, 30, tzinfo=UTC)


def record(size: int, start: datetime, action: str = "ACCEPT") -> str:
    begin = int(start.timestamp())
    return f"2 {ACCOUNT} eni-0a 10.0.0.1 10.0.0.2 49152 443 6 1 {size} {begin} {begin + 60} {action} OK"


def write_hour(source):
    """The objects A (10:05), B (10:20), C (10:35); returns their paths."""
    return {
        "A": write_object(
            source, utc(2026, 11, 1, 10, 5), [record(1, utc(2026, 11, 1, 9, 58)), record(2, utc(2026, 11, 1, 10, 1))]
        ),
        "B": write_object(source, utc(2026, 11, 1, 10, 20), [record(4, utc(2026, 11, 1, 10, 15))], object_hash="bb"),
        "C": write_object(source, utc(2026, 11, 1, 10, 35), [record(8, utc(2026, 11, 1, 10, 30))], object_hash="cc"),
    }


def run(spark, source, lake) -> dict:
    """flowlake run of the hour: ingest, then every hour it touched aggregated."""
    return run_pipeline(spark, str(source), str(lake), HOUR, ingested_at=INGESTED_AT)


def traffic(spark, lake) -> list[tuple]:
    return rows(read(spark, lake, "traffic_hourly"), "hour", "records", "bytes")


@pytest.fixture(scope="module")
def ingested_once(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("ingested")
    source, lake = root / "source", root / "lake"
    objects = write_hour(source)
    run(spark, source, lake)
    assert traffic(spark, lake) == ordered([(utc(2026, 11, 1, 9), 1, 1), (utc(2026, 11, 1, 10), 3, 14)])
    return source, lake, objects


@pytest.fixture
def ingested(ingested_once, tmp_path):
    """A copy of the hour's source and lake (times of change kept), for one test to change."""
    source, lake, objects = ingested_once
    shutil.copytree(source, tmp_path / "source")
    shutil.copytree(lake, tmp_path / "lake")
    return (
        tmp_path / "source",
        tmp_path / "lake",
        {name: tmp_path / "source" / path.relative_to(source) for name, path in objects.items()},
    )


def test_a_rerun_reads_only_new_objects_and_leaves_the_others_rows_alone(spark, ingested):
    source, lake, _ = ingested
    before = read(spark, lake, "source_objects").collect()
    write_object(source, utc(2026, 11, 1, 10, 50), [record(16, utc(2026, 11, 1, 10, 45))], object_hash="dd")
    summary = run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 12, 1, tzinfo=UTC))
    assert {k: summary[k] for k in ("objects", "objects_read", "objects_unchanged", "records_written")} == {
        "objects": 4,
        "objects_read": 1,
        "objects_unchanged": 3,
        "records_written": 1,
    }
    assert summary["hours_touched"] == ["2026-11-01T10:00:00+00:00"]
    # The rows of the objects read before, ingested_at included, are as they were.
    assert set(before) < set(read(spark, lake, "source_objects").collect())
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [1, 2, 4, 8, 16]


def test_expired_objects_keep_their_rows_and_the_run_says_so(spark, ingested, caplog):
    source, lake, objects = ingested
    for name in ("A", "B"):
        objects[name].unlink()
    summary = run(spark, source, lake)["ingest"]
    assert (summary["objects"], summary["objects_read"], summary["objects_gone"]) == (1, 0, 2)
    assert summary["hours_touched"] == []
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [1, 2, 4, 8]
    assert read(spark, lake, "source_objects").count() == 3
    assert traffic(spark, lake) == ordered([(utc(2026, 11, 1, 9), 1, 1), (utc(2026, 11, 1, 10), 3, 14)])
    gone = [r.getMessage() for r in caplog.records if "gone from the source" in r.getMessage()]
    assert len(gone) == 1 and "2 objects" in gone[0] and objects["A"].name in gone[0]


def test_an_object_rewritten_under_its_key_is_read_again_and_every_hour_it_touched_is_reaggregated(spark, ingested):
    source, lake, objects = ingested
    # A rewritten: its hour-9 record is gone, its hour-10 record doubled.
    write_object(
        source,
        utc(2026, 11, 1, 10, 5),
        [record(32, utc(2026, 11, 1, 10, 1)), record(64, utc(2026, 11, 1, 10, 2))],
    )
    modified = objects["A"].stat().st_mtime + 60  # a rewrite within the file system's clock tick still counts
    os.utime(objects["A"], (modified, modified))
    summary = run(spark, source, lake)["ingest"]
    assert (summary["objects_read"], summary["objects_changed"], summary["objects_unchanged"]) == (1, 1, 2)
    assert summary["hours_touched"] == ["2026-11-01T09:00:00+00:00", "2026-11-01T10:00:00+00:00"]
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [4, 8, 32, 64]
    # Hour 9 lost its only record: it is aggregated again, to nothing.
    assert traffic(spark, lake) == [(utc(2026, 11, 1, 10), 4, 108)]


def last_commit(table_folder) -> tuple[dict, list[dict], list[dict]]:
    """The newest commit of a Delta table's log, read as the JSON it is: (commitInfo, its adds, its removes)."""
    newest = max((table_folder / "_delta_log").glob("*.json"))
    actions = [json.loads(line) for line in newest.read_text().splitlines()]
    info = next(action["commitInfo"] for action in actions if "commitInfo" in action)
    return info, [a["add"] for a in actions if "add" in a], [a["remove"] for a in actions if "remove" in a]


def test_delta_history_counts_the_rows_and_files_each_ingest_commit_wrote_and_removed(spark, ingested):
    source, lake, objects = ingested
    info, adds, removes = last_commit(lake / "flow_logs")
    # The first run wrote the hour's 4 records and removed nothing; the counts of files and bytes are the log's own.
    assert info["operationMetrics"] == {
        "numFiles": str(len(adds)),
        "numOutputRows": "4",
        "numOutputBytes": str(sum(add["size"] for add in adds)),
        "numRemovedFiles": "0",
        "numRemovedBytes": "0",
        "numCopiedRows": "0",
        "numDeletedRows": "0",
        "numAddedChangeFiles": "0",
    }
    assert adds and not removes
    # A rewritten with 2 other records: the file of A, B and C goes, B's and C's rows are written again.
    write_object(
        source,
        utc(2026, 11, 1, 10, 5),
        [record(32, utc(2026, 11, 1, 10, 1)), record(64, utc(2026, 11, 1, 10, 2))],
    )
    modified = objects["A"].stat().st_mtime + 60
    os.utime(objects["A"], (modified, modified))
    run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 12, 1, tzinfo=UTC))
    info, adds, removes = last_commit(lake / "flow_logs")
    assert info["operationMetrics"] == {
        "numFiles": str(len(adds)),
        "numOutputRows": "4",
        "numOutputBytes": str(sum(add["size"] for add in adds)),
        "numRemovedFiles": str(len(removes)),
        "numRemovedBytes": str(sum(remove["size"] for remove in removes)),
        "numCopiedRows": "2",
        "numDeletedRows": "2",
        "numAddedChangeFiles": "0",
    }


def test_removing_expired_objects_is_an_explicit_audited_action(spark, ingested, caplog):
    source, lake, objects = ingested
    objects["A"].unlink()
    summary = remove.main(
        [
            *("--lake", str(lake), "--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T11:00:00Z"),
            *("--gone-from", str(source), "--reason", "expired by the lifecycle rule"),
        ],
        spark=spark,
    )
    assert (summary["objects_removed"], summary["records_removed"]) == (1, 2)
    assert summary["hours_reaggregated"] == ["2026-11-01T09:00:00+00:00", "2026-11-01T10:00:00+00:00"]
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [4, 8]
    assert read(spark, lake, "source_objects").count() == 2
    assert traffic(spark, lake) == [(utc(2026, 11, 1, 10), 2, 12)]
    (audit,) = read(spark, lake, "object_removals").collect()
    assert (audit.source_file.endswith(objects["A"].name), audit.records_removed, audit.reason) == (
        True,
        2,
        "expired by the lifecycle rule",
    )
    assert any(objects["A"].name in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_an_impossible_date_in_a_name_skips_that_object_alone_and_names_it(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(source, utc(2026, 11, 1, 10, 5), [record(2, utc(2026, 11, 1, 10, 1))])
    bad = f"{ACCOUNT}_vpcflowlogs_us-east-1_fl-1234abcd_20261301T1010Z_ee.log.gz"
    write_raw(source, f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2026/11/01/{bad}", b"")
    summary = run_ingest(spark, str(source), str(lake), HOUR, INGESTED_AT)
    assert (summary["objects"], summary["records_written"]) == (1, 1)
    (reason,) = summary["misnamed_objects"]
    assert reason.startswith(f"{bad}: the time in its name, 20261301T1010Z, is not a date")


def test_the_sweep_ingests_what_the_hourly_runs_missed_and_reaggregates_those_hours(spark, ingested):
    source, lake, _ = ingested
    # Delivered for 07:05 long after hour 7's run, past the lookback of every hourly run since.
    write_object(source, utc(2026, 11, 1, 7, 5), [record(16, utc(2026, 11, 1, 7, 1))], object_hash="1a7e")
    arguments = ["--source", str(source), "--lake", str(lake), "--end", "2026-11-02T00:00:00Z", "--days", "2"]
    swept = sweep.main(arguments, spark=spark)
    assert (swept["missed_objects"], swept["ingest"]["objects"], swept["ingest"]["objects_unchanged"]) == (1, 4, 3)
    assert swept["ingest"]["hours_touched"] == ["2026-11-01T07:00:00+00:00"]
    assert traffic(spark, lake) == ordered(
        [(utc(2026, 11, 1, 7), 1, 16), (utc(2026, 11, 1, 9), 1, 1), (utc(2026, 11, 1, 10), 3, 14)]
    )
    # Nothing left to find.
    assert sweep.main(arguments, spark=spark)["missed_objects"] == 0

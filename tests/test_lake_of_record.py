"""The lake is the system of record: expired sources, rewritten objects and removals on purpose.

One hour of three objects. Object A carries a record of hour 9 and one of hour
10, B and C one record of hour 10 each. Then, as S3 does: A and B expire, C is
rewritten under the same key with other records, and an operator removes the
expired objects' rows on purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from flowlake import ingest, remove, sweep
from flowlake.ingest import QUARANTINE, run_ingest
from flowlake.lake import write_table_slice
from flowlake.run import run_pipeline
from flowlake.window import Window
from flowlake.writers import ConcurrentWriterError
from tests.flowlog_objects import ACCOUNT, write_object, write_raw
from tests.frames import frame_of, ordered, read, rows, rows_without, table_files, utc

HOUR = Window(utc(2026, 11, 1, 10), utc(2026, 11, 1, 11))
INGESTED_AT = datetime(2026, 11, 30, tzinfo=UTC)


def record(size: int, start: datetime, action: str = "ACCEPT", account: str = ACCOUNT) -> str:
    begin = int(start.timestamp())
    return f"2 {account} eni-0a 10.0.0.1 10.0.0.2 49152 443 6 1 {size} {begin} {begin + 60} {action} OK"


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


def copy_of(ingested_once, folder):
    """A copy of the hour's source and lake in folder (times of change kept)."""
    source, lake, objects = ingested_once
    shutil.copytree(source, folder / "source")
    shutil.copytree(lake, folder / "lake")
    return (
        folder / "source",
        folder / "lake",
        {name: folder / "source" / path.relative_to(source) for name, path in objects.items()},
    )


@pytest.fixture
def ingested(ingested_once, tmp_path):
    """A copy of the hour's source and lake, for one test to change."""
    return copy_of(ingested_once, tmp_path)


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


def test_new_objects_without_bad_lines_leave_the_quarantine_alone(spark, ingested, monkeypatch):
    source, lake, _ = ingested
    written = []

    def recorded(df, lake, table, predicate, metrics=None):
        written.append(table)
        return write_table_slice(df, lake, table, predicate, metrics)

    monkeypatch.setattr(ingest, "write_table_slice", recorded)
    write_object(source, utc(2026, 11, 1, 10, 50), [record(16, utc(2026, 11, 1, 10, 45))], object_hash="dd")
    summary = run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 12, 1, tzinfo=UTC))
    assert (summary["objects_read"], summary["lines_quarantined"]) == (1, 0)
    # No line to write and none of the objects' to replace: no write (it cost an hourly run 2.4-2.8 s).
    assert written == ["source_objects"]


def test_an_object_rewritten_without_its_bad_lines_leaves_none_of_them_in_the_quarantine(spark, ingested):
    source, lake, _ = ingested
    bad = write_object(
        source, utc(2026, 11, 1, 10, 50), [record(16, utc(2026, 11, 1, 10, 45)), "not a record"], object_hash="dd"
    )
    run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 12, 1, tzinfo=UTC))
    assert [r.source_file for r in read(spark, lake, QUARANTINE).collect()] == [f"file:{bad}"]
    write_object(source, utc(2026, 11, 1, 10, 50), [record(16, utc(2026, 11, 1, 10, 45))], object_hash="dd")
    modified = bad.stat().st_mtime + 60
    os.utime(bad, (modified, modified))
    summary = run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 12, 2, tzinfo=UTC))
    assert (summary["objects_changed"], summary["lines_quarantined"]) == (1, 0)
    assert read(spark, lake, QUARANTINE).count() == 0


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


def ingest_metrics(adds: list[dict], removes: list[dict], written: int, copied: int, deleted: int) -> dict:
    """An ingest commit's operationMetrics as Delta's history records them: the files and bytes are the commit's own
    actions, the rows as given."""
    return {
        "numFiles": str(len(adds)),
        "numOutputRows": str(written),
        "numOutputBytes": str(sum(add["size"] for add in adds)),
        "numRemovedFiles": str(len(removes)),
        "numRemovedBytes": str(sum(remove["size"] for remove in removes)),
        "numCopiedRows": str(copied),
        "numDeletedRows": str(deleted),
        "numAddedChangeFiles": "0",
    }


def test_delta_history_counts_the_rows_and_files_each_ingest_commit_wrote_and_removed(spark, ingested):
    source, lake, objects = ingested
    info, adds, removes = last_commit(lake / "flow_logs")
    # The first run wrote the hour's 4 records and removed nothing; the counts of files and bytes are the log's own.
    assert adds and not removes
    assert info["operationMetrics"] == ingest_metrics(adds, removes, written=4, copied=0, deleted=0)
    # Which objects' rows each file holds, read from the files themselves.
    sources = {
        path: pq.read_table(lake / "flow_logs" / path, columns=["source_file"])["source_file"].to_pylist()
        for path in table_files(lake / "flow_logs")
    }
    (recorded_a,) = {f for files in sources.values() for f in files if f.endswith(f"/{objects['A'].name}")}
    of_a = {path: files for path, files in sources.items() if recorded_a in files}
    others_kept = sum(len([f for f in files if f != recorded_a]) for files in of_a.values())
    # A rewritten with 2 other records: the files that hold A's 2 rows go, their other rows are written again.
    write_object(
        source,
        utc(2026, 11, 1, 10, 5),
        [record(32, utc(2026, 11, 1, 10, 1)), record(64, utc(2026, 11, 1, 10, 2))],
    )
    modified = objects["A"].stat().st_mtime + 60
    os.utime(objects["A"], (modified, modified))
    run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 12, 1, tzinfo=UTC))
    info, adds, removes = last_commit(lake / "flow_logs")
    assert {remove["path"] for remove in removes} == set(of_a)
    assert info["operationMetrics"] == ingest_metrics(
        adds, removes, written=2 + others_kept, copied=others_kept, deleted=2
    )


def test_a_new_object_among_those_read_before_rewrites_none_of_their_files(spark, ingested):
    source, lake, _ = ingested
    before = table_files(lake / "flow_logs")
    # Named between B (10:20) and C (10:35), in the hour of the file that holds A, B and C: Delta's statistics
    # cannot tell that file holds none of its rows.
    write_object(source, utc(2026, 11, 1, 10, 25), [record(16, utc(2026, 11, 1, 10, 22))], object_hash="bc")
    run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 12, 1, tzinfo=UTC))
    info, adds, removes = last_commit(lake / "flow_logs")
    # The hourly run's case: the files of the runs before stay as they were, the new object's are added.
    assert removes == []
    assert table_files(lake / "flow_logs") == before | {add["path"] for add in adds}
    assert info["operationMetrics"] == ingest_metrics(adds, removes, written=1, copied=0, deleted=0)
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [1, 2, 4, 8, 16]


def test_a_lake_in_a_folder_whose_name_holds_a_hash_a_question_mark_or_a_percent_keeps_every_record(
    spark, tmp_path, caplog
):
    # Hadoop takes a local path's text as it is; so must the parse, which writes flow_logs' files itself.
    folder = tmp_path / "flow logs #2 ?v=1 %41"
    source, lake = folder / "source", folder / "lake"
    objects = write_hour(source)
    summary = run(spark, source, lake)
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [1, 2, 4, 8]
    assert traffic(spark, lake) == ordered([(utc(2026, 11, 1, 9), 1, 1), (utc(2026, 11, 1, 10), 3, 14)])
    # The default format has no vpc_id: the aggregate found so in the files' footers, which it could read.
    (aggregated,) = summary["aggregate"]
    assert "vpc_id" in aggregated["columns_without_values"]
    assert "could not read the footer" not in caplog.text
    # C rewritten: the commit finds the files that hold C's rows by the paths a scan reads them by.
    write_object(source, utc(2026, 11, 1, 10, 35), [record(16, utc(2026, 11, 1, 10, 30))], object_hash="cc")
    modified = objects["C"].stat().st_mtime + 60
    os.utime(objects["C"], (modified, modified))
    run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 12, 1, tzinfo=UTC))
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [1, 2, 4, 16]
    assert all(path.is_relative_to(lake) for path in tmp_path.rglob("*.parquet"))


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
    assert (audit.source_file.endswith(objects["A"].name), audit.records_removed, audit.reason, audit.status) == (
        True,
        2,
        "expired by the lifecycle rule",
        "removed",
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


ACCOUNT_111, ACCOUNT_222 = "111111111111", "222222222222"


def at(root: str, account: str, name: str, region: str = "us-east-1") -> str:
    """The URI of an object of the account's flow log in the region, under root."""
    return f"{root}/AWSLogs/{account}/vpcflowlogs/{region}/2026/11/01/{account}_{region}_{name}.log.gz"


@pytest.mark.parametrize(
    ("folder", "uri", "holds"),
    [
        # The same object, read from the source given at each folder level: its full URI is the same.
        ("s3a://bucket", "s3a://bucket/AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/01/o.log.gz", True),
        ("s3://bucket/AWSLogs/", "s3a://bucket/AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/01/o.log.gz", True),
        ("s3a://bucket/AWSLogs/111111111111/", "s3a://bucket/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz", True),
        ("s3a://bucket/AWSLogs/111111111111", "s3a://bucket/AWSLogs/222222222222/vpcflowlogs/x/o.log.gz", False),
        ("s3a://bucket/AWSLogs/1111", "s3a://bucket/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz", False),
        ("s3a://bucket/AWSLogs/111111111111", "s3a://other/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz", False),
        ("s3a://bucket/logs/AWSLogs", "s3a://bucket/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz", False),
        ("s3a://bucket/logs/AWSLogs", "s3a://bucket/logs/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz", True),
        (
            "s3a://bucket/AWSLogs/aws-account-id=111111111111",
            "s3a://bucket/AWSLogs/aws-account-id=111111111111/x/o.gz",
            True,
        ),
        ("file:///data/AWSLogs/111111111111", "file:/data/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz", True),
        ("file:///data/AWSLogs/111111111111", "s3a://data/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz", False),
        (
            "s3a://bucket/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz",
            "s3a://bucket/AWSLogs/111111111111/vpcflowlogs/x/o.log.gz",
            False,
        ),
    ],
)
def test_an_object_lies_under_a_folder_by_its_full_uri_folder_by_folder(folder, uri, holds):
    assert remove.lies_under(folder, uri) is holds


def test_the_objects_in_a_folder_are_those_read_from_it_or_from_a_folder_its_listing_shows_it_holds_a_copy_of():
    a111, b111, a222 = (
        at("s3a://bucket", ACCOUNT_111, "a"),
        at("s3a://bucket", ACCOUNT_111, "b"),
        at("s3a://bucket", ACCOUNT_222, "a"),
    )
    # Read from the bucket: the account's folder holds its own objects alone, listed or gone.
    assert remove.objects_in("s3a://bucket/AWSLogs/111111111111", [a111, b111, a222], [b111]) == {a111, b111}
    assert remove.objects_in("s3a://bucket/AWSLogs/111111111111", [a111, b111, a222], []) == {a111, b111}
    assert remove.objects_in("s3a://bucket/AWSLogs/333333333333", [a111, b111, a222], []) == set()
    # Read from a folder since copied elsewhere: a region folder of the copy that lists one of its objects holds
    # the others, not the folders it lists nothing of.
    read = [at("file:/orig", ACCOUNT_111, "a"), at("file:/orig", ACCOUNT_111, "b"), at("file:/orig", ACCOUNT_222, "a")]
    east = at("file:/orig", ACCOUNT_111, "c")
    west = at("file:/orig", ACCOUNT_111, "d", region="eu-west-1")
    copy = [at("file:/copy/source", ACCOUNT_111, "b"), at("file:/copy/source", ACCOUNT_222, "a")]
    assert remove.objects_in("file:///copy/source", read, copy) == set(read)
    assert remove.objects_in("file:///copy/source", [*read, east, west], copy[:1]) == {*read[:2], east}
    assert remove.objects_in("file:///copy/source/AWSLogs/111111111111", read, copy[:1]) == set(read[:2])
    assert remove.objects_in("file:///copy/source", read, []) == set()
    # A bucket mounted as a folder.
    mounted = at("file:/mnt/bucket", ACCOUNT_111, "b")
    assert remove.objects_in("file:///mnt/bucket/AWSLogs/111111111111", [a111, b111, a222], [mounted]) == {a111, b111}


def test_gone_from_one_accounts_folder_removes_that_accounts_gone_objects_alone(spark, tmp_path):
    bucket, lake = tmp_path / "bucket", tmp_path / "lake"
    objects = {}
    for account, size in ((ACCOUNT_111, 1), (ACCOUNT_222, 100)):
        objects[account] = [
            write_object(
                bucket,
                utc(2026, 11, 1, 10, 5),
                [
                    record(size, utc(2026, 11, 1, 9, 58), account=account),
                    "2 broken",
                    record(2 * size, utc(2026, 11, 1, 10, 1), account=account),
                ],
                account_id=account,
            ),
            write_object(
                bucket,
                utc(2026, 11, 1, 10, 20),
                [record(4 * size, utc(2026, 11, 1, 10, 15), account=account)],
                account_id=account,
                object_hash="bb",
            ),
        ]
    run(spark, bucket, lake)  # the lake is fed from the bucket, both accounts
    ingest_tables = ("flow_logs", "flow_logs_quarantine", "source_objects")
    before = {table: rows(read(spark, lake, table)) for table in ingest_tables}
    assert [len(before[table]) for table in ingest_tables] == [6, 2, 4]
    # Expired, and the account's folder with them: on S3 a prefix whose objects all expired is no folder at all.
    shutil.rmtree(bucket / "AWSLogs" / ACCOUNT_111)
    # A mistyped folder, missing too, holds none of the objects read: it removes none.
    mistyped = remove.objects_to_remove(spark, str(lake), HOUR, str(bucket / "AWSLogs" / "999988887777"), [])
    assert (mistyped.uris, mistyped.outside) == ([], 4)

    summary = remove.main(
        [
            *("--lake", str(lake), "--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T11:00:00Z"),
            *("--gone-from", str(bucket / "AWSLogs" / ACCOUNT_111), "--reason", "raw logs expired"),
        ],
        spark=spark,
    )

    # Account 222's rows are exactly as they were; 111's are gone.
    for table in ingest_tables:
        kept = [row for row in before[table] if f"/AWSLogs/{ACCOUNT_222}/" in str(row)]
        assert rows(read(spark, lake, table)) == kept, table
    assert {k: summary[k] for k in ("objects_removed", "records_removed", "lines_quarantined_removed")} == {
        "objects_removed": 2,
        "records_removed": 3,
        "lines_quarantined_removed": 1,
    }
    assert summary["objects_outside_gone_from"] == 2
    assert summary["hours_reaggregated"] == ["2026-11-01T09:00:00+00:00", "2026-11-01T10:00:00+00:00"]
    assert rows(read(spark, lake, "traffic_hourly"), "hour", "account_id", "records", "bytes") == ordered(
        [(utc(2026, 11, 1, 9), ACCOUNT_222, 1, 100), (utc(2026, 11, 1, 10), ACCOUNT_222, 2, 600)]
    )
    recorded = [row[0] for row in before["source_objects"]]
    uri_of = {path: next(uri for uri in recorded if uri.endswith("/" + path.name)) for path in objects[ACCOUNT_111]}
    first, second = objects[ACCOUNT_111]
    assert removals_of(spark, lake, "removed_at", "removed_by", "completed_at") == [
        ("raw logs expired", uri_of[first], utc(2026, 11, 1, 10, 5), 2, 1, epochs(9, 10), "removed"),
        ("raw logs expired", uri_of[second], utc(2026, 11, 1, 10, 20), 1, 0, epochs(10), "removed"),
    ]


def removals_of(spark, lake, *ignored: str) -> list[tuple]:
    """object_removals' rows but the ignored columns, sorted, its hours as epoch seconds (PySpark would read the
    timestamps of an array in the host's zone)."""
    removals = read(spark, lake, "object_removals").withColumn("hours", F.transform("hours", F.unix_seconds))
    return rows_without(removals, *ignored)


def epochs(*hours: int) -> list[int]:
    """Hours of 2026-11-01 as epoch seconds."""
    return [int(utc(2026, 11, 1, hour).timestamp()) for hour in hours]


LEGACY_REMOVALS = (
    "removed_at timestamp, removed_by string, reason string, source_file string, object_time timestamp, "
    "records_removed bigint, lines_quarantined_removed bigint"
)


def test_an_audit_table_of_before_the_status_gains_its_columns_and_a_named_object_is_removed_once(spark, ingested):
    _, lake, objects = ingested
    earlier = "file:/elsewhere/AWSLogs/x_20261101T1000Z_00.log.gz"
    frame_of(
        spark, [(utc(2026, 11, 2), "ops", "sent twice", earlier, utc(2026, 11, 1, 10), 5, 0)], LEGACY_REMOVALS
    ).write.format("delta").save(str(lake / "object_removals"))
    arguments = [
        *("--lake", str(lake), "--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T11:00:00Z"),
        *("--object", objects["A"].name, "--reason", "sent twice"),
    ]

    summary = remove.main(arguments, spark=spark)

    assert (summary["objects_removed"], summary["records_removed"], summary["objects_already_removed"]) == (1, 2, [])
    assert traffic(spark, lake) == [(utc(2026, 11, 1, 10), 2, 12)]
    assert removals_of(spark, lake, "removed_at", "removed_by", "source_file", "completed_at") == [
        ("sent twice", utc(2026, 11, 1, 10), 5, 0, None, None),
        ("sent twice", utc(2026, 11, 1, 10, 5), 2, 0, epochs(9, 10), "removed"),
    ]
    # Run again, the removal is complete: nothing to do, and no table changes.
    versions = table_versions(lake)
    again = remove.main(arguments, spark=spark)
    assert (again["objects_removed"], len(again["objects_already_removed"])) == (0, 1)
    assert table_versions(lake) == versions


def table_versions(lake) -> dict[str, int]:
    """The newest commit of each table of the lake."""
    return {
        folder.name: max(int(log.stem) for log in (folder / "_delta_log").glob("*.json"))
        for folder in lake.iterdir()
        if (folder / "_delta_log").is_dir()
    }


def removal_arguments(source, lake) -> list[str]:
    """Removes A's and B's rows, both gone from the source."""
    return [
        *("--lake", str(lake), "--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T11:00:00Z"),
        *("--gone-from", str(source), "--reason", "expired by the lifecycle rule"),
    ]


@pytest.fixture(scope="module")
def removed_at_once(spark, ingested_once, tmp_path_factory):
    """The hour's lake after an uninterrupted removal of A and B."""
    source, lake, objects = copy_of(ingested_once, tmp_path_factory.mktemp("removed"))
    for name in ("A", "B"):
        objects[name].unlink()
    remove.main(removal_arguments(source, lake), spark=spark)
    assert traffic(spark, lake) == [(utc(2026, 11, 1, 10), 1, 8)]
    return lake


def failing_once(monkeypatch, step: str) -> str:
    """The removal's next step after flow_logs fails, once: the re-aggregation, or the quarantine's delete (an
    hourly run holds the table's writer lease); returns the error's message."""
    failed = []
    if step == "aggregation":
        aggregate_hours = remove.aggregate_hours

        def aggregating(*args, **kwargs):
            if not failed:
                failed.append(step)
                raise RuntimeError("the driver died while aggregating")
            return aggregate_hours(*args, **kwargs)

        monkeypatch.setattr(remove, "aggregate_hours", aggregating)
        return "the driver died"
    table_writer = remove.table_writer

    @contextlib.contextmanager
    def writing(spark, path):
        if path.endswith("/" + QUARANTINE) and not failed:
            failed.append(step)
            raise ConcurrentWriterError(f"{path} is held by the hourly run of 11:00")
        with table_writer(spark, path):
            yield

    monkeypatch.setattr(remove, "table_writer", writing)
    return "held by the hourly run"


@pytest.mark.parametrize("step", ["aggregation", "quarantine_delete"])
def test_an_interrupted_removal_is_completed_by_running_the_same_command_again(
    spark, ingested, removed_at_once, monkeypatch, step
):
    source, lake, objects = ingested
    for name in ("A", "B"):
        objects[name].unlink()
    error = failing_once(monkeypatch, step)
    with pytest.raises(RuntimeError, match=error):  # a ConcurrentWriterError is one
        remove.main(removal_arguments(source, lake), spark=spark)
    # Interrupted after A's and B's records left flow_logs; the hourly tables still count them.
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [8]
    assert traffic(spark, lake) == ordered([(utc(2026, 11, 1, 9), 1, 1), (utc(2026, 11, 1, 10), 3, 14)])
    interrupted = datetime.now(UTC)

    summary = remove.main(removal_arguments(source, lake), spark=spark)

    # Every table but the audit is as an uninterrupted removal leaves it, the hourly ones whole.
    assert table_versions(lake).keys() == table_versions(removed_at_once).keys()
    for table in sorted(table_versions(lake).keys() - {"object_removals"}):
        assert rows(read(spark, lake, table)) == rows(read(spark, removed_at_once, table)), table
    assert summary["hours_reaggregated"] == ["2026-11-01T09:00:00+00:00", "2026-11-01T10:00:00+00:00"]
    # The audit rows are those of the removal as it began, completed once.
    assert removals_of(spark, lake, "removed_at", "completed_at") == removals_of(
        spark, removed_at_once, "removed_at", "completed_at"
    )
    assert [row[3:] for row in removals_of(spark, lake, "removed_at", "removed_by", "completed_at")] == [
        (2, 0, epochs(9, 10), "removed"),
        (1, 0, epochs(10), "removed"),
    ]
    times = rows(read(spark, lake, "object_removals"), "removed_at", "completed_at")
    assert all(removed < interrupted < completed for removed, completed in times)

    # Run once more: nothing is left to do, no table changes.
    versions = table_versions(lake)
    assert remove.main(removal_arguments(source, lake), spark=spark)["objects_removed"] == 0
    assert table_versions(lake) == versions


def test_an_object_to_remove_is_named_by_its_uri_s3_or_s3a_or_by_the_end_of_its_key():
    recorded = "s3a://flow-logs/AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/01/a_20261101T1005Z_x.log.gz"
    for name in (
        recorded,
        recorded.replace("s3a://", "s3://", 1),
        "AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/01/a_20261101T1005Z_x.log.gz",
        "a_20261101T1005Z_x.log.gz",
    ):
        assert remove.names_object(name, recorded), name
    for name in ("s3://other-bucket/AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/01/a_20261101T1005Z_x.log.gz",
                 "x.log.gz", "20261101T1005Z_x.log.gz"):  # fmt: skip
        assert not remove.names_object(name, recorded), name

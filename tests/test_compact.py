"""Compaction merges small files of every table under the lake without changing a row."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from flowlake import compact
from flowlake.compact import CompactionError, run_compact
from tests.frames import read, table_files
from tests.test_progress import recording


def test_compact_merges_small_files_of_every_table_and_keeps_rows(spark, tmp_path, monkeypatch):
    blocks: list[tuple[str, int]] = []
    monkeypatch.setattr(compact, "spark_progress", recording(spark, blocks))
    lake = tmp_path / "lake"
    for table, batches in (("flow_logs", 4), ("some_new_table", 3)):
        for i in range(batches):
            spark.range(i * 10, i * 10 + 10).write.format("delta").mode("append").save(str(lake / table))
    before = {t: sorted(r.id for r in read(spark, lake, t).collect()) for t in ("flow_logs", "some_new_table")}

    results = run_compact(spark, str(lake), retention_hours=168)

    assert [(r["table"].rsplit("/", 1)[-1], r["files_removed"], r["files_added"]) for r in results] == [
        ("flow_logs", 4 * spark.range(10).rdd.getNumPartitions(), 1),
        ("some_new_table", 3 * spark.range(10).rdd.getNumPartitions(), 1),
    ]
    for table, ids in before.items():
        assert sorted(r.id for r in read(spark, lake, table).collect()) == ids
    # Each table's compaction runs with its progress logged.
    assert [(what, jobs > 0) for what, jobs in blocks] == [(f"compact: {r['table']}", True) for r in results]


@pytest.mark.parametrize("table", ["flow_logs", "source_objects"])
def test_files_of_their_own_hours_are_kept_apart_and_only_small_files_merged(spark, tmp_path, monkeypatch, table):
    """The runs write files by span of time. Merged with the rest of their partition, or of the whole table when it
    has none (source_objects), a lookup of one hour would read them all. Only files under SMALL_FILE_BYTES are
    merged: here the three of hour 2, into a file of that hour alone."""
    lake = tmp_path / "lake"
    for hour, rows in ((0, 2_000), (1, 2_000), (2, 10), (2, 10), (2, 10)):
        spark.range(rows).select(
            F.timestamp_seconds(F.lit(hour * 3600) + F.col("id") % 3600).alias("object_time"),
            F.sha2(F.col("id").cast("string"), 256).alias("digest"),
        ).coalesce(1).write.format("delta").mode("append").save(str(lake / table))
    log = lake / table / "_delta_log"
    sizes = {
        action["add"]["path"]: action["add"]["size"]
        for commit in sorted(log.glob("*.json"))
        for action in map(json.loads, commit.read_text().splitlines())
        if "add" in action
    }
    large = {path for path, size in sizes.items() if size > 10_000}
    assert len(large) == 2 and len(sizes) == 5
    monkeypatch.setattr(compact, "SMALL_FILE_BYTES", 10_000)

    (result,) = run_compact(spark, str(lake), retention_hours=168)

    assert (result["files_removed"], result["files_added"]) == (3, 1)
    files = table_files(lake / table)
    assert large <= files
    (merged,) = files - large
    times = pq.read_table(lake / table / merged).column("object_time").to_pylist()
    assert (len(times), min(times).hour, max(times).hour) == (30, 2, 2)
    assert read(spark, lake, table).count() == 4_030


def test_vacuum_retention_below_seven_days_is_refused(spark, tmp_path):
    with pytest.raises(ValueError, match="below the safe minimum of 168 h"):
        run_compact(spark, str(tmp_path), retention_hours=24)


def test_a_table_that_cannot_be_compacted_leaves_the_others_compacted_and_fails_the_run_naming_it(spark, tmp_path):
    lake = tmp_path / "lake"
    broken = lake / "a_broken_table" / "_delta_log"
    broken.mkdir(parents=True)
    (broken / "00000000000000000000.json").write_text("not a Delta commit\n")
    for i in range(3):
        spark.range(i * 10, i * 10 + 10).write.format("delta").mode("append").save(str(lake / "flow_logs"))

    with pytest.raises(CompactionError, match=r"^1 of 2 tables not compacted: \S*/a_broken_table \("):
        run_compact(spark, str(lake), retention_hours=168)

    # flow_logs, after the broken table, was compacted all the same: its 3 appends in one file.
    assert DeltaTable.forPath(spark, str(lake / "flow_logs")).detail().first().numFiles == 1

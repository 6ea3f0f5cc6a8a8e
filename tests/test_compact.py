"""Compaction merges small files of every table under the lake without changing a row."""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable

from flowlake import compact
from flowlake.compact import CompactionError, run_compact
from tests.frames import read
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

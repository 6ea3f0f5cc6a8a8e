"""Long Spark work logs its progress while it runs: these tasks, this interval, exactly these counts."""

from __future__ import annotations

import logging
import re
import time
from contextlib import contextmanager

from pyspark.sql import functions as F

from flowlake import aggregate, ingest, progress
from flowlake.window import Window
from tests.flowlog_objects import write_object
from tests.frames import utc

PROGRESS_LINE = re.compile(r"the test's job: (\d+) of (\d+) tasks done, (\d+) running, after (\d+)s")


def progress_lines(caplog) -> list[tuple[int, ...]]:
    lines = [r.getMessage() for r in caplog.records if r.name == "flowlake.progress"]
    matched = [PROGRESS_LINE.fullmatch(line) for line in lines]
    assert all(matched), lines
    return [tuple(int(group) for group in match.groups()) for match in matched]


def test_long_spark_work_logs_the_tasks_done_and_running_of_its_stage_while_it_runs(spark, caplog):
    # 40 tasks of a tenth of a second each, 2 at a time (the tests' session has 2 cores): 2 s at least.
    sleeping = F.udf(lambda n: time.sleep(0.1) or n, "long")
    frame = spark.range(0, 40, numPartitions=40).select(sleeping("id").alias("id"))
    with caplog.at_level(logging.INFO, "flowlake.progress"), progress.spark_progress(spark, "the test's job", 0.25):
        assert sorted(row.id for row in frame.collect()) == list(range(40))

    lines = progress_lines(caplog)
    assert len(lines) >= 4, lines
    assert {total for _, total, _, _ in lines} == {40}
    done = [tasks_done for tasks_done, _, _, _ in lines]
    assert done == sorted(done) and done[0] < done[-1] <= 40, lines
    assert all(running >= 0 for _, _, running, _ in lines), lines


def test_work_shorter_than_the_interval_logs_nothing_and_its_block_ends_at_once(spark, caplog):
    started = time.monotonic()
    with caplog.at_level(logging.INFO, "flowlake.progress"), progress.spark_progress(spark, "the test's job", 60):
        assert spark.range(3).count() == 3
    assert progress_lines(caplog) == []
    assert time.monotonic() - started < 30


def recording(spark, blocks: list[tuple[str, int]]):
    """A stand-in for spark_progress that records each block's name and how many Spark jobs ran in it."""

    @contextmanager
    def spark_progress(session, what):
        before = set(spark.sparkContext.statusTracker().getJobIdsForGroup())
        yield
        blocks.append((what, len(set(spark.sparkContext.statusTracker().getJobIdsForGroup()) - before)))

    return spark_progress


def test_the_ingest_s_parse_and_the_aggregate_s_cache_run_with_their_progress_logged(spark, tmp_path, monkeypatch):
    source, lake = tmp_path / "source", tmp_path / "lake"
    for minute, object_hash in ((5, "0000000a"), (10, "0000000b")):
        line = f"2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 100 {1761991200 + 60 * minute} 1761991800 ACCEPT OK"
        write_object(source, utc(2025, 11, 1, 10, minute), [line], object_hash=object_hash)
    blocks: list[tuple[str, int]] = []
    monkeypatch.setattr(ingest, "spark_progress", recording(spark, blocks))
    monkeypatch.setattr(aggregate, "spark_progress", recording(spark, blocks))
    hour = Window(utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))
    assert ingest.run_ingest(spark, str(source), str(lake), hour, utc(2026, 11, 27, 12))["records_written"] == 2
    assert aggregate.run_aggregate(spark, str(lake), hour, tables=("traffic_hourly",))["rows"] == {"traffic_hourly": 1}

    assert [what for what, _ in blocks] == [
        "ingest: parsing 2 objects into flow_logs",
        "aggregate: caching the records of [2025-11-01 10:00:00+00:00, 2025-11-01 11:00:00+00:00)",
    ]
    assert all(jobs >= 1 for _, jobs in blocks), blocks

"""What a commit to a table costs does not depend on the host's zone; concurrent writes share the cores; a slice's
replacement holds the slice's rows only."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from pyspark.errors import AnalysisException

from flowlake.lake import replace_where, write_concurrently
from flowlake.spark_session import VERIFY_COMMITS_OUTSIDE_UTC, session_settings
from flowlake.window import Window, slice_predicate
from tests.frames import frame_of, read, rows, spark_jobs


def jobs_of_an_append(spark, path: str) -> int:
    """The Spark jobs one append of three rows to the table runs, Delta's own after the commit included."""
    return spark_jobs(spark, lambda: spark.range(3).write.format("delta").mode("append").save(path))


def test_a_commit_outside_utc_runs_no_reconstruction_of_the_table(spark, tmp_path):
    # tests/conftest.py puts every process of the run, this session's JVM too, in another zone than UTC.
    zone = spark.sparkContext._jvm.java.util.TimeZone.getDefault().getID()
    assert zone == os.environ["TZ"] and "UTC" not in zone
    path = str(tmp_path / "table")
    spark.range(3).write.format("delta").save(path)
    as_configured = spark.conf.get(VERIFY_COMMITS_OUTSIDE_UTC)
    flowlake_default = jobs_of_an_append(spark, path)
    # Delta's own default outside UTC: each commit's file list checked against the whole table's state.
    with session_settings(spark, {VERIFY_COMMITS_OUTSIDE_UTC: "true"}):
        verified = jobs_of_an_append(spark, path)
    assert flowlake_default < verified
    assert as_configured == "false"


def test_concurrent_writes_run_their_jobs_each_in_a_scheduler_pool_of_its_own(spark):
    names = [f"write-{uuid.uuid4().hex[:8]}" for _ in range(3)]

    def a_job() -> str:
        spark.range(10).count()
        return spark.sparkContext.getLocalProperty("spark.scheduler.pool")

    pools = write_concurrently(spark, {name: a_job for name in names})

    assert pools == {name: name for name in names}
    context = spark.sparkContext._jsc.sc()
    # The pools share the cores: the scheduler made one for each write when its job came.
    assert context.getSchedulingMode().toString() == "FAIR"
    assert [context.getPoolForName(name).isDefined() for name in names] == [True] * 3
    # The caller's own thread names no pool.
    assert spark.sparkContext.getLocalProperty("spark.scheduler.pool") is None


def test_a_replacement_with_a_row_outside_its_slice_fails_and_the_table_keeps_its_rows(spark, tmp_path):
    schema = "event_date date, hour timestamp, bytes bigint"
    ten, eleven = datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 11, tzinfo=UTC)
    hour_10 = slice_predicate(Window(ten, eleven), "hour")
    path = str(tmp_path / "table")
    replace_where(
        frame_of(spark, [(ten.date(), ten, 1), (eleven.date(), eleven, 2)], schema), path, "true", ("event_date",)
    )

    # Hour 11's row in hour 10's replacement: committed, hour 11 would hold it twice (the session's zone is UTC,
    # the JVM's is not: the hours are UTC).
    with pytest.raises(AnalysisException, match="DELTA_REPLACE_WHERE_MISMATCH"):
        replace_where(
            frame_of(spark, [(ten.date(), ten, 10), (eleven.date(), eleven, 20)], schema),
            path,
            hour_10,
            ("event_date",),
        )
    assert rows(read(spark, tmp_path, "table")) == [(ten.date(), ten, 1), (eleven.date(), eleven, 2)]

    replace_where(frame_of(spark, [(ten.date(), ten, 10)], schema), path, hour_10, ("event_date",))
    assert rows(read(spark, tmp_path, "table")) == [(ten.date(), ten, 10), (eleven.date(), eleven, 2)]

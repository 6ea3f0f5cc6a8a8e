"""What a commit to a table costs does not depend on the host's zone; concurrent writes share the cores."""

from __future__ import annotations

import os
import uuid

from flowlake.lake import write_concurrently
from flowlake.spark_session import VERIFY_COMMITS_OUTSIDE_UTC, session_settings
from tests.frames import spark_jobs


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

"""Progress of long Spark work, logged while it runs.

A backfill's parse or the cache of a month of records is one Spark job of minutes, during which the job's
log would otherwise say nothing: every PROGRESS_SECONDS, a line says how many of the running stages' tasks
are done. Work shorter than that (an hourly run's) logs no such line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession

log = logging.getLogger("flowlake.progress")

PROGRESS_SECONDS = 30.0


@contextmanager
def spark_progress(spark: SparkSession, what: str, every: float | None = None) -> Iterator[None]:
    """Logs every `every` seconds (PROGRESS_SECONDS) while the block runs the tasks done and running of the
    session's running stages (those of every thread: a job's work may run in several)."""
    every = PROGRESS_SECONDS if every is None else every
    started = time.monotonic()
    stop = threading.Event()
    tracker = spark.sparkContext.statusTracker()

    def report() -> None:
        while not stop.wait(every):
            try:
                stages = [tracker.getStageInfo(stage) for stage in tracker.getActiveStageIds()]
            except Exception:  # the session stopped under the block: nothing left to report
                return
            stages = [stage for stage in stages if stage is not None]
            if not stages:
                continue
            log.info(
                "%s: %d of %d tasks done, %d running, after %.0fs",
                what,
                sum(stage.numCompletedTasks for stage in stages),
                sum(stage.numTasks for stage in stages),
                sum(stage.numActiveTasks for stage in stages),
                time.monotonic() - started,
            )

    reporter = threading.Thread(target=report, name="flowlake-progress", daemon=True)
    reporter.start()
    try:
        yield
    finally:
        stop.set()
        reporter.join()

"""The hours a run owes the lake, kept in the lake until they are paid.

A run's ingest records the objects it read in source_objects, and a later run reads only new or changed
objects, so the hours their records fell into are known to the run that read them alone. A run that failed
after its ingest (an executor lost while aggregating, a validation that crashed) would leave those hours to
nobody: its retry reads nothing new. So the ingest of an hourly run or a sweep notes them before
source_objects records the objects; every such run aggregates, or validates, the pending hours besides its
own, and deletes the notes it read once it has.

A note is one small JSON object per run and step, `<lake>/_flowlake_pending/<step>/<noted_at>-<id>.json`:
a listing and a read or two, where a Delta table cost an hourly run seconds of snapshots and jobs. A note
that cannot be parsed was cut short by a crash, before source_objects recorded anything: its run's objects
are read again, so it is dropped.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from pyspark.sql import SparkSession

from flowlake.hadoop_files import hadoop_path, read_bytes
from flowlake.layout import normalize_uri
from flowlake.window import parse_utc

log = logging.getLogger("flowlake.pending")

PENDING_FOLDER = "_flowlake_pending"
AGGREGATE, VALIDATE = "aggregate", "validate"


def note(spark: SparkSession, lake: str, hours: dict[str, Iterable[datetime]], noted_at: datetime) -> None:
    """Writes a note of the hours each step (AGGREGATE, VALIDATE) owes."""
    for step, owed in hours.items():
        if not owed:
            continue
        folder = _Folder(spark, lake, step)
        text = json.dumps({"noted_at": noted_at.isoformat(), "hours": sorted({hour.isoformat() for hour in owed})})
        folder.write(f"{noted_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}.json", text)


@contextmanager
def paying(spark: SparkSession, lake: str, step: str, before: datetime | None = None) -> Iterator[list[datetime]]:
    """The step's pending hours, those before `before` when given; the notes they were read from are deleted, or
    keep the hours from `before` on, when the block that pays them ends without an error (a note written since
    is kept). A run of earlier hours (a backfill, a run cleared and run again) leaves a later hour to the runs
    that reach it: validating every hour up to it would be a run's window stretched over the hours between."""
    folder = _Folder(spark, lake, step)
    notes: dict[str, tuple[datetime, set[datetime]]] = {}
    for name, text in folder.notes().items():
        try:
            noted = json.loads(text)
            notes[name] = (parse_utc(noted["noted_at"]), {parse_utc(hour) for hour in noted["hours"]})
        except (ValueError, KeyError, TypeError) as error:
            log.warning("pending %s note %s dropped, cut short by a crash (%s)", step, name, error)
            notes[name] = (None, set())
    due = sorted({hour for _, hours in notes.values() for hour in hours if before is None or hour < before})
    yield due
    for name, (noted_at, hours) in notes.items():
        later = {hour for hour in hours if before is not None and hour >= before}
        if later == hours and later:
            continue
        if later:
            note(spark, lake, {step: later}, noted_at)
        folder.delete(name)
    if due:
        log.info("%d pending %s hour(s) done: %s", len(due), step, ", ".join(h.isoformat() for h in due))


class _Folder:
    """A step's notes in the lake, through Hadoop's file system (a local folder or S3 alike)."""

    def __init__(self, spark: SparkSession, lake: str, step: str):
        self.jvm = spark.sparkContext._jvm
        self.path, self.fs = hadoop_path(spark, f"{normalize_uri(lake).rstrip('/')}/{PENDING_FOLDER}/{step}")

    def write(self, name: str, text: str) -> None:
        stream = self.fs.create(self._file(name), False)
        try:
            stream.write(bytearray(text.encode()))
        finally:
            stream.close()

    def notes(self) -> dict[str, str]:
        """{name: text} of every note; none when the folder does not exist."""
        if not self.fs.exists(self.path):
            return {}
        names = sorted(status.getPath().getName() for status in self.fs.listStatus(self.path) if status.isFile())
        return {name: self._read(name) for name in names if name.endswith(".json")}

    def delete(self, name: str) -> None:
        self.fs.delete(self._file(name), False)

    def _read(self, name: str) -> str:
        return read_bytes(self.fs, self._file(name)).decode()

    def _file(self, name: str):
        return self.jvm.org.apache.hadoop.fs.Path(self.path, name)

"""One writer per table on S3: a second concurrent writer is refused instead of risking the table.

Delta's commit on S3 is safe for one writer at a time: two writers can both write the
same log version, and one commit silently replaces the other. Delta's DynamoDB log
store makes the commit itself safe; without it (spark.delta.logStore.s3a.impl, or
.s3.impl, naming another store), every write to a table on s3a:// or s3:// first takes
the table's writer lease: the object `_flowlake_writer` in the table's folder, created
only if absent (S3's conditional write, If-None-Match). A writer that finds it held
fails with ConcurrentWriterError naming the holder; the lease is removed when the
write ends. A lease older than LEASE_SECONDS is a crashed writer's and is taken
over. Delta skips files whose names start with "_", so the lease is never data.
Local folders and HDFS need no lease: their commits are atomic.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

LEASE_FILE = "_flowlake_writer"
# Longer than any one table write; a lease this old was left by a writer that crashed.
LEASE_SECONDS = 2 * 3600
S3_SCHEMES = ("s3a", "s3")
CONDITIONAL_CREATE = "fs.option.create.conditional.overwrite"


class ConcurrentWriterError(RuntimeError):
    """Another writer holds the table's lease."""


def needs_lease(spark: SparkSession, path: str) -> bool:
    """Whether writes to the table at path take its lease: on S3, unless Delta's DynamoDB log store commits."""
    scheme = path.split("://", 1)[0] if "://" in path else ""
    if scheme not in S3_SCHEMES:
        return False
    store = spark.conf.get(f"spark.delta.logStore.{scheme}.impl", "") or ""
    return "DynamoDB" not in store


@contextmanager
def table_writer(spark: SparkSession, path: str) -> Iterator[None]:
    """Holds the table's writer lease while the block writes it (a no-op where commits are atomic)."""
    if not needs_lease(spark, path):
        yield
        return
    lease = _Lease(spark, path)
    lease.acquire()
    try:
        yield
    finally:
        lease.release()


class _Lease:
    def __init__(self, spark: SparkSession, table: str):
        self.jvm = jvm = spark.sparkContext._jvm
        self.table = table
        self.path = jvm.org.apache.hadoop.fs.Path(f"{table.rstrip('/')}/{LEASE_FILE}")
        self.fs = self.path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        self.holder = {
            "token": uuid.uuid4().hex,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "taken_at": time.time(),
        }

    def acquire(self) -> None:
        if self._create():
            return
        held = self._read()
        if held is not None and time.time() - float(held.get("taken_at", 0)) > LEASE_SECONDS:
            log.warning("%s: taking over the writer lease of %s, older than %ds", self.table, held, LEASE_SECONDS)
            self.fs.delete(self.path, False)
            if self._create():
                return
            held = self._read()
        raise ConcurrentWriterError(
            f"{self.table}: another writer is writing this table ({_describe(held)}). On S3, flowlake lets one "
            "writer write a table at a time unless Delta's DynamoDB log store is configured; run the writers one "
            f"after the other (the Airflow DAGs do). If that writer is gone, remove {self.path.toString()}."
        )

    def release(self) -> None:
        held = self._read()
        if held is not None and held.get("token") == self.holder["token"]:
            self.fs.delete(self.path, False)

    def _create(self) -> bool:
        """Writes the lease if no lease exists, in one conditional request; False when one exists."""
        try:
            builder = self.fs.createFile(self.path).overwrite(False).must(CONDITIONAL_CREATE, True)
            stream = builder.build()
            stream.write(bytearray(json.dumps(self.holder).encode()))
            stream.close()
            return True
        except Exception as error:  # py4j: FileAlreadyExistsException, or S3's 412 Precondition Failed
            text = f"{type(error).__name__} {error}"
            if "FileAlreadyExists" in text or "412" in text or "PreconditionFailed" in text:
                return False
            raise

    def _read(self) -> dict | None:
        try:
            stream = self.fs.open(self.path)
        except Exception:  # the lease went away in between
            return None
        try:
            return json.loads(self.jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()


def _describe(held: dict | None) -> str:
    if held is None:
        return "it finished meanwhile; try again"
    taken = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(held.get("taken_at", 0))))
    return f"host {held.get('host')}, process {held.get('pid')}, since {taken}"

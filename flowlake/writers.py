"""One writer per table on S3: a second concurrent writer is refused instead of risking the table.

Delta's commit on S3 is safe for one writer at a time: two writers can both write the
same log version, and one commit silently replaces the other. Delta's DynamoDB log
store makes the commit itself safe; without it (spark.delta.logStore.s3a.impl, or
.s3.impl, naming another store), every write to a table on s3a:// or s3:// first takes
the table's writer lease: the object of the highest generation in the table's folder
`_flowlake_writer/` (`_flowlake_writer/00000003` is generation 3). Every generation is
created only if absent (S3's conditional write, If-None-Match), so of the writers that
try to create one, one wins. A writer that finds the lease held fails with
ConcurrentWriterError naming the holder. The holder rewrites its own object every
LEASE_RENEW_SECONDS while it writes, and marks it released when the write ends; the next
writer creates the next generation. A lease not renewed for LEASE_SECONDS was left by a
writer that crashed, and the next writer takes it over the same way; so is, at once, a
lease whose holder ran on the next writer's machine, in its process namespace, and is
gone there, its Python driver and its JVM alike (the retry of an Airflow task killed
past its timeout): a process that no longer exists writes nothing more. The highest
generation is never deleted, so generations never start again from 0: a writer acting
on an old view of the folder creates a generation that exists, or one lower than the
highest, and is refused either way. Delta skips paths whose names start with "_"
(reads and VACUUM alike), so the lease is never data.
Local folders and HDFS need no lease: their commits are atomic.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from flowlake.hadoop_files import hadoop_path, read_bytes

log = logging.getLogger(__name__)

LEASE_FOLDER = "_flowlake_writer"
GENERATION_DIGITS = 8
LEASE_RENEW_SECONDS = 60
# Fifteen renewals missed in a row: the holder crashed, and a table it left is blocked this long, not longer.
LEASE_SECONDS = 15 * 60
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
        self.jvm = spark.sparkContext._jvm
        self.table = table
        self.folder, self.fs = hadoop_path(spark, f"{table.rstrip('/')}/{LEASE_FOLDER}")
        now = time.time()
        self.holder = {
            "token": uuid.uuid4().hex,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "jvm_pid": self.jvm.java.lang.ProcessHandle.current().pid(),
            **_machine(),
            "taken_at": now,
            "renewed_at": now,
        }
        self.generation: int | None = None
        self.stop_renewing = threading.Event()
        self.renewal = threading.Thread(target=self._renew, name=f"flowlake lease of {table}", daemon=True)

    def acquire(self) -> None:
        generations, held = self._observe()
        if not generations:
            self._take(0)
            return
        released = held is not None and "released_at" in held
        stale = held is not None and time.time() - held["renewed_at"] > LEASE_SECONDS
        gone = held is not None and not (released or stale) and _gone_from_this_machine(held)
        if held is None or not (released or stale or gone):
            raise self._refusal(held)
        self._take(generations[-1] + 1)
        if not released:
            log.warning(
                "%s: took over the writer lease of %s (generation %d), %s",
                self.table,
                held,
                generations[-1],
                "whose processes on this machine are gone" if gone else f"not renewed for over {LEASE_SECONDS}s",
            )
        # Only the highest generation counts: the lower ones are left-overs, deleted to keep the folder short.
        for generation in generations:
            self._delete(generation)

    def release(self) -> None:
        """Marks the lease released, unless it was taken over (its generation is then no longer the highest)."""
        # Renewal stops first: a renewal after the release would mark the lease held again.
        self.stop_renewing.set()
        self.renewal.join()
        try:
            if self._generations()[-1:] == [self.generation]:
                self._write(self.generation, {**self.holder, "released_at": time.time()}, only_if_absent=False)
        except Exception as error:  # py4j: the lease is then taken over once LEASE_SECONDS have passed
            log.warning("%s: releasing the writer lease failed (%s)", self.table, error)

    def _observe(self) -> tuple[list[int], dict | None]:
        """The lease folder's generations, lowest first, and the holder of the highest (None when it went away
        meanwhile)."""
        generations = self._generations()
        return generations, (self._read(generations[-1]) if generations else None)

    def _take(self, generation: int) -> None:
        """Becomes the holder by creating the generation; refused when another writer created it first, or when
        a higher one exists (this writer acted on an old view, and a taker had deleted this generation)."""
        if not self._write(generation, self.holder, only_if_absent=True):
            raise self._refusal(self._read(generation))
        highest = self._generations()[-1]
        if highest != generation:
            self._delete(generation)
            raise self._refusal(self._read(highest))
        self.generation = generation
        self.renewal.start()

    def _delete(self, generation: int) -> None:
        try:
            self.fs.delete(self._object(generation), False)
        except Exception as error:  # py4j: a left-over lower generation never counts
            log.info("%s: could not delete lease generation %d (%s)", self.table, generation, error)

    def _renew(self) -> None:
        while not self.stop_renewing.wait(LEASE_RENEW_SECONDS):
            try:
                generations = self._generations()
                if not generations or generations[-1] != self.generation:
                    # Never written again: a taker deletes the generation it took over, and written again
                    # that generation would become the lease once the taker ends, blocking the table.
                    log.error(
                        "%s: this write's lease (generation %d) was taken over or removed (generations now %s): "
                        "another writer may be writing the table; the lease is no longer renewed",
                        self.table,
                        self.generation,
                        generations,
                    )
                    return
                self._write(self.generation, {**self.holder, "renewed_at": time.time()}, only_if_absent=False)
            except Exception as error:  # py4j: S3 unreachable for now; the write goes on, renewal tries again
                log.warning(
                    "%s: renewing the writer lease failed (%s); retrying in %ss", self.table, error, LEASE_RENEW_SECONDS
                )

    def _refusal(self, held: dict | None) -> ConcurrentWriterError:
        return ConcurrentWriterError(
            f"{self.table}: another writer is writing this table ({_describe(held)}). On S3, flowlake lets one "
            "writer write a table at a time unless Delta's DynamoDB log store is configured; run the writers one "
            f"after the other (the Airflow DAGs do). If that writer is gone, remove {self.folder.toString()}, or "
            f"wait: a lease not renewed for {LEASE_SECONDS // 60} minutes is taken over by the next writer (at once by a "
            "writer on the same machine once the holder's processes are gone there)."
        )

    def _object(self, generation: int):
        return self.jvm.org.apache.hadoop.fs.Path(self.folder, f"{generation:0{GENERATION_DIGITS}d}")

    def _generations(self) -> list[int]:
        """The generations in the lease folder, lowest first; none when the folder does not exist."""
        try:
            statuses = self.fs.listStatus(self.folder)
        except Exception as error:  # py4j
            if _java_error(error, "FileNotFoundException"):
                return []
            raise
        names = [status.getPath().getName() for status in statuses if status.isFile()]
        return sorted(int(name) for name in names if name.isdigit())

    def _write(self, generation: int, holder: dict, *, only_if_absent: bool) -> bool:
        """Writes the generation's object in one request; only_if_absent: unless it exists (then False)."""
        builder = self.fs.createFile(self._object(generation))
        builder = builder.overwrite(False).must(CONDITIONAL_CREATE, True) if only_if_absent else builder.overwrite(True)
        try:
            stream = builder.build()
            stream.write(bytearray(json.dumps(holder).encode()))
            stream.close()
            return True
        except Exception as error:  # py4j: FileAlreadyExistsException, S3's 412 Precondition Failed, or its 409
            # when a concurrent request on the same key wins
            if only_if_absent and _java_error(
                error, "FileAlreadyExistsException", "PreconditionFailed", "Code: 412", "ConditionalRequestConflict"
            ):
                return False
            raise

    def _read(self, generation: int) -> dict | None:
        try:
            text = read_bytes(self.fs, self._object(generation))
        except Exception:  # the generation went away in between
            return None
        return json.loads(text)


def _machine() -> dict:
    """What tells this machine and its process namespace from any other, besides its host name: its boot and
    the namespace of its process IDs (Linux; None elsewhere)."""

    def linux(read: Callable[[], str]) -> str | None:
        try:
            return read().strip()
        except OSError:
            return None

    return {
        "boot_id": linux(lambda: Path("/proc/sys/kernel/random/boot_id").read_text()),
        "pid_namespace": linux(lambda: os.readlink("/proc/self/ns/pid")),
    }


def _gone_from_this_machine(held: dict) -> bool:
    """The lease's holder ran on this machine, in this process namespace, and neither its Python driver nor its
    JVM (which commits) exists any more. A host name alone can repeat (containers, a misconfigured fleet), and a
    process ID seen from another namespace says nothing: any doubt is not gone."""
    here = {"host": socket.gethostname(), **_machine()}
    if None in here.values() or any(held.get(key) != value for key, value in here.items()):
        return False
    return all(_no_such_process(held.get(pid)) for pid in ("pid", "jvm_pid"))


def _no_such_process(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, run by another user
        return False
    return False


def _java_error(error: Exception, *names: str) -> bool:
    text = f"{type(error).__name__} {error}"
    return any(name in text for name in names)


def _describe(held: dict | None) -> str:
    if held is None:
        return "it finished meanwhile; try again"
    taken, renewed = _utc(held["taken_at"]), _utc(held["renewed_at"])
    return f"host {held['host']}, process {held['pid']}, since {taken}, renewed at {renewed}"


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))

"""The parse's peak memory for one object, as a Spark Python worker parses it for ingest's record files.

    python -m bench.parse_memory OBJECT [OBJECT ...]

In a new process per object: the object is read, then parsed as ingest's first pass does
(parse.record_and_object_batches, the columns its header leaves empty omitted), and the
process's resident memory at its highest (Linux's VmHWM, reset after the read) is compared
with the object's text. Prints one JSON line per object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

# Any key AWS would write: the parse takes the object's account, region and time from its name.
OBJECT_URI = (
    "s3://bucket/AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/01/"
    "111122223333_vpcflowlogs_us-east-1_fl-0bench000000000001_20261101T0005Z_0000ab.log.gz"
)


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def measure(path: Path) -> dict:
    """In this process: the object's text, and the memory and CPU its parse took."""
    from flowlake import parse

    content = path.read_bytes()
    text_bytes = len(gzip.decompress(content))
    omitted = parse.omitted_columns([parse.header_fields(content[: parse.MAX_LINE_CHARS * 4])])
    batch = pa.RecordBatch.from_pydict({"path": [OBJECT_URI], "length": [len(content)], "content": [content]})
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again from here
    before = _status_bytes("VmRSS")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    records = sum(rows.num_rows for rows in parse.record_and_object_batches([batch], omitted)) - 1
    after = resource.getrusage(resource.RUSAGE_SELF)
    peak = _status_bytes("VmHWM") - before
    return {
        "object_bytes": len(content),
        "text_bytes": text_bytes,
        "records": records,
        "peak_bytes": peak,
        "peak_to_text": round(peak / text_bytes, 2),
        "cpu_seconds": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 2),
    }


def measured(path: Path) -> dict:
    """measure(path) in a new process, so that no earlier parse's memory counts."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.parse_memory", str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parse_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("objects", nargs="+", type=Path)
    for path in parser.parse_args(argv).objects:
        print(json.dumps(measure(path)), flush=True)


if __name__ == "__main__":
    main()

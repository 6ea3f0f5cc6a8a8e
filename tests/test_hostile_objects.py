"""A corpus of hostile objects beside good ones: every good record lands, every bad object is accounted for."""

from __future__ import annotations

import gzip
import io
import random
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from flowlake.ingest import run_ingest
from flowlake.layout import object_key
from flowlake.window import Window
from tests.flowlog_objects import ACCOUNT, DEFAULT_FORMAT, REGION, write_object, write_raw
from tests.frames import read, utc

HOUR = Window(utc(2026, 11, 1, 10), utc(2026, 11, 1, 11))
START = int(utc(2026, 11, 1, 10, 1).timestamp())


def record(size: int, separator: str = " ") -> str:
    fields = ["2", ACCOUNT, "eni-0a", "10.0.0.1", "10.0.0.2", "49152", "443", "6", "1", str(size)]
    return separator.join([*fields, str(START), str(START + 60), "ACCEPT", "OK"])


def key(minute: int, object_hash: str, parquet: bool = False) -> str:
    return object_key(ACCOUNT, REGION, "fl-1234abcd", utc(2026, 11, 1, 10, minute), object_hash, parquet=parquet)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def text_object(lines: list[bytes], line_end: bytes = b"\n") -> bytes:
    return gzip.compress(line_end.join([DEFAULT_FORMAT.encode(), *lines]) + line_end)


def test_hostile_objects_beside_good_ones(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    fuzz = random.Random(11)
    write_object(source, utc(2026, 11, 1, 10, 5), [record(1), record(2)], object_hash="900d0001")
    write_raw(source, key(10, "f0zzed01"), bytes(fuzz.randrange(256) for _ in range(4096)))
    write_raw(source, key(10, "f0zzed02"), gzip.compress(bytes(fuzz.randrange(256) for _ in range(4096))))
    nested = pa.table({"version": [2], "bytes": [{"value": 5}]})
    write_raw(source, key(15, "ne57ed01", parquet=True), parquet_bytes(nested))
    wrong_types = pa.table({"version": [2, 2], "account-id": [ACCOUNT] * 2, "bytes": ["4", "forty"]})
    write_raw(source, key(15, "wr0n6001", parquet=True), parquet_bytes(wrong_types))
    misnamed = f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-1234abcd_20261301T1020Z_baddate1.log.gz"
    write_raw(source, f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/2026/11/01/{misnamed}", text_object([b"x"]))
    write_raw(source, key(25, "c40e0001"), text_object([record(8).encode(), record(16).encode()], line_end=b"\r"))
    write_raw(source, key(30, "7ab50001"), text_object([record(32, separator="\t").encode(), record(64).encode()]))
    write_raw(source, key(35, "10mb0001"), text_object([b"2 " + b"9" * 10_000_000, record(128).encode()]))
    write_raw(source, key(40, "ff000001"), text_object([record(256).encode() + b"\xff\xfe", record(512).encode()]))

    summary = run_ingest(spark, str(source), str(lake), HOUR, datetime(2026, 11, 30, tzinfo=UTC))

    # Every good record landed. AWS separates fields with single spaces: a tab-separated line is quarantined.
    assert sorted(r.bytes for r in read(spark, lake, "flow_logs").collect()) == [1, 2, 4, 8, 16, 64, 128, 512]
    objects = {r.object_key.rsplit("_", 1)[-1]: r for r in read(spark, lake, "source_objects").collect()}
    statuses = {
        name.split(".")[0]: (row.status, row.records_written, row.lines_quarantined) for name, row in objects.items()
    }
    assert statuses == {
        "900d0001": ("ok", 2, 0),
        "f0zzed01": ("corrupt", 0, 1),
        "f0zzed02": ("corrupt", 0, 1),
        "ne57ed01": ("corrupt", 0, 1),
        "wr0n6001": ("partial", 1, 1),
        "c40e0001": ("ok", 2, 0),
        "7ab50001": ("partial", 1, 1),
        "10mb0001": ("partial", 1, 1),
        "ff000001": ("partial", 1, 1),
    }
    for row in objects.values():
        assert row.status == "corrupt" or row.lines_read == row.records_written + row.lines_quarantined
    quarantine = read(spark, lake, "flow_logs_quarantine").collect()
    assert len(quarantine) == sum(q for _, _, q in statuses.values())
    # Each reason says what is wrong; the row names the object.
    assert all(q.reason and q.source_file.startswith("file:") for q in quarantine)
    reasons = {q.source_file.rsplit("_", 1)[-1].split(".")[0]: q.reason for q in quarantine}
    assert "bytes" in reasons["ne57ed01"] and "10000000" not in reasons["10mb0001"]
    (why,) = summary["misnamed_objects"]
    assert why.startswith(misnamed)
    assert (summary["objects"], summary["corrupt_objects"]) == (9, 3)

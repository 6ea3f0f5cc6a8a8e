"""Ingest: these objects, this window, exactly these rows."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowlake import ingest as ingest_module
from flowlake import pending
from flowlake.aggregate import run_aggregate
from flowlake.ingest import run_ingest
from flowlake.layout import list_window
from flowlake.window import Window
from tests.flowlog_objects import (
    ACCOUNT,
    DEFAULT_FORMAT,
    NOT_IN_THE_DEFAULT_FORMAT,
    write_object,
    write_parquet_object,
    write_raw,
)
from tests.frames import ordered, read, rows, rows_without, utc

INGESTED_AT = utc(2026, 11, 27, 12, 0)


def ingest(spark, source, lake, start, end):
    return run_ingest(spark, str(source), str(lake), Window(start, end), INGESTED_AT)


AWS_EXAMPLES_ACCEPT_REJECT = [
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
]
AWS_EXAMPLES_NODATA_SKIPDATA = [
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
    "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
]
AWS_EXAMPLE_IPV6 = [
    "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
]


def test_aws_documentation_examples_become_typed_rows(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    a = write_object(source, utc(2014, 12, 14, 4, 5), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="aaaa0001")
    b = write_object(source, utc(2015, 5, 10, 18, 0), AWS_EXAMPLES_NODATA_SKIPDATA, object_hash="bbbb0002")
    c = write_object(source, utc(2016, 10, 31, 11, 35), AWS_EXAMPLE_IPV6, object_hash="cccc0003")

    summary = ingest(spark, source, lake, utc(2014, 12, 1), utc(2016, 11, 1))

    flow_logs = read(spark, lake, "flow_logs")
    assert rows(
        flow_logs,
        "version",
        "account_id",
        "interface_id",
        "srcaddr",
        "dstaddr",
        "srcport",
        "dstport",
        "protocol",
        "packets",
        "bytes",
        "start",
        "end",
        "action",
        "log_status",
        "region",
        "vpc_id",
        "event_time",
        "event_date",
        "flow_log_id",
        "line_number",
    ) == ordered(
        [
            (
                2,
                ACCOUNT,
                "eni-1235b8ca123456789",
                "172.31.16.139",
                "172.31.16.21",
                20641,
                22,
                6,
                20,
                4249,
                1418530010,
                1418530070,
                "ACCEPT",
                "OK",
                "us-east-1",
                None,
                utc(2014, 12, 14, 4, 6, 50),
                date(2014, 12, 14),
                "fl-1234abcd",
                2,
            ),
            (
                2,
                ACCOUNT,
                "eni-1235b8ca123456789",
                "172.31.9.69",
                "172.31.9.12",
                49761,
                3389,
                6,
                20,
                4249,
                1418530010,
                1418530070,
                "REJECT",
                "OK",
                "us-east-1",
                None,
                utc(2014, 12, 14, 4, 6, 50),
                date(2014, 12, 14),
                "fl-1234abcd",
                3,
            ),
            (
                2,
                ACCOUNT,
                "eni-1235b8ca123456789",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                1431280876,
                1431280934,
                None,
                "NODATA",
                "us-east-1",
                None,
                utc(2015, 5, 10, 18, 1, 16),
                date(2015, 5, 10),
                "fl-1234abcd",
                2,
            ),
            (
                2,
                ACCOUNT,
                "eni-11111111aaaaaaaaa",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                1431280876,
                1431280934,
                None,
                "SKIPDATA",
                "us-east-1",
                None,
                utc(2015, 5, 10, 18, 1, 16),
                date(2015, 5, 10),
                "fl-1234abcd",
                3,
            ),
            (
                2,
                ACCOUNT,
                "eni-1235b8ca123456789",
                "2001:db8:1234:a100:8d6e:3477:df66:f105",
                "2001:db8:1234:a102:3304:8879:34cf:4071",
                34892,
                22,
                6,
                54,
                8855,
                1477913708,
                1477913820,
                "ACCEPT",
                "OK",
                "us-east-1",
                None,
                utc(2016, 10, 31, 11, 35, 8),
                date(2016, 10, 31),
                "fl-1234abcd",
                2,
            ),
        ]
    )
    assert rows(flow_logs.groupBy("source_file").count(), "source_file", "count") == ordered(
        [
            (a.as_uri().replace("file:///", "file:/"), 2),
            (b.as_uri().replace("file:///", "file:/"), 2),
            (c.as_uri().replace("file:///", "file:/"), 1),
        ]
    )
    assert read(spark, lake, "flow_logs_quarantine").count() == 0
    assert rows(
        read(spark, lake, "source_objects"),
        "object_key",
        "object_time",
        "lines_read",
        "records_written",
        "lines_quarantined",
        "status",
        "log_format",
        "file_format",
        "ingested_at",
    ) == ordered(
        [
            (str(a.relative_to(source)), utc(2014, 12, 14, 4, 5), 2, 2, 0, "ok", DEFAULT_FORMAT, "text", INGESTED_AT),
            (str(b.relative_to(source)), utc(2015, 5, 10, 18, 0), 2, 2, 0, "ok", DEFAULT_FORMAT, "text", INGESTED_AT),
            (str(c.relative_to(source)), utc(2016, 10, 31, 11, 35), 1, 1, 0, "ok", DEFAULT_FORMAT, "text", INGESTED_AT),
        ]
    )
    assert (summary["objects"], summary["records_written"], summary["lines_quarantined"]) == (3, 5, 0)
    assert read(spark, lake, "flow_logs").rdd.getNumPartitions() >= 1
    assert sorted(p.name for p in (lake / "flow_logs").glob("event_date=*")) == [
        "event_date=2014-12-14",
        "event_date=2015-05-10",
        "event_date=2016-10-31",
    ]


SHUFFLED_V5 = (
    "flow-direction dstport srcaddr interface-id pkt-dst-aws-service log-status bytes start vpc-id end "
    "traffic-path protocol dstaddr action srcport packets pkt-srcaddr subnet-id instance-id resource-id"
)


def test_custom_format_in_shuffled_order_follows_its_header(spark, tmp_path):
    """No account-id, region or version in the format: they come from the key or stay NULL.
    resource-id is newer than the catalogue: it is kept in extra_fields, not dropped."""
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(
        source,
        utc(2025, 11, 1, 10, 5),
        [
            "egress 443 10.0.1.5 eni-0a1b2c3d4e5f60718 S3 OK 1500 1761991200 vpc-0abc 1761991260 "
            "7 6 52.216.1.1 ACCEPT 50432 10 10.0.1.5 subnet-0def i-0123456789abcdef0 -",
            "ingress - 198.51.100.7 eni-0a1b2c3d4e5f60718 - OK 40 1761991230 vpc-0abc 1761991290 "
            "- 1 10.0.1.5 REJECT - 1 198.51.100.7 subnet-0def i-0123456789abcdef0 res-1",
        ],
        header=SHUFFLED_V5,
        account_id="210987654321",
        region="eu-west-1",
        flow_log_id="fl-0shuffled",
        hive=True,
        hourly=True,
    )
    ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))
    assert rows(
        read(spark, lake, "flow_logs"),
        "version",
        "account_id",
        "region",
        "interface_id",
        "srcaddr",
        "dstaddr",
        "srcport",
        "dstport",
        "protocol",
        "packets",
        "bytes",
        "start",
        "end",
        "action",
        "log_status",
        "vpc_id",
        "subnet_id",
        "instance_id",
        "flow_direction",
        "traffic_path",
        "pkt_srcaddr",
        "pkt_dst_aws_service",
        "extra_fields",
        "event_time",
    ) == ordered(
        [
            (
                None,
                "210987654321",
                "eu-west-1",
                "eni-0a1b2c3d4e5f60718",
                "10.0.1.5",
                "52.216.1.1",
                50432,
                443,
                6,
                10,
                1500,
                1761991200,
                1761991260,
                "ACCEPT",
                "OK",
                "vpc-0abc",
                "subnet-0def",
                "i-0123456789abcdef0",
                "egress",
                7,
                "10.0.1.5",
                "S3",
                {"resource-id": None},
                utc(2025, 11, 1, 10, 0),
            ),
            (
                None,
                "210987654321",
                "eu-west-1",
                "eni-0a1b2c3d4e5f60718",
                "198.51.100.7",
                "10.0.1.5",
                None,
                None,
                1,
                1,
                40,
                1761991230,
                1761991290,
                "REJECT",
                "OK",
                "vpc-0abc",
                "subnet-0def",
                "i-0123456789abcdef0",
                "ingress",
                None,
                "198.51.100.7",
                None,
                {"resource-id": "res-1"},
                utc(2025, 11, 1, 10, 0, 30),
            ),
        ]
    )


def test_parquet_object_is_read_by_its_columns(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    table = pa.table(
        {
            "version": pa.array([5, 5], pa.int32()),
            "account_id": ["123456789010", "123456789010"],
            "interface_id": ["eni-0aaa", "eni-0bbb"],
            "srcaddr": ["10.0.0.1", "-"],
            "dstport": pa.array([443, None], pa.int32()),
            "packets": pa.array([3, None], pa.int64()),
            "bytes": pa.array([900, None], pa.int64()),
            "start": pa.array([1761991200000, 1761991205], pa.int64()),  # the first in milliseconds
            "end": pa.array([1761991260000, 1761991265], pa.int64()),
            "log_status": ["OK", "NODATA"],
        }
    )
    write_parquet_object(source, utc(2025, 11, 1, 10, 5), table)
    ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))
    assert rows(
        read(spark, lake, "flow_logs"),
        "version",
        "interface_id",
        "srcaddr",
        "dstport",
        "packets",
        "bytes",
        "start",
        "end",
        "log_status",
        "line_number",
    ) == ordered(
        [
            (5, "eni-0aaa", "10.0.0.1", 443, 3, 900, 1761991200, 1761991260, "OK", 1),
            (5, "eni-0bbb", None, None, None, None, 1761991205, 1761991265, "NODATA", 2),
        ]
    )
    (objects,) = read(spark, lake, "source_objects").collect()
    assert (objects.file_format, objects.lines_read, objects.records_written, objects.status) == ("parquet", 2, 2, "ok")


def test_bad_lines_are_quarantined_with_reasons_and_counts_reconcile(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    lines = [
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 3 300 1761991200 1761991260 ACCEPT OK",
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 3",
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 three 300 1761991200 1761991260 ACCEPT OK",
        "",
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 99999999999 2 6 3 300 1761991200 1761991260 ACCEPT OK",
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 4 400 1761991200 1761991260 ACCEPT OK",
        # int32 ends at 2147483647, int64 at 9223372036854775807; only ASCII digits are numbers.
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2147483648 6 3 300 1761991200 1761991260 ACCEPT OK",
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 3 9223372036854775808 1761991200 1761991260 ACCEPT OK",
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 \u0664 3 300 1761991200 1761991260 ACCEPT OK",
        "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2147483647 6 3 999999999999999999 1761991200 1761991260 ACCEPT OK",
    ]
    path = write_object(source, utc(2025, 11, 1, 10, 5), lines)
    summary = ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))
    quarantine = read(spark, lake, "flow_logs_quarantine")
    assert rows(quarantine, "line_number", "raw_line", "reason") == ordered(
        [
            (3, lines[1], "expected 14 fields, found 9"),
            (4, lines[2], "packets is not a valid bigint: 'three'"),
            (5, "", "blank line"),
            (6, lines[4], "srcport is not a valid int: '99999999999'"),
            (8, lines[6], "dstport is not a valid int: '2147483648'"),
            (9, lines[7], "bytes is not a valid bigint: '9223372036854775808'"),
            (10, lines[8], "protocol is not a valid int: '\u0664'"),
        ]
    )
    assert sorted(rows(read(spark, lake, "flow_logs"), "line_number", "dstport", "bytes")) == [
        (2, 2, 300),
        (7, 2, 400),
        (11, 2147483647, 999999999999999999),
    ]
    (obj,) = read(spark, lake, "source_objects").collect()
    lines_in_object = len(gzip.decompress(path.read_bytes()).decode().splitlines()) - 1  # minus the header
    assert (obj.lines_read, obj.records_written, obj.lines_quarantined, obj.status) == (
        lines_in_object,
        3,
        7,
        "partial",
    )
    assert obj.lines_read == obj.records_written + obj.lines_quarantined
    assert (summary["lines_read"], summary["records_written"], summary["lines_quarantined"]) == (10, 3, 7)


def test_truncated_gzip_is_quarantined_whole_and_header_only_is_empty(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    good = write_object(source, utc(2025, 11, 1, 10, 5), AWS_EXAMPLES_ACCEPT_REJECT * 50, object_hash="00000001")
    truncated = write_object(source, utc(2025, 11, 1, 10, 10), AWS_EXAMPLES_ACCEPT_REJECT * 50, object_hash="00000002")
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    write_object(source, utc(2025, 11, 1, 10, 15), [], object_hash="00000003")
    ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))

    assert read(spark, lake, "flow_logs").count() == 100
    (bad,) = read(spark, lake, "flow_logs_quarantine").collect()
    assert bad.source_file.endswith(truncated.name)
    assert (bad.line_number, bad.raw_line) == (None, None)
    assert bad.reason.startswith("not a valid gzip object")
    assert rows(
        read(spark, lake, "source_objects"),
        "object_time",
        "lines_read",
        "records_written",
        "lines_quarantined",
        "status",
    ) == ordered(
        [
            (utc(2025, 11, 1, 10, 5), 100, 100, 0, "ok"),
            (utc(2025, 11, 1, 10, 10), None, 0, 1, "corrupt"),
            (utc(2025, 11, 1, 10, 15), 0, 0, 0, "empty"),
        ]
    )


@pytest.mark.parametrize("gone_after", ["listing", "loading"])
def test_an_object_that_cannot_be_read_is_quarantined_whole_and_the_run_goes_on(
    spark, tmp_path, monkeypatch, gone_after
):
    """An object gone between the listing and the read (S3's lifecycle rules), or refused (a KMS key the
    reader lacks, an archived object): the others are ingested, it is named."""
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(source, utc(2025, 11, 1, 10, 5), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="00000004")
    vanishing = write_object(source, utc(2025, 11, 1, 10, 10), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="00000005")
    step = {"listing": "list_window", "loading": "read_objects"}[gone_after]
    real = getattr(ingest_module, step)

    def then_gone(*args):
        done = real(*args)
        vanishing.unlink(missing_ok=True)
        return done

    monkeypatch.setattr(ingest_module, step, then_gone)
    summary = ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))

    assert (summary["objects_read"], summary["records_written"], summary["corrupt_objects"]) == (2, 2, 1)
    assert read(spark, lake, "flow_logs").count() == 2
    (bad,) = read(spark, lake, "flow_logs_quarantine").collect()
    assert (bad.source_file.endswith(vanishing.name), bad.line_number, bad.raw_line) == (True, None, None)
    assert bad.reason.startswith("could not be read: "), bad.reason
    assert "FileNotFoundException" in bad.reason, bad.reason
    assert rows(
        read(spark, lake, "source_objects"), "object_time", "records_written", "lines_quarantined", "status"
    ) == (ordered([(utc(2025, 11, 1, 10, 5), 2, 0, "ok"), (utc(2025, 11, 1, 10, 10), 0, 1, "corrupt")]))


def refusing(refused, aside):
    """ingest's read_objects, but the refused object is moved aside once its first read is planned: the run's
    tasks cannot read it, as with a read S3 refuses (the quarantine's read finds it gone too)."""
    real = ingest_module.read_objects

    def read(*args):
        planned = real(*args)
        if refused.exists():
            refused.rename(aside)
        return planned

    return read


def test_an_object_the_run_could_not_read_is_read_by_the_next_run_that_lists_it(spark, tmp_path, monkeypatch):
    """A read refused for a while (a KMS grant or a bucket policy fixed since, S3 failing past its retries): the
    object is unchanged, yet its records must not stay out of the lake."""
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(source, utc(2025, 11, 1, 10, 5), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="00000004")
    refused = write_object(source, utc(2025, 11, 1, 10, 10), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="00000005")
    aside = tmp_path / refused.name
    with monkeypatch.context() as patched:
        patched.setattr(ingest_module, "read_objects", refusing(refused, aside))
        first = ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))
    aside.rename(refused)  # as it was: the same name, size and modification time
    assert (first["records_written"], first["corrupt_objects"]) == (2, 1)

    again = ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))

    assert (again["objects_read"], again["records_written"], again["corrupt_objects"]) == (1, 2, 0)
    assert read(spark, lake, "flow_logs").count() == 4
    assert read(spark, lake, "flow_logs_quarantine").count() == 0
    assert rows(read(spark, lake, "source_objects"), "object_time", "records_written", "status") == ordered(
        [(utc(2025, 11, 1, 10, 5), 2, "ok"), (utc(2025, 11, 1, 10, 10), 2, "ok")]
    )


def test_an_object_still_unreadable_is_read_again_but_owes_its_hour_one_validation(spark, tmp_path, monkeypatch):
    """A read refused for good (a KMS key the reader never gets): each run that lists the object reads it again,
    and quarantines it again, but only the run that first found it owes its hour a validation, and its alert:
    not every hourly run and sweep that lists it for days."""
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(source, utc(2025, 11, 1, 10, 5), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="00000006")
    refused = write_object(source, utc(2025, 11, 1, 10, 10), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="00000007")
    aside = tmp_path / refused.name
    window = Window(utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))
    runs = []
    for _ in range(2):
        with monkeypatch.context() as patched:
            patched.setattr(ingest_module, "read_objects", refusing(refused, aside))
            runs.append(run_ingest(spark, str(source), str(lake), window, INGESTED_AT, note_pending=True))
        aside.rename(refused)  # as it was: the same name, size and modification time
        with pending.paying(spark, str(lake), pending.VALIDATE) as owed:
            runs[-1]["owed"] = owed

    first, again = runs
    assert (first["objects_read"], first["corrupt_objects"], first["corrupt_object_hours"]) == (
        2,
        1,
        ["2025-11-01T10:00:00+00:00"],
    )
    assert first["owed"] == [utc(2025, 11, 1, 10)]
    assert (again["objects_read"], again["corrupt_objects"], again["corrupt_object_hours"], again["owed"]) == (
        1,
        1,
        [],
        [],
    )
    recorded = rows(read(spark, lake, "source_objects"), "object_time", "status", "modified_at")
    assert sorted((time, status, modified is None) for time, status, modified in recorded) == [
        (utc(2025, 11, 1, 10, 5), "ok", False),
        (utc(2025, 11, 1, 10, 10), "corrupt", True),
    ]
    assert read(spark, lake, "flow_logs_quarantine").count() == 1


def test_an_object_gone_before_its_bad_lines_are_read_again_is_read_whole_by_the_next_run(
    spark, tmp_path, monkeypatch, caplog
):
    """The quarantine reads an object with bad lines a second time, for them; gone or refused by then (an S3
    lifecycle rule, a KMS grant revoked), it gives none. Recorded as read, its lines would never reach the
    quarantine: it is not, so the next run that lists it reads it whole again."""
    source, lake = tmp_path / "source", tmp_path / "lake"
    bad_line = AWS_EXAMPLES_ACCEPT_REJECT[1].replace(" 4249 ", " many ")
    faulty = write_object(
        source, utc(2025, 11, 1, 10, 5), [AWS_EXAMPLES_ACCEPT_REJECT[0], bad_line], object_hash="00000008"
    )
    aside = tmp_path / faulty.name
    real = ingest_module.read_objects
    reads = []

    def gone_when_read_again(spark, objects):
        reads.append([o.uri for o in objects])
        if len(reads) == 2:  # the quarantine's read
            faulty.rename(aside)
        return real(spark, objects)

    window = Window(utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))
    with monkeypatch.context() as patched, caplog.at_level("WARNING", logger="flowlake.ingest"):
        patched.setattr(ingest_module, "read_objects", gone_when_read_again)
        first = run_ingest(spark, str(source), str(lake), window, INGESTED_AT)
    aside.rename(faulty)  # back as it was: the same name, size and modification time
    assert len(reads) == 2
    assert (first["records_written"], first["lines_quarantined"]) == (1, 1)
    assert read(spark, lake, "flow_logs_quarantine").count() == 0
    assert [r.getMessage() for r in caplog.records if "read again for them" in r.getMessage()] == [
        "1 objects with bad lines gave none when read again for them (gone or refused since the first read): their "
        f"lines are not in flow_logs_quarantine, and the next run that lists them reads them again: {reads[1][0]}"
    ]

    again = run_ingest(spark, str(source), str(lake), window, INGESTED_AT)

    assert (again["objects_read"], again["records_written"], again["lines_quarantined"]) == (1, 1, 1)
    assert rows(read(spark, lake, "flow_logs"), "bytes") == [(4249,)]
    assert rows(read(spark, lake, "flow_logs_quarantine"), "line_number", "raw_line") == [(3, bad_line)]
    (recorded,) = read(spark, lake, "source_objects").collect()
    assert (recorded.status, recorded.modified_at is not None) == ("partial", True)


def test_other_services_logs_and_stray_files_are_skipped_and_counted(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(source, utc(2025, 11, 1, 10, 5), AWS_EXAMPLES_ACCEPT_REJECT)
    write_raw(
        source,
        "AWSLogs/123456789010/CloudTrail/us-east-1/2025/11/01/123456789010_CloudTrail_us-east-1_20251101T1005Z_x.json.gz",
        gzip.compress(b"{}"),
    )
    write_raw(source, "AWSLogs/123456789010/vpcflowlogs/us-east-1/2025/11/01/notes.txt", b"hello")
    write_raw(source, "AWSLogs/123456789010/vpcflowlogs/us-east-1/2025/10/01/notes.txt", b"outside the window")
    summary = ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))
    assert (summary["objects"], summary["skipped_objects"], summary["records_written"]) == (1, 2, 2)
    assert read(spark, lake, "flow_logs_quarantine").count() == 0


def test_record_lands_in_the_hour_of_its_start_and_late_objects_are_picked_up_on_rerun(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    # start 10:58:00, end 11:03:00, delivered in the object named 11:05.
    write_object(
        source,
        utc(2025, 11, 1, 11, 5),
        [
            "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 100 1761994680 1761994980 ACCEPT OK",
            "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 200 1761995100 1761995160 ACCEPT OK",
        ],
        object_hash="0000000a",
    )
    summary = ingest(spark, source, lake, utc(2025, 11, 1, 11), utc(2025, 11, 1, 12))
    assert summary["hours_touched"] == ["2025-11-01T10:00:00+00:00", "2025-11-01T11:00:00+00:00"]
    assert rows(read(spark, lake, "flow_logs"), "event_time", "bytes") == ordered(
        [(utc(2025, 11, 1, 10, 58), 100), (utc(2025, 11, 1, 11, 5), 200)]
    )

    # An object of the same window delivered after the window ran.
    write_object(
        source,
        utc(2025, 11, 1, 11, 50),
        [
            "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 400 1761997500 1761997560 ACCEPT OK",
        ],
        object_hash="0000000b",
    )
    ingest(spark, source, lake, utc(2025, 11, 1, 11), utc(2025, 11, 1, 12))
    assert rows(read(spark, lake, "flow_logs"), "event_time", "bytes") == ordered(
        [(utc(2025, 11, 1, 10, 58), 100), (utc(2025, 11, 1, 11, 5), 200), (utc(2025, 11, 1, 11, 45), 400)]
    )


def test_a_record_without_a_start_lands_in_the_hour_of_the_five_minutes_its_object_covers(spark, tmp_path):
    # AWS names an object by the end of its 5 minutes: the one named 00:00 holds the records that ended from
    # 23:55:01 to 00:00:00, the day before's traffic.
    source, lake = tmp_path / "source", tmp_path / "lake"
    without_start = DEFAULT_FORMAT.replace(" start", "")
    for object_time, line in (
        (utc(2025, 11, 2, 0, 0), "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 100 1762041540 ACCEPT OK"),
        (utc(2025, 11, 2, 0, 5), "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 200 1762041780 ACCEPT OK"),
    ):
        write_object(source, object_time, [line], header=without_start, object_hash=f"{object_time.minute:08d}")

    summary = ingest(spark, source, lake, utc(2025, 11, 2, 0), utc(2025, 11, 2, 1))

    assert summary["hours_touched"] == ["2025-11-01T23:00:00+00:00", "2025-11-02T00:00:00+00:00"]
    assert rows(read(spark, lake, "flow_logs"), "event_time", "event_date", "bytes") == ordered(
        [(utc(2025, 11, 1, 23, 55), date(2025, 11, 1), 100), (utc(2025, 11, 2, 0, 0), date(2025, 11, 2), 200)]
    )


def test_the_same_source_given_at_another_folder_level_holds_the_same_objects(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(
        source,
        utc(2025, 11, 1, 10, 5),
        ["2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 100 1761991200 1761991260 ACCEPT OK"],
        object_hash="0000000c",
    )
    hour_10, hour_11 = utc(2025, 11, 1, 10), utc(2025, 11, 1, 11)
    ingest(spark, source, lake, hour_10, hour_11)
    before = _snapshot(spark, lake)

    # The bucket first, then one account's folder of it (a backfill of that account).
    again = ingest(spark, source / "AWSLogs" / "123456789010", lake, hour_10, hour_11)

    assert (again["objects_read"], again["objects_unchanged"], again["objects_gone"]) == (0, 1, 0)
    assert _snapshot(spark, lake) == before
    assert [bytes_ for _, bytes_ in rows(read(spark, lake, "flow_logs"), "event_time", "bytes")] == [100]


def test_rows_a_failed_run_committed_stay_when_their_object_is_gone_before_the_next_run(spark, tmp_path, monkeypatch):
    """The run wrote flow_logs and failed before source_objects; S3 then expired the object: its rows are
    nowhere else, and a later run of the window must not take them for rows of objects it reads."""
    source, lake = tmp_path / "source", tmp_path / "lake"
    lines = [f"2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 {n} 1761991200 1761991260 ACCEPT OK" for n in (1, 2)]
    expired = write_object(source, utc(2025, 11, 1, 10, 5), lines, object_hash="0000000d")
    hour_10, hour_11 = utc(2025, 11, 1, 10), utc(2025, 11, 1, 11)

    def refused(*args):
        raise RuntimeError("the driver was killed")

    with monkeypatch.context() as patched:
        patched.setattr(ingest_module, "write_source_objects", refused)
        with pytest.raises(RuntimeError):
            ingest(spark, source, lake, hour_10, hour_11)
    expired.unlink()
    write_object(
        source, utc(2025, 11, 1, 10, 50), [lines[0].replace(" 1 1761991200", " 3 1761991200")], object_hash="0000000e"
    )
    ingest(spark, source, lake, hour_10, hour_11)

    assert sorted(bytes_ for _, bytes_ in rows(read(spark, lake, "flow_logs"), "event_time", "bytes")) == [1, 2, 3]


def test_a_source_and_a_lake_in_folders_whose_names_have_spaces_and_accents(spark, tmp_path):
    # "%41" is a folder's name, not an escaped "A": the path's text is taken as it is, as Hadoop takes it; and
    # "[1]{a,b}*?" is no pattern of paths to match.
    source, lake = tmp_path / "flow logs %41 (raw) [1]{a,b}*?", tmp_path / "my lake %41 é 100%"
    write_object(source, utc(2025, 11, 1, 10, 5), [*AWS_EXAMPLES_ACCEPT_REJECT, "not a record"], object_hash="0000000f")
    summary = ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))

    assert (summary["objects_read"], summary["records_written"], summary["lines_quarantined"]) == (1, 2, 1)
    (quarantined,) = read(spark, lake, "flow_logs_quarantine").collect()
    assert (quarantined.line_number, quarantined.raw_line) == (4, "not a record")
    assert (lake / "flow_logs" / "_delta_log").is_dir()
    assert rows(read(spark, lake, "flow_logs"), "srcaddr", "bytes") == ordered(
        [("172.31.16.139", 4249), ("172.31.9.69", 4249)]
    )
    (recorded,) = read(spark, lake, "source_objects").collect()
    assert recorded.source_file.startswith("file:") and "flow logs %41 (raw) [1]{a,b}*?" in recorded.source_file
    # The aggregate reads the files' footers (pyarrow) where Spark reads the files.
    # (The AWS examples' records started on 2014-12-14 at 04:06.)
    aggregated = run_aggregate(spark, str(lake), Window(utc(2014, 12, 14, 4), utc(2014, 12, 14, 5)))
    assert aggregated["columns_without_values"] == list(NOT_IN_THE_DEFAULT_FORMAT)
    assert rows(read(spark, lake, "traffic_hourly"), "action", "bytes") == ordered([("ACCEPT", 4249), ("REJECT", 4249)])


def _snapshot(spark, lake):
    return {
        table: rows_without(read(spark, lake, table), "ingested_at")
        for table in ("flow_logs", "flow_logs_quarantine", "source_objects")
    }


def test_rerunning_windows_in_any_order_gives_the_same_tables(spark, tmp_path):
    source = tmp_path / "source"
    for minute, bytes_ in ((5, 100), (55, 200)):
        write_object(
            source,
            utc(2025, 11, 1, 10, minute),
            [
                f"2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 {bytes_} 1761991200 1761991260 ACCEPT OK",
                "not a record",
            ],
            object_hash=f"1000{minute:04d}",
        )
    write_object(
        source,
        utc(2025, 11, 1, 11, 5),
        [
            "2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 300 1761994680 1761994980 ACCEPT OK",
        ],
        object_hash="20000005",
    )
    hour_10, hour_11, hour_12 = utc(2025, 11, 1, 10), utc(2025, 11, 1, 11), utc(2025, 11, 1, 12)

    in_order = tmp_path / "in_order"
    ingest(spark, source, in_order, hour_10, hour_11)
    ingest(spark, source, in_order, hour_11, hour_12)

    shuffled = tmp_path / "shuffled"
    ingest(spark, source, shuffled, hour_11, hour_12)
    ingest(spark, source, shuffled, hour_10, hour_12)
    ingest(spark, source, shuffled, hour_10, hour_11)
    ingest(spark, source, shuffled, hour_11, hour_12)

    expected = _snapshot(spark, in_order)
    assert len(expected["flow_logs"]) == 3 and len(expected["flow_logs_quarantine"]) == 2
    assert len(expected["source_objects"]) == 3
    assert _snapshot(spark, shuffled) == expected


def test_a_window_bounded_within_a_second_owns_the_objects_it_lists_and_a_rerun_keeps_each_record_once(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    # Named 11:00, in [10:00, 11:00:00.5); its record started at 10:58.
    write_object(
        source,
        utc(2025, 11, 1, 11, 0),
        ["2 123456789010 eni-0aaa 10.0.0.1 10.0.0.2 1 2 6 1 100 1761994680 1761994980 ACCEPT OK"],
        object_hash="0000001a",
    )
    hour_10, past_11 = utc(2025, 11, 1, 10), utc(2025, 11, 1, 11) + timedelta(milliseconds=500)
    first = ingest(spark, source, lake, hour_10, past_11)
    again = ingest(spark, source, lake, hour_10, past_11)

    assert (first["objects_read"], again["objects_read"], again["objects_unchanged"]) == (1, 0, 1)
    assert rows(read(spark, lake, "flow_logs"), "event_time", "bytes") == [(utc(2025, 11, 1, 10, 58), 100)]


def test_window_must_have_positive_length():
    with pytest.raises(ValueError, match="not before its end"):
        Window(utc(2025, 11, 1, 11), utc(2025, 11, 1, 11))


def test_flow_logs_keeps_file_statistics_on_the_pruning_columns_only(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(source, utc(2025, 11, 1, 10, 5), AWS_EXAMPLES_ACCEPT_REJECT)
    ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))

    actions = [
        json.loads(line)
        for commit in sorted((lake / "flow_logs" / "_delta_log").glob("*.json"))
        for line in commit.read_text().splitlines()
    ]
    (stats,) = [json.loads(a["add"]["stats"]) for a in actions if "add" in a]
    assert set(stats["nullCount"]) == {
        "object_time",
        "event_time",
        "start",
        "end",
        "account_id",
        "region",
        "vpc_id",
        "interface_id",
        "srcaddr",
        "dstaddr",
        "dstport",
        "action",
        "log_status",
    }
    assert (stats["minValues"]["dstport"], stats["maxValues"]["dstport"]) == (22, 3389)
    assert (stats["nullCount"]["vpc_id"], stats["numRecords"]) == (2, 2)


def _added_files(table) -> list[dict]:
    return [
        json.loads(line)["add"]
        for commit in sorted((table / "_delta_log").glob("*.json"))
        for line in commit.read_text().splitlines()
        if '"add"' in line
    ]


def test_the_parse_commits_its_own_files_with_the_statistics_deltas_writer_gives_the_same_rows(spark, tmp_path):
    from flowlake.contracts import table_schema
    from flowlake.lake import replace_where

    source, lake = tmp_path / "source", tmp_path / "lake"
    nodata = [line.replace("1431280876 1431280934", "1762041590 1762041600") for line in AWS_EXAMPLES_NODATA_SKIPDATA]
    late = [line.replace("1418530010 1418530070", "1762041605 1762041660") for line in AWS_EXAMPLES_ACCEPT_REJECT]
    write_object(source, utc(2025, 11, 1, 23, 55), [*nodata, *late])
    ingest(spark, source, lake, utc(2025, 11, 1, 23), utc(2025, 11, 2, 0))

    added = _added_files(lake / "flow_logs")
    assert sorted(a["partitionValues"]["event_date"] for a in added) == ["2025-11-01", "2025-11-02"]
    # The second implementation: Delta's own writer, one file per date, of the rows the table reads.
    schema = table_schema("flow_logs")
    reference = tmp_path / "reference"
    replace_where(
        read(spark, lake, "flow_logs").coalesce(1), str(reference), "true", schema.partition_by, None, schema.properties
    )
    expected = {a["partitionValues"]["event_date"]: json.loads(a["stats"]) for a in _added_files(reference)}
    assert {a["partitionValues"]["event_date"]: json.loads(a["stats"]) for a in added} == expected
    assert expected["2025-11-02"]["numRecords"] == 2 and expected["2025-11-01"]["nullCount"]["srcaddr"] == 2
    for a in added:
        assert a["size"] == (lake / "flow_logs" / a["path"]).stat().st_size


def test_flow_logs_files_hold_each_objects_records_in_time_order_delta_encoded(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    base = int(utc(2025, 11, 1, 10).timestamp())

    def line(start: int) -> str:
        return f"2 {ACCOUNT} eni-0a 10.0.0.1 10.0.0.2 49152 443 6 3 120 {start} {start + 60} ACCEPT OK"

    # Four objects whose records interleave in time, each out of time order, with few distinct
    # times (a dictionary would hold them well): a task reads several objects at once.
    starts = {k: [base + k * 10 + (i * 3 % 5) * 100 for i in range(60)] for k in range(4)}
    for k, times in starts.items():
        write_object(source, utc(2025, 11, 1, 10, 5 + 5 * k), [line(t) for t in times], object_hash=f"abcd000{k}")
    ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 11))

    files = sorted((lake / "flow_logs").rglob("*.parquet"))
    written = [
        [(r["source_file"], r["start"]) for r in pq.read_table(f, columns=["source_file", "start"]).to_pylist()]
        for f in files
    ]
    assert sorted(t - base for rows_of_file in written for _, t in rows_of_file) == sorted(
        t - base for times in starts.values() for t in times
    )
    assert any(len({name for name, _ in rows_of_file}) > 1 for rows_of_file in written), "one object per file"
    for rows_of_file in written:
        runs = [name for name, _ in itertools.groupby(name for name, _ in rows_of_file)]
        assert len(runs) == len(set(runs)), "an object's records are split within a file"
        for name in runs:
            times = [t for n, t in rows_of_file if n == name]
            assert times == sorted(times), name
    for f in files:
        row_group = pq.ParquetFile(f).metadata.row_group(0)
        encodings = {
            row_group.column(i).path_in_schema: row_group.column(i).encodings for i in range(row_group.num_columns)
        }
        for column in ("start", "end", "event_time", "line_number"):
            # The values delta-encoded, no dictionary; RLE is that of the NULL levels.
            assert "DELTA_BINARY_PACKED" in encodings[column], (column, encodings[column])
            assert set(encodings[column]) <= {"DELTA_BINARY_PACKED", "RLE"}, (column, encodings[column])


def test_flow_logs_files_of_a_long_window_each_hold_a_span_of_hours(spark, tmp_path, monkeypatch):
    # Read in one go, objects are packed into tasks by size, and each task's file would span the window.
    monkeypatch.setattr(ingest_module, "READ_SPAN_BYTES", 1, raising=False)
    source, lake = tmp_path / "source", tmp_path / "lake"
    for hour in (10, 11, 12):
        for minute, size in ((5, 3), (35, 40)):
            start = int(utc(2025, 11, 1, hour, minute - 5).timestamp())
            lines = [f"2 {ACCOUNT} eni-0a 10.0.0.1 10.0.0.2 {49152 + i} 443 6 3 120 {start} {start + 60} ACCEPT OK"
                     for i in range(size)]  # fmt: skip
            write_object(source, utc(2025, 11, 1, hour, minute), lines, object_hash=f"abcd{hour}{minute}")
    ingest(spark, source, lake, utc(2025, 11, 1, 10), utc(2025, 11, 1, 13))

    hours_of_files = [
        {t.hour for t in pq.read_table(f, columns=["object_time"]).column("object_time").to_pylist()}
        for f in (lake / "flow_logs").rglob("*.parquet")
    ]
    assert set().union(*hours_of_files) == {10, 11, 12}
    assert all(len(hours) == 1 for hours in hours_of_files), hours_of_files


def test_objects_in_a_folder_are_read_without_a_spark_job_to_list_them(spark, tmp_path):
    """Spark lists a load of more than 32 paths in a job of its own (the benchmark's day: 10 jobs, 2.5 s); a
    folder's objects, a stat each, are listed by the driver."""
    source = tmp_path / "source"
    for n in range(40):
        start = int(utc(2025, 11, 1, 10, n).timestamp())
        line = f"2 {ACCOUNT} eni-0a 10.0.0.1 10.0.0.2 49152 443 6 3 120 {start} {start + 60} ACCEPT OK"
        write_object(source, utc(2025, 11, 1, 10, n), [line], object_hash=f"abcd{n:04d}")
    objects = list_window(spark, str(source), utc(2025, 11, 1, 10), utc(2025, 11, 1, 11)).objects
    context = spark.sparkContext
    context.setJobGroup("read_objects", "the objects' load")
    try:
        frame = ingest_module.read_objects(spark, objects)
        jobs = context.statusTracker().getJobIdsForGroup("read_objects")
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)

    assert len(objects) == 40
    assert jobs == []
    assert sorted(row.path for row in frame.select("path").collect()) == sorted(o.uri for o in objects)


def data_file_columns(lake, table: str) -> set[str]:
    """The columns of the table's Parquet files (every file of a table written once)."""
    from pathlib import Path

    return {name for path in (Path(lake) / table).rglob("*.parquet") for name in pq.read_schema(path).names}


VPC_FORMAT = "interface-id srcaddr dstaddr dstport start end vpc-id"
VPC_LINES = ["eni-0aaa 10.0.0.1 10.0.0.2 443 1761991500 1761991560 vpc-0abc"]


def test_files_hold_the_columns_their_flow_logs_formats_have_and_the_table_reads_the_others_as_null(spark, tmp_path):
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(source, utc(2026, 11, 1, 10, 5), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="aaaa0001")
    ingest(spark, source, lake, utc(2026, 11, 1, 10), utc(2026, 11, 1, 11))
    default_columns = {*DEFAULT_FORMAT.replace("-", "_").split(), "region"}
    given = {"source_file", "flow_log_id", "object_time", "line_number", "event_time", "event_date"}
    assert data_file_columns(lake, "flow_logs") == default_columns | given

    # Another flow log, whose format has the VPC: the files of its window have that column too.
    write_object(source, utc(2026, 11, 1, 11, 5), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="aaaa0002")
    write_object(
        source, utc(2026, 11, 1, 11, 5), VPC_LINES, header=VPC_FORMAT, flow_log_id="fl-5678ef00", object_hash="cc0003"
    )
    ingest(spark, source, lake, utc(2026, 11, 1, 11), utc(2026, 11, 1, 12))
    assert data_file_columns(lake, "flow_logs") == default_columns | given | {"vpc_id"}
    assert rows(
        read(spark, lake, "flow_logs"), "object_time", "interface_id", "srcport", "vpc_id", "tcp_flags"
    ) == ordered(
        [
            (utc(2026, 11, 1, 10, 5), "eni-1235b8ca123456789", 20641, None, None),
            (utc(2026, 11, 1, 10, 5), "eni-1235b8ca123456789", 49761, None, None),
            (utc(2026, 11, 1, 11, 5), "eni-0aaa", None, "vpc-0abc", None),
            (utc(2026, 11, 1, 11, 5), "eni-1235b8ca123456789", 20641, None, None),
            (utc(2026, 11, 1, 11, 5), "eni-1235b8ca123456789", 49761, None, None),
        ]
    )


def test_an_object_of_another_format_than_its_flow_logs_first_keeps_every_value(spark, tmp_path):
    # AWS writes a flow log's objects in the one format it was made with; a hand-made source may not.
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_object(source, utc(2026, 11, 1, 10, 5), AWS_EXAMPLES_ACCEPT_REJECT, object_hash="aaaa0001")
    write_object(source, utc(2026, 11, 1, 10, 10), VPC_LINES, header=VPC_FORMAT, object_hash="aaaa0002")

    summary = ingest(spark, source, lake, utc(2026, 11, 1, 10), utc(2026, 11, 1, 11))

    assert summary["records_written"] == 3
    assert rows(read(spark, lake, "flow_logs"), "object_time", "interface_id", "srcport", "vpc_id") == ordered(
        [
            (utc(2026, 11, 1, 10, 5), "eni-1235b8ca123456789", 20641, None),
            (utc(2026, 11, 1, 10, 5), "eni-1235b8ca123456789", 49761, None),
            (utc(2026, 11, 1, 10, 10), "eni-0aaa", None, "vpc-0abc"),
        ]
    )

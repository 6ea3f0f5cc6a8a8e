"""The parser on its own (no Spark): text and Parquet objects follow the same typing rules."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from flowlake import parse
from flowlake.parse import ROW_OBJECT, ROW_QUARANTINE, ROW_RECORD, STATUS_CORRUPT, STATUS_PARTIAL, parse_object

TEXT_URI = "file:/s/123456789010_vpcflowlogs_us-east-1_fl-1_20261101T1005Z_aa.log.gz"
PARQUET_URI = "file:/s/123456789010_vpcflowlogs_us-east-1_fl-1_20261101T1005Z_aa.log.parquet"
HEADER = "interface-id srcport bytes start end action new-field"
# One good line, a bad int, a negative bigint, a start in milliseconds, '-' where values do not apply, a start in
# microseconds (read as milliseconds, a date past the year 10000).
LINES = [
    "eni-a 443 100 1761991200 1761991260 ACCEPT x",
    "eni-b 70000000000 5 1761991200 1761991260 ACCEPT y",
    "eni-c 22 -7 1761991200 1761991260 REJECT z",
    "eni-d 80 9 1761991200000 1761991260000 ACCEPT -",
    "eni-e - - 1761991200 1761991260 - w",
    "eni-f 80 9 1761991200000000 1761991260000000 ACCEPT v",
]
GOOD = {
    # line -> (interface_id, srcport, bytes, start, end, action, extra_fields)
    1: ("eni-a", 443, 100, 1761991200, 1761991260, "ACCEPT", [("new-field", "x")]),
    4: ("eni-d", 80, 9, 1761991200, 1761991260, "ACCEPT", [("new-field", None)]),
    5: ("eni-e", None, None, 1761991200, 1761991260, None, [("new-field", "w")]),
}
BAD = {
    2: "srcport is not a valid int: {}",
    3: "bytes is not a valid bigint: {}",
    6: "start is not a valid time (seconds or milliseconds since 1970, before the year 10000): {}",
}


def text_object(lines: list[str]) -> bytes:
    return gzip.compress(("\n".join([HEADER, *lines]) + "\n").encode())


def parquet_object(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def aws_typed_parquet() -> pa.Table:
    """The same rows as LINES, typed as AWS's Parquet delivery types them ('_' names, integers, NULLs)."""
    rows = [line.split(" ") for line in LINES]

    def column(i, type_):
        values = [None if row[i] == "-" else row[i] for row in rows]
        return pa.array([v if v is None or type_ == pa.string() else int(v) for v in values], type_)

    return pa.table(
        {
            "interface_id": column(0, pa.string()),
            "srcport": column(1, pa.int64()),
            "bytes": column(2, pa.int64()),
            "start": column(3, pa.int64()),
            "end": column(4, pa.int64()),
            "action": column(5, pa.string()),
            "new-field": pa.array([None if row[6] == "-" else row[6] for row in rows], pa.string()),
        }
    )


def of_kind(parsed: list[pa.RecordBatch], kind: str) -> pa.Table:
    table = pa.Table.from_batches(parsed)
    return table.filter(pc.equal(table.column("row_kind"), kind))


def records(parsed, first_line: int) -> dict[int, tuple]:
    table = of_kind(parsed, ROW_RECORD)
    columns = ["interface_id", "srcport", "bytes", "start", "end", "action", "extra_fields"]
    rows = zip(*(table.column(c).to_pylist() for c in columns), strict=True)
    return {line - first_line + 1: row for line, row in zip(table.column("line_number").to_pylist(), rows, strict=True)}


def quarantined(parsed, first_line: int) -> dict[int, str]:
    quarantine = of_kind(parsed, ROW_QUARANTINE)
    return {
        line - first_line + 1: reason
        for line, reason in zip(
            quarantine.column("line_number").to_pylist(), quarantine.column("reason").to_pylist(), strict=True
        )
    }


def test_text_and_parquet_give_the_same_records_and_the_same_quarantine():
    text = parse_object(TEXT_URI, text_object(LINES))
    parquet = parse_object(PARQUET_URI, parquet_object(aws_typed_parquet()))

    # Text lines count from 2 (the header is line 1), Parquet rows from 1: compare by row.
    assert records(text, first_line=2) == GOOD
    assert records(parquet, first_line=1) == GOOD
    assert quarantined(text, first_line=2) == {
        2: BAD[2].format("'70000000000'"),
        3: BAD[3].format("'-7'"),
        6: BAD[6].format("'1761991200000000'"),
    }
    assert quarantined(parquet, first_line=1) == {
        2: BAD[2].format("70000000000"),
        3: BAD[3].format("-7"),
        6: BAD[6].format("1761991200000000"),
    }
    for parsed in (text, parquet):
        (object_row,) = of_kind(parsed, ROW_OBJECT).to_pylist()
        assert (object_row["lines_read"], object_row["records_written"], object_row["lines_quarantined"]) == (6, 3, 3)
        assert object_row["status"] == STATUS_PARTIAL


def test_a_bigint_is_kept_up_to_int64s_largest_value_in_text_as_in_parquet():
    largest = 2**63 - 1
    lines = [f"eni-a {value} 1761991200" for value in (10**18, largest)] + [f"eni-b {largest + 1} 1761991200"]
    text = parse_object(TEXT_URI, gzip.compress(("\n".join(["interface-id bytes start", *lines]) + "\n").encode()))
    table = pa.table(
        {"interface_id": ["eni-a"] * 2, "bytes": pa.array([10**18, largest], pa.int64()), "start": [1761991200] * 2}
    )
    parquet = parse_object(PARQUET_URI, parquet_object(table))

    assert of_kind(text, ROW_RECORD).column("bytes").to_pylist() == [10**18, largest]
    assert of_kind(parquet, ROW_RECORD).column("bytes").to_pylist() == [10**18, largest]
    assert quarantined(text, first_line=2) == {3: BAD[3].format(f"'{largest + 1}'")}


def test_a_line_with_an_empty_field_is_quarantined_not_a_record_with_an_empty_value():
    empty = "a field is empty (two spaces in a row, or a space at the line's start or end)"
    lines = ["eni-a 10.0.0.1 OK", "eni-b  OK", "eni-c 10.0.0.3 ", " 10.0.0.4 OK", "eni-e 10.0.0.5 OK"]
    parsed = parse_object(
        TEXT_URI, gzip.compress(("\n".join(["interface-id srcaddr log-status", *lines]) + "\n").encode())
    )
    assert of_kind(parsed, ROW_RECORD).column("interface_id").to_pylist() == ["eni-a", "eni-e"]
    assert quarantined(parsed, first_line=2) == {2: empty, 3: empty, 4: empty}
    # In a format of one field, a blank line is no record either.
    one_field = parse_object(TEXT_URI, gzip.compress(b"srcaddr\n10.0.0.1\n\n10.0.0.2\n"))
    assert of_kind(one_field, ROW_RECORD).column("srcaddr").to_pylist() == ["10.0.0.1", "10.0.0.2"]
    assert quarantined(one_field, first_line=2) == {2: "blank line"}


def test_a_parquet_row_with_a_bad_string_number_is_quarantined_alone_and_shown_as_its_values():
    table = pa.table({"interface_id": ["eni-a", "eni-b"], "bytes": ["100", "oops"], "start": [1, 2]})
    parsed = parse_object(PARQUET_URI, parquet_object(table))

    assert of_kind(parsed, ROW_RECORD).column("bytes").to_pylist() == [100]
    (bad,) = of_kind(parsed, ROW_QUARANTINE).to_pylist()
    assert (bad["line_number"], bad["raw_line"], bad["reason"]) == (
        2,
        "eni-b oops 2",
        "bytes is not a valid bigint: 'oops'",
    )


def test_a_parquet_object_with_a_nested_column_is_quarantined_whole_naming_the_column():
    table = pa.table(
        {"interface_id": ["eni-a"], "tags": pa.array([{"k": "v"}], pa.struct([("k", pa.string())])), "bytes": [1]}
    )
    parsed = parse_object(PARQUET_URI, parquet_object(table))

    assert of_kind(parsed, ROW_RECORD).num_rows == 0
    (quarantine,) = of_kind(parsed, ROW_QUARANTINE).to_pylist()
    (object_row,) = of_kind(parsed, ROW_OBJECT).to_pylist()
    assert quarantine["reason"] == "column tags is of type struct<k: string>, which is not a flow-log value"
    assert (object_row["status"], object_row["records_written"]) == (STATUS_CORRUPT, 0)


def test_records_come_each_objects_together_in_time_order_ties_in_line_order():
    # flow_logs' files keep rows in the order the parser gives (no sort on write): its times delta-encode.
    later = TEXT_URI.replace("_aa.", "_bb.")
    first = ["eni-a 1 1 1761991500 1761991560 ACCEPT x", "eni-b 2 1 1761991200 1761991260 ACCEPT x",
             "eni-c 3 1 - - ACCEPT x", "eni-d 4 1 1761991500 1761991560 ACCEPT x"]  # fmt: skip
    second = ["eni-e 5 1 1761991320 1761991380 ACCEPT x", "eni-f 6 1 1761991260 1761991320 ACCEPT x"]
    rows = pa.Table.from_batches(
        parse.parse_objects([(later, text_object(second), None), (TEXT_URI, text_object(first), None)])
    )
    records = rows.filter(pc.equal(rows["row_kind"], ROW_RECORD))
    # eni-c has no start: its time is the start of its object's 5 minutes, 2026-11-01T10:00Z, a year after the others'.
    assert list(zip(records["source_file"].to_pylist(), records["srcport"].to_pylist(), strict=True)) == [
        (later, 6), (later, 5), (TEXT_URI, 2), (TEXT_URI, 1), (TEXT_URI, 4), (TEXT_URI, 3),
    ]  # fmt: skip


def test_spark_gets_the_rows_of_a_batch_of_objects_in_batches_of_bounded_size(monkeypatch):
    # Spark reads each batch whole into off-heap memory: the records of a few big objects in one
    # batch ran a 2 GiB driver out of it.
    monkeypatch.setattr(parse, "MAX_ROWS_PER_BATCH", 2)
    objects = pa.record_batch(
        {
            "path": [TEXT_URI, TEXT_URI.replace("_aa.", "_bb.")],
            "length": [0, 0],
            "content": [text_object([LINES[0], LINES[3], LINES[4]]), text_object([LINES[0]])],
        }
    )
    batches = list(parse.records_and_objects([objects]))
    assert [b.num_rows for b in batches] == [2, 2, 2]
    kinds = pa.Table.from_batches(batches).column("row_kind").to_pylist()
    assert sorted(kinds) == [ROW_OBJECT] * 2 + [ROW_RECORD] * 4


def test_a_writer_of_its_own_gets_the_same_rows_in_batches_each_of_one_kind():
    # Objects of two headers (typed apart), a corrupt one and a Parquet one, in one binaryFile batch.
    other_header = gzip.compress(b"srcaddr start end\n10.0.0.7 1761991200 1761991260\n")
    objects = pa.record_batch(
        {
            "path": [TEXT_URI, TEXT_URI.replace("_aa.", "_bb."), TEXT_URI.replace("_aa.", "_cc."), PARQUET_URI],
            "length": [0, 0, 0, 0],
            "content": [text_object(LINES), other_header, b"not gzip", parquet_object(aws_typed_parquet())],
        }
    )
    batches = list(parse.record_and_object_batches([objects]))
    name = {uri: uri.rsplit("_", 1)[-1] for uri in objects.column("path").to_pylist()}
    kinds = [set(b.column("row_kind").to_pylist()) for b in batches]
    assert all(len(kind) == 1 for kind in kinds)
    rows = sorted(
        (kind.pop(), name[b.column("source_file")[0].as_py()], b.num_rows)
        for kind, b in zip(kinds, batches, strict=True)
    )
    # LINES has 3 good lines, typed alike from text and from Parquet.
    assert rows == [
        (ROW_OBJECT, "aa.log.gz", 1),
        (ROW_OBJECT, "aa.log.parquet", 1),
        (ROW_OBJECT, "bb.log.gz", 1),
        (ROW_OBJECT, "cc.log.gz", 1),
        (ROW_RECORD, "aa.log.gz", 3),
        (ROW_RECORD, "aa.log.parquet", 3),
        (ROW_RECORD, "bb.log.gz", 1),
    ]
    assert pa.Table.from_batches(batches) == pa.Table.from_batches(parse.records_and_objects([objects]))


def test_a_header_is_read_from_the_first_bytes_of_its_object_as_the_parse_reads_it():
    whole = text_object(LINES)
    assert parse.header_fields(whole[:200]) == HEADER.split()
    assert parse.header_fields(gzip.compress(b"version srcaddr\r\n2 10.0.0.1\r\n")) == ["version", "srcaddr"]
    # Not the whole line yet, not gzip, not a header: nothing to plan by.
    assert parse.header_fields(gzip.compress(("version " * 50 + "\n").encode())[:20]) is None
    assert parse.header_fields(b"version srcaddr\n") is None
    assert parse.header_fields(gzip.compress(b"2 10.0.0.1 10.0.0.2\n")) is None


def test_the_columns_omitted_are_those_no_header_fills():
    catalogue = {f.column for f in parse.field_catalogue()}
    default = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    omitted = parse.omitted_columns([default.split(), ["interface-id", "vpc-id"]])
    filled = {*default.replace("-", "_").split(), "vpc_id"}
    # The object's name gives account and region, whatever the format.
    assert omitted == (catalogue - filled - {"region"}) | {"extra_fields"}
    # An unknown field needs extra_fields; None plans every column.
    assert {"account_id", "region", "extra_fields"}.isdisjoint(parse.omitted_columns([HEADER.split()]))
    assert parse.omitted_columns([["srcaddr"], None]) == frozenset()


def test_records_are_parsed_without_the_omitted_columns_and_refused_when_an_omitted_one_has_values():
    batch = pa.RecordBatch.from_pylist(
        [{"path": TEXT_URI, "content": text_object(LINES), "length": None}],
        pa.schema([("path", pa.string()), ("content", pa.binary()), ("length", pa.int64())]),
    )
    everything = pa.Table.from_batches(parse.records_and_objects([batch]))
    omitted = parse.omitted_columns([HEADER.split()])
    narrow = pa.Table.from_batches(parse.records_and_objects([batch], omitted=omitted))
    assert narrow.schema == parse.parsed_schema(omitted)
    assert "vpc_id" in omitted and "vpc_id" not in narrow.column_names
    assert narrow == everything.select(narrow.column_names)
    with pytest.raises(parse.ColumnsNotPlannedError) as refused:
        list(parse.records_and_objects([batch], omitted=omitted | {"srcport"}))
    assert str(refused.value) == f"srcport has values in {TEXT_URI}, which was read without it"


def test_lines_too_long_or_not_utf8_are_quarantined_by_characters_not_bytes():
    # Seven fields each: only the length or the bytes of a line are wrong.
    long_action = "A" * parse.MAX_LINE_CHARS
    wide_action = "\u00e9" * 40_000  # 80,000 bytes of UTF-8, 40,000 characters: not too long
    lines = [
        b"eni-a 443 100 1761991200 1761991260 ACCEPT x",
        f"eni-b 443 100 1761991200 1761991260 {long_action} x".encode(),
        f"eni-c 443 100 1761991200 1761991260 {wide_action} x".encode(),
        b"eni-d 443 100 1761991200 1761991260 ACC\xffEPT x",
        "eni-e 443 100 1761991200 1761991260 ACC\ufffdEPT x".encode(),
    ]
    content = gzip.compress(b"\n".join([HEADER.encode(), *lines]) + b"\n")

    parsed = parse_object(TEXT_URI, content)

    table = of_kind(parsed, ROW_RECORD)
    assert table.column("interface_id").to_pylist() == ["eni-a", "eni-c"]
    assert table.column("action").to_pylist() == ["ACCEPT", wide_action]
    quarantine = of_kind(parsed, ROW_QUARANTINE)
    assert quarantine.column("line_number").to_pylist() == [3, 5, 6]
    assert quarantine.column("reason").to_pylist() == [
        f"line longer than {parse.MAX_LINE_CHARS} characters",
        "line is not valid UTF-8",
        "line is not valid UTF-8",
    ]
    kept = quarantine.column("raw_line").to_pylist()
    assert kept[0] == f"eni-b 443 100 1761991200 1761991260 {long_action} x"[: parse.MAX_LINE_CHARS]
    assert kept[1:] == ["eni-d 443 100 1761991200 1761991260 ACC\ufffdEPT x", lines[4].decode()]


def test_an_object_of_plain_lines_beside_one_with_bad_bytes_keeps_its_records():
    # Objects of one header are typed together: the bad bytes of one object quarantine its line alone.
    clean = gzip.compress(("\n".join([HEADER, "eni-a 443 100 1761991200 1761991260 ACCEPT x"]) + "\n").encode())
    dirty = gzip.compress(HEADER.encode() + b"\neni-b 443 100 1761991200 1761991260 \xff x\n")
    other_uri = TEXT_URI.replace("_aa.", "_bb.")

    parsed = parse.parse_objects([(TEXT_URI, clean, None), (other_uri, dirty, None)])

    assert of_kind(parsed, ROW_RECORD).column("source_file").to_pylist() == [TEXT_URI]
    quarantine = of_kind(parsed, ROW_QUARANTINE)
    assert quarantine.column("source_file").to_pylist() == [other_uri]
    assert quarantine.column("reason").to_pylist() == ["line is not valid UTF-8"]

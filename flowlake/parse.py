"""Parses one flow-log object (gzip text or Parquet) into typed Arrow rows.

Runs inside Spark's Python workers (mapInArrow), one object at a time, fully
vectorized with pyarrow.compute. What an object yields is one stream of rows of
parsed_schema(): its records, already the flow_logs rows they become; its
quarantined lines, each with the reason; and one row saying what became of the
object. Every data line ends up in exactly one place: a record or a quarantined
line. An object that cannot be read at all, whatever is wrong with it, gives one
quarantined row naming the reason and no records, never a partial read, and the
objects beside it are parsed as usual.
"""

from __future__ import annotations

import functools
import gzip
import io
import re
import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowlake.contracts import field_catalogue, table_schema
from flowlake.layout import OBJECT_SPAN, parse_object_name

ROW_RECORD = "record"
ROW_QUARANTINE = "quarantine"
ROW_OBJECT = "object"

STATUS_OK = "ok"
STATUS_PARTIAL = "partial"
STATUS_EMPTY = "empty"
STATUS_CORRUPT = "corrupt"

# A value above 2^31 in start/end is milliseconds (some exports carry them).
_MILLISECONDS_ABOVE = 2**31
# start and end are times a timestamp can hold (9999-12-31T23:59:59Z at most): microseconds read as milliseconds
# would be dates past the year 10000, which neither Spark nor Python can write.
_LAST_SECOND = 253_402_300_799
_TIME_COLUMNS = ("start", "end")
_HEADER_FIELD = re.compile(r"^[a-z][a-z0-9-]*$")
_ARROW_TYPES = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64()}
# Most digits a value of the column type can have (an int's 10 digits are checked against int32's range
# after the cast); a bigint of 19 is compared, as text of the same length, with int64's largest value.
_MAX_DIGITS = {"int": 10, "bigint": 19}
_INT64_MAX_TEXT = str(2**63 - 1)
_INT32_MAX = 2**31 - 1
# AWS publishes objects of up to 75 MB of gzip: more than 1 GiB of text is a gzip bomb, not a flow log.
MAX_TEXT_BYTES = 1 << 30
# A flow-log line is a few hundred bytes; a longer one is quarantined, kept up to this length.
MAX_LINE_CHARS = 65536
# Rows of one Arrow batch handed back to Spark.
MAX_ROWS_PER_BATCH = 100_000
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
EXTRA_FIELDS_TYPE = pa.map_(pa.string(), pa.string())
# The columns of outcome rows that flow_logs does not have.
_OUTCOME_FIELDS = (
    pa.field("row_kind", pa.string()),
    pa.field("raw_line", pa.string()),
    pa.field("reason", pa.string()),
    pa.field("file_format", pa.string()),
    pa.field("log_format", pa.string()),
    pa.field("size_bytes", pa.int64()),
    pa.field("lines_read", pa.int64()),
    pa.field("records_written", pa.int64()),
    pa.field("lines_quarantined", pa.int64()),
    pa.field("status", pa.string()),
)
OUTCOME_COLUMNS = frozenset(field.name for field in _OUTCOME_FIELDS)
# What an object row says of its object: source_objects is built from it.
OBJECT_SUMMARY = (
    "source_file",
    "file_format",
    "log_format",
    "size_bytes",
    "lines_read",
    "records_written",
    "lines_quarantined",
    "status",
)
_CONTRACT_ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "timestamp": TIMESTAMP_TYPE,
    "date": pa.date32(),
    "map<string,string>": EXTRA_FIELDS_TYPE,
}


@functools.cache
def parsed_schema(omitted: frozenset[str] = frozenset()) -> pa.Schema:
    """Every row an object yields: the flow_logs columns but those omitted (see omitted_columns), then what
    outcome rows add (row_kind says which)."""
    flow_logs = [
        pa.field(c["name"], _CONTRACT_ARROW_TYPES[c["type"]])
        for c in table_schema("flow_logs").columns
        if c["name"] not in omitted
    ]
    return pa.schema([*flow_logs, *_OUTCOME_FIELDS])


def header_fields(start: bytes) -> list[str] | None:
    """The header fields of a gzip text object, from its first bytes, as its parse will find them; None when
    they show no flow-log header (not gzip, not a header, or not the whole line)."""
    try:
        text = zlib.decompressobj(wbits=31).decompress(start, MAX_LINE_CHARS * 4)
    except zlib.error:
        return None
    ends = [i for i in (text.find(b"\n"), text.find(b"\r")) if i >= 0]
    if not ends:
        return None
    try:
        return _header(pa.array([text[: min(ends)].decode("utf-8", errors="replace")]))
    except ObjectError:
        return None


# Format fields every record has whatever its format: the object's name gives them when the format does not.
_FROM_OBJECT_NAME = frozenset({"account_id", "region"})


def omitted_columns(headers: list[list[str] | None]) -> frozenset[str]:
    """The flow_logs columns that records of objects with these headers leave NULL: the format fields no
    header names, and extra_fields when every field is known. A header of None (not known before the
    parse: a Parquet object, say) omits nothing."""
    if any(fields is None for fields in headers):
        return frozenset()
    catalogue = _catalogue_by_name()
    named = {field for fields in headers for field in fields}
    filled = {catalogue[name].column for name in named if name in catalogue} | _FROM_OBJECT_NAME
    omitted = {f.column for f in field_catalogue()} - filled
    if all(name in catalogue for name in named):
        omitted.add("extra_fields")
    return frozenset(omitted)


class ColumnsNotPlannedError(RuntimeError):
    """Records have values in a column the parse's schema left out: their object's header is not the one
    read for its flow log (ingest then parses again with every column)."""


@functools.cache
def catalogue_schema() -> pa.Schema:
    """The flow-log fields as typed columns, named as in the tables."""
    return pa.schema([pa.field(f.column, _ARROW_TYPES[f.type]) for f in field_catalogue()])


@functools.cache
def _catalogue_by_name() -> dict:
    by_name = {}
    for f in field_catalogue():
        by_name[f.name] = f
        by_name[f.column] = f  # Parquet delivery names columns with '_'
    return by_name


class ObjectError(Exception):
    """The object as a whole cannot be read: it is quarantined in one row."""


@dataclass
class _Typed:
    columns: dict[str, pa.Array]  # catalogue column -> typed values of the good rows
    extra_fields: pa.Array  # of the good rows
    good_rows: np.ndarray  # positions among all rows
    bad_rows: np.ndarray


@dataclass
class _Object:
    """An object about to be typed: what its name says, and its rows as read."""

    constants: dict  # source_file, account_id, region, flow_log_id, object_time, file_format
    size: int
    names: list[str] = None  # its header's fields (or Parquet columns)
    values: dict[str, pa.Array] = None  # Parquet: its columns
    lines: pa.Array = None  # text: its data lines
    # Text: whether it holds U+FFFD, the mark of bytes that are not UTF-8 (or, rarely, the character itself).
    marked: bool = False


def parse_objects(
    objects: list[tuple[str, bytes, int | None]],
    *,
    records: bool = True,
    quarantine: bool = True,
    omitted: frozenset[str] = frozenset(),
) -> list[pa.RecordBatch]:
    """The rows of parsed_schema(omitted) the objects (uri, content, size) yield: their records when
    records, their quarantined lines when quarantine, and one row per object. Records with a value in an
    omitted column raise ColumnsNotPlannedError, whichever object they are of.

    Text objects with the same header are typed together, in one pass of vectorized operations
    (thousands of small objects cost little more than a few big ones). Whatever goes wrong with
    an object, it is reported in its rows, never raised, and the others are parsed as usual.
    """
    rows: list[pa.RecordBatch] = []
    groups: dict[tuple[str, ...], list[_Object]] = {}
    for uri, content, size_bytes in objects:
        read = _Object(_constants(uri), len(content) if size_bytes is None else size_bytes)
        try:
            if read.constants["file_format"] == "parquet":
                read.values = _read_parquet(content)
                read.names = list(read.values)
                rows += _rows_of_objects([read], records=records, quarantine=quarantine, omitted=omitted)
            else:
                lines, read.marked = _text_lines(_decompress(content))
                read.names, read.lines = _header(lines), lines.slice(1)
                groups.setdefault(tuple(read.names), []).append(read)
        except ColumnsNotPlannedError:  # the plan's fault, not the object's: ingest parses again
            raise
        except Exception as error:  # noqa: BLE001 - one object's fault, whatever it is, must not stop the others
            rows += _unreadable(read, error, quarantine, omitted)
    for group in groups.values():
        try:
            rows += _rows_of_objects(group, records=records, quarantine=quarantine, omitted=omitted)
        except ColumnsNotPlannedError:
            raise
        except Exception:  # noqa: BLE001 - typed alone, each object's fault stays its own
            for read in group:
                try:
                    rows += _rows_of_objects([read], records=records, quarantine=quarantine, omitted=omitted)
                except ColumnsNotPlannedError:
                    raise
                except Exception as error:  # noqa: BLE001
                    rows += _unreadable(read, error, quarantine, omitted)
    return rows


def parse_object(uri: str, content: bytes, size_bytes: int | None = None, **passes) -> list[pa.RecordBatch]:
    """parse_objects of one object."""
    return parse_objects([(uri, content, size_bytes)], **passes)


def _constants(uri: str) -> dict:
    key_fields = parse_object_name(uri.rsplit("/", 1)[-1])
    if key_fields is None:
        raise ValueError(f"{uri} is not a VPC flow-log object name")
    return {
        "source_file": uri,
        "account_id": key_fields["account_id"],
        "region": key_fields["region"],
        "flow_log_id": key_fields["flow_log_id"],
        "object_time": key_fields["object_time"],
        "file_format": key_fields["file_format"],
    }


def _unreadable(read: _Object, error: Exception, quarantine: bool, omitted: frozenset[str]) -> list[pa.RecordBatch]:
    """An object that cannot be read at all: one quarantined row with the reason, and its object row."""
    reason = str(error) if isinstance(error, ObjectError) else f"could not be parsed: {type(error).__name__}: {error}"
    constants = read.constants
    rows = [_rows(1, constants, omitted, row_kind=ROW_QUARANTINE, reason=pa.array([reason]))] if quarantine else []
    return [
        *rows,
        _rows(1, constants, omitted, row_kind=ROW_OBJECT, size_bytes=read.size, records_written=0, lines_quarantined=1,
              status=STATUS_CORRUPT, reason=pa.array([reason])),
    ]  # fmt: skip


def _header(lines: pa.Array) -> list[str]:
    if len(lines) == 0:
        raise ObjectError("empty object: no header line")
    header = lines[0].as_py().strip()
    names = header.split()
    if not names or not all(_HEADER_FIELD.match(n) for n in names):
        raise ObjectError(f"first line is not a flow-log header: {header[:200]!r}")
    if len(set(names)) != len(names):
        raise ObjectError(f"header names a field twice: {header!r}")
    return names


def _rows_of_objects(
    group: list[_Object], *, records: bool, quarantine: bool, omitted: frozenset[str]
) -> list[pa.RecordBatch]:
    """The rows of objects of one format (the same header, or one Parquet object), typed together."""
    names = group[0].names
    lengths = [len(read.lines) if read.values is None else _row_count(read.values) for read in group]
    object_of_row = np.repeat(np.arange(len(group), dtype=np.int64), lengths)
    # Line numbers within each object: the header is a text object's line 1, a Parquet object has none.
    first = [2 if read.values is None else 1 for read in group]
    line_numbers = np.concatenate([np.arange(f, f + n, dtype=np.int32) for f, n in zip(first, lengths, strict=True)])
    if group[0].values is None:
        values, good_index, reasons, lines = _split_fields(group, names)
    else:
        (read,) = group
        values, lines = read.values, None
        good_index, reasons = np.arange(lengths[0]), np.full(lengths[0], None, dtype=object)
    typed = _type_columns(values, names, good_index, reasons)
    quarantined = []
    if quarantine and len(typed.bad_rows):
        bad = typed.bad_rows
        shown = _as_kept(lines.take(pa.array(bad))) if lines is not None else _rendered_rows(values, names, bad)
        quarantined.append(
            _rows(
                len(bad),
                _per_row(group, object_of_row[bad]),
                omitted,
                row_kind=ROW_QUARANTINE,
                line_number=pa.array(line_numbers[bad]),
                raw_line=shown,
                reason=pa.array(reasons[bad].tolist(), pa.string()),
            )
        )
    # The fields as split, as large as the text, are let go before the records are made.
    values = None
    rows = []
    if records and len(typed.good_rows):
        rows.append(_record_rows(typed, group, object_of_row[typed.good_rows], line_numbers[typed.good_rows], omitted))
    rows += quarantined
    good = np.bincount(object_of_row[typed.good_rows], minlength=len(group))
    bad = np.bincount(object_of_row[typed.bad_rows], minlength=len(group))
    statuses = [
        STATUS_EMPTY if n == 0 else STATUS_PARTIAL if b else STATUS_OK for n, b in zip(lengths, bad, strict=True)
    ]
    rows.append(
        _rows(
            len(group),
            _per_row(group, np.arange(len(group))),
            omitted,
            row_kind=ROW_OBJECT,
            size_bytes=pa.array([read.size for read in group], pa.int64()),
            log_format=" ".join(names),
            lines_read=pa.array(lengths, pa.int64()),
            records_written=pa.array(good, pa.int64()),
            lines_quarantined=pa.array(bad, pa.int64()),
            status=pa.array(statuses),
        )
    )
    return rows


def _row_count(values: dict[str, pa.Array]) -> int:
    return len(next(iter(values.values()))) if values else 0


def _split_fields(group: list[_Object], names: list[str]):
    """The text lines of the group split into fields: (values of the well-formed lines by field,
    their positions, each line's fault or None, the lines)."""
    # Lines of more than 2 GiB together overflow their offsets: parse_objects then types the objects one by one.
    data = pa.concat_arrays([read.lines for read in group]) if len(group) > 1 else group[0].lines
    tokens = pc.split_pattern(data, " ")
    counts = pc.list_value_length(tokens).to_numpy(zero_copy_only=False)
    width = len(names)
    # Each line's characters are counted, and searched for U+FFFD, only where it can matter: a line has no
    # more characters than bytes, and an object without the character has no line with it.
    too_long = np.zeros(len(data), dtype=bool)
    if len(data) and pc.max(pc.binary_length(data)).as_py() > MAX_LINE_CHARS:
        too_long = pc.greater(pc.utf8_length(data), MAX_LINE_CHARS).to_numpy(zero_copy_only=False)
    not_utf8 = np.zeros(len(data), dtype=bool)
    if any(read.marked for read in group):
        not_utf8 = pc.match_substring(data, "\ufffd").to_numpy(zero_copy_only=False)
    well_formed = (counts == width) & ~too_long & ~not_utf8 & ~_with_an_empty_field(tokens)
    reasons = np.full(len(data), None, dtype=object)
    reasons[~well_formed] = [
        _line_fault(line, count, width)
        for line, count in zip(data.filter(pa.array(~well_formed)).to_pylist(), counts[~well_formed], strict=True)
    ]
    flat = tokens.flatten() if well_formed.all() else tokens.filter(pa.array(well_formed)).flatten()
    values = {name: flat.take(pa.array(np.arange(i, len(flat), width, dtype=np.int64))) for i, name in enumerate(names)}
    return values, np.flatnonzero(well_formed), reasons, data


def _with_an_empty_field(tokens: pa.ListArray) -> np.ndarray:
    """Whether each line (split into tokens) has an empty field: a flow log writes '-' where a value is missing,
    never nothing. From the tokens' lengths alone, which Arrow keeps apart from their characters."""
    with_empty = np.zeros(len(tokens), dtype=bool)
    empty = pc.equal(pc.binary_length(tokens.flatten()), 0)
    if pc.any(empty).as_py():
        with_empty[pc.list_parent_indices(tokens).filter(empty).to_numpy()] = True
    return with_empty


def _as_kept(lines: pa.Array) -> pa.Array:
    """Lines as the quarantine keeps them: up to MAX_LINE_CHARS characters."""
    return pc.utf8_slice_codeunits(lines, 0, MAX_LINE_CHARS)


def _per_row(group: list[_Object], object_of_row: np.ndarray) -> dict[str, pa.Array]:
    """The name-given columns of each row, from the object it came from."""
    which = pa.array(object_of_row, pa.int64())
    return {
        column: pa.array([read.constants[column] for read in group], parsed_schema().field(column).type).take(which)
        for column in ("source_file", "account_id", "region", "flow_log_id", "object_time")
    } | {"file_format": pa.array([read.constants["file_format"] for read in group]).take(which)}


def _record_rows(
    typed: _Typed, group: list[_Object], object_of_row: np.ndarray, line_numbers: np.ndarray, omitted: frozenset[str]
) -> pa.RecordBatch:
    """The records as flow_logs rows, each object's together in time order: the order flow_logs' files
    keep them in (see its contract). object_of_row does not decrease (the rows come object by object)."""
    count = len(line_numbers)
    given = _per_row(group, object_of_row)
    columns = dict(typed.columns)
    extra_fields = typed.extra_fields
    start = columns.get("start")
    # A record without a start (a format without the field, or "-") takes the start of the minutes its object
    # covers: the object's own timestamp is their end, and would put the records of an object named on the hour,
    # the last minutes of the hour before, in the next hour (and those of one named at midnight in the next day).
    covered_from = pc.subtract(given["object_time"], pa.scalar(OBJECT_SPAN, pa.duration("us")))
    event_time = (
        covered_from
        if start is None
        else pc.coalesce(pc.multiply(start, 1_000_000).cast(pa.int64()).cast(TIMESTAMP_TYPE), covered_from)
    )
    # Stable: records of the same time keep their line order. A record never moves to another object's
    # rows, so only its own values are reordered, not the many columns its object's name gives: reordering
    # whole batches was half the parse's time.
    in_time_order = np.lexsort((event_time.cast(pa.int64()).to_numpy(zero_copy_only=False), object_of_row))
    if not np.array_equal(in_time_order, np.arange(count)):
        order = pa.array(in_time_order)
        columns = {column: values.take(order) for column, values in columns.items()}
        extra_fields = extra_fields.take(order)
        event_time = event_time.take(order)
        line_numbers = line_numbers[in_time_order]
    # The record's own account and region, else the object key's.
    for column in ("account_id", "region"):
        columns[column] = pc.coalesce(columns[column], given[column]) if column in columns else given[column]
    return _rows(
        count,
        given,
        omitted,
        row_kind=ROW_RECORD,
        line_number=pa.array(line_numbers),
        extra_fields=extra_fields,
        event_time=event_time,
        event_date=event_time.cast(pa.date32()),
        **columns,
    )


def _rows(length: int, constants: dict, omitted: frozenset[str], **columns) -> pa.RecordBatch:
    """A batch of parsed_schema(omitted): given arrays, repeated scalars, NULL elsewhere. The omitted columns are
    not made, which the default format's records would have spent more memory on than on all the others."""
    values = {**constants, **columns}
    for column in sorted(omitted & values.keys()):
        _refuse_values(column, values[column], values["source_file"])
    arrays = []
    schema = parsed_schema(omitted)
    for field in schema:
        value = values.get(field.name)
        if value is None:
            arrays.append(pa.nulls(length, field.type))
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            arrays.append(value.cast(field.type) if value.type != field.type else value)
        else:
            arrays.append(pa.repeat(pa.scalar(value, field.type), length))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _refuse_values(column: str, values: pa.Array, source_file: pa.Array) -> None:
    """ColumnsNotPlannedError when records have values in a column the parse omits."""
    if values.null_count != len(values):
        objects = sorted(set(source_file.filter(pc.is_valid(values)).to_pylist()))
        raise ColumnsNotPlannedError(f"{column} has values in {', '.join(objects)}, which was read without it")


def _decompress(content: bytes) -> bytes:
    """The object's text, as bytes; a gzip bomb stops at MAX_TEXT_BYTES."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
            raw = stream.read(MAX_TEXT_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise ObjectError(f"not a valid gzip object: {error}") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise ObjectError(f"more than {MAX_TEXT_BYTES} bytes of text once decompressed: not a flow-log object")
    return raw


_REPLACEMENT_CHARACTER = "\ufffd".encode()


def _text_lines(text: bytes) -> tuple[pa.Array, bool]:
    """The lines of the text, ended by LF, CRLF or a lone CR; and whether they hold U+FFFD, the mark of bytes
    that are not UTF-8 (or, rarely, the character itself): the lines with it are quarantined (see _split_fields).

    The text is split as it is, not decoded into a Python string first: the parse of a large object holds
    several copies of its text at once, and this spares two of them. An object's text fits 32-bit offsets
    (MAX_TEXT_BYTES), so its lines and fields take 4 bytes of offsets each, not 8."""
    if b"\r" in text:
        text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    length = len(text) - text.endswith(b"\n")
    if not length:
        return pa.array([], pa.string()), False
    whole = pa.Array.from_buffers(
        pa.binary(), 1, [None, pa.array([0, length], pa.int32()).buffers()[1], pa.py_buffer(text)]
    )
    try:
        whole, marked = whole.cast(pa.string()), _REPLACEMENT_CHARACTER in text
    except pa.ArrowInvalid:
        whole, marked = pa.array([text[:length].decode("utf-8", errors="replace")], pa.string()), True
    return pc.split_pattern(whole, "\n").flatten(), marked


def _line_fault(line: str, count: int, width: int) -> str:
    if not line:
        return "blank line"
    if len(line) > MAX_LINE_CHARS:
        return f"line longer than {MAX_LINE_CHARS} characters"
    if "\ufffd" in line:
        return "line is not valid UTF-8"
    if "" in line.split(" "):
        return "a field is empty (two spaces in a row, or a space at the line's start or end)"
    return f"expected {width} fields, found {count}"


def _read_parquet(content: bytes) -> dict[str, pa.Array]:
    try:
        table = pq.read_table(pa.BufferReader(content))
    except (pa.ArrowException, OSError) as error:
        raise ObjectError(f"not a valid Parquet object: {error}") from None
    names = table.column_names
    if len(set(names)) != len(names):
        raise ObjectError(f"Parquet columns name a field twice: {' '.join(names)!r}")
    return {name: table.column(name).combine_chunks() for name in names}


def _dash_as_null(text: pa.Array) -> pa.Array:
    """'-' is how a flow log says that a value does not apply or could not be computed: NULL."""
    return pc.if_else(pc.equal(text, "-"), pa.scalar(None, pa.string()), text)


def _as_seconds(numbers: pa.Array) -> pa.Array:
    """start/end: some exports carry milliseconds, which a value above 2^31 is."""
    return pc.if_else(pc.greater(numbers, _MILLISECONDS_ABOVE), pc.divide(numbers, 1000), numbers)


def _as_text(name: str, column: pa.Array) -> pa.Array:
    if pa.types.is_string(column.type):
        return column
    try:
        return column.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        raise ObjectError(f"column {name} is of type {column.type}, which is not a flow-log value") from None


def _typed_column(name: str, field, column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The column in the field's type, and a mask of the rows whose value is not one of that type.

    The same rule for text and Parquet: '-' (and a Parquet NULL) is NULL, a
    number is ASCII digits (or a Parquet integer) within the type's range.
    """
    if field.type == "string":
        return _dash_as_null(_as_text(name, column)), np.zeros(len(column), dtype=bool)
    if pa.types.is_integer(column.type):
        numbers = column.cast(pa.int64())
        bad = pc.less(numbers, 0)
    else:
        text = _as_text(name, column)
        length = pc.binary_length(text)
        in_range = pc.less_equal(length, _MAX_DIGITS[field.type])
        if field.type == "bigint":
            in_range = pc.and_(
                in_range, pc.or_(pc.less(length, len(_INT64_MAX_TEXT)), pc.less_equal(text, _INT64_MAX_TEXT))
            )
        is_number = pc.and_(pc.ascii_is_decimal(text), in_range)
        bad = pc.invert(pc.or_kleene(pc.equal(text, "-"), is_number))
        numbers = pc.cast(pc.if_else(is_number, text, pa.scalar(None, pa.string())), pa.int64())
    if field.type == "int":
        bad = pc.or_kleene(bad, pc.greater(numbers, _INT32_MAX))
    if field.column in _TIME_COLUMNS:
        numbers = _as_seconds(numbers)
        bad = pc.or_kleene(bad, pc.greater(numbers, _LAST_SECOND))
    return numbers, pc.fill_null(bad, False).to_numpy(zero_copy_only=False)


def _kind_of(field) -> str:
    return (
        "time (seconds or milliseconds since 1970, before the year 10000)"
        if field.column in _TIME_COLUMNS
        else field.type
    )


def _type_columns(values: dict[str, pa.Array], names: list[str], good_index: np.ndarray, reasons: np.ndarray) -> _Typed:
    """Types the values of the well-formed rows (good_index: their positions among all rows, whose
    reasons so far are in reasons); a row with a value not of its field's type is quarantined."""
    catalogue = _catalogue_by_name()
    typed: dict[str, pa.Array] = {}
    unknown: list[str] = []
    for name in names:
        field = catalogue.get(name)
        if field is None:
            unknown.append(name)
            continue
        typed[field.column], bad = _typed_column(name, field, values[name])
        if bad.any():
            for row, value in zip(good_index[bad], values[name].filter(pa.array(bad)).to_pylist(), strict=True):
                if reasons[row] is None:
                    reasons[row] = f"{name} is not a valid {_kind_of(field)}: {value!r}"
    extra = _extra_fields(values, unknown, len(good_index))
    is_bad = np.not_equal(reasons, None)
    keep = ~is_bad[good_index]
    if not keep.all():
        keep_mask = pa.array(keep)
        typed = {column: array.filter(keep_mask) for column, array in typed.items()}
        extra = extra.filter(keep_mask)
    return _Typed(
        columns=typed,
        extra_fields=extra,
        good_rows=good_index[keep],
        bad_rows=np.flatnonzero(is_bad),
    )


def _rendered_rows(values: dict[str, pa.Array], names: list[str], rows: np.ndarray) -> pa.Array:
    """Rows of typed columns as a flow-log line would show them: values in column order, NULL as '-'."""
    picked = [values[name].take(pa.array(rows, type=pa.int64())).to_pylist() for name in names]
    return pa.array(
        [" ".join("-" if v is None else str(v) for v in row) for row in zip(*picked, strict=True)], pa.string()
    )


def _extra_fields(values: dict[str, pa.Array], unknown: list[str], length: int) -> pa.Array:
    """Fields flowlake does not know, kept per row as {aws-name: value}."""
    if not unknown:
        return pa.nulls(length, EXTRA_FIELDS_TYPE)
    columns = [_dash_as_null(_as_text(name, values[name])) for name in unknown]
    width = len(unknown)
    # Interleave: row r's entries are items[r*width:(r+1)*width].
    order = (np.arange(length)[:, None] + np.arange(width)[None, :] * length).reshape(-1)
    items = pa.concat_arrays(columns).take(pa.array(order))
    keys = pa.array(unknown * length, pa.string())
    offsets = pa.array(np.arange(0, (length + 1) * width, width, dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, keys, items)


def _parsed_objects(batches, *, records: bool, quarantine: bool, omitted: frozenset[str]):
    """For each binaryFile batch (path, length, content), the rows of its objects in parsed_schema(omitted): a list
    of batches as parse_objects gives them, each of one row_kind."""
    # The worker's Arrow buffers come from the C library's allocator rather than Arrow's default
    # (mimalloc), which gives freed memory back to the kernel and faults it in again for the next batch:
    # half the 5M-record day parsed in one process took 6.0-13.1 s with mimalloc, 1.8-6.8 s of it in the
    # kernel, and 5.0-6.1 s with the system allocator, 0.8-1.0 s in the kernel.
    pa.set_memory_pool(pa.system_memory_pool())
    for batch in batches:
        objects = zip(
            batch.column("path").to_pylist(),
            (content.as_py() for content in batch.column("content")),
            batch.column("length").to_pylist(),
            strict=True,
        )
        yield parse_objects(list(objects), records=records, quarantine=quarantine, omitted=omitted)


def _for_spark(parsed_objects):
    """_parsed_objects' rows in batches of up to MAX_ROWS_PER_BATCH rows: Spark takes a few large batches faster
    than many small ones, and reads each into off-heap memory whole (a batch of a few big objects' records ran it
    out)."""
    for rows in parsed_objects:
        if rows:
            parsed = pa.concat_batches(rows)
            for offset in range(0, parsed.num_rows, MAX_ROWS_PER_BATCH):
                yield parsed.slice(offset, MAX_ROWS_PER_BATCH)


def records_and_objects(batches, omitted: frozenset[str] = frozenset()):
    """mapInArrow body of ingest's first pass: every record and every object row (parsed_schema(omitted))."""
    yield from _for_spark(_parsed_objects(batches, records=True, quarantine=False, omitted=omitted))


def record_and_object_batches(batches, omitted: frozenset[str] = frozenset()):
    """records_and_objects as the parse makes them, for a writer of its own rather than Spark: batches of one
    row_kind each, of any size, with no copy made to batch them."""
    for rows in _parsed_objects(batches, records=True, quarantine=False, omitted=omitted):
        yield from rows


def quarantine_and_objects(batches, omitted: frozenset[str] = frozenset()):
    """mapInArrow body of the pass over objects with bad lines: their quarantined lines and object rows."""
    yield from _for_spark(_parsed_objects(batches, records=False, quarantine=True, omitted=omitted))

"""Parses one flow-log object (gzip text or Parquet) into typed Arrow rows.

Runs inside Spark's Python workers (mapInArrow), one object at a time, fully
vectorized with pyarrow.compute. Every data line ends up in exactly one of two
places: a record row or a quarantine row with the reason. An object that cannot
be decoded at all gives one quarantine row and no records, never a partial read.
"""

from __future__ import annotations

import functools
import gzip
import re
import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowlake.contracts import field_catalogue
from flowlake.layout import parse_object_name

ROW_QUARANTINE = "quarantine"
ROW_OBJECT = "object"

STATUS_OK = "ok"
STATUS_PARTIAL = "partial"
STATUS_EMPTY = "empty"
STATUS_CORRUPT = "corrupt"

# A value above 2^31 in start/end is milliseconds (some exports carry them).
_MILLISECONDS_ABOVE = 2**31
_HEADER_FIELD = re.compile(r"^[a-z][a-z0-9-]*$")
_ARROW_TYPES = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64()}
# Most digits a value of the column type can have (an int's 10 digits are checked against int32's range
# after the cast); 18 keeps every bigint below int64's overflow.
_MAX_DIGITS = {"int": 10, "bigint": 18}
_INT32_MAX = 2**31 - 1
EXTRA_FIELDS_TYPE = pa.map_(pa.string(), pa.string())
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")


_OBJECT_FIELDS = (
    pa.field("source_file", pa.string()),
    pa.field("line_number", pa.int32()),
    pa.field("key_account_id", pa.string()),
    pa.field("key_region", pa.string()),
    pa.field("flow_log_id", pa.string()),
    pa.field("object_time", TIMESTAMP_TYPE),
)


@functools.cache
def record_schema() -> pa.Schema:
    """A record row: every catalogue field, the unknown ones, and where the record came from."""
    catalogue = [pa.field(f.column, _ARROW_TYPES[f.type]) for f in field_catalogue()]
    return pa.schema([*_OBJECT_FIELDS, *catalogue, pa.field("extra_fields", EXTRA_FIELDS_TYPE)])


@functools.cache
def outcome_schema() -> pa.Schema:
    """A quarantine row or an object row (row_kind says which): what became of each object and bad line."""
    return pa.schema(
        [
            pa.field("row_kind", pa.string()),
            *_OBJECT_FIELDS,
            pa.field("raw_line", pa.string()),
            pa.field("reason", pa.string()),
            pa.field("file_format", pa.string()),
            pa.field("log_format", pa.string()),
            pa.field("size_bytes", pa.int64()),
            pa.field("lines_read", pa.int64()),
            pa.field("records_written", pa.int64()),
            pa.field("lines_quarantined", pa.int64()),
            pa.field("status", pa.string()),
        ]
    )


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
class _Parsed:
    columns: dict[str, pa.Array]  # catalogue column -> typed values of good rows
    extra_fields: pa.Array
    line_numbers: pa.Array  # of good rows
    bad_line_numbers: pa.Array
    bad_lines: pa.Array
    bad_reasons: pa.Array
    lines_read: int
    log_format: str


@dataclass
class ParsedObject:
    records: pa.RecordBatch | None  # record_schema
    outcomes: list[pa.RecordBatch]  # outcome_schema: its quarantine rows, then its one object row


def parse_object(uri: str, content: bytes, size_bytes: int | None = None, with_records: bool = True) -> ParsedObject:
    """Everything one object yields. An object that cannot be decoded yields no records at all.

    with_records=False skips building the records' batch, for a pass that only wants the outcomes.
    """
    name = uri.rsplit("/", 1)[-1]
    key_fields = parse_object_name(name)
    if key_fields is None:
        raise ValueError(f"{uri} is not a VPC flow-log object name")
    constants = {
        "source_file": uri,
        "key_account_id": key_fields["account_id"],
        "key_region": key_fields["region"],
        "flow_log_id": key_fields["flow_log_id"],
        "object_time": key_fields["object_time"],
        "file_format": key_fields["file_format"],
    }
    size = len(content) if size_bytes is None else size_bytes
    try:
        parsed = _parse_parquet(content) if key_fields["file_format"] == "parquet" else _parse_text(_gunzip(content))
    except ObjectError as error:
        outcome = functools.partial(_batch, outcome_schema(), 1, constants, reason=pa.array([str(error)]))
        return ParsedObject(
            records=None,
            outcomes=[
                outcome(row_kind=ROW_QUARANTINE),
                outcome(
                    row_kind=ROW_OBJECT, size_bytes=size, records_written=0, lines_quarantined=1, status=STATUS_CORRUPT
                ),
            ],
        )

    records_count = len(parsed.line_numbers)
    bad_count = len(parsed.bad_line_numbers)
    records = None
    if records_count and with_records:
        records = _batch(
            record_schema(),
            records_count,
            constants,
            line_number=parsed.line_numbers,
            extra_fields=parsed.extra_fields,
            **parsed.columns,
        )
    outcomes = []
    if bad_count:
        outcomes.append(
            _batch(
                outcome_schema(),
                bad_count,
                constants,
                row_kind=ROW_QUARANTINE,
                line_number=parsed.bad_line_numbers,
                raw_line=parsed.bad_lines,
                reason=parsed.bad_reasons,
            )
        )
    if parsed.lines_read == 0:
        status = STATUS_EMPTY
    elif bad_count:
        status = STATUS_PARTIAL
    else:
        status = STATUS_OK
    outcomes.append(
        _batch(
            outcome_schema(),
            1,
            constants,
            row_kind=ROW_OBJECT,
            size_bytes=size,
            log_format=parsed.log_format,
            lines_read=parsed.lines_read,
            records_written=records_count,
            lines_quarantined=bad_count,
            status=status,
        )
    )
    return ParsedObject(records=records, outcomes=outcomes)


def _batch(schema: pa.Schema, length: int, constants: dict, **columns) -> pa.RecordBatch:
    """A batch of schema: given arrays, repeated scalars, NULL elsewhere."""
    values = {**constants, **columns}
    arrays = []
    for field in schema:
        value = values.get(field.name)
        if value is None:
            arrays.append(pa.nulls(length, field.type))
        elif isinstance(value, (pa.Array, pa.ChunkedArray)):
            arrays.append(value.cast(field.type) if value.type != field.type else value)
        else:
            arrays.append(pa.repeat(pa.scalar(value, field.type), length))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _gunzip(content: bytes) -> str:
    try:
        raw = gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as error:
        raise ObjectError(f"not a valid gzip object: {error}") from None
    return raw.decode("utf-8", errors="replace")


def _split_lines(text: str) -> pa.Array:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text.endswith("\n"):
        text = text[:-1]
    if not text:
        return pa.array([], pa.string())
    return pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten().cast(pa.string())


def _parse_text(text: str) -> _Parsed:
    lines = _split_lines(text)
    if len(lines) == 0:
        raise ObjectError("empty object: no header line")
    header = lines[0].as_py().strip()
    names = header.split()
    if not names or not all(_HEADER_FIELD.match(n) for n in names):
        raise ObjectError(f"first line is not a flow-log header: {header[:200]!r}")
    if len(set(names)) != len(names):
        raise ObjectError(f"header names a field twice: {header!r}")
    data = lines.slice(1)
    tokens = pc.split_pattern(data, " ")
    counts = pc.list_value_length(tokens).to_numpy(zero_copy_only=False)
    width = len(names)
    well_formed = counts == width
    reasons = np.full(len(data), None, dtype=object)
    reasons[~well_formed] = [
        "blank line" if not line else f"expected {width} fields, found {count}"
        for line, count in zip(data.filter(pa.array(~well_formed)).to_pylist(), counts[~well_formed], strict=True)
    ]
    flat = tokens.flatten() if well_formed.all() else tokens.filter(pa.array(well_formed)).flatten()
    values = {name: flat.take(pa.array(np.arange(i, len(flat), width, dtype=np.int64))) for i, name in enumerate(names)}
    return _type_columns(
        values,
        names,
        good_index=np.flatnonzero(well_formed),
        reasons=reasons,
        raw_lines=data,
        first_line_number=2,  # the header is line 1
    )


def _parse_parquet(content: bytes) -> _Parsed:
    try:
        table = pq.read_table(pa.BufferReader(content))
    except (pa.ArrowException, OSError) as error:
        raise ObjectError(f"not a valid Parquet object: {error}") from None
    names = table.column_names
    if len(set(names)) != len(names):
        raise ObjectError(f"Parquet columns name a field twice: {' '.join(names)!r}")
    values = {name: table.column(name).combine_chunks() for name in names}
    return _type_columns(
        values,
        names,
        good_index=np.arange(table.num_rows),
        reasons=np.full(table.num_rows, None, dtype=object),
        raw_lines=None,
        first_line_number=1,
    )


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
        is_number = pc.and_(pc.ascii_is_decimal(text), pc.less_equal(pc.binary_length(text), _MAX_DIGITS[field.type]))
        bad = pc.invert(pc.or_kleene(pc.equal(text, "-"), is_number))
        numbers = pc.cast(pc.if_else(is_number, text, pa.scalar(None, pa.string())), pa.int64())
    if field.type == "int":
        bad = pc.or_kleene(bad, pc.greater(numbers, _INT32_MAX))
    if field.column in ("start", "end"):
        numbers = _as_seconds(numbers)
    return numbers, pc.fill_null(bad, False).to_numpy(zero_copy_only=False)


def _type_columns(
    values: dict[str, pa.Array],
    names: list[str],
    good_index: np.ndarray,
    reasons: np.ndarray,
    raw_lines: pa.Array | None,
    first_line_number: int,
) -> _Parsed:
    """Types the values of the well-formed rows (good_index: their positions among all rows, whose
    reasons so far are in reasons); a row with a value not of its field's type is quarantined.

    raw_lines: every row as read, or None (Parquet): a quarantined row is then shown as its values.
    """
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
                    reasons[row] = f"{name} is not a valid {field.type}: {value!r}"
    extra = _extra_fields(values, unknown, len(good_index))
    is_bad = np.not_equal(reasons, None)
    keep = ~is_bad[good_index]
    bad_rows = np.flatnonzero(is_bad)
    keep_mask = pa.array(keep)
    line_numbers = pa.array(np.arange(first_line_number, len(reasons) + first_line_number, dtype=np.int32))
    return _Parsed(
        columns={column: array.filter(keep_mask) for column, array in typed.items()},
        extra_fields=extra.filter(keep_mask),
        line_numbers=line_numbers.take(pa.array(good_index[keep], type=pa.int64())),
        bad_line_numbers=line_numbers.take(pa.array(bad_rows, type=pa.int64())),
        bad_lines=raw_lines.take(pa.array(bad_rows, type=pa.int64()))
        if raw_lines is not None
        else _rendered_rows(values, names, bad_rows),
        bad_reasons=pa.array(reasons[bad_rows].tolist(), pa.string()),
        lines_read=len(reasons),
        log_format=" ".join(names),
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


def _parsed_objects(batches, with_records: bool):
    """Each object of binaryFile batches (path, length, content), parsed."""
    for batch in batches:
        paths = batch.column("path").to_pylist()
        lengths = batch.column("length").to_pylist()
        contents = batch.column("content")
        for i, (path, length) in enumerate(zip(paths, lengths, strict=True)):
            yield parse_object(path, contents[i].as_py(), length, with_records)


def record_batches(batches):
    """mapInArrow body: the records of every object (record_schema)."""
    for parsed in _parsed_objects(batches, with_records=True):
        if parsed.records is not None:
            yield parsed.records


def outcome_batches(batches):
    """mapInArrow body: the quarantine and object rows of every object (outcome_schema)."""
    for parsed in _parsed_objects(batches, with_records=False):
        yield from parsed.outcomes

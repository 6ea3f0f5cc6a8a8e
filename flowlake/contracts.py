"""The data contracts that travel with the package: flowlake/schemas/ (the flow-log field catalogue and
table schemas), flowlake/expectations/ and flowlake/queries/.

Read through importlib.resources, never through a file path, so that a driver or
an executor that imports flowlake from the zip spark-submit ships finds them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

import yaml
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T


def contract_file(*parts: str) -> Traversable:
    """A file or folder of the package's contracts, e.g. contract_file("schemas", "flow_logs", "schema.yaml")."""
    return resources.files("flowlake").joinpath(*parts)


def contract_files(folder: str, suffix: str) -> dict[str, Traversable]:
    """The files of a contracts folder with that suffix, by name without it, sorted."""
    found = [item for item in contract_file(folder).iterdir() if item.is_file() and item.name.endswith(suffix)]
    return {item.name.removesuffix(suffix): item for item in sorted(found, key=lambda item: item.name)}


@dataclass(frozen=True)
class Field:
    name: str  # as in a format's header, e.g. "log-status"
    column: str  # as in the tables, e.g. "log_status"
    type: str  # Spark SQL type: string, int or bigint
    version: int
    description: str


@dataclass(frozen=True)
class TableSchema:
    table: str
    description: str
    partition_by: tuple[str, ...]
    columns: tuple[dict, ...]
    properties: dict[str, str]  # Delta table properties, set when the table is created
    # Numbers that rise by small steps in the order the table's files keep rows: stored as deltas
    # (Parquet's DELTA_BINARY_PACKED) rather than in a dictionary.
    delta_encoded: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def struct(self) -> T.StructType:
        return T.StructType([T.StructField(c["name"], parse_type(c["type"]), nullable=True) for c in self.columns])


def conform(df: DataFrame, table: str, present: list[str] | None = None) -> DataFrame:
    """The table's columns, in its documented order and types: the schema contract of a transform.

    present: of those, only these (a Delta table reads the others as NULL).
    """
    fields = table_schema(table).struct().fields
    return df.select([F.col(c.name).cast(c.dataType) for c in fields if present is None or c.name in present])


@cache
def parse_type(spark_sql_type: str) -> T.DataType:
    # Parsing asks the JVM, which costs more than the schema's every other step: a type is parsed once.
    return T._parse_datatype_string(spark_sql_type)


@cache
def field_catalogue() -> tuple[Field, ...]:
    raw = yaml.safe_load(contract_file("schemas", "flow_log_fields.yaml").read_text())["fields"]
    return tuple(
        Field(
            name=f["name"],
            column=f["name"].replace("-", "_"),
            type=f["type"],
            version=int(f["version"]),
            description=f["description"],
        )
        for f in raw
    )


@cache
def table_schema(table: str) -> TableSchema:
    raw = yaml.safe_load(contract_file("schemas", table, "schema.yaml").read_text())
    return TableSchema(
        table=raw["table"],
        description=raw["description"],
        partition_by=tuple(raw.get("partition_by") or ()),
        properties={str(k): str(v) for k, v in (raw.get("properties") or {}).items()},
        columns=tuple(raw["columns"]),
        delta_encoded=tuple(raw.get("delta_encoded") or ()),
    )


def table_names() -> list[str]:
    """Every table that has a contract in schemas/, sorted."""
    return sorted(item.name for item in contract_file("schemas").iterdir() if item.joinpath("schema.yaml").is_file())

"""Spark SQL over the lake, every table registered by its name; and the named queries in queries/.

flowlake sql --lake LAKE "SELECT hour, sum(bytes) FROM traffic_hourly GROUP BY hour"
flowlake sql --lake LAKE --query top_talkers_bytes --param start=2026-11-01T00:00:00Z --param end=2026-11-02T00:00:00Z
flowlake sql --list
"""

from __future__ import annotations

import argparse
import json
import os
import re
from importlib.resources.abc import Traversable

from pyspark.errors import ParseException
from pyspark.sql import DataFrame, SparkSession

from flowlake.contracts import contract_files
from flowlake.lake import lake_tables
from flowlake.window import name_value, parse_utc, timestamps_as_text

DEFAULT_LAKE = os.environ.get("FLOWLAKE_LAKE", "sample/lake")
_PARAMETER = re.compile(r"(?<!:):([a-z_]+)\b")
_TIME_PARAMETERS = {"start", "end"}


def named_queries() -> dict[str, Traversable]:
    return contract_files("queries", ".sql")


def query_description(query: Traversable) -> str:
    first = query.read_text().splitlines()[0]
    return first.removeprefix("--").strip()


def query_parameters(sql: str) -> list[str]:
    """Named parameter markers (:name) of a query, in order of first use."""
    return list(dict.fromkeys(_PARAMETER.findall(sql)))


def register_tables(spark: SparkSession, lake: str) -> list[str]:
    """A temporary view per Delta table directly under the lake, named after its folder."""
    tables = lake_tables(spark, lake)
    for name, path in tables.items():
        spark.read.format("delta").load(path).createOrReplaceTempView(name)
    return list(tables)


def named_query(name: str) -> Traversable:
    queries = named_queries()
    if name not in queries:
        raise ValueError(f"no query named {name}; known: {', '.join(queries)}")
    return queries[name]


def bound_query(name: str, parameters: dict[str, str]) -> str:
    """The named query with its parameters bound; a ValueError naming the parameters missing, or one whose value
    is not of its kind, before anything runs."""
    sql = named_query(name).read_text()
    missing = [p for p in query_parameters(sql) if p not in parameters]
    if missing:
        raise ValueError(f"query {name} needs --param {' --param '.join(m + '=...' for m in missing)}")
    return bind_parameters(sql, parameters)


def run_named_query(spark: SparkSession, name: str, parameters: dict[str, str]) -> DataFrame:
    return spark.sql(bound_query(name, parameters))


def sql_literal(name: str, value: str) -> str:
    if name in _TIME_PARAMETERS:
        try:
            moment = parse_utc(value)
        except ValueError:
            raise ValueError(f"--param {name}={value!r}: not a time (ISO 8601, e.g. 2026-11-01T10:00:00Z)") from None
        return f"TIMESTAMP '{moment.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bind_parameters(sql: str, parameters: dict[str, str]) -> str:
    """Substitutes :name markers with literals.

    spark.sql(query, args=...) leaves markers unbound when Delta's SQL
    extension is installed (Spark 4.2, Delta 4.4), so binding happens here.
    """
    return _PARAMETER.sub(lambda m: sql_literal(m.group(1), parameters[m.group(1)]), sql)


def refusal_of_non_query(spark: SparkSession, statement: str) -> str | None:
    """Why the statement is refused, None when it is one query (SELECT, WITH ... SELECT, VALUES, TABLE: Spark's
    grammar of a query). `flowlake sql` reads the lake: a statement that writes it (DELETE, INSERT, MERGE, DROP,
    VACUUM, RESTORE, ALTER ...) would bypass the jobs' writer lease and the audit of remove-objects, retention
    and erase. Parsing runs nothing."""
    try:
        spark._jsparkSession.sessionState().sqlParser().parseQuery(statement)
    except ParseException as error:
        return (
            "not one query: flowlake sql runs a SELECT (WITH ... SELECT, VALUES, TABLE) and only reads the lake; "
            "its tables change through flowlake's jobs (ingest, aggregate, remove-objects, retention, erase, "
            f"compact). {str(error).strip()}"
        )
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake sql", description=__doc__.split("\n\n")[0])
    parser.add_argument("statement", nargs="?", help="a Spark SQL statement over the lake's tables")
    parser.add_argument("--lake", default=DEFAULT_LAKE, help="local folder or s3a:// URI of the lake")
    parser.add_argument("--query", help="run a named query from queries/ instead of a statement")
    parser.add_argument(
        "--param", action="append", type=name_value, default=[], metavar="NAME=VALUE", help="a named query's parameter"
    )
    parser.add_argument("--list", action="store_true", help="list the named queries and exit")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--limit", type=int, default=50, help="rows to print")
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        for name, path in named_queries().items():
            params = ", ".join(query_parameters(path.read_text()))
            print(f"{name:24} {query_description(path)}  [{params}]")
        return 0
    if bool(args.statement) == bool(args.query):
        raise SystemExit("give either a SQL statement or --query NAME (see --list)")
    if args.query:
        try:
            query = bound_query(args.query, dict(args.param))
        except ValueError as error:
            parser.error(str(error))
    from flowlake.spark_session import get_spark

    spark = spark or get_spark("flowlake-sql")
    statement = (args.statement or "").strip().rstrip(";").rstrip()
    if args.statement:
        refusal = refusal_of_non_query(spark, statement)
        if refusal:
            parser.error(refusal)
    register_tables(spark, args.lake)
    result = spark.sql(query if args.query else statement)
    if args.format == "json":
        for row in timestamps_as_text(result).limit(args.limit).collect():
            print(json.dumps(row.asDict(recursive=True), default=str))
    else:
        result.show(args.limit, truncate=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

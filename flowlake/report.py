"""A short plain-text report of a window: what was ingested, who talked, what was rejected, the
security findings, what the NAT gateways cost, SKIPDATA/NODATA, and the data-quality verdict.

    flowlake report --lake LAKE --start ... --end ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake.layout import normalize_uri
from flowlake.security import severity_rank
from flowlake.sql import DEFAULT_LAKE, register_tables, run_named_query
from flowlake.window import Window, add_window_arguments, job_arguments, timestamps_as_text

TOP = 5


def _table(title: str, df: DataFrame | None, limit: int = TOP) -> list[str]:
    lines = [f"\n{title}"]
    if df is None:
        return lines + ["  (table not written yet)"]
    rows = timestamps_as_text(df, "yyyy-MM-dd HH:mmXXX").limit(limit).collect()
    if not rows:
        return lines + ["  (none)"]
    columns = df.columns
    cells = [[str(v) for v in columns]] + [[_format(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return lines + ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _in_window(spark: SparkSession, tables: list[str], table: str, column: str, window: Window) -> DataFrame | None:
    if table not in tables:
        return None
    return spark.table(table).where(window.predicate(column))


def standing_runs(results: DataFrame) -> list[str]:
    """The validation runs whose verdicts stand, in the order they ran: each but those a later run validated the
    whole window of again. A window validated hour by hour (the hourly DAG) has one run standing per hour."""
    # Microseconds since 1970: Python would read timestamps in the host's zone, where an hour can repeat.
    runs = (
        results.select("run_id", *[F.unix_micros(c).alias(c) for c in ("validated_at", "window_start", "window_end")])
        .distinct()
        .collect()
    )
    return [
        run.run_id
        for run in sorted(runs, key=lambda r: (r.validated_at, r.run_id))
        if not any(
            later.validated_at > run.validated_at
            and later.window_start <= run.window_start
            and later.window_end >= run.window_end
            for later in runs
        )
    ]


def build_report(spark: SparkSession, lake: str, window: Window, data_docs: str | None = None) -> str:
    tables = register_tables(spark, lake)
    bounds = {"start": window.start.isoformat(), "end": window.end.isoformat()}
    lines = [f"flowlake report for [{bounds['start']}, {bounds['end']})  lake: {normalize_uri(lake)}"]

    objects = _in_window(spark, tables, "source_objects", "object_time", window)
    if objects is not None:
        lines += _table(
            "Ingested",
            objects.agg(
                F.count("*").alias("objects"),
                F.sum("lines_read").alias("lines_read"),
                F.sum("records_written").alias("records"),
                F.sum("lines_quarantined").alias("quarantined"),
                F.count(F.when(F.col("status") == "corrupt", 1)).alias("corrupt_objects"),
            ),
        )
    if "flow_logs" in tables:
        lines += _table("Top talkers (bytes)", run_named_query(spark, "top_talkers_bytes", bounds))
    rejects = _in_window(spark, tables, "rejects_hourly", "hour", window)
    lines += _table(
        "Top rejected destination ports",
        None
        if rejects is None
        else rejects.groupBy("dstport")
        .agg(F.sum("records").alias("records"), F.sum("packets").alias("packets"), F.sum("bytes").alias("bytes"))
        .orderBy(F.desc("records"), "dstport"),
    )
    findings = _in_window(spark, tables, "security_findings", "hour", window)
    lines += _table(
        "Security findings by type and severity",
        None
        if findings is None
        else findings.groupBy("finding_type", "severity")
        .agg(F.count("*").alias("findings"), F.countDistinct("hour").alias("hours"))
        .orderBy("finding_type", F.desc(severity_rank("severity"))),
        limit=20,
    )
    lines += _table(
        "Security findings, most severe first",
        None
        if findings is None
        else findings.orderBy(F.desc(severity_rank("severity")), F.desc("factor"), "hour", "finding_id").select(
            "hour",
            "finding_type",
            "severity",
            F.coalesce("interface_id", "resource_id").alias("resource"),
            "srcaddr",
            F.col("dstport").cast("string").alias("dstport"),  # a port, not a quantity: no thousands separator
            "description",
        ),
        limit=10,
    )
    nat = _in_window(spark, tables, "nat_gateway_hourly", "hour", window)
    lines += _table(
        "NAT gateway processing by hour",
        None
        if nat is None
        else nat.groupBy("hour")
        .agg(
            F.sum("bytes_in_from_source").alias("bytes_from_vpc"),
            F.sum("bytes_in_from_destination").alias("bytes_from_outside"),
            F.round(F.sum("estimated_cost_usd"), 4).alias("cost_usd"),
        )
        .orderBy("hour"),
        limit=48,
    )
    statuses = _in_window(spark, tables, "log_status_hourly", "hour", window)
    lines += _table(
        "SKIPDATA and NODATA",
        None
        if statuses is None
        else statuses.where(F.col("log_status").isin("SKIPDATA", "NODATA"))
        .groupBy("log_status")
        .agg(F.sum("records").alias("records"), F.countDistinct("interface_id").alias("interfaces"))
        .orderBy("log_status"),
    )
    results = _in_window(spark, tables, "dq_results", "window_start", window)
    if results is not None:
        run_ids = standing_runs(results)
        if run_ids:
            runs = results.where(F.col("run_id").isin(run_ids))
            lines += _table(
                f"Data quality (run {run_ids[0]})"
                if len(run_ids) == 1
                else f"Data quality ({len(run_ids)} runs: {', '.join(run_ids)})",
                runs.groupBy("severity")
                .agg(F.count("*").alias("expectations"), F.count(F.when(~F.col("success"), 1)).alias("failed"))
                .orderBy("severity"),
            )
            lines += _table(
                "Failed expectations",
                runs.where(~F.col("success"))
                .select("window_start", "severity", "suite", "expectation", "column", "observed_value")
                .orderBy("window_start", "severity", "suite"),
                limit=20,
            )
    lines.append(f"\nTables: {', '.join(tables)} under {normalize_uri(lake)}")
    lines.append('Query them: .venv/bin/flowlake sql --lake LAKE "SELECT ..."  (named queries: flowlake sql --list)')
    if data_docs:
        lines.append(f"Data Docs: {Path(data_docs) / 'index.html'}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", default=DEFAULT_LAKE, help="local folder or s3a:// URI of the lake")
    parser.add_argument("--data-docs", help="where the Data Docs were built, to point readers at them")
    add_window_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    from flowlake.spark_session import get_spark

    args, window = job_arguments(build_parser(), argv)
    print(build_report(spark or get_spark("flowlake-report"), args.lake, window, args.data_docs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

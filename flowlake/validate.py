"""Validate: the data-quality suites of expectations/ on a window -> dq_results, Data Docs, alerts.

Checks the schema of every table, the domains and ranges of flow_logs, that
every object of the window was read and every hour delivered, that interfaces
keep reporting, and that the tables reconcile with each other (see
expectations/README.md). Exits 1 when a critical expectation fails, else 0.

    flowlake validate --lake LAKE --start 2026-11-01T10:00:00Z --end 2026-11-01T12:00:00Z \
        [--data-docs DIR] [--run-id ID] [--nat-inventory FILE] [--param NAME=VALUE ...]
    spark-submit jobs/validate.py --lake ... (same arguments)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from flowlake import alerts, retention
from flowlake.contracts import table_schema
from flowlake.dq import checks as dq
from flowlake.dq import gx_runner
from flowlake.lake import read_pinned, require_lake, table_path, write_table_slice
from flowlake.layout import local_path, normalize_uri
from flowlake.nat_inventory import resolve as resolve_nat_inventory
from flowlake.window import Window, add_window_arguments, job_arguments, name_value, require_whole_hours

log = logging.getLogger("flowlake.validate")

DQ_RESULTS = "dq_results"
# Data Docs are for reading recent runs; the whole history is in dq_results.
DATA_DOCS_DAYS = 30
CRITICAL, WARNING = "critical", "warning"
EXIT_PASSED, EXIT_FAILED = 0, 1
# run_id goes into a replaceWhere predicate as a string literal. Every run ID Airflow accepts passes: those it
# makes, and those a user gives (its allowed_run_id_pattern, ^[A-Za-z0-9_.~:+-]+$ by default).
_RUN_ID = re.compile(r"^[A-Za-z0-9_.~:+\- ]+$")


def checked_run_id(run_id: str) -> str:
    """Airflow's run IDs (scheduled__2026-11-01T10:00:00+00:00) pass; a quote cannot."""
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id {run_id!r}: letters, digits, space and _ . ~ : + - only")
    return run_id


@dataclass(frozen=True)
class Report:
    run_id: str
    window: Window
    outcomes: list[gx_runner.Outcome]
    data_docs: Path

    def failed(self, severity: str) -> list[gx_runner.Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == severity]

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed(CRITICAL) else EXIT_PASSED


def read_tables(spark: SparkSession, lake: str) -> dict[str, dq.LakeTable]:
    """The lake's tables as of when they are read: every check, whenever it runs, sees them so, whatever a run
    commits meanwhile."""
    return {
        table: dq.conformed(spark, table, read_pinned(spark, table_path(lake, table))) for table in dq.CONTRACT_TABLES
    }


def result_rows(spark: SparkSession, report: Report, validated_at: datetime) -> DataFrame:
    run = {
        "run_id": report.run_id,
        "validated_at": validated_at,
        "window_start": report.window.start,
        "window_end": report.window.end,
    }
    schema = table_schema(DQ_RESULTS).struct()
    rows = [{**run, **asdict(outcome)} for outcome in report.outcomes]
    return spark.createDataFrame([tuple(row[f.name] for f in schema.fields) for row in rows], schema)


def write_results(results: DataFrame, lake: str, run_id: str) -> None:
    write_table_slice(results, lake, DQ_RESULTS, f"run_id = '{run_id}'")


def _name(outcome: gx_runner.Outcome) -> str:
    return f"{outcome.suite} / {outcome.expectation}({outcome.column or ''}) on {outcome.batch}"


def alert_message(report: Report) -> tuple[str, list[str]]:
    """Subject and lines: the window, then each failed expectation with what it observed."""
    critical, warning = report.failed(CRITICAL), report.failed(WARNING)
    window = f"{report.window.start:%Y-%m-%dT%H:%MZ} to {report.window.end:%Y-%m-%dT%H:%MZ}"
    subject = (
        f"flowlake data quality {'FAILED' if critical else 'warnings'} for {window}: "
        f"{len(critical)} critical, {len(warning)} warning expectation(s) failed"
    )
    lines = [
        f"[{o.severity}] {_name(o)}: {o.description or ''} - observed {o.observed_value}" for o in critical + warning
    ]
    lines.append(f"run {report.run_id}; Data Docs: {report.data_docs}")
    return subject, lines


def send_alert(report: Report, alert_on: str) -> tuple[list[str], list[str]]:
    """Alerts when a critical expectation failed (or, with alert_on=warning, any).

    Returns the targets reached and why the others were not, for the run's summary.
    """
    if not (report.failed(CRITICAL) or (alert_on == WARNING and report.failed(WARNING))):
        return [], []
    try:
        return alerts.send_alert(*alert_message(report)), []
    except alerts.AlertDeliveryError as error:
        # The exit code already says whether the run failed; a lost alert must not hide the results written.
        log.error("alert not delivered: %s", error)
        return error.reached, error.failures


def run_validate(
    spark: SparkSession,
    lake: str,
    window: Window,
    *,
    data_docs_dir: Path,
    run_id: str,
    validated_at: datetime,
    thresholds: dq.Thresholds,
    nat_inventory: str | None = None,
    data_docs_days: int = DATA_DOCS_DAYS,
    records_kept_from: datetime | None = None,
) -> Report:
    """Runs every check, writes the results to dq_results and adds them to the Data Docs.

    The Data Docs keep the runs validated in the last data_docs_days days. records_kept_from: the start of the
    day from which retention keeps flow_logs' records (None: it keeps them all); see dq.build_checks.
    """
    require_whole_hours(window)
    checked_run_id(run_id)
    lake = normalize_uri(lake)
    started = time.monotonic()
    nat_gateways, nat_source = resolve_nat_inventory(spark, lake, nat_inventory)
    log.info("NAT gateway inventory: %s", nat_source)
    context = gx_runner.open_context(data_docs_dir)
    log.info("Great Expectations project in %s opened after %.1fs", data_docs_dir, time.monotonic() - started)
    run_identifier = gx_runner.run_identifier(run_id, validated_at)
    outcomes, stored = [], []
    tables = read_tables(spark, lake)
    with dq.window_checks(spark, tables, nat_gateways, window, thresholds, records_kept_from) as checks:
        checked = gx_runner.run_checks(context, checks, thresholds.suite_parameters(), run_identifier)
        for check, check_outcomes, stored_as in checked:
            outcomes += check_outcomes
            stored.append(stored_as)
            log.info("%s on %s judged after %.1fs", check.suite, check.batch, time.monotonic() - started)
    expired = gx_runner.prune_results(context, validated_at - timedelta(days=data_docs_days))
    if expired:
        log.info("Data Docs: %d results of runs older than %d days removed", expired, data_docs_days)
    docs_started = time.monotonic()
    report = Report(run_id, window, outcomes, gx_runner.build_data_docs(context, stored))
    log.info("Data Docs built in %.1fs: %s", time.monotonic() - docs_started, report.data_docs)
    results_started = time.monotonic()
    write_results(result_rows(spark, report, validated_at), lake, run_id)
    log.info("%d results written to %s in %.1fs", len(outcomes), DQ_RESULTS, time.monotonic() - results_started)
    log.info(
        "validated [%s, %s): %d expectations, %d critical and %d warning failed, in %.1fs",
        window.start.isoformat(),
        window.end.isoformat(),
        len(outcomes),
        len(report.failed(CRITICAL)),
        len(report.failed(WARNING)),
        time.monotonic() - started,
    )
    return report


def default_data_docs_dir(lake: str) -> Path:
    """FLOWLAKE_DATA_DOCS, else data_docs beside a local lake (or in the working folder for a remote one)."""
    if os.environ.get("FLOWLAKE_DATA_DOCS"):
        return Path(os.environ["FLOWLAKE_DATA_DOCS"])
    lake_uri = normalize_uri(lake)
    if lake_uri.startswith("file:"):
        return Path(local_path(lake_uri)).parent / "data_docs"
    return Path("data_docs").resolve()


def _days(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} (or FLOWLAKE_DATA_DOCS_DAYS) is not a whole number of days, 0 or more"
        )
    return int(text)


def add_validation_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a validation, for validate and for the jobs that end with one (--lake and the window aside)."""
    parser.add_argument(
        "--data-docs",
        type=Path,
        help="folder of the Great Expectations project and its HTML Data Docs "
        "(default: FLOWLAKE_DATA_DOCS, else data_docs beside the lake)",
    )
    parser.add_argument(
        "--data-docs-days",
        type=_days,
        # A string, which argparse gives to _days when the option is not given: a bad value is a usage error.
        default=os.environ.get("FLOWLAKE_DATA_DOCS_DAYS", str(DATA_DOCS_DAYS)),
        help=f"Data Docs keep the runs of these last days; dq_results keeps all "
        f"(default: FLOWLAKE_DATA_DOCS_DAYS, else {DATA_DOCS_DAYS})",
    )
    parser.add_argument(
        "--run-id",
        type=checked_run_id,
        help="identifies this run in dq_results; a rerun with the same ID replaces its rows (default: manual__<time>)",
    )
    parser.add_argument(
        "--param",
        action="append",
        type=name_value,
        default=[],
        metavar="NAME=VALUE",
        help="override a threshold of expectations/parameters.yaml for this run",
    )
    parser.add_argument(
        "--alert-on",
        choices=(CRITICAL, WARNING),
        default=CRITICAL,
        help="alert when a critical expectation fails (default), or when any does",
    )


def checked_thresholds(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dq.Thresholds:
    """The thresholds with the run's --param overrides; an unknown parameter is a usage error."""
    try:
        return dq.Thresholds.load(dict(args.param))
    except ValueError as error:
        parser.error(str(error))


def validate_and_alert(
    spark: SparkSession,
    args: argparse.Namespace,
    window: Window,
    thresholds: dq.Thresholds,
    validated_at: datetime,
) -> dict:
    """Validates the window with the options of add_validation_arguments, alerts, and returns the summary."""
    run_id = args.run_id or f"manual__{validated_at:%Y-%m-%dT%H:%M:%S.%f}"
    require_lake(spark, args.lake)  # a mistyped --lake has no tables to judge: no verdict, no alert
    kept_from = retention.flow_logs_state(spark, normalize_uri(args.lake)).kept_from
    # The hours before keep the figures validated when they were written.
    part, kept = retention.with_records(window, kept_from)
    retention.warn_of_kept_hours(
        window, part, kept, "not validated again", "; their figures were validated when they were written"
    )
    summary = {"run_id": run_id, "window_start": window.start.isoformat(), "window_end": window.end.isoformat(), **kept}
    if part is None:
        return {
            **summary,
            "expectations": 0,
            "failed_critical": [],
            "failed_warning": [],
            "data_docs": None,
            "alerted": [],
            "alert_failures": [],
            "exit_code": EXIT_PASSED,
        }
    report = run_validate(
        spark,
        args.lake,
        part,
        data_docs_dir=args.data_docs or default_data_docs_dir(args.lake),
        run_id=run_id,
        validated_at=validated_at,
        thresholds=thresholds,
        nat_inventory=args.nat_inventory,
        data_docs_days=args.data_docs_days,
        records_kept_from=kept_from,
    )
    alerted, alert_failures = send_alert(report, args.alert_on)
    return {
        **summary,
        "expectations": len(report.outcomes),
        "failed_critical": [_name(o) for o in report.failed(CRITICAL)],
        "failed_warning": [_name(o) for o in report.failed(WARNING)],
        "data_docs": str(report.data_docs),
        "alerted": alerted,
        "alert_failures": alert_failures,
        "exit_code": report.exit_code,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake validate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    add_window_arguments(parser)
    parser.add_argument(
        "--nat-inventory",
        help="NAT gateway inventory file aggregate was given (default: the lake's nat_gateways table)",
    )
    add_validation_arguments(parser)
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    from flowlake.spark_session import get_spark

    parser = build_parser()
    args, window = job_arguments(parser, argv, whole_hours=True)
    thresholds = checked_thresholds(parser, args)
    spark = spark or get_spark("flowlake-validate")
    summary = validate_and_alert(spark, args, window, thresholds, datetime.now(UTC))
    print(json.dumps(summary))
    return summary["exit_code"]


if __name__ == "__main__":
    raise SystemExit(main())

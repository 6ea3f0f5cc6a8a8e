"""Validate: a clean window passes; each kind of damage fails exactly the expectation it should.

The lake: two flow logs delivering an object every 5 minutes from 08:00 to
12:00 UTC on 2026-11-01. fl-0aaa1111 records three interfaces per object
(eni-0a1 ACCEPT 10 packets 1000 bytes to the NAT gateway 10.0.0.220, eni-0b2
REJECT 2 packets 120 bytes, eni-0c3 NODATA); fl-0bbb2222 one (eni-0d4 ACCEPT 1
packet 80 bytes). Every record lasts 60 s and starts at its object's time. Per
hour: 12 objects of each flow log; traffic_hourly 36 records, 156 packets,
14400 bytes; log_status_hourly 48 records, 2880 window seconds.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from pyspark import StorageLevel
from pyspark.sql import functions as F

from flowlake import retention
from flowlake import validate as validate_job
from flowlake.aggregate import run_aggregate
from flowlake.aggregates import HOURLY_TABLES
from flowlake.contracts import table_schema
from flowlake.dq import data_docs, data_docs_assets, gx_runner, suite_file, suite_names
from flowlake.dq.checks import (
    CONTRACT_TABLES,
    Check,
    Reconciliation,
    Thresholds,
    conformed,
    flow_log_rows,
    hourly_delivery,
    hourly_reconciliations,
    in_memory,
    interface_reporting,
    object_reconciliation,
    reconciliation,
    reconciliation_suite,
    schema_comparison,
    shares,
    window_checks,
)
from flowlake.dq.gx_runner import (
    Outcome,
    build_data_docs,
    import_without_exit,
    load_suite,
    observed_value,
    open_context,
    prune_results,
    run_check,
    run_identifier,
)
from flowlake.ingest import FLOW_LOGS, run_ingest
from flowlake.lake import table_exists, table_path
from flowlake.layout import object_key
from flowlake.nat_inventory import resolve as resolve_nat_inventory
from flowlake.remove import objects_to_remove, remove_objects
from flowlake.validate import (
    DQ_RESULTS,
    Report,
    alert_message,
    checked_run_id,
    main,
    read_tables,
    result_rows,
    run_validate,
    write_results,
)
from flowlake.window import Window, timestamps_as_text
from tests.browser import chromium, needs_chromium, requested_urls
from tests.flowlog_objects import ACCOUNT, REGION, write_object
from tests.frames import append, frame, frame_of, ordered, read, rows, spark_jobs, utc
from tests.servers import RefusingProxy, SmtpServer, WebhookServer, body, tls_files

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INGESTED_AT = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
VALIDATED_AT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
FIRST_HOUR = datetime(2026, 11, 1, 8, tzinfo=UTC)
HOURS = 4
HOUR_11 = datetime(2026, 11, 1, 11, tzinfo=UTC)
NOON = datetime(2026, 11, 1, 12, tzinfo=UTC)
FLOW_LOG_A, FLOW_LOG_B = "fl-0aaa1111", "fl-0bbb2222"
NAT_INVENTORY = "nat_gateway_id,interface_id,private_ip\nnat-0abc,eni-0a1,10.0.0.220\n"

needs_data_docs_assets = pytest.mark.skipif(
    not (data_docs_assets() / "package.json").is_file(),
    reason="the Data Docs assets are not installed (scripts/install_data_docs_assets.sh, which needs npm)",
)


def expectations_per_run() -> int:
    """The schema suite once per contract table, every other suite once."""
    counts = {name: len(suite_file(name)["expectations"]) for name in suite_names()}
    return len(CONTRACT_TABLES) * counts.pop("schema") + sum(counts.values())


def lines_a(t: datetime) -> list[str]:
    s = int(t.timestamp())
    return [
        f"2 {ACCOUNT} eni-0a1 10.0.1.5 10.0.0.220 49152 443 6 10 1000 {s} {s + 60} ACCEPT OK",
        f"2 {ACCOUNT} eni-0b2 198.51.100.7 10.0.2.9 50000 22 6 2 120 {s} {s + 60} REJECT OK",
        f"2 {ACCOUNT} eni-0c3 - - - - - - - {s} {s + 60} - NODATA",
    ]


def lines_b(t: datetime) -> list[str]:
    s = int(t.timestamp())
    return [f"2 {ACCOUNT} eni-0d4 10.0.3.1 10.0.3.2 40000 53 17 1 80 {s} {s + 60} ACCEPT OK"]


def object_times(start: datetime, hours: int) -> list[datetime]:
    return [start + timedelta(minutes=5 * i) for i in range(12 * hours)]


def write_source(source: Path) -> None:
    for t in object_times(FIRST_HOUR, HOURS):
        write_object(source, t, lines_a(t), flow_log_id=FLOW_LOG_A, object_hash="aaaa0001")
        write_object(source, t, lines_b(t), flow_log_id=FLOW_LOG_B, object_hash="bbbb0001")


def object_path(source: Path, flow_log_id: str, t: datetime, object_hash: str) -> Path:
    return source / object_key(ACCOUNT, REGION, flow_log_id, t, object_hash)


def source_file(path: Path) -> str:
    """The object's URI as ingest records it (Hadoop's file:/ form)."""
    return f"file:{path}"


def load(spark, source: Path, lake: Path, nat_file: Path, start: datetime, end: datetime) -> None:
    run_ingest(spark, str(source), str(lake), Window(start, end), INGESTED_AT)
    run_aggregate(spark, str(lake), Window(start, end), nat_inventory=str(nat_file))


def validate(spark, lake: Path, nat_file: Path, docs: Path, start=HOUR_11, end=NOON, run_id="test-run"):
    return run_validate(
        spark,
        str(lake),
        Window(start, end),
        data_docs_dir=docs,
        run_id=run_id,
        validated_at=VALIDATED_AT,
        thresholds=Thresholds.load(),
        nat_inventory=str(nat_file),
    )


def failures(report) -> set[tuple]:
    return {(o.suite, o.expectation, o.column, o.severity) for o in report.outcomes if not o.success}


def outcome(report, suite: str, column: str, severity: str = "critical"):
    (found,) = [o for o in report.outcomes if (o.suite, o.column, o.severity) == (suite, column, severity)]
    return found


@pytest.fixture(scope="module")
def clean(spark, tmp_path_factory):
    """(source, lake, nat inventory file) of the four clean hours, ingested and aggregated."""
    root = tmp_path_factory.mktemp("clean")
    source, lake, nat_file = root / "source", root / "lake", root / "nat.csv"
    write_source(source)
    nat_file.write_text(NAT_INVENTORY)
    load(spark, source, lake, nat_file, FIRST_HOUR, NOON)
    return source, lake, nat_file


@pytest.fixture
def damaged(clean, tmp_path):
    """A copy of the clean source and lake: damage the source, then reload() hour 11."""
    source, lake, nat_file = clean
    shutil.copytree(source, tmp_path / "source")
    shutil.copytree(lake, tmp_path / "lake")
    return tmp_path / "source", tmp_path / "lake", nat_file


def reload(spark, damaged) -> None:
    source, lake, nat_file = damaged
    load(spark, source, lake, nat_file, HOUR_11, NOON)


# --- the suites as versioned -------------------------------------------------------------------


def test_every_suite_loads_whole_into_great_expectations():
    loaded = {name: len(load_suite(name).expectations) for name in suite_names()}
    assert loaded == {name: len(suite_file(name)["expectations"]) for name in suite_names()}
    assert {name: loaded[name] for name in ("schema", "flow_logs", "objects", "delivery", "interfaces", "shares")} == {
        "schema": 1,
        "flow_logs": 12,
        "objects": 4,
        "delivery": 2,
        "interfaces": 1,
        "shares": 3,
    }


def test_every_suite_file_is_run():
    """A suite nobody runs would look like coverage: the others are one per registered hourly table."""
    assert set(suite_names()) == {"schema", "flow_logs", "objects", "delivery", "interfaces", "shares"} | {
        reconciliation_suite(table) for table in HOURLY_TABLES
    }


def test_every_registered_hourly_table_has_a_reconciliation_of_its_documented_totals():
    for table in HOURLY_TABLES:
        rule = Reconciliation.of_suite(reconciliation_suite(table))
        assert rule.table == table
        compared = [
            (e["kwargs"]["column_A"], e["kwargs"]["column_B"])
            for e in suite_file(reconciliation_suite(table))["expectations"]
        ]
        assert compared == [(f"table_{name}", f"flow_logs_{name}") for name in rule.totals]


def test_every_suite_parameter_has_a_value():
    def references(node):
        if isinstance(node, dict):
            if "$PARAMETER" in node:
                yield node["$PARAMETER"]
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    used = {name for suite in suite_names() for name in references(suite_file(suite))}
    assert used == {
        "max_flow_duration_seconds",
        "min_objects_per_hour",
        "min_interface_reporting_share",
        "max_quarantined_share",
        "max_skipdata_share",
    }
    assert used <= set(Thresholds.load().suite_parameters())


def test_thresholds_come_from_parameters_yaml_and_overrides():
    defaults = Thresholds.load()
    assert defaults.suite_parameters()["max_flow_duration_seconds"] == 900
    assert (defaults.delivery_lookback_hours, defaults.min_objects_per_hour) == (168, 12)
    changed = Thresholds.load({"flow_duration_slack_seconds": "60", "min_interface_reporting_share": "0.5"})
    assert changed.suite_parameters()["max_flow_duration_seconds"] == 660
    assert changed.min_interface_reporting_share == 0.5
    with pytest.raises(ValueError, match="unknown data-quality parameter"):
        Thresholds.load({"max_skip_share": "1"})


# --- the import guard ------------------------------------------------------------------------


def test_an_import_that_calls_sys_exit_becomes_an_import_error(tmp_path, monkeypatch):
    (tmp_path / "exits_when_imported.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match=r"called sys.exit\(0\)"):
        import_without_exit("exits_when_imported")


def test_great_expectations_imports_in_a_fresh_interpreter():
    """A silent sys.exit(0) inside `import great_expectations` would print nothing and exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", "import flowlake.validate, great_expectations as gx; print('imported', gx.__version__)"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported 1.24.1"


# --- the check frames, by hand -----------------------------------------------------------------


def test_schema_comparison_lists_missing_extra_and_retyped_columns(spark):
    found = frame_of(spark, [], "hour timestamp, account_id string, records int, extra_column string").schema
    assert list(schema_comparison("log_status_hourly", found).itertuples(index=False, name=None)) == [
        ("hour", "timestamp", "timestamp"),
        ("account_id", "string", "string"),
        ("region", "string", None),
        ("interface_id", "string", None),
        ("log_status", "string", None),
        ("records", "bigint", "int"),
        ("window_seconds", "bigint", None),
        ("event_date", "date", None),
        ("extra_column", None, "string"),
    ]
    missing_table = schema_comparison("log_status_hourly", None)
    assert set(missing_table["found"]) == {None} and len(missing_table) == 8


def test_a_column_drifted_to_a_type_with_no_cast_is_null_and_the_others_are_read(spark):
    # A string where an array is documented cannot even be cast: every check read the table through it.
    found = frame_of(
        spark,
        [("port_scan", "10.0.0.1 10.0.0.2", "22", 3.0)],
        "finding_type string, addresses string, ports string, observed_value double",
    )
    read_as = conformed(spark, "security_findings", found)
    assert read_as.found == found.schema
    assert read_as.rows.schema == table_schema("security_findings").struct()
    (row,) = read_as.rows.collect()
    assert (row.finding_type, row.addresses, row.ports, row.observed_value) == ("port_scan", None, None, 3.0)


def test_object_reconciliation_counts_the_rows_each_object_has_in_the_tables(spark):
    objects = frame_of(
        spark,
        [("a", "ok", 2, 2, 0), ("b", "corrupt", None, 0, 1), ("c", "partial", 3, 1, 1)],
        "source_file string, status string, lines_read bigint, records_written bigint, lines_quarantined bigint",
    )
    flow_logs = frame_of(spark, [("a",), ("a",), ("c",), ("d",)], "source_file string")
    quarantine = frame_of(spark, [("b",), ("c",)], "source_file string")
    # source_file, status, lines_read, written + quarantined, records_written, flow_logs_rows,
    # lines_quarantined, quarantine_rows
    assert rows(object_reconciliation(objects, flow_logs, quarantine)) == [
        ("a", "ok", 2, 2, 2, 2, 0, 0),
        ("b", "corrupt", None, 1, 0, 0, 1, 1),
        ("c", "partial", 3, 2, 1, 1, 1, 1),
        ("d", None, None, None, 0, 1, 0, 0),
    ]


def test_hourly_delivery_expects_the_flow_logs_of_the_preceding_hours(spark):
    objects = frame_of(
        spark,
        [
            (utc(2026, 11, 1, 7, 55), "fl-a"),  # hour 7: within the 3 hours before 10:00, not 11:00
            (utc(2026, 11, 1, 10, 0), "fl-a"),
            (utc(2026, 11, 1, 10, 5), "fl-a"),
            (utc(2026, 11, 1, 9, 0), "fl-b"),
            (utc(2026, 11, 1, 11, 30), "fl-c"),  # new in the window: nothing expected of it
        ],
        "object_time timestamp, flow_log_id string",
    ).selectExpr("object_time", f"'{ACCOUNT}' AS account_id", f"'{REGION}' AS region", "flow_log_id")
    window = Window(utc(2026, 11, 1, 10), utc(2026, 11, 1, 12))
    assert rows(hourly_delivery(objects, window, 3), "hour", "flow_log_id", "objects") == ordered(
        [
            (utc(2026, 11, 1, 10), "fl-a", 2),
            (utc(2026, 11, 1, 10), "fl-b", 0),
            (utc(2026, 11, 1, 11), "fl-a", 0),
            (utc(2026, 11, 1, 11), "fl-b", 0),
        ]
    )


def test_a_flow_log_silent_for_days_is_still_expected_in_every_hour(spark):
    objects = frame_of(
        spark,
        [
            (utc(2026, 10, 27, 10, 5), "fl-a"),  # silent for 5 days: still expected
            (utc(2026, 10, 24, 9, 0), "fl-b"),  # silent for over a week: gone
        ],
        "object_time timestamp, flow_log_id string",
    ).selectExpr("object_time", f"'{ACCOUNT}' AS account_id", f"'{REGION}' AS region", "flow_log_id")
    window = Window(utc(2026, 11, 1, 10), utc(2026, 11, 1, 11))
    lookback = Thresholds.load().delivery_lookback_hours
    assert rows(hourly_delivery(objects, window, lookback), "hour", "flow_log_id", "objects") == [
        (utc(2026, 11, 1, 10), "fl-a", 0)
    ]


def test_interface_reporting_counts_the_interfaces_of_the_preceding_day(spark):
    flow_logs = frame_of(
        spark,
        [
            (utc(2026, 11, 1, 9, 0), "fl-a", "eni-1", "OK"),
            (utc(2026, 11, 1, 9, 0), "fl-a", "eni-2", "OK"),
            (utc(2026, 11, 1, 9, 0), "fl-a", "eni-3", "SKIPDATA"),
            (utc(2026, 10, 31, 9, 0), "fl-a", "eni-4", "OK"),  # 26 h before 11:00, 25 h before 10:00
            (utc(2026, 11, 1, 10, 0), "fl-a", "eni-1", "NODATA"),
            (utc(2026, 11, 1, 10, 0), "fl-a", "eni-3", "SKIPDATA"),  # SKIPDATA alone is not reporting
            (utc(2026, 11, 1, 11, 0), "fl-a", "eni-1", None),  # no log-status in the format: traffic
            (utc(2026, 11, 1, 11, 0), "fl-a", "eni-2", "OK"),
            (utc(2026, 11, 1, 11, 0), "fl-a", "eni-3", "OK"),
            (utc(2026, 11, 1, 9, 0), "fl-b", "eni-9", "OK"),  # fl-b has no record in the window: not checked
        ],
        "event_time timestamp, flow_log_id string, interface_id string, log_status string",
    )
    window = Window(utc(2026, 11, 1, 10), utc(2026, 11, 1, 12))
    assert rows(
        interface_reporting(flow_logs, window, 24),
        "hour",
        "flow_log_id",
        "expected_interfaces",
        "reporting_interfaces",
        "reporting_share",
        "silent_interfaces",
    ) == ordered(
        [
            (utc(2026, 11, 1, 10), "fl-a", 3, 1, 1 / 3, "eni-2 eni-3"),
            (utc(2026, 11, 1, 11), "fl-a", 3, 3, 1.0, ""),
        ]
    )


def test_shares_of_quarantined_lines_and_skipdata_records(spark):
    objects = frame_of(
        spark,
        [
            (utc(2026, 11, 1, 10, 0), "fl-a", "ok", 10, 0),
            (utc(2026, 11, 1, 10, 5), "fl-a", "partial", 10, 1),
            (utc(2026, 11, 1, 10, 10), "fl-a", "corrupt", None, 1),
        ],
        "object_time timestamp, flow_log_id string, status string, lines_read bigint, lines_quarantined bigint",
    )
    flow_logs = frame_of(
        spark,
        [(utc(2026, 11, 1, 10, 1), "fl-a", s) for s in ("OK", "OK", "OK", "SKIPDATA")]
        + [(utc(2026, 11, 1, 11, 1), "fl-a", "NODATA")],
        "event_time timestamp, flow_log_id string, log_status string",
    )
    assert rows(shares(objects, flow_logs), "hour", "flow_log_id", "quarantined_share", "skipdata_share") == ordered(
        [
            (utc(2026, 11, 1, 10), "fl-a", 0.05, 0.25),
            (utc(2026, 11, 1, 11), "fl-a", None, 0.0),
        ]
    )


def test_hourly_reconciliations_count_each_record_for_every_table_whose_rule_takes_it(spark):
    rules = [
        Reconciliation(
            table="accepted",
            flow_logs_rows="action = 'ACCEPT'",
            totals={
                "records": {"table": "sum(records)", "flow_logs": "count(1)"},
                "bytes": {"table": "sum(bytes)", "flow_logs": "sum(bytes)"},
            },
        ),
        # The same total's name as above, another aggregate of other records.
        Reconciliation(
            table="all_bytes",
            flow_logs_rows="true",
            totals={"bytes": {"table": "sum(bytes)", "flow_logs": "coalesce(sum(bytes), 0)"}},
        ),
        Reconciliation(
            table="entering_nat",
            flow_logs_rows="true",
            totals={"records": {"table": "sum(records)", "flow_logs": "count(1)"}},
            entering_nat_gateway=True,
        ),
    ]
    flow_logs = frame_of(
        spark,
        [
            (utc(2026, 11, 1, 10, 5), "eni-1", "10.0.0.5", "ACCEPT", 100),
            (utc(2026, 11, 1, 10, 20), "eni-1", "10.0.0.9", "REJECT", None),
            (utc(2026, 11, 1, 11, 0), "eni-2", "10.0.0.5", "ACCEPT", 40),
        ],
        "event_time timestamp, interface_id string, dstaddr string, action string, bytes bigint",
    )
    # Listed twice: a record is still counted once.
    nat_gateways = frame_of(
        spark, [("eni-1", "10.0.0.5"), ("eni-1", "10.0.0.5")], "interface_id string, private_ip string"
    )
    tables = {
        "accepted": frame_of(
            spark,
            [(utc(2026, 11, 1, 10), 1, 100), (utc(2026, 11, 1, 12), 5, 7)],
            "hour timestamp, records bigint, bytes bigint",
        ),
        "all_bytes": frame_of(spark, [(utc(2026, 11, 1, 10), 90)], "hour timestamp, bytes bigint"),
        "entering_nat": frame_of(spark, [(utc(2026, 11, 1, 11), 2)], "hour timestamp, records bigint"),
    }
    columns = ("reconciled_table", "hour", "table_records", "table_bytes", "flow_logs_records", "flow_logs_bytes")
    h10, h11, h12 = (utc(2026, 11, 1, h) for h in (10, 11, 12))
    assert rows(hourly_reconciliations(tables, flow_logs, rules, nat_gateways), *columns) == ordered(
        [
            ("accepted", h10, 1, 100, 1, 100),
            ("accepted", h11, None, None, 1, 40),
            ("accepted", h12, 5, 7, None, None),
            ("all_bytes", h10, None, 90, None, 100),
            ("all_bytes", h11, None, None, None, 40),
            ("entering_nat", h10, None, None, 1, None),
            ("entering_nat", h11, 2, None, None, None),
        ]
    )
    without_inventory = hourly_reconciliations(tables, flow_logs, rules, None).where(
        "reconciled_table = 'entering_nat'"
    )
    assert rows(without_inventory, *columns) == [("entering_nat", h11, 2, None, None, None)]
    collected_once = in_memory(timestamps_as_text(hourly_reconciliations(tables, flow_logs, rules, nat_gateways)))
    accepted = reconciliation(collected_once, rules[0])
    assert list(accepted.columns) == ["hour", "table_records", "table_bytes", "flow_logs_records", "flow_logs_bytes"]
    assert sorted(accepted.itertuples(index=False, name=None)) == [
        ("2026-11-01T10:00:00Z", 1, 100, 1, 100),
        ("2026-11-01T11:00:00Z", None, None, 1, 40),
        ("2026-11-01T12:00:00Z", 5, 7, None, None),
    ]


def test_observed_value_names_the_offending_rows_or_the_error():
    assert observed_value({"observed_value": 12}, {}) == "12"
    assert observed_value({"unexpected_count": 0, "element_count": 4}, {}) == "0 of 4 unexpected"
    details = {
        "unexpected_count": 1,
        "element_count": 4,
        "partial_unexpected_index_list": [{"hour": "x", "objects": 0}],
    }
    assert observed_value(details, {}) == '1 of 4 unexpected: [{"hour": "x", "objects": 0}]'
    error = {"raised_exception": True, "exception_message": "column missing"}
    assert observed_value({}, error) == "error: column missing"


def run_suite(tmp_path, suite: str, frame, index_columns: tuple[str, ...], grows_with_records: bool = False) -> dict:
    """(expectation, column) -> (severity, observed value) of each expectation of suite that failed on frame."""
    outcomes, _ = run_check(
        open_context(tmp_path / "docs"),
        Check(suite, suite, frame, index_columns, grows_with_records),
        Thresholds.load().suite_parameters(),
        run_identifier("t", VALIDATED_AT),
    )
    return {(o.expectation, o.column): (o.severity, o.observed_value) for o in outcomes if not o.success}


# Records are judged in memory up to a size, in Spark beyond it: the same verdicts and texts either way.
@pytest.mark.parametrize("max_rows_in_memory", [gx_runner.MAX_ROWS_IN_MEMORY, 0], ids=["in memory", "in Spark"])
def test_each_domain_expectation_fails_on_its_own_bad_record(spark, tmp_path, monkeypatch, max_rows_in_memory):
    monkeypatch.setattr(gx_runner, "MAX_ROWS_IN_MEMORY", max_rows_in_memory)
    good = dict(
        account_id=ACCOUNT,
        interface_id="eni-0a1",
        srcport=1,
        dstport=2,
        protocol=6,
        packets=1,
        bytes=40,
        start=0,
        end=60,
        action="ACCEPT",
        log_status="OK",
        resource_type=None,
    )
    changes_by_line = [
        dict(log_status="MAYBE"),  # line 2
        dict(action="ALLOW"),
        dict(action=None),
        dict(srcport=65536),
        dict(dstport=-1),
        dict(protocol=256),
        dict(packets=-1),
        dict(bytes=-5),
        dict(start=200, end=100),  # line 10
        dict(start=0, end=901),
        dict(interface_id="eni-XYZ"),
        dict(account_id="12345"),
        # Fine: NODATA without action, ports or counts; 900 s is the interval plus slack; account unknown.
        dict(action=None, log_status="NODATA", srcport=None, dstport=None, protocol=None, packets=None, bytes=None),
        dict(end=900, account_id="unknown"),  # line 15
        # Fine: a transit gateway record has no action (and no interface).
        dict(action=None, interface_id=None, resource_type="TransitGateway"),
    ]
    columns = ["line_number", *good]
    records = frame_of(
        spark,
        [
            tuple({**good, **changes, "line_number": line}[c] for c in columns)
            for line, changes in enumerate(changes_by_line, 2)
        ],
        "line_number int, account_id string, interface_id string, srcport int, dstport int, protocol int, "
        "packets bigint, bytes bigint, start bigint, `end` bigint, action string, log_status string, "
        "resource_type string",
    )
    in_set, not_null = "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_null"
    between, regex = "expect_column_values_to_be_between", "expect_column_values_to_match_regex"
    assert run_suite(tmp_path, "flow_logs", flow_log_rows(records), ("line_number",), grows_with_records=True) == {
        (in_set, "log_status"): ("critical", '1 of 15 unexpected: [{"line_number": 2, "log_status": "MAYBE"}]'),
        (in_set, "action"): ("critical", '1 of 15 unexpected: [{"line_number": 3, "action": "ALLOW"}]'),
        # Only the 12 OK records of VPC flow logs are looked at.
        (not_null, "action"): ("critical", '1 of 12 unexpected: [{"line_number": 4, "action": null}]'),
        (between, "srcport"): ("critical", '1 of 15 unexpected: [{"line_number": 5, "srcport": 65536}]'),
        (between, "dstport"): ("critical", '1 of 15 unexpected: [{"line_number": 6, "dstport": -1}]'),
        (between, "protocol"): ("critical", '1 of 15 unexpected: [{"line_number": 7, "protocol": 256}]'),
        (between, "packets"): ("critical", '1 of 15 unexpected: [{"line_number": 8, "packets": -1}]'),
        (between, "bytes"): ("critical", '1 of 15 unexpected: [{"line_number": 9, "bytes": -5}]'),
        ("expect_column_pair_values_a_to_be_greater_than_b", "end, start"): (
            "critical",
            '1 of 15 unexpected: [{"line_number": 10, "end": 100, "start": 200}]',
        ),
        (between, "duration_seconds"): (
            "critical",
            '1 of 15 unexpected: [{"line_number": 11, "duration_seconds": 901}]',
        ),
        (regex, "interface_id"): ("critical", '1 of 15 unexpected: [{"line_number": 12, "interface_id": "eni-XYZ"}]'),
        (regex, "account_id"): ("critical", '1 of 15 unexpected: [{"line_number": 13, "account_id": "12345"}]'),
    }


def test_records_judged_in_spark_are_not_cached_a_second_time(spark, tmp_path, monkeypatch):
    # window_checks caches the window's records once: a second copy of a backfilled day's would not
    # fit a 2 GiB driver, be it flowlake's or the one Great Expectations keeps by default.
    monkeypatch.setattr(gx_runner, "MAX_ROWS_IN_MEMORY", 0)
    records = frame_of(
        spark,
        [
            (2, ACCOUNT, "eni-0a1", 443, 50000, 6, 10, 4000, 0, 60, "ACCEPT", "OK", None),
            (3, *[None] * 10, "NODATA", None),
        ],
        "line_number int, account_id string, interface_id string, srcport int, dstport int, protocol int, "
        "packets bigint, bytes bigint, start bigint, `end` bigint, action string, log_status string, "
        "resource_type string",
    )
    check = Check("flow_logs", FLOW_LOGS, flow_log_rows(records), ("line_number",), grows_with_records=True)
    batch = gx_runner.prepare(check)
    assert not batch.in_memory
    assert batch.data.storageLevel == StorageLevel.NONE
    context = open_context(tmp_path / "docs")
    # As flowlake made the project's Spark data source before: with Great Expectations' default.
    context.data_sources.add_spark(gx_runner.DATA_SOURCES[False])
    outcomes, _ = gx_runner.judge(
        context,
        check,
        batch,
        Thresholds.load().suite_parameters(),
        run_identifier("t", VALIDATED_AT),
    )
    assert batch.data.storageLevel == StorageLevel.NONE
    assert [(o.expectation, o.success) for o in outcomes if not o.success] == []
    assert len(outcomes) == len(suite_file("flow_logs")["expectations"])


def test_shares_above_their_thresholds_are_warnings_and_every_line_quarantined_is_critical(spark, tmp_path):
    frame = frame_of(
        spark,
        [
            (HOUR_11, "fl-a", 0.01, 0.0),
            (HOUR_11, "fl-b", 0.05, 0.25),
            (NOON, "fl-a", None, 0.01),
            # Every line quarantined: a format flowlake cannot read, such as a changed header.
            (NOON, "fl-c", 1.0, None),
        ],
        "hour timestamp, flow_log_id string, quarantined_share double, skipdata_share double",
    )
    between = "expect_column_values_to_be_between"
    assert run_suite(tmp_path, "shares", frame, ("hour", "flow_log_id")) == {
        (between, "quarantined_share"): (
            "warning",
            '2 of 4 unexpected: [{"hour": "2026-11-01T11:00:00Z", "flow_log_id": "fl-b", "quarantined_share": 0.05}, '
            '{"hour": "2026-11-01T12:00:00Z", "flow_log_id": "fl-c", "quarantined_share": 1.0}]',
        ),
        ("expect_column_values_to_not_be_in_set", "quarantined_share"): (
            "critical",
            '1 of 4 unexpected: [{"hour": "2026-11-01T12:00:00Z", "flow_log_id": "fl-c", "quarantined_share": 1.0}]',
        ),
        (between, "skipdata_share"): (
            "warning",
            '1 of 4 unexpected: [{"hour": "2026-11-01T11:00:00Z", "flow_log_id": "fl-b", "skipdata_share": 0.25}]',
        ),
    }


def shares_run(spark, docs: Path, run: str, run_time: datetime, keep_days: int | None = None) -> tuple[Path, int]:
    """One run of the shares suite into the Data Docs at docs, as flowlake validate does it:
    the index page, and how many older results were forgotten."""
    frame = frame_of(
        spark,
        [(HOUR_11, "fl-a", 0.0, 0.0)],
        "hour timestamp, flow_log_id string, quarantined_share double, skipdata_share double",
    )
    context = open_context(docs)
    _, stored = run_check(
        context,
        Check("shares", "shares per hour and flow log", frame, ("hour",)),
        Thresholds.load().suite_parameters(),
        run_identifier(run, run_time),
    )
    removed = prune_results(context, run_time - timedelta(days=keep_days)) if keep_days else 0
    return build_data_docs(context, [stored]), removed


@pytest.fixture(scope="module")
def two_runs(spark, tmp_path_factory) -> Path:
    """Data Docs of two runs of the shares suite: their index page."""
    docs = tmp_path_factory.mktemp("two_runs") / "docs"
    for run in ("first-run", "second-run"):
        index, _ = shares_run(spark, docs, run, VALIDATED_AT)
    return index


def test_data_docs_add_each_run_to_the_index(two_runs):
    docs = two_runs.parent
    assert two_runs == docs / "index.html"
    html = two_runs.read_text()
    assert all(name in html for name in ("first-run", "second-run", "shares"))
    pages = sorted(page.relative_to(docs).parts[:3] for page in (docs / "validations").rglob("*.html"))
    assert pages == [("validations", "shares", "first-run"), ("validations", "shares", "second-run")]


def test_the_data_docs_index_and_assets_are_in_the_folder_given_whatever_its_name(spark, tmp_path):
    docs = tmp_path / "data docs #2 ?v=1 %41"
    index, _ = shares_run(spark, docs, "first-run", VALIDATED_AT)
    assert index == docs / "index.html"
    assert "first-run" in index.read_text()
    assert (docs / "static" / "vendor").is_dir()
    assert [path.name for path in tmp_path.iterdir()] == [docs.name]


class References(HTMLParser):
    """The src and href values of a page's elements."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def test_data_docs_pages_name_no_other_host_and_great_expectations_sends_no_analytics(two_runs):
    """Great Expectations' templates load bootstrap, jQuery, Font Awesome... from five public CDNs, and a logo
    from the vendor's bucket with the project's id in its query."""
    docs = two_runs.parent
    pages = sorted(docs.rglob("*.html"))
    assert len(pages) == 4  # the index, the suite, the two validations
    hosts = {
        urlsplit(url).hostname for page in pages for url in re.findall(r"https?://[^\s\"'()<>]+", page.read_text())
    }
    assert hosts <= {"127.0.0.1", "localhost"}
    config = yaml.safe_load((docs / "gx" / "great_expectations.yml").read_text())
    assert config["analytics_enabled"] is False


@needs_data_docs_assets
def test_every_file_a_data_docs_page_names_is_in_the_site_as_installed(two_runs):
    docs = two_runs.parent
    named = {
        (page.parent / unquote(urlsplit(reference).path)).resolve()
        for page in docs.rglob("*.html")
        for reference in References(page.read_text()).found
        if not reference.startswith("#")
    }
    assert {path for path in named if not path.is_file()} == set()
    vendor = docs / data_docs.VENDOR_FOLDER
    assert {path for path in named if path.is_relative_to(vendor)} == {
        (vendor / path).resolve() for path in data_docs.CDN_FILES.values()
    }
    assets = data_docs_assets()
    assert all((vendor / path).read_bytes() == (assets / path).read_bytes() for path in data_docs.CDN_FILES.values())
    # Font Awesome's stylesheet loads its fonts from ../webfonts/.
    fonts = sorted(path.name for path in (vendor / "@fortawesome/fontawesome-free/webfonts").iterdir())
    assert fonts == sorted(path.name for path in (assets / "@fortawesome/fontawesome-free/webfonts").iterdir())


@needs_chromium
@needs_data_docs_assets
def test_the_data_docs_index_lists_its_runs_in_a_browser_that_can_reach_no_network(two_runs):
    """The runs table is drawn by jQuery and bootstrap-table: rows show only if the page's own copies load.

    Opened from disk, as data_docs/index.html is read, in a browser whose every request for
    another host goes to a proxy that fetches nothing.
    """
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def row_texts(b):
        rows = b.find_elements(By.CSS_SELECTOR, "table.ge-index-page-validation-results-table tbody tr")
        return sorted(row.text for row in rows)

    with RefusingProxy() as proxy, chromium(f"--proxy-server={proxy.url}") as browser:
        browser.get(two_runs.as_uri())
        # bootstrap-table may draw the rows again while they are read: a row found can be gone a moment later.
        wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))
        texts = wait.until(row_texts)
        icon_fonts = browser.execute_script(
            "return Array.from(document.fonts).filter(font => font.status == 'loaded').map(font => font.family)"
        )
        requested = requested_urls(browser)
    assert len(texts) == 2
    assert ["first-run" in texts[0], "second-run" in texts[1]] == [True, True]
    assert all("shares per hour and flow log" in text for text in texts)
    # The success icons' font, from static/vendor's webfonts.
    assert icon_fonts == ["Font Awesome 6 Free"]
    site = two_runs.parent.as_uri() + "/"
    files = {url.removeprefix(site) for url in requested if not url.startswith("data:")}
    assert files == {
        "index.html",
        *(
            f"{data_docs.VENDOR_FOLDER}/{path}"
            for path in data_docs.CDN_FILES.values()
            if "filter-control.css" not in path
        ),
        f"{data_docs.VENDOR_FOLDER}/@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2",
        "static/images/logo-long.png",
        "static/images/favicon.ico",
    }


def test_without_installed_assets_the_site_gets_none_and_a_warning(tmp_path, caplog):
    assert data_docs.copy_assets(tmp_path / "site", tmp_path / "not-installed") is False
    assert not (tmp_path / "site").exists()
    assert "scripts/install_data_docs_assets.sh" in caplog.text


def test_the_assets_pinned_are_the_packages_the_pages_load_in_the_versions_they_name():
    pinned = json.loads((PROJECT_ROOT / "scripts/data_docs_assets/package.json").read_text())["dependencies"]
    used = {package(path) for path in [*data_docs.CDN_FILES.values(), *data_docs.CDN_FOLDERS]}
    assert set(pinned) == used
    for url, path in data_docs.CDN_FILES.items():
        # The version a URL names (4.3.1; 5 for jsDelivr's latest 5.x): the pin is of its major and minor line,
        # as bootstrap-table's 1.19.1 stands for the 1.19.0 that some templates name.
        named = re.search(r"\d+(?:\.\d+)*", urlsplit(url).path)[0].split(".")[:2]
        assert pinned[package(path)].split(".")[: len(named)] == named, url


def package(path: str) -> str:
    """The npm package of a path laid out as in node_modules: @scope/name/... or name/..."""
    parts = path.split("/")
    return "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]


def test_data_docs_forget_runs_older_than_the_retention(spark, tmp_path):
    runs = {
        "old-run": VALIDATED_AT - timedelta(days=31),
        "recent-run": VALIDATED_AT - timedelta(days=29),
        "this-run": VALIDATED_AT,
    }
    removed = []
    for run, run_time in runs.items():
        index, forgotten = shares_run(spark, tmp_path / "docs", run, run_time, keep_days=30)
        removed.append(forgotten)

    assert removed == [0, 0, 1]
    html = index.read_text()
    assert ("old-run" in html, "recent-run" in html, "this-run" in html) == (False, True, True)
    pages = {
        page.relative_to(tmp_path / "docs").parts[2] for page in (tmp_path / "docs" / "validations").rglob("*.html")
    }
    assert pages == {"recent-run", "this-run"}


def failed_outcome(suite: str, column: str, severity: str, observed: str) -> Outcome:
    return Outcome(
        suite=suite,
        batch="objects per hour and flow log",
        expectation="expect_column_values_to_be_between",
        description="every hour has objects",
        column=column,
        kwargs="{}",
        severity=severity,
        success=False,
        observed_value=observed,
        unexpected_count=1,
        element_count=2,
    )


def test_alert_names_the_window_each_failed_expectation_and_what_it_observed():
    report = Report(
        "r1",
        Window(HOUR_11, NOON),
        [
            failed_outcome("interfaces", "reporting_share", "warning", "1 of 2 unexpected: [x]"),
            failed_outcome("delivery", "objects", "critical", "1 of 2 unexpected: [y]"),
        ],
        Path("/docs/index.html"),
    )
    assert alert_message(report) == (
        "flowlake data quality FAILED for 2026-11-01T11:00Z to 2026-11-01T12:00Z: "
        "1 critical, 1 warning expectation(s) failed",
        [
            "[critical] delivery / expect_column_values_to_be_between(objects) on objects per hour and flow log: "
            "every hour has objects - observed 1 of 2 unexpected: [y]",
            "[warning] interfaces / expect_column_values_to_be_between(reporting_share) on objects per hour and "
            "flow log: every hour has objects - observed 1 of 2 unexpected: [x]",
            "run r1; Data Docs: /docs/index.html",
        ],
    )


def test_the_data_docs_go_beside_a_local_lake_whose_folders_names_hold_anything(monkeypatch, tmp_path):
    monkeypatch.delenv("FLOWLAKE_DATA_DOCS", raising=False)
    folder = tmp_path / "flow logs %41 é 100%"
    assert validate_job.default_data_docs_dir(str(folder / "lake")) == folder / "data_docs"


def test_run_ids_of_airflow_pass_and_quotes_do_not():
    for run_id in ("scheduled__2026-11-01T10:00:00+00:00", "manual__2026-11-27T17:59:49.038800", "backfill__x"):
        assert checked_run_id(run_id) == run_id
    # One a user gives in the Trigger form: Airflow takes any of ^[A-Za-z0-9_.~:+-]+$ (allowed_run_id_pattern).
    assert checked_run_id("rerun~2026-11-01T10") == "rerun~2026-11-01T10"
    with pytest.raises(ValueError, match="run id"):
        checked_run_id("x' OR run_id <> '")


def test_warnings_alone_alert_only_when_asked(monkeypatch):
    sent = []
    monkeypatch.setattr(validate_job.alerts, "send_alert", lambda subject, lines: sent.append(subject) or ["webhook"])
    report = Report("r1", Window(HOUR_11, NOON), [failed_outcome("interfaces", "x", "warning", "")], Path("/d"))
    assert validate_job.send_alert(report, "critical") == ([], [])
    assert validate_job.send_alert(report, "warning") == (["webhook"], [])
    assert sent == [
        "flowlake data quality warnings for 2026-11-01T11:00Z to 2026-11-01T12:00Z: "
        "0 critical, 1 warning expectation(s) failed"
    ]


def test_an_alert_an_untrusted_smtp_server_did_not_get_is_reported_beside_the_target_reached(monkeypatch, tmp_path):
    """The summary names the targets reached and why the others were not: no silently lost email."""
    report = Report("r1", Window(HOUR_11, NOON), [failed_outcome("delivery", "objects", "critical", "")], Path("/d"))
    with WebhookServer() as webhook, SmtpServer(tls=tls_files(tmp_path)) as smtp:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FLOWLAKE_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("FLOWLAKE_SMTP_STARTTLS", "true")
        monkeypatch.setenv("FLOWLAKE_SMTP_TO", "oncall@example.com")
        monkeypatch.delenv("FLOWLAKE_SMTP_CA_FILE", raising=False)
        reached, failures = validate_job.send_alert(report, "critical")
    assert reached == ["webhook"]
    assert failures == [
        f"email: the certificate of SMTP server 127.0.0.1:{smtp.port} did not verify (unable to get local issuer "
        "certificate): set FLOWLAKE_SMTP_CA_FILE or the flowlake_smtp connection's extra 'ca_file' to the CA that "
        "signed it"
    ]
    assert (len(webhook.received), smtp.received) == (1, [])


# --- whole windows -----------------------------------------------------------------------------


@pytest.mark.slow
def test_clean_window_passes_and_every_result_is_recorded_once_per_run(spark, clean, tmp_path):
    _, lake, nat_file = clean
    lake_copy = tmp_path / "lake"
    shutil.copytree(lake, lake_copy)
    docs = tmp_path / "docs"
    start = utc(2026, 11, 1, 10)
    report = validate(spark, lake_copy, nat_file, docs, start=start, run_id="run-1")
    assert failures(report) == set()
    assert report.exit_code == 0
    assert len(report.outcomes) == expectations_per_run()
    # Two hours x two flow logs, each with 12 objects, three interfaces of fl-a and one of fl-b.
    delivery = outcome(report, "delivery", "objects")
    assert (delivery.element_count, delivery.observed_value) == (4, "0 of 4 unexpected")
    assert outcome(report, "interfaces", "reporting_share", "warning").element_count == 4
    assert outcome(report, "objects", "status").element_count == 2 * 2 * 12
    assert outcome(report, "flow_logs", "log_status").element_count == 2 * 12 * 4
    assert outcome(report, "reconcile_traffic_hourly", "table_bytes, flow_logs_bytes").element_count == 2
    assert json.loads(outcome(report, "flow_logs", "duration_seconds").kwargs)["max_value"] == 900

    # A retried run replaces its rows; another run adds its own.
    write_results(result_rows(spark, report, VALIDATED_AT), str(lake_copy), "run-1")
    again = dataclasses.replace(report, run_id="run-2")
    write_results(result_rows(spark, again, VALIDATED_AT), str(lake_copy), "run-2")
    results = read(spark, lake_copy, DQ_RESULTS)
    per_run = {r.run_id: r["count"] for r in results.groupBy("run_id").count().collect()}
    assert per_run == {"run-1": expectations_per_run(), "run-2": expectations_per_run()}
    (row,) = rows(
        results.where("run_id = 'run-2' AND suite = 'delivery' AND severity = 'critical'"),
        "window_start",
        "window_end",
        "validated_at",
        "batch",
        "expectation",
        "column",
        "success",
        "observed_value",
    )
    assert row == (
        utc(2026, 11, 1, 10),
        utc(2026, 11, 1, 12),
        utc(2026, 11, 2, 1),
        "objects per hour and flow log",
        "expect_column_values_to_be_between",
        "objects",
        True,
        "0 of 4 unexpected",
    )

    index = report.data_docs
    assert index == docs / "index.html"
    html = index.read_text()
    for suite in suite_names():
        assert suite in html


def test_the_tables_are_validated_as_read_whatever_is_committed_meanwhile(spark, tmp_path):
    # The checks run one after another and side by side: each must see the lake as validation read it, not a
    # commit meanwhile (a backfill's aggregate, retention's deletes), or reconciliations compare tables of two
    # moments and fail for nothing.
    lake = tmp_path / "lake"
    hour = {"hour": utc(2026, 11, 1, 11), "event_date": date(2026, 11, 1), "records": 1}
    append(frame(spark, "traffic_hourly", [hour]), lake, "traffic_hourly")
    tables = read_tables(spark, str(lake))
    append(frame(spark, "traffic_hourly", [{**hour, "records": 2}]), lake, "traffic_hourly")
    assert rows(tables["traffic_hourly"].rows, "records") == [(1,)]
    assert tables[FLOW_LOGS].found is None


@pytest.mark.parametrize(
    "arguments, environment, error",
    [
        (
            ["--param", "min_objects_per_hour=1.5"],
            {},
            "data-quality parameter min_objects_per_hour: '1.5' is not a whole number",
        ),
        (["--param", "max_skipdata_share=2%"], {}, "data-quality parameter max_skipdata_share: '2%' is not a number"),
        (["--data-docs-days", "-1"], {}, "'-1' (or FLOWLAKE_DATA_DOCS_DAYS) is not a whole number of days"),
        ([], {"FLOWLAKE_DATA_DOCS_DAYS": "30d"}, "'30d' (or FLOWLAKE_DATA_DOCS_DAYS) is not a whole number of days"),
    ],
)
def test_a_bad_threshold_or_retention_of_data_docs_is_a_usage_error_naming_it(
    capsys, monkeypatch, arguments, environment, error
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    window = ["--lake", "lake", "--start", "2026-11-01T11:00:00Z", "--end", "2026-11-01T12:00:00Z"]
    with pytest.raises(SystemExit) as stopped:
        validate_job.main([*window, *arguments])
    assert stopped.value.code == 2
    assert error in capsys.readouterr().err
    # Even a bad FLOWLAKE_DATA_DOCS_DAYS leaves --help alone.
    with pytest.raises(SystemExit) as helped:
        validate_job.main(["--help"])
    assert helped.value.code == 0


def test_a_lake_that_is_not_there_is_named_and_nothing_is_written_or_alerted(spark, tmp_path, monkeypatch):
    # A mistyped --lake: no tables to judge, so no verdict (it was 11 critical schema failures, and an alert).
    with WebhookServer() as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        window = ["--start", "2026-11-01T11:00:00Z", "--end", "2026-11-01T12:00:00Z"]
        with pytest.raises(FileNotFoundError, match=re.escape(f"no lake at {tmp_path / 'lakee'}: run flowlake ingest")):
            validate_job.main(["--lake", str(tmp_path / "lakee"), *window], spark=spark)
    assert (list(tmp_path.iterdir()), webhook.received) == ([], [])


def test_the_schema_checks_of_a_window_run_no_spark_job(spark, clean):
    _, lake, nat_file = clean
    window = Window(HOUR_11, NOON)
    nat_gateways, _ = resolve_nat_inventory(spark, str(lake), str(nat_file))
    with window_checks(spark, read_tables(spark, str(lake)), nat_gateways, window, Thresholds.load()) as checks:
        schema_checks = [check for check in checks if check.suite == "schema"]
        batches = []
        jobs = spark_jobs(spark, lambda: batches.extend(gx_runner.prepare(check) for check in schema_checks))
    assert jobs == 0
    assert [check.batch for check in schema_checks] == [f"columns of {table}" for table in CONTRACT_TABLES]
    # Every documented column of every table as found, and nothing else.
    for table, batch in zip(CONTRACT_TABLES, batches, strict=True):
        columns = table_schema(table).struct().fields
        assert [tuple(row) for row in batch.data.itertuples(index=False)] == [
            (f.name, f.dataType.simpleString(), f.dataType.simpleString()) for f in columns
        ], table


@pytest.mark.slow
def test_a_corrupt_object_fails_the_read_check_alone_and_alerts(spark, damaged, monkeypatch):
    source, lake, nat_file = damaged
    corrupt = object_path(source, FLOW_LOG_A, utc(2026, 11, 1, 11, 20), "aaaa0001")
    corrupt.write_bytes(b"this is not gzip")
    reload(spark, damaged)
    with WebhookServer() as webhook, SmtpServer() as smtp:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FLOWLAKE_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("FLOWLAKE_SMTP_TO", "oncall@example.com")
        code = main(
            [
                "--lake",
                str(lake),
                "--start",
                "2026-11-01T11:00:00Z",
                "--end",
                "2026-11-01T12:00:00Z",
                "--data-docs",
                str(lake.parent / "docs"),
                "--run-id",
                "corrupt-run",
                "--nat-inventory",
                str(nat_file),
            ],
            spark=spark,
        )
    assert code == 1
    results = read(spark, lake, DQ_RESULTS).where("NOT success").collect()
    assert [(r.suite, r.expectation, r.column, r.severity) for r in results] == [
        ("objects", "expect_column_values_to_be_in_set", "status", "critical")
    ]
    observed = results[0].observed_value
    assert observed.startswith("1 of 24 unexpected: ")
    assert json.loads(observed.split(": ", 1)[1]) == [{"source_file": source_file(corrupt), "status": "corrupt"}]

    (posted,) = webhook.received
    text = json.loads(posted["body"])["text"]
    subject = (
        "flowlake data quality FAILED for 2026-11-01T11:00Z to 2026-11-01T12:00Z: "
        "1 critical, 0 warning expectation(s) failed"
    )
    assert text.splitlines()[0] == subject
    assert text.splitlines()[1] == (
        "- [critical] objects / expect_column_values_to_be_in_set(status) on source_objects with the rows written "
        f"from each: every object of the window was read (none corrupt) - observed {observed}"
    )
    (mail,) = smtp.received
    assert mail["to"] == ["oncall@example.com"]
    assert mail["message"]["Subject"] == subject
    assert body(mail) == text + "\n"


@pytest.mark.slow
def test_a_missing_hour_fails_the_delivery_check_alone(spark, damaged):
    source, lake, nat_file = damaged
    for t in object_times(HOUR_11, 1):
        object_path(source, FLOW_LOG_B, t, "bbbb0001").unlink()
    # Ingest keeps the rows of objects gone from the source: the hour goes missing once an operator
    # removes them, as if they had never been delivered.
    hour = Window(HOUR_11, NOON)
    gone = objects_to_remove(spark, str(lake), hour, str(source), []).uris
    remove_objects(spark, str(lake), hour, gone, "the hour never came", INGESTED_AT, nat_inventory=str(nat_file))
    report = validate(spark, lake, nat_file, lake.parent / "docs")
    assert failures(report) == {("delivery", "expect_column_values_to_be_between", "objects", "critical")}
    assert report.exit_code == 1
    observed = outcome(report, "delivery", "objects").observed_value
    assert observed == (
        '1 of 2 unexpected: [{"hour": "2026-11-01T11:00:00Z", "flow_log_id": "fl-0bbb2222", "objects": 0}]'
    )


def test_hours_whose_records_retention_removed_are_not_validated_again(spark, damaged, capsys):
    _, lake, nat_file = damaged
    # Keeping one day as of 2026-11-03 removes the records of every day before 2026-11-02: all of the lake's.
    retention.run_retention(spark, str(lake), days=1, aggregate_days=30, as_of=date(2026, 11, 3))
    arguments = ["--lake", str(lake), "--data-docs", str(lake.parent / "docs"), "--nat-inventory", str(nat_file)]
    code = main([*arguments, "--start", "2026-11-01T11:00:00Z", "--end", "2026-11-01T12:00:00Z"], spark=spark)
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 0
    assert {k: v for k, v in summary.items() if k != "run_id"} == {
        "window_start": HOUR_11.isoformat(),
        "window_end": NOON.isoformat(),
        "kept_hours": 1,
        "records_removed_before": "2026-11-02",
        "expectations": 0,
        "failed_critical": [],
        "failed_warning": [],
        "data_docs": None,
        "alerted": [],
        "alert_failures": [],
        "exit_code": 0,
    }
    assert not table_exists(spark, table_path(str(lake), DQ_RESULTS))


def test_objects_named_in_the_first_hour_retention_keeps_are_not_reconciled_with_their_rows(spark, tmp_path):
    # The object named at 00:05 held 3 records, 2 of which started on 2026-11-01: retention removed those on
    # purpose. The one named at 01:05 holds all of its rows, and so does the one named at 01:10 lose one.
    midnight = datetime(2026, 11, 2, tzinfo=UTC)
    named = {
        "cut": midnight + timedelta(minutes=5),
        "whole": midnight + timedelta(minutes=65),
        "lost": midnight + timedelta(minutes=70),
    }
    written = {"cut": 3, "whole": 2, "lost": 2}
    kept = {"cut": 1, "whole": 2, "lost": 1}
    lake = tmp_path / "lake"
    append(
        frame(
            spark,
            "source_objects",
            [
                {"source_file": f, "object_time": t, "records_written": written[f], "lines_quarantined": 0}
                for f, t in named.items()
            ],
        ),
        lake,
        "source_objects",
    )
    rows = [
        {"source_file": f, "object_time": t, "event_time": t, "event_date": t.date(), "line_number": n + 2}
        for f, t in named.items()
        for n in range(kept[f])
    ]
    append(frame(spark, "flow_logs", rows), lake, "flow_logs")
    window = Window(midnight, midnight + timedelta(hours=2))

    def reconciled(records_kept_from) -> list[tuple]:
        tables = read_tables(spark, str(lake))
        with window_checks(spark, tables, None, window, Thresholds.load(), records_kept_from) as checks:
            (objects,) = [check for check in checks if check.suite == "objects"]
            return sorted(objects.frame.select("source_file", "records_written", "flow_logs_rows").collect())

    assert reconciled(midnight) == [("lost", 2, 1), ("whole", 2, 2)]


def test_a_window_across_the_day_retention_kept_records_from_is_validated_from_that_day():
    day = datetime(2026, 11, 8, tzinfo=UTC)
    before, after = day - timedelta(hours=2), day + timedelta(hours=3)
    kept = {"kept_hours": 2, "records_removed_before": "2026-11-08"}
    assert retention.with_records(Window(before, after), None) == (Window(before, after), {})
    assert retention.with_records(Window(before, after), day) == (Window(day, after), kept)
    assert retention.with_records(Window(day, after), day) == (Window(day, after), {})
    assert retention.with_records(Window(before, day), day) == (None, kept)
    assert retention.with_records(Window(before, day - timedelta(hours=1)), day) == (None, {**kept, "kept_hours": 1})


@pytest.mark.slow
def test_a_dropped_interface_is_a_warning(spark, damaged):
    source, lake, nat_file = damaged
    for t in object_times(HOUR_11, 1):
        write_object(source, t, lines_a(t)[:2], flow_log_id=FLOW_LOG_A, object_hash="aaaa0001")
    reload(spark, damaged)
    report = validate(spark, lake, nat_file, lake.parent / "docs")
    assert failures(report) == {("interfaces", "expect_column_values_to_be_between", "reporting_share", "warning")}
    assert report.exit_code == 0
    observed = outcome(report, "interfaces", "reporting_share", "warning").observed_value
    assert observed == (
        '1 of 2 unexpected: [{"hour": "2026-11-01T11:00:00Z", "flow_log_id": "fl-0aaa1111", '
        f'"silent_interfaces": "eni-0c3", "reporting_share": {2 / 3}}}]'
    )


@pytest.mark.slow
def test_a_retyped_column_fails_the_schema_check_of_its_table_alone(spark, damaged):
    _, lake, nat_file = damaged
    path = table_path(str(lake), "flow_logs")
    retyped = spark.read.format("delta").load(path).withColumn("srcport", F.col("srcport").cast("bigint"))
    (
        retyped.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .partitionBy("event_date")
        .save(path)
    )
    report = validate(spark, lake, nat_file, lake.parent / "docs")
    assert failures(report) == {("schema", "expect_column_pair_values_to_be_equal", "documented, found", "critical")}
    (schema,) = [o for o in report.outcomes if not o.success]
    assert schema.batch == "columns of flow_logs"
    assert schema.observed_value == (
        f"1 of {len(table_schema('flow_logs').columns)} unexpected: "
        '[{"column": "srcport", "documented": "int", "found": "bigint"}]'
    )


@pytest.mark.slow
def test_rows_deleted_from_flow_logs_fail_the_reconciliations(spark, clean, damaged):
    from delta.tables import DeltaTable

    clean_source = clean[0]
    _, lake, nat_file = damaged
    first = source_file(object_path(clean_source, FLOW_LOG_A, HOUR_11, "aaaa0001"))
    # Line 2 is the first record: eni-0a1, ACCEPT, 10 packets, 1000 bytes, 60 s, into the NAT gateway.
    DeltaTable.forPath(spark, table_path(str(lake), "flow_logs")).delete(f"source_file = '{first}' AND line_number = 2")
    report = validate(spark, lake, nat_file, lake.parent / "docs")
    # (suite, total): (in the table, in flow_logs) for hour 11
    expected = {
        ("reconcile_traffic_hourly", "records"): (36, 35),
        ("reconcile_traffic_hourly", "packets"): (156, 146),
        ("reconcile_traffic_hourly", "bytes"): (14400, 13400),
        ("reconcile_nat_gateway_hourly", "records"): (12, 11),
        ("reconcile_nat_gateway_hourly", "packets"): (120, 110),
        ("reconcile_nat_gateway_hourly", "bytes"): (12000, 11000),
        ("reconcile_log_status_hourly", "records"): (48, 47),
        ("reconcile_log_status_hourly", "window_seconds"): (2880, 2820),
        ("reconcile_top_talkers_hourly", "source_bytes"): (14400, 13400),
        ("reconcile_top_talkers_hourly", "destination_bytes"): (14400, 13400),
        ("reconcile_top_talkers_hourly", "source_records"): (36, 35),
        ("reconcile_top_talkers_hourly", "destination_packets"): (156, 146),
        # Every traffic record of this lake goes to its service port (dstport <= srcport).
        ("reconcile_port_traffic_hourly", "records"): (36, 35),
        ("reconcile_port_traffic_hourly", "packets"): (156, 146),
        ("reconcile_port_traffic_hourly", "bytes"): (14400, 13400),
    }
    assert failures(report) == {
        ("objects", "expect_column_pair_values_to_be_equal", "records_written, flow_logs_rows", "critical"),
        *(
            (suite, "expect_column_pair_values_to_be_equal", f"table_{total}, flow_logs_{total}", "critical")
            for suite, total in expected
        ),
    }
    assert outcome(report, "objects", "records_written, flow_logs_rows").observed_value == (
        f'1 of 24 unexpected: [{{"source_file": "{first}", "records_written": 3, "flow_logs_rows": 2}}]'
    )
    hour = '"hour": "2026-11-01T11:00:00Z"'
    for (suite, total), (in_table, in_flow_logs) in expected.items():
        assert outcome(report, suite, f"table_{total}, flow_logs_{total}").observed_value == (
            f'1 of 1 unexpected: [{{{hour}, "table_{total}": {in_table}, "flow_logs_{total}": {in_flow_logs}}}]'
        )


def test_a_window_caches_only_the_record_columns_its_checks_read(spark, clean):
    _, lake, nat_file = clean
    nat_gateways, _ = resolve_nat_inventory(spark, str(lake), str(nat_file))
    with window_checks(
        spark, read_tables(spark, str(lake)), nat_gateways, Window(HOUR_11, NOON), Thresholds.load()
    ) as checks:
        (records_check,) = [check for check in checks if check.suite == "flow_logs"]
        cached = records_check.frame.columns
    # The flow_logs suite's columns, the records' address, the keys of the counts per hour and flow
    # log and of the NAT gateway match, and what the reconciliation rules add (resource type,
    # direction, source address and the transit gateway's losses): 23 of the table's 65 columns.
    assert cached == [
        "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets",
        "bytes", "start", "end", "action", "log_status", "flow_direction", "resource_type",
        "packets_lost_no_route", "packets_lost_blackhole", "packets_lost_mtu_exceeded",
        "packets_lost_ttl_expired", "event_time", "flow_log_id", "source_file", "line_number",
        "duration_seconds",
    ]  # fmt: skip

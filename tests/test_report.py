"""flowlake report: a window's figures as text, its times in UTC whatever the host's zone."""

from __future__ import annotations

import pytest

from flowlake import report as report_job
from flowlake.report import build_report
from flowlake.window import Window
from tests.frames import append, frame, utc

ACCOUNT = "123456789010"
REGION = "us-east-1"


def nat_hour(hour, from_source: int, from_destination: int) -> dict:
    return {
        "hour": hour,
        "account_id": ACCOUNT,
        "region": REGION,
        "nat_gateway_id": "nat-0a1",
        "interface_id": "eni-0nat",
        "bytes_in_from_source": from_source,
        "bytes_in_from_destination": from_destination,
        "packets_in_from_source": 1,
        "packets_in_from_destination": 1,
        "records": 2,
        "distinct_sources": 2,
        "top_destination_aws_services": [],
        "estimated_cost_usd": (from_source + from_destination) / 1e9 * 0.045,
        "event_date": hour.date(),
    }


def test_nat_gateway_hours_are_printed_in_utc(spark, tmp_path):
    # 05:00 and 06:00 UTC on 2026-11-01 are both 01:00 in New York (the night summer time ends there):
    # a report that printed the host's local times would print the same hour twice.
    lake = tmp_path / "lake"
    append(
        frame(
            spark,
            "nat_gateway_hourly",
            [
                nat_hour(utc(2026, 11, 1, 4), 1, 1),  # before the window
                nat_hour(utc(2026, 11, 1, 5), 1_000_000, 30_000_000),
                nat_hour(utc(2026, 11, 1, 6), 2_000_000, 0),
            ],
        ),
        lake,
        "nat_gateway_hourly",
    )

    text = build_report(spark, str(lake), Window(utc(2026, 11, 1, 5), utc(2026, 11, 1, 7)))

    assert text.splitlines()[0] == (
        f"flowlake report for [2026-11-01T05:00:00+00:00, 2026-11-01T07:00:00+00:00)  lake: {lake.as_uri()}"
    )
    nat_section = text.split("\n\nNAT gateway processing by hour\n", 1)[1].split("\n\n", 1)[0]
    assert nat_section.splitlines() == [
        "               hour  bytes_from_vpc  bytes_from_outside  cost_usd",
        "  2026-11-01 05:00Z       1,000,000          30,000,000    0.0014",
        "  2026-11-01 06:00Z       2,000,000                   0    0.0001",
    ]


def finding(hour, kind, severity, description, **columns) -> dict:
    return {
        "hour": hour,
        "finding_id": f"{kind}-{hour.hour}",
        "finding_type": kind,
        "severity": severity,
        "account_id": ACCOUNT,
        "region": REGION,
        "addresses": [],
        "ports": [],
        "metric": "records",
        "observed_value": 1.0,
        "description": description,
        "event_date": hour.date(),
        **columns,
    }


def test_security_findings_are_counted_and_the_most_severe_listed_first(spark, tmp_path):
    lake = tmp_path / "lake"
    append(
        frame(
            spark,
            "security_findings",
            [
                finding(
                    utc(2026, 11, 1, 5), "port_scan", "medium", "one source probed 30 port(s)", srcaddr="198.51.100.9"
                ),
                finding(
                    utc(2026, 11, 1, 6), "port_scan", "medium", "one source probed 25 port(s)", srcaddr="198.51.100.9"
                ),
                finding(
                    utc(2026, 11, 1, 6),
                    "traffic_spike",
                    "high",
                    "bytes to port 443/6: 600000000",
                    interface_id="eni-0db",
                    dstport=443,
                    factor=60.0,
                ),
                finding(utc(2026, 11, 1, 7), "traffic_spike", "critical", "after the window", interface_id="eni-0db"),
            ],
        ),
        lake,
        "security_findings",
    )

    text = build_report(spark, str(lake), Window(utc(2026, 11, 1, 5), utc(2026, 11, 1, 7)))

    def section(title: str) -> list[str]:
        return text.split(f"\n\n{title}\n", 1)[1].split("\n\n", 1)[0].splitlines()

    assert section("Security findings by type and severity") == [
        "   finding_type  severity  findings  hours",
        "      port_scan    medium         2      2",
        "  traffic_spike      high         1      1",
    ]
    assert section("Security findings, most severe first") == [
        "               hour   finding_type  severity  resource       srcaddr  dstport                     description",
        "  2026-11-01 06:00Z  traffic_spike      high   eni-0db          None      443  bytes to port 443/6: 600000000",
        "  2026-11-01 05:00Z      port_scan    medium      None  198.51.100.9     None    one source probed 30 port(s)",
        "  2026-11-01 06:00Z      port_scan    medium      None  198.51.100.9     None    one source probed 25 port(s)",
    ]


def test_a_window_that_ends_before_it_starts_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stopped:
        report_job.main(["--start", "2026-11-01T02:00:00Z", "--end", "2026-11-01T00:00:00Z"])
    assert stopped.value.code == 2
    assert "is not before its end" in capsys.readouterr().err


def result(run_id: str, validated_at, hours: tuple, success: bool, suite: str = "delivery") -> dict:
    return {
        "run_id": run_id,
        "validated_at": validated_at,
        "window_start": hours[0],
        "window_end": hours[1],
        "suite": suite,
        "batch": "objects per hour and flow log",
        "expectation": "expect_column_values_to_be_between",
        "description": "",
        "column": "objects",
        "kwargs": "{}",
        "severity": "critical",
        "success": success,
        "observed_value": "ok" if success else "1 of 2 unexpected",
        "unexpected_count": 0 if success else 1,
        "element_count": 2,
    }


def test_data_quality_shows_every_run_whose_verdict_stands_in_the_window(spark, tmp_path):
    # Hour 05 failed in its hourly run; hour 06 failed, then passed when validated again: its first verdict
    # no longer stands. A report of both hours must show hour 05's failure (it showed the last run alone).
    h5, h6, h7 = utc(2026, 11, 1, 5), utc(2026, 11, 1, 6), utc(2026, 11, 1, 7)
    lake = tmp_path / "lake"
    append(
        frame(
            spark,
            "dq_results",
            [
                result("hour-05", utc(2026, 11, 1, 6, 20), (h5, h6), False),
                result("hour-06", utc(2026, 11, 1, 7, 20), (h6, h7), False),
                result("hour-06-again", utc(2026, 11, 1, 8, 0), (h6, h7), True),
            ],
        ),
        lake,
        "dq_results",
    )

    text = build_report(spark, str(lake), Window(h5, h7))

    quality = text.split("\n\nData quality (2 runs: hour-05, hour-06-again)\n", 1)[1].split("\n\nTables: ", 1)[0]
    assert quality.splitlines() == [
        "  severity  expectations  failed",
        "  critical             2       1",
        "",
        "Failed expectations",
        "       window_start  severity     suite                         expectation   column     observed_value",
        "  2026-11-01 05:00Z  critical  delivery  expect_column_values_to_be_between  objects  1 of 2 unexpected",
    ]

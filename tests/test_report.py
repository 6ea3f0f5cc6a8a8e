"""flowlake report: a window's figures as text, its times in UTC whatever the host's zone."""

from __future__ import annotations

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

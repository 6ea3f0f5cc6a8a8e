"""capacity_daily: these hourly rows, this day, exactly these daily rows; the day chart is one
self-contained page.

Day D is 2026-11-08 (UTC), its week before 2026-11-01.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pyspark.testing import assertDataFrameEqual

from flowlake import capacity
from flowlake.chart import day_chart_html, write_day_chart
from flowlake.window import Window
from tests.frames import append, frame, read, rows, utc

ACCOUNT, REGION = "111122223333", "us-east-1"
D = utc(2026, 11, 8)
WEEK_BEFORE = D - timedelta(days=7)


def traffic(hour, interface, bytes_, packets=1, records=1, vpc_id="vpc-1", action="ACCEPT") -> dict:
    return {
        "hour": hour,
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": vpc_id,
        "interface_id": interface,
        "action": action,
        "protocol": 6,
        "flow_direction": "ingress",
        "records": records,
        "packets": packets,
        "bytes": bytes_,
        "event_date": hour.date(),
    }


def nat(hour, from_source, from_destination) -> dict:
    return {
        "hour": hour,
        "account_id": ACCOUNT,
        "region": REGION,
        "nat_gateway_id": "nat-1",
        "interface_id": "eni-nat",
        "bytes_in_from_source": from_source,
        "bytes_in_from_destination": from_destination,
        "packets_in_from_source": 2,
        "packets_in_from_destination": 3,
        "records": 2,
        "distinct_sources": 1,
        "top_destination_aws_services": [],
        "estimated_cost_usd": 0.0,
        "event_date": hour.date(),
    }


def at(day, hour: int):
    return day + timedelta(hours=hour)


TRAFFIC = [
    # eni-a: 100 bytes at 10:00 (accepted and rejected rows add up), 300 at 11:00 and at 12:00.
    traffic(at(D, 10), "eni-a", 60),
    traffic(at(D, 10), "eni-a", 40, action="REJECT"),
    traffic(at(D, 11), "eni-a", 300, packets=3, records=2),
    traffic(at(D, 12), "eni-a", 300, packets=3, records=2),
    traffic(at(WEEK_BEFORE, 10), "eni-a", 500),
    # eni-b, of a format without vpc-id: 1000 bytes every hour of D, nothing a week before.
    *[traffic(at(D, h), "eni-b", 1000, vpc_id=None) for h in range(24)],
    # The NAT gateway's interface as an interface.
    traffic(at(D, 10), "eni-nat", 8000, packets=10, records=4),
    # The next day: outside the window.
    traffic(at(D, 24), "eni-a", 99),
]
NAT = [nat(at(D, 10), 1000, 3000), nat(at(WEEK_BEFORE, 10), 4000, 4000)]


def daily(resource_type, resource_id, interface, bytes_, packets, records, active, peak, peak_bytes, p95, **more):
    return {
        "day": D.date(),
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": "vpc-1",
        "resource_type": resource_type,
        "resource_id": resource_id,
        "interface_id": interface,
        "bytes": bytes_,
        "packets": packets,
        "records": records,
        "active_hours": active,
        "peak_hour": peak,
        "peak_hour_bytes": peak_bytes,
        "p95_hourly_bytes": p95,
        **more,
    }


EXPECTED = [
    # p95 of 21 zeros, 100, 300, 300: 100 + 0.85 * (300 - 100).
    daily(
        "interface",
        "eni-a",
        "eni-a",
        700,
        8,
        6,
        3,
        at(D, 11),
        300,
        270.0,
        bytes_week_before=500,
        change_bytes=200,
        change_share=0.4,
    ),
    daily("interface", "eni-b", "eni-b", 24000, 24, 24, 24, at(D, 0), 1000, 1000.0, vpc_id=None),
    daily("interface", "eni-nat", "eni-nat", 8000, 10, 4, 1, at(D, 10), 8000, 0.0),
    daily(
        "nat_gateway",
        "nat-1",
        "eni-nat",
        4000,
        5,
        2,
        1,
        at(D, 10),
        4000,
        0.0,
        bytes_week_before=8000,
        change_bytes=-4000,
        change_share=-0.5,
    ),
]


def test_one_row_per_day_and_resource_with_peak_p95_and_the_change_on_a_week_before(spark):
    actual = capacity.transform(
        frame(spark, "traffic_hourly", TRAFFIC),
        frame(spark, "nat_gateway_hourly", NAT),
        Window(D, D + timedelta(days=1)),
    )
    assertDataFrameEqual(actual, frame(spark, "capacity_daily", EXPECTED))


def test_the_job_writes_the_day_and_the_chart_is_drawn_from_the_lake(spark, tmp_path):
    lake = tmp_path / "lake"
    append(frame(spark, "traffic_hourly", TRAFFIC), lake, "traffic_hourly")
    summary = capacity.main(["--lake", str(lake), "--start", D.isoformat(), "--end", at(D, 24).isoformat()], spark)
    assert summary["rows"] == {"capacity_daily": 3}
    assert rows(read(spark, lake, "capacity_daily"), "resource_id", "bytes", "change_bytes") == [
        ("eni-a", 700, 200),
        ("eni-b", 24000, None),
        ("eni-nat", 8000, None),
    ]

    page = write_day_chart(spark, str(lake), D.date(), tmp_path / "chart.html").read_text()
    assert re.findall(r"<text [^>]*font-size=\"12\">([^<]*)</text>", page) == [
        f"{ACCOUNT} {REGION} (no vpc-id)",
        "vpc-1",
    ]
    # vpc-1 at 10:00: 100 + 8000 bytes on a scale up to 10 kB: x = 80 + 560 * 10 / 23, y = 40 + 330 * 0.19.
    assert " 323.5,102.7 " in page


def test_the_chart_page_is_self_contained():
    page = day_chart_html(D.date(), {"vpc-<b>": [0.0] * 12 + [2e9] + [0.0] * 11, "vpc-2": [5e8] * 24})
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg ") == page.count("<polyline ") - 1 == 1
    for external in ("http:", "https:", "src=", "href=", "<script", "url(", "@import", "<link"):
        assert external not in page
    # 2 GB at 12:00 on a 2 GB scale: x = 80 + 560 * 12 / 23, y = 40 (the top).
    assert 'points="80.0,370.0 ' in page and " 372.2,40.0 " in page
    assert "vpc-&lt;b&gt;" in page and "<b>" not in page
    assert [label for label in re.findall(r'text-anchor="end">([^<]*)<', page)] == [
        "0",
        "500 MB",
        "1 GB",
        "1.5 GB",
        "2 GB",
    ]

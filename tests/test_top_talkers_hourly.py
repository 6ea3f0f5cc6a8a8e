"""top_talkers_hourly: these records, exactly these ranked rows and the others row."""

from __future__ import annotations

import re
from datetime import date

from flowlake.aggregates import HOURLY_TABLES, module_for
from flowlake.aggregates.top_talkers_hourly import intermediates, transform
from flowlake.contracts import table_schema
from tests.frames import frame, rows, utc


def record(hour, srcaddr, dstaddr, bytes_, packets, status="OK", account="123456789010", region="us-east-1"):
    return {
        "account_id": account,
        "region": region,
        "interface_id": "eni-0aaa",
        "srcaddr": srcaddr,
        "dstaddr": dstaddr,
        "bytes": bytes_,
        "packets": packets,
        "log_status": status,
        "event_time": utc(2025, 11, 1, hour, 7),
        "event_date": date(2025, 11, 1),
    }


RECORDS = [
    record(10, "10.0.0.1", "10.0.0.9", 500, 5),
    record(10, "10.0.0.2", "10.0.0.9", 300, 3),
    record(10, "10.0.0.3", "10.0.0.8", 100, 1),
    record(10, "10.0.0.4", "10.0.0.8", 100, 2),
    record(10, None, None, None, None, status="NODATA"),
    record(10, "10.0.0.1", "10.0.0.7", 50, 1),
    record(11, "10.0.0.5", "10.0.0.9", 70, 1),
]


def flow_logs(spark):
    return frame(spark, "flow_logs", RECORDS)


def ranked(df) -> list[tuple]:
    """(UTC hour of day, direction, rank, address, bytes, packets, records), sorted."""
    return sorted(
        [
            (hour.hour, *rest)
            for hour, *rest in rows(df, "hour", "direction", "rank", "address", "bytes", "packets", "records")
        ],
        key=repr,
    )


def test_top_two_of_each_direction_and_everyone_else(spark):
    result = transform(flow_logs(spark), top_talkers=2)
    assert [(f.name, f.dataType) for f in result.schema] == [
        (f.name, f.dataType) for f in table_schema("top_talkers_hourly").struct()
    ]
    assert set(rows(result, "account_id", "region", "event_date")) == {("123456789010", "us-east-1", date(2025, 11, 1))}
    assert ranked(result) == sorted(
        [
            (10, "source", 1, "10.0.0.1", 550, 6, 2),
            (10, "source", 2, "10.0.0.2", 300, 3, 1),
            (10, "source", None, None, 200, 3, 2),
            (10, "destination", 1, "10.0.0.9", 800, 8, 2),
            (10, "destination", 2, "10.0.0.8", 200, 3, 2),
            (10, "destination", None, None, 50, 1, 1),
            (11, "source", 1, "10.0.0.5", 70, 1, 1),
            (11, "destination", 1, "10.0.0.9", 70, 1, 1),
        ],
        key=repr,
    )


def test_ties_go_to_the_lower_address(spark):
    sources = [r for r in ranked(transform(flow_logs(spark), top_talkers=3)) if r[0] == 10 and r[1] == "source"]
    assert [(rank, address) for _, _, rank, address, *_ in sources] == [
        (1, "10.0.0.1"),
        (2, "10.0.0.2"),
        (3, "10.0.0.3"),
        (None, None),
    ]


# Hour 10 of three groups (two accounts, one of them in two regions), hour 11 of one.
ACCOUNTS = [
    record(10, "10.0.0.1", "10.0.0.9", 500, 5),
    record(10, "10.1.0.1", "10.1.0.9", 40, 1, account="210987654321"),
    record(10, "10.1.0.2", "10.1.0.9", 60, 1, account="210987654321"),
    record(10, "10.2.0.1", "10.2.0.9", 7, 1, account="210987654321", region="eu-west-1"),
    record(11, "10.0.0.5", "10.0.0.9", 70, 1),
]
HOUR_10 = 1761991200  # 2025-11-01T10:00:00Z in epoch seconds


def test_groups_are_numbered_by_hour_then_account_and_region_and_carry_their_totals(spark):
    groups = intermediates(frame(spark, "flow_logs", ACCOUNTS))["talker_groups"]
    assert sorted(rows(groups, "account_id", "region", "group", "bytes", "packets", "records")) == [
        ("123456789010", "us-east-1", HOUR_10 * 2**20 + 1, 500, 5, 1),
        ("123456789010", "us-east-1", (HOUR_10 + 3600) * 2**20 + 1, 70, 1, 1),
        ("210987654321", "eu-west-1", HOUR_10 * 2**20 + 2, 7, 1, 1),
        ("210987654321", "us-east-1", HOUR_10 * 2**20 + 3, 100, 2, 2),
    ]


def ranking_keys(df) -> list[str]:
    """The columns Spark partitions the ranking window by, in the plan it runs."""
    plan = df._jdf.queryExecution().executedPlan().toString()
    ranking = next(line for line in plan.splitlines() if "row_number()" in line and "Window [" in line)
    partition = re.search(r"\], \[([^\]]*)\], \[", ranking).group(1)
    return [re.sub(r"#\d+L?$", "", column.strip()) for column in partition.split(",")]


def test_addresses_are_ranked_within_a_group_number_and_a_direction_index_given_or_not(spark):
    # Partitioned by numbers, the ranking's sort compares two numbers before the bytes, where it compared the
    # hour, the date, the account, the region and the direction's name: half of the random traffic's ranking.
    records = frame(spark, "flow_logs", ACCOUNTS)
    groups = intermediates(records)["talker_groups"].persist()
    try:
        given, alone = transform(records, top_talkers=1, talker_groups=groups), transform(records, top_talkers=1)
        assert ranking_keys(given) == ranking_keys(alone) == ["group", "direction"]
        expected = [
            (10, "123456789010", "us-east-1", "source", 1, "10.0.0.1", 500),
            (10, "123456789010", "us-east-1", "destination", 1, "10.0.0.9", 500),
            (10, "210987654321", "eu-west-1", "source", 1, "10.2.0.1", 7),
            (10, "210987654321", "eu-west-1", "destination", 1, "10.2.0.9", 7),
            (10, "210987654321", "us-east-1", "source", 1, "10.1.0.2", 60),
            (10, "210987654321", "us-east-1", "source", None, None, 40),
            (10, "210987654321", "us-east-1", "destination", 1, "10.1.0.9", 100),
            (11, "123456789010", "us-east-1", "source", 1, "10.0.0.5", 70),
            (11, "123456789010", "us-east-1", "destination", 1, "10.0.0.9", 70),
        ]
        for result in (given, alone):
            columns = ("hour", "account_id", "region", "direction", "rank", "address", "bytes")
            assert sorted([(hour.hour, *rest) for hour, *rest in rows(result, *columns)], key=repr) == sorted(
                expected, key=repr
            )
    finally:
        groups.unpersist()


def test_registered_so_aggregate_the_dag_and_validation_pick_it_up():
    assert "top_talkers_hourly" in HOURLY_TABLES
    assert module_for("top_talkers_hourly").TABLE == "top_talkers_hourly"

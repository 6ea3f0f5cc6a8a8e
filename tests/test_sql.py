"""The named queries over a hand-made flow_logs table, and the tables read without Spark."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from flowlake.sql import main as sql_main
from flowlake.sql import named_queries, register_tables, run_named_query
from tests.frames import append, collected, frame, utc

WINDOW = {"start": "2025-11-01T10:00:00Z", "end": "2025-11-01T11:00:00Z"}


def flow_log(
    minute,
    action,
    srcaddr,
    dstaddr,
    srcport,
    dstport,
    packets,
    bytes_,
    instance=None,
    subnet=None,
    status="OK",
    reason=None,
    resource_type=None,
):
    start = int(utc(2025, 11, 1, 10, 0).timestamp()) + 60 * minute
    return {
        "account_id": "123456789010",
        "interface_id": "eni-0aaa",
        "srcaddr": srcaddr,
        "dstaddr": dstaddr,
        "srcport": srcport,
        "dstport": dstport,
        "protocol": 6 if srcaddr else None,
        "packets": packets,
        "bytes": bytes_,
        "start": start,
        "end": start + 60,
        "action": action,
        "log_status": status,
        "instance_id": instance,
        "subnet_id": subnet,
        "reject_reason": reason,
        "resource_type": resource_type,
        "event_time": utc(2025, 11, 1, 10 + minute // 60, minute % 60),
        "event_date": date(2025, 11, 1),
    }


ROWS = [
    flow_log(1, "ACCEPT", "10.0.0.1", "10.0.0.2", 50000, 22, 10, 1000, "i-1", "subnet-1"),
    flow_log(2, "REJECT", "198.51.100.7", "10.0.0.1", 40000, 3389, 2, 80, "i-1", "subnet-1", reason="BPA"),
    flow_log(3, "ACCEPT", "10.0.0.2", "52.216.1.1", 40001, 443, 50, 70000, "i-2", "subnet-2"),
    flow_log(4, "ACCEPT", "2001:db8::1", "2001:db8::2", 1234, 443, 5, 500),
    flow_log(5, None, None, None, None, None, None, None, status="NODATA"),
    # Minute 3's flow again, as a transit gateway's flow log records it: the VPC's own record counts it already.
    flow_log(6, "ACCEPT", "10.0.0.2", "52.216.1.1", 40001, 443, 50, 70000, resource_type="TransitGatewayAttachment"),
    flow_log(70, "ACCEPT", "10.0.0.1", "10.0.0.2", 50000, 22, 1, 9999, "i-1", "subnet-1"),  # 11:10, outside
]


def capacity(day, resource_type, resource_id, bytes_, week_before) -> dict:
    change = None if week_before is None else bytes_ - week_before
    return {
        "day": day,
        "account_id": "123456789010",
        "region": "us-east-1",
        "vpc_id": "vpc-1",
        "resource_type": resource_type,
        "resource_id": resource_id,
        "bytes": bytes_,
        "bytes_week_before": week_before,
        "change_bytes": change,
        "change_share": None if change is None else change / week_before,
    }


CAPACITY = [
    capacity(date(2025, 11, 1), "interface", "eni-1", 1500, 1000),
    capacity(date(2025, 11, 1), "nat_gateway", "nat-1", 900, 1000),
    capacity(date(2025, 11, 1), "interface", "eni-2", 100, None),  # nothing a week before: not a grower
    capacity(date(2025, 10, 31), "interface", "eni-3", 99999, 1),  # another day
]


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    lake = tmp_path_factory.mktemp("sql") / "lake"
    append(frame(spark, "flow_logs", ROWS), lake, "flow_logs")
    register_tables(spark, str(lake))
    # capacity_daily's named query reads the table by name: a view of hand-made rows stands in for it.
    frame(spark, "capacity_daily", CAPACITY).createOrReplaceTempView("capacity_daily")
    return lake


EXPECTED = {
    "capacity_top_growers": [
        (date(2025, 11, 1), "123456789010", "us-east-1", "vpc-1", "interface", "eni-1", 1500, 1000, 500, 0.5),
        (date(2025, 11, 1), "123456789010", "us-east-1", "vpc-1", "nat_gateway", "nat-1", 900, 1000, -100, -0.1),
    ],
    "total_bytes": [(71580, 67, 4)],
    "ssh_rdp_traffic": [("ACCEPT", 22, 1, 10, 1000, 1), ("REJECT", 3389, 1, 2, 80, 1)],
    "admin_port_traffic": [(22, "ACCEPT", 1, 1000, 1), (3389, "REJECT", 1, 80, 1)],
    "top_talkers_bytes": [
        ("10.0.0.2", "52.216.1.1", 70000, 50, 1),
        ("10.0.0.1", "10.0.0.2", 1000, 10, 1),
        ("2001:db8::1", "2001:db8::2", 500, 5, 1),
        ("198.51.100.7", "10.0.0.1", 80, 2, 1),
    ],
    "top_talkers_packets": [
        ("10.0.0.2", "52.216.1.1", 50, 70000, 1),
        ("10.0.0.1", "10.0.0.2", 10, 1000, 1),
        ("2001:db8::1", "2001:db8::2", 5, 500, 1),
        ("198.51.100.7", "10.0.0.1", 2, 80, 1),
    ],
    "top_talking_instances": [("i-2", 70000, 50, 1), ("i-1", 1080, 12, 2)],
    "top_talking_subnets": [("subnet-2", 70000, 50, 1), ("subnet-1", 1080, 12, 2)],
    "traffic_with_address": [("from", "ACCEPT", 6, 1, 10, 1000), ("to", "REJECT", 6, 1, 2, 80)],
    "ip_version_split": [("IPv4", 3, 62, 71080), ("IPv6", 1, 5, 500)],
    # A listing of records: the transit gateway's record of a flow is one.
    "accepted_traffic": [
        (utc(2025, 11, 1, 10, 3), "123456789010", "eni-0aaa", "10.0.0.2", "52.216.1.1", 40001, 443, 6, 50, 70000),
        (utc(2025, 11, 1, 10, 6), "123456789010", "eni-0aaa", "10.0.0.2", "52.216.1.1", 40001, 443, 6, 50, 70000),
        (utc(2025, 11, 1, 10, 1), "123456789010", "eni-0aaa", "10.0.0.1", "10.0.0.2", 50000, 22, 6, 10, 1000),
        (utc(2025, 11, 1, 10, 4), "123456789010", "eni-0aaa", "2001:db8::1", "2001:db8::2", 1234, 443, 6, 5, 500),
    ],
    "rejected_traffic": [
        (
            utc(2025, 11, 1, 10, 2),
            "123456789010",
            "eni-0aaa",
            "198.51.100.7",
            "10.0.0.1",
            40000,
            3389,
            6,
            2,
            80,
            "BPA",
        ),
    ],
}


def test_every_named_query_has_a_hand_worked_expectation():
    assert set(named_queries()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_query_gives_exactly_the_hand_worked_rows(spark, lake, name):
    result = run_named_query(spark, name, {**WINDOW, "address": "10.0.0.1"})
    assert collected(result) == EXPECTED[name]


def test_named_query_names_missing_parameters(spark, lake):
    with pytest.raises(ValueError, match="--param address=..."):
        run_named_query(spark, "traffic_with_address", WINDOW)


def test_sql_command_runs_a_statement_over_registered_tables(spark, lake, capsys):
    assert sql_main(["--lake", str(lake), "--format", "json", "SELECT count(*) AS n FROM flow_logs"], spark=spark) == 0
    assert capsys.readouterr().out.strip() == '{"n": 7}'


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM flow_logs WHERE true",
        "INSERT INTO flow_logs SELECT * FROM flow_logs",
        "WITH copy AS (SELECT * FROM flow_logs) INSERT INTO flow_logs SELECT * FROM copy",
        "DROP TABLE flow_logs",
        "TRUNCATE TABLE flow_logs",
        "VACUUM flow_logs RETAIN 0 HOURS",
        "RESTORE TABLE flow_logs TO VERSION AS OF 0",
        "INSERT OVERWRITE DIRECTORY '/tmp/flowlake-sql-out' SELECT * FROM flow_logs",
        "SELECT count(*) FROM flow_logs; DELETE FROM flow_logs",
    ],
)
def test_sql_command_refuses_a_statement_that_is_not_one_query_and_the_lake_keeps_its_rows(
    spark, lake, capsys, statement
):
    with pytest.raises(SystemExit) as stopped:
        sql_main(["--lake", str(lake), statement], spark=spark)
    assert stopped.value.code == 2
    assert "flowlake sql: error: not one query: flowlake sql runs a SELECT" in capsys.readouterr().err
    assert sql_main(["--lake", str(lake), "--format", "json", "SELECT count(*) AS n FROM flow_logs;"], spark=spark) == 0
    assert capsys.readouterr().out.strip() == '{"n": 7}'


def test_tables_read_the_same_without_spark(spark, lake):
    """A non-Spark Delta reader (delta-rs) and DuckDB over it give Spark's figures."""
    import duckdb
    from deltalake import DeltaTable

    dataset = DeltaTable(str(lake / "flow_logs")).to_pyarrow_dataset()
    duck = duckdb.connect()
    duck.register("flow_logs", dataset)
    query = (
        "SELECT action, count(*), sum(bytes), sum(packets) FROM flow_logs GROUP BY action ORDER BY action NULLS LAST"
    )
    spark_rows = [
        tuple(r)
        for r in spark.table("flow_logs")
        .groupBy("action")
        .agg(F.count("*"), F.sum("bytes"), F.sum("packets"))
        .orderBy(F.col("action").asc_nulls_last())
        .collect()
    ]
    assert (
        duck.execute(query).fetchall()
        == spark_rows
        == [("ACCEPT", 5, 151499, 116), ("REJECT", 1, 80, 2), (None, 1, None, None)]
    )


def test_parameters_become_literals_that_cannot_break_out_of_their_quotes():
    from flowlake.sql import bind_parameters

    sql = "SELECT 1 FROM t WHERE a = :address AND t >= :start AND c = '::x'"
    assert bind_parameters(sql, {"address": "1' OR '1'='1", "start": "2025-11-01T10:00:00+01:00"}) == (
        "SELECT 1 FROM t WHERE a = '1\\' OR \\'1\\'=\\'1' AND t >= TIMESTAMP '2025-11-01 09:00:00.000000' AND c = '::x'"
    )


@pytest.mark.parametrize(
    "arguments, error",
    [
        (["--query", "top_talkers"], "no query named top_talkers; known: "),
        (["--query", "top_talkers_bytes", "--param", "start"], "argument --param: 'start' is not NAME=VALUE"),
        (["--query", "top_talkers_bytes", "--param", "start=2025-11-01T10:00:00Z"], "needs --param end=..."),
        (
            ["--query", "top_talkers_bytes", "--param", "start=yesterday", "--param", "end=2025-11-01T11:00:00Z"],
            "--param start='yesterday': not a time (ISO 8601, e.g. 2026-11-01T10:00:00Z)",
        ),
    ],
)
def test_a_query_not_named_or_a_parameter_without_a_value_is_a_usage_error(capsys, arguments, error):
    with pytest.raises(SystemExit) as stopped:
        sql_main(arguments)
    assert stopped.value.code == 2
    assert error in capsys.readouterr().err

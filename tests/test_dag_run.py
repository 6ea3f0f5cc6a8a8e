"""A whole hourly run through Airflow's dag.test(), with real spark-submit jobs, on hand-made objects.

dag.test() runs in its own interpreter with its own AIRFLOW_HOME (SQLite), as
`airflow dags test` would: every Spark job is a spark-submit of its own, so the
run never touches this pytest process's SparkSession, which only reads the
tables afterwards. The first run goes to the Spark standalone cluster (the
connection spark_default points at its master); the tables must equal what the
same job writes in local mode, as a second run of the hour in local mode shows.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowlake.aggregates import HOURLY_TABLES
from flowlake.hourly import DEFAULT_LOOKBACK_HOURS, ingest_window
from flowlake.run import run_pipeline
from flowlake.window import Window
from tests.airflow_server import airflow_for, run_hour
from tests.flowlog_objects import ACCOUNT, write_object
from tests.frames import ordered, read, rows, rows_without, utc
from tests.spark_cluster import INHERITED_PYTHON_SETTINGS

HOUR = datetime(2026, 11, 1, 10, tzinfo=UTC)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def record(
    interface: str,
    src: str,
    dst: str,
    dstport: int,
    packets: int,
    size: int,
    start: datetime,
    end: datetime,
    action: str = "ACCEPT",
) -> str:
    return f"2 {ACCOUNT} {interface} {src} {dst} 49152 {dstport} 6 {packets} {size} {epoch(start)} {epoch(end)} {action} OK"


def nodata(interface: str, start: datetime, end: datetime) -> str:
    return f"2 {ACCOUNT} {interface} - - - - - - - {epoch(start)} {epoch(end)} - NODATA"


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 1, hour, minute, second, tzinfo=UTC)


def write_objects(source: Path) -> None:
    """The 10:00 hour's objects, a late one of the lookback hours, and the next hour's first."""
    write_object(
        source,
        at(10, 5),
        [
            # Starts 09:58, delivered with 10:05: belongs to hour 9, which must be re-aggregated.
            record("eni-0a", "10.0.0.1", "10.0.0.2", 443, 10, 1000, at(9, 58), at(10, 3)),
            record("eni-0a", "10.0.0.1", "10.0.0.2", 443, 20, 2000, at(10, 0, 30), at(10, 4, 30)),
            record("eni-0a", "198.51.100.7", "10.0.0.1", 22, 1, 40, at(10, 1), at(10, 4), action="REJECT"),
        ],
        object_hash="aaaa0001",
    )
    write_object(
        source,
        at(10, 35),
        [
            record("eni-0b", "10.0.1.1", "10.0.1.2", 5432, 5, 500, at(10, 30), at(10, 34)),
            nodata("eni-0b", at(10, 30), at(10, 34)),
        ],
        object_hash="aaaa0002",
    )
    # Named 08:05 (within the 2-hour lookback), its record started 07:58: hour 7, before the ingest window.
    write_object(
        source,
        at(8, 5),
        [
            record("eni-0a", "10.0.0.1", "10.0.0.2", 443, 7, 700, at(7, 58), at(8, 3)),
        ],
        object_hash="aaaa0003",
    )
    # Named 11:00: the next run's window, even though its record started in hour 10.
    write_object(
        source,
        at(11, 0),
        [
            record("eni-0a", "10.0.0.1", "10.0.0.2", 443, 1000, 99999, at(10, 55), at(10, 59, 30)),
        ],
        object_hash="aaaa0004",
    )


def row_of(line: str) -> tuple:
    """A record()'s or nodata()'s line as the flow_logs columns the tests read, in their order: its fields split,
    '-' as NULL, the day of its start."""
    _, _, interface, *addresses, action, status = line.split()
    numbers = [None if field == "-" else int(field) for field in addresses[2:]]
    src, dst = (None if field == "-" else field for field in addresses[:2])
    day = datetime.fromtimestamp(numbers[-2], UTC).date()
    return (interface, src, dst, *numbers, None if action == "-" else action, status, day)


def snapshot(spark, lake: Path) -> dict:
    """Every table's rows, less what a rerun must change (when objects were ingested, which run validated)."""
    return {
        table: rows_without(read(spark, lake, table), "ingested_at")
        for table in ("flow_logs", "flow_logs_quarantine", "source_objects", *HOURLY_TABLES)
    }


def run_hourly_pipeline(spark, source: Path, lake: Path) -> dict:
    """What the job process_hour submits writes (ingest with the DAG's lookback, then the hours it touched),
    in this session (local mode); its validation writes only dq_results, which the DAG run's tests check."""
    window = Window(HOUR, HOUR + timedelta(hours=1))
    ingested = ingest_window(window, DEFAULT_LOOKBACK_HOURS)
    run_pipeline(spark, str(source), str(lake), ingested, None, ingested_at=datetime.now(UTC), aggregated_window=window)
    return snapshot(spark, lake)


@pytest.fixture(scope="module")
def airflow_run(tmp_path_factory, spark_cluster):
    """dag.test()'s environment, with spark_default pointing at the cluster, and the lake it writes."""
    root = tmp_path_factory.mktemp("dag_run")
    write_objects(root / "source")
    env = {k: v for k, v in airflow_for(root).items() if k not in INHERITED_PYTHON_SETTINGS}
    return {**env, "AIRFLOW_CONN_SPARK_DEFAULT": spark_cluster.master_url}, root / "lake"


@pytest.fixture(scope="module")
def first_run(airflow_run):
    env, _ = airflow_run
    return run_hour(env, HOUR)


@pytest.mark.slow
def test_the_run_succeeds_for_exactly_one_hour(first_run):
    assert first_run["state"] == "success", first_run["tasks"]
    assert set(first_run["tasks"].values()) == {"success"}, first_run["tasks"]
    start, end = (datetime.fromisoformat(t) for t in first_run["data_interval"])
    assert (start, end - start) == (HOUR, timedelta(hours=1))
    validated = first_run["results"]["process_hour"]["validate"]
    assert (validated["window_start"], validated["window_end"]) == (HOUR.isoformat(), end.isoformat())
    assert (validated["exit_code"], validated["failed_critical"]) == (0, [])


@pytest.mark.slow
def test_ingest_reads_the_hour_and_the_lookback_and_aggregation_every_hour_it_touched(first_run):
    ingested = first_run["results"]["process_hour"]["ingest"]
    assert (ingested["window_start"], ingested["window_end"]) == (
        "2026-11-01T08:00:00+00:00",
        "2026-11-01T11:00:00+00:00",
    )
    assert (ingested["objects"], ingested["records_written"], ingested["lines_quarantined"]) == (3, 6, 0)
    assert ingested["hours_touched"] == [f"2026-11-01T{h:02d}:00:00+00:00" for h in (7, 9, 10)]
    # The run's hour and those the records touched, not the lookback's hour 8, to which nothing was added.
    aggregated = first_run["results"]["process_hour"]["aggregate"]
    assert [(a["window_start"], a["window_end"], a["hours"]) for a in aggregated] == [
        ("2026-11-01T07:00:00+00:00", "2026-11-01T08:00:00+00:00", 1),
        ("2026-11-01T09:00:00+00:00", "2026-11-01T11:00:00+00:00", 2),
    ]


@pytest.mark.slow
def test_the_tables_hold_the_hours_exact_figures(first_run, airflow_run, spark):
    _, lake = airflow_run
    assert rows(read(spark, lake, "source_objects"), "object_key", "records_written", "status") == ordered(
        [
            (
                f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2026/11/01/{ACCOUNT}_vpcflowlogs_us-east-1_fl-1234abcd_{name}.log.gz",
                n,
                "ok",
            )
            for name, n in (
                ("20261101T1005Z_aaaa0001", 3),
                ("20261101T1035Z_aaaa0002", 2),
                ("20261101T0805Z_aaaa0003", 1),
            )
        ]
    )
    # The records as the cluster's executors parsed them, each in the day of its own start.
    assert rows(
        read(spark, lake, "flow_logs"),
        *("interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes"),
        *("start", "end", "action", "log_status", "event_date"),
    ) == ordered(
        [
            row_of(record("eni-0a", "10.0.0.1", "10.0.0.2", 443, 7, 700, at(7, 58), at(8, 3))),
            row_of(record("eni-0a", "10.0.0.1", "10.0.0.2", 443, 10, 1000, at(9, 58), at(10, 3))),
            row_of(record("eni-0a", "10.0.0.1", "10.0.0.2", 443, 20, 2000, at(10, 0, 30), at(10, 4, 30))),
            row_of(record("eni-0a", "198.51.100.7", "10.0.0.1", 22, 1, 40, at(10, 1), at(10, 4), action="REJECT")),
            row_of(record("eni-0b", "10.0.1.1", "10.0.1.2", 5432, 5, 500, at(10, 30), at(10, 34))),
            row_of(nodata("eni-0b", at(10, 30), at(10, 34))),
        ]
    )
    assert read(spark, lake, "flow_logs_quarantine").count() == 0
    assert rows(
        read(spark, lake, "traffic_hourly"), "hour", "interface_id", "action", "records", "packets", "bytes"
    ) == ordered(
        [
            (utc(2026, 11, 1, 7), "eni-0a", "ACCEPT", 1, 7, 700),
            (utc(2026, 11, 1, 9), "eni-0a", "ACCEPT", 1, 10, 1000),
            (utc(2026, 11, 1, 10), "eni-0a", "ACCEPT", 1, 20, 2000),
            (utc(2026, 11, 1, 10), "eni-0a", "REJECT", 1, 1, 40),
            (utc(2026, 11, 1, 10), "eni-0b", "ACCEPT", 1, 5, 500),
        ]
    )
    assert rows(
        read(spark, lake, "rejects_hourly"), "hour", "interface_id", "dstport", "records", "bytes", "distinct_sources"
    ) == ordered(
        [
            (utc(2026, 11, 1, 10), "eni-0a", 22, 1, 40, 1),
        ]
    )
    assert rows(read(spark, lake, "log_status_hourly"), "hour", "interface_id", "log_status", "records") == ordered(
        [
            (utc(2026, 11, 1, 7), "eni-0a", "OK", 1),
            (utc(2026, 11, 1, 9), "eni-0a", "OK", 1),
            (utc(2026, 11, 1, 10), "eni-0a", "OK", 2),
            (utc(2026, 11, 1, 10), "eni-0b", "NODATA", 1),
            (utc(2026, 11, 1, 10), "eni-0b", "OK", 1),
        ]
    )
    validated = first_run["results"]["process_hour"]["validate"]
    results = read(spark, lake, "dq_results").where(f"run_id = '{validated['run_id']}'")
    assert results.count() == validated["expectations"] > 0
    assert rows(results.select("window_start", "window_end").distinct()) == [
        (utc(2026, 11, 1, 10), utc(2026, 11, 1, 11))
    ]


@pytest.mark.slow
def test_the_run_went_to_the_cluster(first_run, spark_cluster):
    assert "flowlake-hourly" in spark_cluster.applications().values()


@pytest.mark.slow
def test_the_cluster_s_executors_fetched_from_a_driver_on_127_0_0_1(first_run, spark_cluster):
    fetched = spark_cluster.fetched()
    assert fetched and all(files for files in fetched.values()), fetched
    assert {socket.gethostbyname(address) for files in fetched.values() for address, _, _ in files} == {"127.0.0.1"}


@pytest.mark.slow
def test_a_second_run_of_the_same_hour_in_local_mode_changes_nothing(first_run, airflow_run, spark):
    """What works only in local mode does not work: local mode's aggregate of the run's hour, over the records the
    cluster parsed, rewrites each hourly table's hour with the rows the cluster wrote."""
    _, lake = airflow_run
    before = snapshot(spark, lake)
    assert run_hourly_pipeline(spark, lake.parent / "source", lake) == before

"""A whole hourly run through Airflow's dag.test(), with real spark-submit jobs, on hand-made objects.

dag.test() runs in its own interpreter with its own AIRFLOW_HOME (SQLite), as
`airflow dags test` would: every Spark job is a spark-submit of its own, so the
run never touches this pytest process's SparkSession, which only reads the
tables afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flowlake.lake import table_path
from flowlake.layout import object_key
from scripts.airflow_local import airflow_environment, prepare
from tests.flowlog_objects import ACCOUNT, REGION, write_object, write_raw

PROJECT_ROOT = Path(__file__).resolve().parent.parent
UTC = UTC
HOUR = datetime(2026, 11, 1, 10, tzinfo=UTC)
DAG_ID = "vpc_flow_logs_hourly"

DAG_TEST = r"""
import json, sys
from datetime import datetime
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

folder = Path(sys.argv[1])
bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")
dag = bag.dags[sys.argv[2]]
if sys.argv[4] == "no-retries":
    for task in dag.tasks:
        task.retries = 0  # a failure shows at once, not after minutes of backoff
run = dag.test(logical_date=datetime.fromisoformat(sys.argv[3]))
with create_session() as session:
    xcoms = session.scalars(XComModel.get_many(run_id=run.run_id, key="return_value", dag_ids=run.dag_id)).all()
    results = {
        f"{x.task_id}[{x.map_index}]" if x.map_index >= 0 else x.task_id: XComModel.deserialize_value(x)
        for x in xcoms
    }
    tasks = {
        f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: ti.state
        for ti in run.get_task_instances(session=session)
    }
    tries = {ti.task_id: ti.try_number for ti in run.get_task_instances(session=session)}
print("RUN " + json.dumps({
    "state": run.state,
    "data_interval": [run.data_interval_start.isoformat(), run.data_interval_end.isoformat()],
    "tasks": tasks,
    "tries": tries,
    "results": results,
}))
"""


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


def run_hour(env: dict, hour: datetime, retries: str = "no-retries") -> dict:
    """dag.test() of the run whose data interval is [hour, hour + 1h); retries="as-declared" keeps the DAG's."""
    # A manual run's data interval is the last whole hour before its logical date.
    logical_date = (hour + timedelta(hours=1)).isoformat()
    result = subprocess.run(
        [sys.executable, "-c", DAG_TEST, str(PROJECT_ROOT / "dags"), DAG_ID, logical_date, retries],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RUN ")]
    assert result.returncode == 0 and lines, (result.stdout[-6000:], result.stderr[-6000:])
    return json.loads(lines[-1][len("RUN ") :])


def read(spark, lake: Path, table: str):
    return spark.read.format("delta").load(table_path(str(lake), table))


def ordered(rows) -> list[tuple]:
    """Sorted with NULLs comparable, so whole row sets can be compared."""
    return sorted(rows, key=repr)


def table_rows(spark, lake: Path, table: str, *columns: str) -> list[tuple]:
    return ordered(tuple(r) for r in read(spark, lake, table).select(*columns).collect())


def snapshot(spark, lake: Path) -> dict:
    """Every table's rows, less what a rerun must change (when objects were ingested, which run validated)."""
    from flowlake.aggregates import HOURLY_TABLES

    tables = {}
    for table in ("flow_logs", "flow_logs_quarantine", "source_objects", *HOURLY_TABLES):
        df = read(spark, lake, table)
        columns = [c for c in df.columns if c != "ingested_at"]
        tables[table] = ordered(tuple(r) for r in df.select(*columns).collect())
    return tables


def airflow_for(root: Path) -> dict:
    """The environment of a dag.test() on root/source and root/lake, its Airflow home prepared."""
    env = {
        **airflow_environment(root / "airflow", 8793, root / "source", root / "lake"),
        "FLOWLAKE_SHUFFLE_PARTITIONS": "2",
    }
    prepare(env)
    return env


@pytest.fixture(scope="module")
def airflow_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dag_run")
    write_objects(root / "source")
    return airflow_for(root), root / "lake"


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
    validated = first_run["results"]["validate"]
    assert (validated["window_start"], validated["window_end"]) == (HOUR.isoformat(), end.isoformat())
    assert (validated["exit_code"], validated["failed_critical"]) == (0, [])


@pytest.mark.slow
def test_ingest_reads_the_hour_and_the_lookback_and_aggregation_every_hour_it_touched(first_run):
    ingested = first_run["results"]["ingest"]
    assert (ingested["window_start"], ingested["window_end"]) == (
        "2026-11-01T08:00:00+00:00",
        "2026-11-01T11:00:00+00:00",
    )
    assert (ingested["objects"], ingested["records_written"], ingested["lines_quarantined"]) == (3, 6, 0)
    assert ingested["hours_touched"] == [f"2026-11-01T{h:02d}:00:00+00:00" for h in (7, 9, 10)]
    assert first_run["results"]["hours_to_aggregate"] == [
        {"start": "2026-11-01T07:00:00+00:00", "end": "2026-11-01T11:00:00+00:00"}
    ]
    assert first_run["results"]["aggregate[0]"]["hours"] == 4


@pytest.mark.slow
def test_the_tables_hold_the_hours_exact_figures(first_run, airflow_run, spark):
    _, lake = airflow_run
    assert table_rows(spark, lake, "source_objects", "object_key", "records_written", "status") == ordered(
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
    assert table_rows(
        spark, lake, "traffic_hourly", "hour", "interface_id", "action", "records", "packets", "bytes"
    ) == ordered(
        [
            (datetime(2026, 11, 1, 7), "eni-0a", "ACCEPT", 1, 7, 700),
            (datetime(2026, 11, 1, 9), "eni-0a", "ACCEPT", 1, 10, 1000),
            (datetime(2026, 11, 1, 10), "eni-0a", "ACCEPT", 1, 20, 2000),
            (datetime(2026, 11, 1, 10), "eni-0a", "REJECT", 1, 1, 40),
            (datetime(2026, 11, 1, 10), "eni-0b", "ACCEPT", 1, 5, 500),
        ]
    )
    assert table_rows(
        spark, lake, "rejects_hourly", "hour", "interface_id", "dstport", "records", "bytes", "distinct_sources"
    ) == ordered(
        [
            (datetime(2026, 11, 1, 10), "eni-0a", 22, 1, 40, 1),
        ]
    )
    assert table_rows(spark, lake, "log_status_hourly", "hour", "interface_id", "log_status", "records") == ordered(
        [
            (datetime(2026, 11, 1, 7), "eni-0a", "OK", 1),
            (datetime(2026, 11, 1, 9), "eni-0a", "OK", 1),
            (datetime(2026, 11, 1, 10), "eni-0a", "OK", 2),
            (datetime(2026, 11, 1, 10), "eni-0b", "NODATA", 1),
            (datetime(2026, 11, 1, 10), "eni-0b", "OK", 1),
        ]
    )
    validated = first_run["results"]["validate"]
    results = read(spark, lake, "dq_results").where(f"run_id = '{validated['run_id']}'")
    assert results.count() == validated["expectations"] > 0
    windows = results.select("window_start", "window_end").distinct().collect()
    assert [tuple(w) for w in windows] == [(datetime(2026, 11, 1, 10), datetime(2026, 11, 1, 11))]


@pytest.mark.slow
def test_a_second_run_of_the_same_hour_changes_nothing(first_run, airflow_run, spark):
    env, lake = airflow_run
    before = snapshot(spark, lake)
    second = run_hour(env, HOUR)
    assert second["state"] == "success", second["tasks"]
    assert second["results"]["ingest"]["records_written"] == 6
    assert snapshot(spark, lake) == before


class WebhookReceiver(BaseHTTPRequestHandler):
    """A Slack-compatible incoming webhook on 127.0.0.1 that keeps what it is sent."""

    received: list[dict] = []

    def do_POST(self):
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), WebhookReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/flowlake", WebhookReceiver.received
    server.shutdown()


@pytest.mark.slow
def test_a_failed_validation_fails_the_run_at_once_and_alerts_twice(tmp_path, webhook):
    """A corrupt object: ingest and aggregate go through, validation fails, and people are told."""
    url, received = webhook
    source = tmp_path / "source"
    write_object(
        source, at(10, 5), [record("eni-0a", "10.0.0.1", "10.0.0.2", 443, 20, 2000, at(10, 0, 30), at(10, 4, 30))]
    )
    write_raw(source, object_key(ACCOUNT, REGION, "fl-1234abcd", at(10, 10), "bad00001"), b"not gzip at all")
    env = {**airflow_for(tmp_path), "FLOWLAKE_ALERT_WEBHOOK_URL": url}

    failed = run_hour(env, HOUR, retries="as-declared")

    assert failed["state"] == "failed"
    assert {task: failed["tasks"][task] for task in ("ingest", "aggregate[0]", "validate")} == {
        "ingest": "success",
        "aggregate[0]": "success",
        "validate": "failed",
    }
    # A verdict is not retried, although the task may be (retries=3).
    assert failed["tries"]["validate"] == 1
    texts = sorted(message["text"] for message in received)
    assert len(texts) == 2, texts
    quality, task = texts  # "flowlake data quality ..." sorts before "flowlake task ..."
    assert quality.startswith("flowlake data quality FAILED for 2026-11-01T10:00Z to 2026-11-01T11:00Z")
    assert "every object of the window was read (none corrupt)" in quality
    assert task.startswith(
        "flowlake task failed: vpc_flow_logs_hourly.validate for 2026-11-01T10:00Z to 2026-11-01T11:00Z"
    )
    # The Airflow alert carries the job's verdict, so it stands on its own.
    assert "flowlake validate failed" in task and "expect_column_values_to_be_in_set(status)" in task

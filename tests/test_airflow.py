"""A running Airflow on 127.0.0.1 (scheduler, triggerer, API server), started the way `make airflow` starts it.

`airflow backfill create` of two generated hours, the second with a corrupt object:
the first run succeeds, the second fails at once on its validation and alerts twice
through the webhook connection an operator stored in Airflow; the tables equal one
`flowlake run` of the same window. Then the UI in headless Chromium shows both DAGs
and those runs (screenshots go to tests/artifacts/).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowlake.aggregates import HOURLY_TABLES
from flowlake.connections import WEBHOOK_CONNECTION
from flowlake.generate import generate
from flowlake.run import run_pipeline
from flowlake.window import Window
from tests.airflow_server import running_airflow
from tests.browser import chromium, needs_chromium, page_text
from tests.frames import read, rows, rows_without
from tests.servers import WebhookServer

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DAG_IDS = ("vpc_flow_logs_hourly", "vpc_flow_logs_maintenance")
DAG_ID = DAG_IDS[0]
START = datetime(2026, 11, 1, 0, tzinfo=UTC)
HOURS = 2
FINISHED = {"success", "failed"}
RUNS_SECONDS = 2400
CREATE_ATTEMPTS = 5


def corrupt_an_object_of_the_second_hour(source: Path) -> Path:
    (first, *_) = sorted(source.rglob(f"*_{START + timedelta(hours=1):%Y%m%dT%H}*.log.gz"))
    first.write_bytes(b"not gzip at all")
    return first


def until_created(airflow, *arguments: str):
    """An `airflow` command that writes the metadata, retried while SQLite (the local metadata database)
    is locked: it takes one writer at a time, and the command can lose to the scheduler. A real
    deployment uses PostgreSQL."""
    for _ in range(CREATE_ATTEMPTS):
        created = airflow.cli(*arguments)
        if created.returncode == 0 or "database is locked" not in created.stderr:
            break
        time.sleep(5)
    assert created.returncode == 0, created.stderr[-4000:]


@pytest.fixture(scope="module")
def webhook():
    with WebhookServer() as server:
        yield server


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory, webhook):
    """Airflow over two hours of generated objects, running until the module's tests are done."""
    root = tmp_path_factory.mktemp("airflow")
    source, lake = root / "source", root / "lake"
    generate(str(source), START, HOURS, records_per_hour=200)
    corrupt = corrupt_an_object_of_the_second_hour(source)
    extra_env = {
        # Holds the run the scheduler starts for the current hour at its sensor (deferred, in the
        # triggerer, holding no slot) for the whole module; the backfilled hours are long past their lag.
        "FLOWLAKE_DELIVERY_LAG_MINUTES": "720",
    }
    with running_airflow(root, source, lake, extra_env) as airflow:
        airflow.wait_for(
            "DAGs parsed", lambda: airflow.get("/api/v2/dags?dag_id_pattern=vpc_flow_logs")["total_entries"] == 2, 300
        )
        # Where an operator keeps it: in Airflow's metadata, which the task's own job cannot read.
        connections = root / "connections.json"
        connections.write_text(
            json.dumps({WEBHOOK_CONNECTION: {"conn_type": "http", "extra": {"webhook_url": webhook.url}}})
        )
        until_created(airflow, "connections", "import", str(connections))
        yield {"airflow": airflow, "source": source, "lake": lake, "corrupt": corrupt}


@pytest.fixture(scope="module")
def backfilled(scheduler):
    """The two hours backfilled; the runs and their task instances once both runs finished."""
    airflow = scheduler["airflow"]
    # Backfill runs only run while their DAG is unpaused (DAGs are created paused).
    airflow.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    arguments = ("backfill", "create", "--dag-id", DAG_ID, "--from-date", START.isoformat())
    until_created(airflow, *arguments, "--to-date", (START + timedelta(hours=HOURS - 1)).isoformat())

    def backfill_runs():
        runs = airflow.get(f"/api/v2/dags/{DAG_ID}/dagRuns?run_type=backfill")["dag_runs"]
        return runs if len(runs) == HOURS and all(r["state"] in FINISHED for r in runs) else None

    runs = sorted(airflow.wait_for("backfill runs finished", backfill_runs, RUNS_SECONDS), key=start_of)
    tasks = airflow.get(f"/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances?limit=100")["task_instances"]
    return {"runs": runs, "tasks": tasks}


def start_of(run: dict) -> str:
    return run["data_interval_start"]


def test_backfill_runs_one_run_per_hour_and_the_hour_with_a_corrupt_object_fails_at_once(backfilled):
    runs = backfilled["runs"]
    hours = [START + timedelta(hours=h) for h in range(HOURS + 1)]
    assert [(r["data_interval_start"], r["data_interval_end"]) for r in runs] == [
        (f"{a:%Y-%m-%dT%H:%M:%SZ}", f"{b:%Y-%m-%dT%H:%M:%SZ}") for a, b in zip(hours[:-1], hours[1:], strict=True)
    ]
    assert [r["state"] for r in runs] == ["success", "failed"]
    states = {
        (t["dag_run_id"], t["task_id"]): (t["state"], t["try_number"])
        for t in backfilled["tasks"]
        if t["dag_run_id"].startswith("backfill__")
    }
    first, second = (r["dag_run_id"] for r in runs)
    assert states == {
        (first, "wait_for_delivery"): ("success", 1),
        (first, "process_hour"): ("success", 1),
        (second, "wait_for_delivery"): ("success", 1),
        # A failed validation is a verdict: not retried, although the task may be (retries=3).
        (second, "process_hour"): ("failed", 1),
    }


def test_the_failed_hour_alerts_through_the_stored_connection_twice(backfilled, webhook, scheduler):
    texts = sorted(json.loads(message["body"])["text"] for message in webhook.received)
    # The hourly job's security findings reach on-call through the same connection, each finding once.
    security = [text for text in texts if text.startswith("flowlake security: ")]
    assert security, texts
    for text in security:
        assert re.fullmatch(
            r"flowlake security: \d+ finding\(s\) at or above \w+ for \S+ to 2026-11-01T0[12]:00Z",
            text.splitlines()[0],
        )
    findings = [line.rsplit("(finding ", 1)[1] for text in security for line in text.splitlines()[1:]]
    assert len(findings) == len(set(findings)) > 0
    others = [text for text in texts if text not in security]
    assert len(others) == 2, others
    quality, task = others  # "flowlake data quality ..." sorts before "flowlake task ..."
    assert quality.startswith("flowlake data quality FAILED for 2026-11-01T01:00Z to 2026-11-01T02:00Z")
    assert "every object of the window was read (none corrupt)" in quality
    assert scheduler["corrupt"].name in quality
    assert task.startswith(
        "flowlake task failed: vpc_flow_logs_hourly.process_hour for 2026-11-01T01:00Z to 2026-11-01T02:00Z"
    )
    # The Airflow alert says which task, run and try, and where the log is; the job's output stays in the log.
    _, about, run, error, log = task.splitlines()
    assert about.startswith("- DAG vpc_flow_logs_hourly, task process_hour, logical date ")
    assert about.endswith(", try 1")
    assert run == f"- run {backfilled['runs'][1]['dag_run_id']}"
    assert error == "- error: AirflowFailException; what it says is in the log"
    assert log.startswith("- log: http://")


def test_the_current_hour_waits_for_delivery_deferred_holding_no_slot(backfilled):
    waiting = [t for t in backfilled["tasks"] if t["dag_run_id"].startswith("scheduled__")]
    assert {(t["task_id"], t["state"]) for t in waiting if t["state"]} == {("wait_for_delivery", "deferred")}


def test_backfilled_tables_equal_one_flowlake_run_of_the_same_window(backfilled, scheduler, spark, tmp_path):
    source, lake, direct = scheduler["source"], scheduler["lake"], tmp_path / "direct_lake"
    run_pipeline(
        spark,
        str(source),
        str(direct),
        Window(START, START + timedelta(hours=HOURS)),
        str(source / "nat_gateways.csv"),
        ingested_at=datetime.now(UTC),
    )
    for table in ("flow_logs", "flow_logs_quarantine", *HOURLY_TABLES):
        assert rows(read(spark, lake, table)) == rows(read(spark, direct, table)), table
    # When each object was ingested differs by design; everything else about it must not.
    assert rows_without(read(spark, lake, "source_objects"), "ingested_at") == rows_without(
        read(spark, direct, "source_objects"), "ingested_at"
    )
    assert read(spark, lake, "flow_logs").count() > 0
    statuses = rows(read(spark, lake, "source_objects"), "object_key", "status")
    assert [key for key, status in statuses if status != "ok"] == [str(scheduler["corrupt"].relative_to(source))]


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


@needs_chromium
def test_log_in_see_both_dags_and_the_hourly_runs(backfilled, scheduler, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    airflow = scheduler["airflow"]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(f"{airflow.url}/")
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.NAME, "password"))
    assert "/auth/login" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(airflow.password)
    browser.find_element(By.XPATH, "//button[@type='submit']").click()

    # The home page shows a "Dag Import Errors" button when any DAG file failed to parse.
    home = page_text(browser, "Triggerer")
    browser.save_screenshot(str(ARTIFACTS / "airflow_home.png"))
    assert "Welcome" in home
    assert "Import Error" not in home

    browser.get(f"{airflow.url}/dags")
    dags = page_text(browser, DAG_IDS[1])
    browser.save_screenshot(str(ARTIFACTS / "airflow_dags.png"))
    assert all(dag_id in dags for dag_id in DAG_IDS)
    assert "2 Dags" in dags

    browser.get(f"{airflow.url}/dags/{DAG_ID}/runs")
    runs = page_text(browser, "scheduled__")
    browser.save_screenshot(str(ARTIFACTS / "airflow_hourly_runs.png"))
    assert "3 Dag Runs" in runs
    assert all(run["dag_run_id"] in runs for run in backfilled["runs"])
    assert all(state in runs for state in ("Running", "Success", "Failed"))

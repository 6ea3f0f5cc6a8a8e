"""`airflow backfill create` of two hours on a running local Airflow: the same tables as one `flowlake run`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from flowlake.aggregates import HOURLY_TABLES
from flowlake.generate import generate
from flowlake.run import run_pipeline
from flowlake.window import Window
from tests.airflow_server import running_airflow
from tests.frames import read, rows, rows_without

DAG_ID = "vpc_flow_logs_hourly"
START = datetime(2026, 11, 1, 0, tzinfo=UTC)
HOURS = 2
FINISHED = {"success", "failed"}
RUNS_SECONDS = 2400
CREATE_ATTEMPTS = 5


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    """Two hours of generated objects, backfilled through Airflow; returns the runs and task states."""
    root = tmp_path_factory.mktemp("backfill")
    source, lake = root / "source", root / "lake"
    generate(str(source), START, HOURS, records_per_hour=200)
    extra_env = {
        # Holds the run the scheduler starts for the current hour at its sensor (deferred, in the
        # triggerer, holding no slot) for the whole test; the backfilled hours are long past their lag.
        "FLOWLAKE_DELIVERY_LAG_MINUTES": "720",
        "FLOWLAKE_SHUFFLE_PARTITIONS": "2",
    }
    with running_airflow(root, source, lake, extra_env) as airflow:
        airflow.wait_for(f"{DAG_ID} parsed", lambda: airflow.get(f"/api/v2/dags/{DAG_ID}")["dag_id"], 300)
        # Backfill runs only run while their DAG is unpaused (DAGs are created paused).
        airflow.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        arguments = ("backfill", "create", "--dag-id", DAG_ID, "--from-date", START.isoformat())
        arguments += ("--to-date", (START + timedelta(hours=HOURS - 1)).isoformat())
        for _ in range(CREATE_ATTEMPTS):
            created = airflow.cli(*arguments)
            # SQLite, the local metadata database, takes one writer at a time: the CLI's insert can
            # lose to the scheduler's and is rolled back whole. A real deployment uses PostgreSQL.
            if created.returncode == 0 or "database is locked" not in created.stderr:
                break
            time.sleep(5)
        assert created.returncode == 0, created.stderr[-4000:]

        def backfill_runs():
            runs = airflow.get(f"/api/v2/dags/{DAG_ID}/dagRuns?run_type=backfill")["dag_runs"]
            return runs if len(runs) == HOURS and all(r["state"] in FINISHED for r in runs) else None

        runs = airflow.wait_for("backfill runs finished", backfill_runs, RUNS_SECONDS, interval=10)
        tasks = airflow.get(f"/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances?limit=100")["task_instances"]
    return {"runs": runs, "tasks": tasks, "source": source, "lake": lake}


@pytest.mark.slow
def test_backfill_runs_one_run_per_hour_and_all_succeed(backfilled):
    runs = sorted(backfilled["runs"], key=lambda r: r["data_interval_start"])
    intervals = [(r["data_interval_start"], r["data_interval_end"]) for r in runs]
    hours = [START + timedelta(hours=h) for h in range(HOURS + 1)]
    assert intervals == [
        (f"{a:%Y-%m-%dT%H:%M:%SZ}", f"{b:%Y-%m-%dT%H:%M:%SZ}") for a, b in zip(hours[:-1], hours[1:], strict=True)
    ]
    assert [r["state"] for r in runs] == ["success"] * HOURS
    backfill_tasks = [t for t in backfilled["tasks"] if t["dag_run_id"].startswith("backfill__")]
    assert {(t["task_id"], t["state"]) for t in backfill_tasks} == {
        (task, "success") for task in ("wait_for_delivery", "process_hour")
    }


@pytest.mark.slow
def test_the_current_hour_waits_for_delivery_deferred_holding_no_slot(backfilled):
    waiting = [t for t in backfilled["tasks"] if t["dag_run_id"].startswith("scheduled__")]
    assert {(t["task_id"], t["state"]) for t in waiting if t["state"]} == {("wait_for_delivery", "deferred")}


@pytest.mark.slow
def test_backfilled_tables_equal_one_flowlake_run_of_the_same_window(backfilled, spark, tmp_path):
    source, lake, direct = backfilled["source"], backfilled["lake"], tmp_path / "direct_lake"
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

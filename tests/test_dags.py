"""DAG policy: every DAG in dags/ parses, is documented, owned, retried, tagged, and parses without Spark.

The DAGs are parsed in a fresh interpreter (as the DAG processor does) so that
what the parse imported can be read from its sys.modules, untouched by this
pytest process (which has pyspark loaded for its SparkSession).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DAGS_FOLDER = PROJECT_ROOT / "dags"

DAG_IDS = {"vpc_flow_logs_hourly", "vpc_flow_logs_maintenance"}
# Top-level packages a DAG file must not import while being parsed.
SPARK_PACKAGES = ("pyspark", "py4j", "delta", "great_expectations")

PARSE_DAGS = r"""
import json, sys
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import TimeRestriction

folder = Path(sys.argv[1])
bag = BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")


def first_interval(dag):
    timetable = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    return [info.data_interval.start.isoformat(), info.data_interval.end.isoformat()]


def task_facts(task):
    mapped = hasattr(task, "partial_kwargs")
    kwargs = task.partial_kwargs if mapped else vars(task)
    return {
        "operator": task.operator_class.__name__ if mapped else type(task).__name__,
        "mapped": mapped,
        "owner": task.owner,
        "retries": task.retries,
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "pool": task.pool,
        "command": kwargs.get("command"),
        "application": kwargs.get("application"),
        "deferrable": kwargs.get("deferrable"),
        "options": kwargs.get("options"),
        "window": kwargs.get("window"),
        "arguments": kwargs.get("application_args"),
        "outlets": sorted(asset.name for asset in task.outlets),
        "upstream": sorted(task.upstream_task_ids),
        "op_kwargs": kwargs.get("op_kwargs"),
        "on_failure_callback": bool(task.on_failure_callback),
    }


facts = {
    "import_errors": bag.import_errors,
    "spark_modules": sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[2].split(",")),
    "dags": {
        dag_id: {
            "tags": sorted(dag.tags),
            "doc_md": dag.doc_md or "",
            "max_active_runs": dag.max_active_runs,
            "first_interval": first_interval(dag),
            "tasks": {task.task_id: task_facts(task) for task in dag.tasks},
        }
        for dag_id, dag in bag.dags.items()
    },
}
print("FACTS " + json.dumps(facts))
"""


def airflow_parse_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    result = subprocess.run(
        [sys.executable, "-c", PARSE_DAGS, str(DAGS_FOLDER), ",".join(SPARK_PACKAGES)],
        env=airflow_parse_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("FACTS "))
    return json.loads(line[len("FACTS ") :])


def all_tasks(parsed):
    return [(dag_id, task_id, task) for dag_id, dag in parsed["dags"].items() for task_id, task in dag["tasks"].items()]


def test_both_dags_parse_without_import_errors(parsed):
    assert parsed["import_errors"] == {}
    assert set(parsed["dags"]) == DAG_IDS


def test_parsing_imports_no_spark(parsed):
    assert parsed["spark_modules"] == []


def test_every_dag_is_documented_and_tagged(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert "flowlake" in dag["tags"], dag_id
        assert len(dag["doc_md"].strip()) > 200, dag_id
        assert dag["max_active_runs"] == 1, dag_id


def test_every_task_has_an_owner_retries_with_backoff_and_the_failure_alert(parsed):
    for dag_id, task_id, task in all_tasks(parsed):
        assert task["owner"] == "flowlake", (dag_id, task_id)
        assert task["retries"] >= 1, (dag_id, task_id)
        assert task["retry_exponential_backoff"] == 2.0, (dag_id, task_id)
        assert task["on_failure_callback"], (dag_id, task_id)


def test_hourly_runs_cover_one_whole_hour(parsed):
    """A cron string would give a zero-width interval in Airflow 3: the hour's reads would read nothing."""
    start, end = (datetime.fromisoformat(t) for t in parsed["dags"]["vpc_flow_logs_hourly"]["first_interval"])
    assert (start.isoformat(), end.isoformat()) == ("2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00")


def test_hourly_dag_waits_for_delivery_then_runs_the_hour_in_one_spark_application(parsed):
    tasks = parsed["dags"]["vpc_flow_logs_hourly"]["tasks"]
    assert set(tasks) == {"wait_for_delivery", "process_hour"}
    assert tasks["wait_for_delivery"]["operator"] == "TimeDeltaSensor"
    assert tasks["wait_for_delivery"]["deferrable"] is True
    assert tasks["process_hour"]["command"] == "hourly"
    # Catchup is off: after an outage, the next run ingests every hour since the last one that succeeded.
    assert tasks["process_hour"]["options"]["--catch-up-from"] == "{{ prev_data_interval_end_success or '' }}"


def test_every_spark_job_is_a_flowlake_command_writing_through_the_delta_writers_pool(parsed):
    from flowlake.cli import COMMANDS

    jobs = [(dag_id, task_id, task) for dag_id, task_id, task in all_tasks(parsed) if task["command"]]
    assert {task["command"] for _, _, task in jobs} == {
        "hourly",
        "nat-inventory",
        "compact",
        "capacity",
        "retention",
        "sweep",
    }
    for dag_id, task_id, task in jobs:
        assert task["operator"] == "FlowlakeJobOperator", (dag_id, task_id)
        assert task["pool"] == "flowlake_delta_writers", (dag_id, task_id)
        assert task["command"] in COMMANDS, task["command"]
        # spark-submit runs the job's thin entry point, as the README's cluster section does by hand.
        application = Path(task["application"])
        assert application == PROJECT_ROOT / "jobs" / f"{task['command'].replace('-', '_')}.py"
        assert application.is_file(), application
    others = [(d, t) for d, t, task in all_tasks(parsed) if not task["command"]]
    assert all(parsed["dags"][d]["tasks"][t]["pool"] == "default_pool" for d, t in others)


def test_every_task_that_aggregates_or_vacuums_gets_the_same_settings(parsed):
    """An hour the sweep re-aggregates from another inventory loses its NAT figures; a vacuum of another
    retention removes the time travel compact keeps."""
    tasks = {task_id: task for _, task_id, task in all_tasks(parsed)}
    inventory = tasks["process_hour"]["options"]["--nat-inventory"]
    assert "flowlake_nat_inventory" in inventory
    assert tasks["sweep"]["options"]["--nat-inventory"] == inventory
    vacuum = tasks["compact"]["options"]["--retention-hours"]
    assert "flowlake_vacuum_retention_hours" in vacuum
    assert tasks["retention"]["options"]["--vacuum-hours"] == vacuum


def test_the_nat_inventory_is_refreshed_from_ec2_only_when_no_inventory_file_is_configured(parsed, monkeypatch):
    monkeypatch.syspath_prepend(str(DAGS_FOLDER))
    from flowlake_airflow.settings import reads_the_ec2_inventory

    tasks = {task_id: task for _, task_id, task in all_tasks(parsed)}
    (check,) = tasks["refresh_nat_inventory"]["upstream"]
    assert tasks[check]["operator"] == "ShortCircuitOperator"
    assert tasks[check]["op_kwargs"] == {"inventory_file": tasks["process_hour"]["options"]["--nat-inventory"]}
    assert [reads_the_ec2_inventory(value) for value in ("", " ", "s3a://flowlake-raw/nat_gateways.csv")] == [
        True,
        True,
        False,
    ]


def test_retention_counts_back_from_its_run_s_day_not_the_clock(parsed):
    arguments = parsed["dags"]["vpc_flow_logs_maintenance"]["tasks"]["retention"]["arguments"]
    as_of = arguments[arguments.index("--as-of") + 1]
    assert as_of == "{{ (data_interval_end | default(dag_run.run_after, true)).strftime('%Y-%m-%d') }}"


def test_a_maintenance_run_triggered_without_a_logical_date_is_as_of_when_it_ran(parsed):
    """`airflow dags trigger` without -l: Airflow 3 gives the run no data interval, and Jinja (strict) refused
    every task's arguments."""
    from types import SimpleNamespace

    import jinja2

    tasks = parsed["dags"]["vpc_flow_logs_maintenance"]["tasks"]
    templates = [
        value
        for task in tasks.values()
        for value in [*(task["arguments"] or []), *(task["options"] or {}).values(), *(task["window"] or {}).values()]
        if "data_interval" in value
    ]
    assert len(templates) == 4  # retention's day, the sweep's end, capacity's day
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    ran = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
    common = {"macros": SimpleNamespace(timedelta=timedelta), "dag_run": SimpleNamespace(run_after=ran)}
    for template in templates:
        compiled = environment.from_string(template)
        scheduled = compiled.render(**common, data_interval_end=ran)
        assert compiled.render(**common) == scheduled
        assert scheduled in ("2026-11-30", "2026-11-29T00:00:00+00:00", "2026-11-30T00:00:00+00:00"), scheduled


def test_every_table_written_is_an_asset_outlet(parsed):
    from flowlake import capacity, ingest, nat_inventory, validate
    from flowlake.aggregates import HOURLY_TABLES

    def assets(tables):
        return sorted(f"flowlake.{table}" for table in tables)

    hourly = parsed["dags"]["vpc_flow_logs_hourly"]["tasks"]
    assert hourly["process_hour"]["outlets"] == assets(
        [ingest.FLOW_LOGS, ingest.QUARANTINE, ingest.SOURCE_OBJECTS, *HOURLY_TABLES, validate.DQ_RESULTS]
    )
    maintenance = parsed["dags"]["vpc_flow_logs_maintenance"]["tasks"]
    assert maintenance["refresh_nat_inventory"]["outlets"] == assets([nat_inventory.TABLE])
    assert maintenance["capacity"]["outlets"] == assets([capacity.TABLE])
    assert maintenance["sweep"]["outlets"] == assets(
        [ingest.FLOW_LOGS, ingest.QUARANTINE, ingest.SOURCE_OBJECTS, *HOURLY_TABLES]
    )
    # Compaction rewrites files, not data: downstream DAGs have nothing new to read.
    assert maintenance["compact"]["outlets"] == []

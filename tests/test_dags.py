"""DAG policy: every DAG in dags/ parses, is documented, owned, retried, timed out, tagged, parses without Spark,
and renders its tasks' arguments for scheduled runs and for runs without a logical date.

The DAGs are parsed in a fresh interpreter (as the DAG processor does) so that
what the parse imported can be read from its sys.modules, untouched by this
pytest process (which has pyspark loaded for its SparkSession). Their tasks are
rendered in this process, in the context Airflow's task runner builds for a run.
"""

from __future__ import annotations

import json
import os
import runpy
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
from airflow.sdk import BaseSensorOperator
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
        "on_failure_callback": [callback.__name__ for callback in task.on_failure_callback or []],
        "on_retry_callback": [callback.__name__ for callback in task.on_retry_callback or []],
        "execution_timeout": task.execution_timeout.total_seconds() if task.execution_timeout else None,
        # A deferred sensor's wait is bounded by its own timeout (the trigger's), not by execution_timeout.
        "sensor_timeout": kwargs.get("timeout") if isinstance(task, BaseSensorOperator) else None,
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


# Settings whose defaults the tests check: the DAG files are parsed without them in the environment.
DEFAULTS_CHECKED = (
    "FLOWLAKE_HOURLY_TIMEOUT_MINUTES",
    "FLOWLAKE_MAINTENANCE_TIMEOUT_MINUTES",
    "FLOWLAKE_LOOKBACK_HOURS",
    "FLOWLAKE_DELIVERY_LAG_MINUTES",
    "FLOWLAKE_NAT_INVENTORY",
)


def airflow_parse_env(home: Path) -> dict[str, str]:
    return {
        **{name: value for name, value in os.environ.items() if name not in DEFAULTS_CHECKED},
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


def test_every_task_has_an_owner_retries_with_backoff_and_the_failure_and_timeout_alerts(parsed):
    for dag_id, task_id, task in all_tasks(parsed):
        assert task["owner"] == "flowlake", (dag_id, task_id)
        assert task["retries"] >= 1, (dag_id, task_id)
        assert task["retry_exponential_backoff"] == 2.0, (dag_id, task_id)
        assert task["on_failure_callback"] == ["alert_task_failure"], (dag_id, task_id)
        assert task["on_retry_callback"] == ["alert_timed_out_try"], (dag_id, task_id)


def test_every_task_has_an_execution_timeout_so_no_stuck_job_holds_the_pool_for_good(parsed):
    """A Spark job stuck for good (a cluster with no free cores: Spark waits for executors forever, its warning
    hidden by spark.log.level=ERROR; a hung S3 call) held the one slot of flowlake_delta_writers: with
    max_active_runs=1 every later hourly run and all maintenance stopped, and no alert went out, since the task
    never failed. A task that times out is failed (its spark-submit killed), alerted at once and retried."""
    hour = 3600
    for dag_id, task_id, task in all_tasks(parsed):
        assert task["execution_timeout"], (dag_id, task_id)
        assert task["execution_timeout"] > 0, (dag_id, task_id)
    hourly = parsed["dags"]["vpc_flow_logs_hourly"]["tasks"]
    # Well above a normal hour's run, and over before the next hour's run is due.
    assert hourly["process_hour"]["execution_timeout"] == 45 * 60
    # The deferred wait for delivery (15 minutes after the hour by default) gives up too.
    wait = hourly["wait_for_delivery"]
    assert hour <= wait["sensor_timeout"] <= wait["execution_timeout"] <= 3 * hour
    maintenance = parsed["dags"]["vpc_flow_logs_maintenance"]["tasks"]
    for task_id, task in maintenance.items():
        if task["command"]:
            # A whole table's compaction, a week's sweep: longer than an hour's run.
            assert task["execution_timeout"] == 3 * hour, task_id
        else:
            assert task["execution_timeout"] <= hour, task_id


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
    assert "prev_data_interval_end_success" in tasks["process_hour"]["options"]["--catch-up-from"]


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
    assert len(templates) == 4  # retention's day, the sweep's end, capacity's days
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    ran = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
    common = {
        "macros": SimpleNamespace(timedelta=timedelta),
        "dag_run": SimpleNamespace(run_after=ran),
        "var": SimpleNamespace(value=SimpleNamespace(get=lambda name, default: default)),
    }
    for template in templates:
        compiled = environment.from_string(template)
        scheduled = compiled.render(**common, data_interval_end=ran)
        assert compiled.render(**common) == scheduled
        assert scheduled in ("2026-11-30", "2026-11-23T00:00:00+00:00", "2026-11-30T00:00:00+00:00"), scheduled


@pytest.fixture(scope="module")
def dags():
    """The DAG files run in this process, as a worker runs one before its task: tasks to render."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(DAGS_FOLDER))
        for name in DEFAULTS_CHECKED:
            patch.delenv(name, raising=False)
        yield {path.stem: runpy.run_path(str(path))["dag"] for path in sorted(DAGS_FOLDER.glob("*.py"))}


class Variables:
    """`var.value` of a task's context: the Variables set, else the default the template gives."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)


def rendered(dag, task_id: str, run_after: datetime, interval=None, previous_end=None, variables=None):
    """The task as the worker renders it before running it, in the context Airflow 3's task runner builds for the run:
    a run without a logical date (interval None) has no data interval and no previous successful run's either.
    Variables from `variables`, else their default; the previous successful run's interval ends at `previous_end`."""
    from uuid import uuid4

    import lazy_object_proxy
    from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.sdk.timezone import coerce_datetime

    start, end = interval or (None, None)
    dag_run = DagRun(
        dag_id=dag.dag_id,
        run_id=f"{'scheduled' if interval else 'manual'}__{run_after.isoformat()}",
        logical_date=start,
        data_interval_start=start,
        data_interval_end=end,
        run_after=run_after,
        start_date=run_after,
        end_date=None,
        run_type="scheduled" if interval else "manual",
        state="running",
        consumed_asset_events=[],
        partition_key=None,
    )
    ti = RuntimeTaskInstance.model_construct(
        id=uuid4(),
        task_id=task_id,
        dag_id=dag.dag_id,
        run_id=dag_run.run_id,
        try_number=1,
        dag_version_id=uuid4(),
        map_index=-1,
        task=dag.get_task(task_id).prepare_for_execution(),
        _ti_context_from_server=TIRunContext(dag_run=dag_run, max_tries=3),
        max_tries=3,
        start_date=run_after,
    )
    context = ti.get_template_context()
    context["var"] = {"value": Variables(variables or {})}
    if "prev_data_interval_end_success" in context:  # asked of the API server: answered here
        context["prev_data_interval_end_success"] = lazy_object_proxy.Proxy(lambda: coerce_datetime(previous_end))
    ti.render_templates(context=context, jinja_env=dag.get_template_env())
    return ti.task, context


def job_arguments(task) -> list[str]:
    """What a rendered FlowlakeJobOperator adds to its application's arguments: --start/--end, then the options."""
    return [*task._window_arguments(), *task._option_arguments()]


@pytest.mark.parametrize(
    ("run_after", "window"),
    [
        (datetime(2026, 11, 30, 10, 17, tzinfo=UTC), ("2026-11-30T09:00:00+00:00", "2026-11-30T10:00:00+00:00")),
        (datetime(2026, 11, 30, 10, 0, tzinfo=UTC), ("2026-11-30T09:00:00+00:00", "2026-11-30T10:00:00+00:00")),
        (
            datetime(2026, 12, 1, 0, 59, 59, 999999, tzinfo=UTC),
            ("2026-11-30T23:00:00+00:00", "2026-12-01T00:00:00+00:00"),
        ),
    ],
    ids=["10:17", "on the hour", "the day before's last hour"],
)
def test_an_hourly_run_triggered_without_a_logical_date_processes_the_last_whole_hour_before_it(
    dags, run_after, window
):
    """`airflow dags trigger vpc_flow_logs_hourly` without -l, the REST API's logical_date null, the UI's form with the
    date cleared: Airflow 3 gives the run no data interval, and rendering process_hour's --start failed
    ("'data_interval_start' is undefined"). It has no previous successful run either: no catch-up, the lookback only
    (the scheduled runs after it catch up from theirs)."""
    from flowlake.window import Window, parse_utc, require_whole_hours

    dag = dags["vpc_flow_logs_hourly"]
    process_hour, context = rendered(dag, "process_hour", run_after)
    assert "data_interval_start" not in context and "prev_data_interval_end_success" not in context
    start, end = window
    assert job_arguments(process_hour) == ["--start", start, "--end", end, "--lookback-hours", "2"]
    # The window `flowlake hourly` takes: whole UTC hours.
    require_whole_hours(Window(parse_utc(start), parse_utc(end)))
    # Its wait for delivery renders too (it counts from run_after when the run has no data interval).
    assert rendered(dag, "wait_for_delivery", run_after)[0].delta == "15"


@pytest.mark.parametrize(
    ("variables", "days"),
    [({}, ("2026-11-23T00:00:00+00:00", "7")), ({"flowlake_sweep_days": "3"}, ("2026-11-27T00:00:00+00:00", "3"))],
    ids=["7 days", "the Variable's 3"],
)
def test_capacity_is_computed_again_for_the_days_the_sweep_covers(dags, variables, days):
    """An hour the sweep re-aggregates, or an hourly run's lookback after capacity ran, changes its day's figures:
    capacity_daily of only the day before kept them as they were."""
    dag = dags["vpc_flow_logs_maintenance"]
    ran = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
    capacity, _ = rendered(dag, "capacity", ran, interval=(ran, ran), variables=variables)
    sweep, _ = rendered(dag, "sweep", ran, interval=(ran, ran), variables=variables)
    start, sweep_days = days
    assert capacity.window == {"start": start, "end": "2026-11-30T00:00:00+00:00"}
    assert (sweep.application_args[-2:], sweep.options["--days"]) == (
        ["--end", "2026-11-30T00:00:00+00:00"],
        sweep_days,
    )


@pytest.mark.parametrize(
    ("previous_end", "catch_up"),
    [(datetime(2026, 11, 30, 6, tzinfo=UTC), ["--catch-up-from", "2026-11-30 06:00:00+00:00"]), (None, [])],
    ids=["after an outage", "first run"],
)
def test_a_scheduled_hourly_run_renders_as_before(dags, previous_end, catch_up):
    """The same arguments as the templates before runs without a logical date were handled."""
    dag = dags["vpc_flow_logs_hourly"]
    hour = (datetime(2026, 11, 30, 9, tzinfo=UTC), datetime(2026, 11, 30, 10, tzinfo=UTC))
    process_hour, context = rendered(dag, "process_hour", hour[1], interval=hour, previous_end=previous_end)
    assert job_arguments(process_hour) == [
        *("--start", "2026-11-30T09:00:00+00:00", "--end", "2026-11-30T10:00:00+00:00", "--lookback-hours", "2"),
        *catch_up,
    ]
    before = {
        "start": "{{ data_interval_start.isoformat() }}",
        "end": "{{ data_interval_end.isoformat() }}",
        "--catch-up-from": "{{ prev_data_interval_end_success or '' }}",
    }
    environment = dag.get_template_env()
    now = {**process_hour.window, "--catch-up-from": process_hour.options["--catch-up-from"]}
    assert now == {key: environment.from_string(template).render(context) for key, template in before.items()}


@pytest.mark.parametrize(
    ("dag_id", "task_id", "variable", "parsed_minutes"),
    [
        ("vpc_flow_logs_hourly", "process_hour", "flowlake_hourly_timeout_minutes", 45),
        ("vpc_flow_logs_maintenance", "compact", "flowlake_maintenance_timeout_minutes", 180),
    ],
)
def test_a_spark_job_s_timeout_is_its_variable_when_the_task_runs(dags, dag_id, task_id, variable, parsed_minutes):
    """The default when the DAG file is parsed (what the UI shows), the Variable when set, as every other setting:
    the task runner renders the task before it starts the timeout."""
    dag, ran = dags[dag_id], datetime(2026, 11, 30, 10, 17, tzinfo=UTC)
    assert dag.get_task(task_id).execution_timeout == timedelta(minutes=parsed_minutes)
    for value, timeout in (("", parsed_minutes), ("90", 90), ("7.5", 7.5)):
        task, _ = rendered(dag, task_id, ran, variables={variable: value})
        assert task.execution_timeout == timedelta(minutes=timeout), value
    for value in ("0", "-5", "an hour", "inf"):
        with pytest.raises(ValueError, match=f"Variable {variable} .*a positive number of minutes: '{value}'"):
            rendered(dag, task_id, ran, variables={variable: value})


RAN = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dag_id", "task_id", "run_after", "interval", "subject"),
    [
        (
            "vpc_flow_logs_maintenance",
            "capacity",
            RAN,
            (RAN, RAN),
            "flowlake task failed: vpc_flow_logs_maintenance.capacity for 2026-11-23T00:00Z to 2026-11-30T00:00Z",
        ),
        (
            "vpc_flow_logs_maintenance",
            "compact",
            RAN,
            (RAN, RAN),
            "flowlake task failed: vpc_flow_logs_maintenance.compact",
        ),
        (
            "vpc_flow_logs_hourly",
            "process_hour",
            datetime(2026, 11, 30, 10, 17, tzinfo=UTC),
            None,
            "flowlake task failed: vpc_flow_logs_hourly.process_hour for 2026-11-30T09:00Z to 2026-11-30T10:00Z",
        ),
        (
            "vpc_flow_logs_hourly",
            "process_hour",
            datetime(2026, 11, 30, 10, tzinfo=UTC),
            (datetime(2026, 11, 30, 9, tzinfo=UTC), datetime(2026, 11, 30, 10, tzinfo=UTC)),
            "flowlake task failed: vpc_flow_logs_hourly.process_hour for 2026-11-30T09:00Z to 2026-11-30T10:00Z",
        ),
    ],
    ids=["capacity's days", "compact: no window", "an hour without a logical date", "a scheduled hour"],
)
def test_a_failure_alert_names_the_window_the_task_processed(dags, dag_id, task_id, run_after, interval, subject):
    """A maintenance run's data interval is the instant it was due (a trigger timetable): its alerts said "for
    02:30Z to 02:30Z" whatever the task had processed. An hourly run without a logical date has none: its alert
    named no hour, though its task processed one."""
    from flowlake_airflow.alerting import failure_alert

    _, context = rendered(dags[dag_id], task_id, run_after, interval=interval)
    assert failure_alert(context)[0] == subject


def test_every_task_renders_for_a_run_without_a_logical_date(dags):
    """Jinja is strict: a template that needs the data interval fails the task of a run that has none."""
    for dag in dags.values():
        for task_id in dag.task_ids:
            rendered(dag, task_id, datetime(2026, 11, 30, 10, 17, tzinfo=UTC))


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

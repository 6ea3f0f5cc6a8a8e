"""The task log of a flowlake job: the job's progress and summary, without Ivy's report on the jars or Spark's
start-up notices.

A stand-in spark-submit prints what the real one printed for an hourly task (lines
copied from a task log of tests/test_airflow.py, shortened, and Spark's start-up lines
from spark-submit of jobs/ingest.py in local mode): Ivy's report on the packages it
resolved from its cache, Spark's start-up lines, flowlake's progress and the job's JSON
summary.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from structlog.testing import capture_logs

from tests.jar_files import SPARK_CLASS, jar_holding
from tests.spark_cluster import PROJECT_ROOT

IVY_REPORT = """\
:: loading settings :: url = jar:file:/venv/lib/python3.11/site-packages/pyspark/jars/ivy-2.5.3.jar!/org/apache/ivy/core/settings/ivysettings.xml
Ivy Default Cache set to: /root/.ivy2.5.2/cache
The jars for the packages stored in: /root/.ivy2.5.2/jars
io.delta#delta-spark_4.2_2.13 added as a dependency
org.apache.hadoop#hadoop-aws added as a dependency
:: resolving dependencies :: org.apache.spark#spark-submit-parent-1d17efa6-a93f-42ec-9f5d-018bc36b66e8;1.0
	confs: [default]
	found io.delta#delta-spark_4.2_2.13;4.4.0 in central
	found org.apache.hadoop#hadoop-aws;3.5.0 in central
:: resolution report :: resolve 793ms :: artifacts dl 16ms
	:: modules in use:
	io.delta#delta-spark_4.2_2.13;4.4.0 from central in [default]
	org.apache.hadoop#hadoop-aws;3.5.0 from central in [default]
	:: evicted modules:
	org.slf4j#slf4j-api;2.0.17 by [org.slf4j#slf4j-api;2.0.13] in [default]
	---------------------------------------------------------------------
	|                  |            modules            ||   artifacts   |
	|       conf       | number| search|dwnlded|evicted|| number|dwnlded|
	---------------------------------------------------------------------
	|      default     |   41  |   0   |   0   |   4   ||   37  |   0   |
	---------------------------------------------------------------------
:: retrieving :: org.apache.spark#spark-submit-parent-1d17efa6-a93f-42ec-9f5d-018bc36b66e8
	confs: [default]
	0 artifacts copied, 37 already retrieved (0kB/8ms)
"""
START_UP = """\
WARNING: Using incubator modules: jdk.incubator.vector
26/12/05 13:23:56 WARN NativeCodeLoader: Unable to load native-hadoop library for your platform... using builtin-java classes where applicable
Using Spark's default log4j profile: org/apache/spark/log4j2-defaults.properties
26/12/05 13:23:57 INFO SparkContext: Running Spark version 4.2.0
26/12/05 13:23:57 INFO SparkContext: OS info Linux, 6.18.44-fc-v1147, amd64
26/12/05 13:23:57 INFO SparkContext: Java version 17.0.15+6-Debian-1deb12u1
Setting Spark log level to "ERROR".
"""
PROGRESS = "2026-12-01 04:46:41,099 INFO flowlake.layout: listed 61 flow-log objects\n"
SUMMARY = {"ingest": {"objects": 61}, "exit_code": 0}


@pytest.fixture
def operator_running(monkeypatch, tmp_path):
    """A FlowlakeJobOperator whose spark-submit is the given bash script."""
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "dags"))
    from flowlake_airflow.settings import HOURLY_TIMEOUT_MINUTES
    from flowlake_airflow.spark import FlowlakeJobOperator

    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "local[*]"}))
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")

    def operator(script: str):
        spark_submit = bin_folder / "spark-submit"
        spark_submit.write_text(f"#!/usr/bin/env bash\n{script}")
        spark_submit.chmod(0o755)
        return FlowlakeJobOperator(
            task_id="process_hour",
            command="hourly",
            timeout=HOURLY_TIMEOUT_MINUTES,
            arguments=["--source", "s", "--lake", "l"],
        )

    return operator


@pytest.fixture
def operator_printing(operator_running, tmp_path):
    """A FlowlakeJobOperator whose spark-submit prints the given text and exits with the given code."""

    def operator(text: str, exit_code: int):
        (tmp_path / "printed.txt").write_text(text)
        return operator_running(f"cat {tmp_path / 'printed.txt'}\nexit {exit_code}\n")

    return operator


def spark_submit_command(operator) -> str:
    """The spark-submit command line the operator runs, as the provider's hook logs it."""
    with capture_logs() as events:
        operator.execute({})
    (command,) = [e["event"] for e in events if e["event"].startswith("Spark-Submit cmd: ")]
    return command


def task_log(events: list[dict]) -> list[str]:
    """The task's log lines, less the command line and Airflow's warning that this is not its task runner."""
    return [
        event["event"]
        for event in events
        if not event["event"].startswith("Spark-Submit cmd: ") and "outside of the Task Runner" not in event["event"]
    ]


def test_the_task_log_leaves_out_ivys_report_and_spark_s_start_up_notices_and_says_how_many_lines(operator_printing):
    warning = "26/12/01 04:46:30 WARN TaskSetManager: Lost task 0.0 in stage 1.0: the executor was lost"
    operator = operator_printing(IVY_REPORT + START_UP + PROGRESS + warning + "\n" + json.dumps(SUMMARY) + "\n", 0)
    with capture_logs() as events:
        assert operator.execute({}) == SUMMARY
    assert task_log(events) == [
        "2026-12-01 04:46:41,099 INFO flowlake.layout: listed 61 flow-log objects",
        warning,
        json.dumps(SUMMARY),
        "Ivy's report on the packages spark-submit resolved: 24 lines, left out",
        "Spark's start-up notices: 7 lines, left out",
    ]


def test_a_spark_submit_that_fails_before_the_summary_logs_what_it_held_back_after_the_failure(operator_printing):
    from airflow.sdk.exceptions import AirflowException

    unresolved = (
        ":: problems summary ::\n"
        "\t:::: WARNINGS\n"
        "\t\tmodule not found: io.delta#delta-spark_4.2_2.13;4.4.0\n"
        'Exception in thread "main" java.lang.RuntimeException: [unresolved dependency: '
        "io.delta#delta-spark_4.2_2.13;4.4.0: not found]\n"
    )
    operator = operator_printing(IVY_REPORT + START_UP + unresolved, 1)
    with capture_logs() as events, pytest.raises(AirflowException):
        operator.execute({})
    assert task_log(events) == [
        *(line.strip() for line in unresolved.splitlines()),
        "spark-submit failed before the job's summary; the lines held back were:",
        *(line.strip() for line in IVY_REPORT.splitlines()),
        *START_UP.splitlines(),
    ]


def test_a_job_that_crashes_with_spark_s_structured_logging_on_is_retried_not_judged(operator_printing):
    """With spark.log.structuredLogging.enabled, Spark's error lines are JSON objects: the last one was taken for
    the job's summary, and a crash worth a retry failed the task for good as a verdict."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    crash = {
        "ts": "2026-12-05T04:10:01.123Z",
        "level": "ERROR",
        "msg": "Exception in thread main: executor lost",
        "context": {"executor_id": "1"},
        "logger": "SparkContext",
    }
    operator = operator_printing(START_UP + json.dumps(crash) + "\n", 1)
    with pytest.raises(AirflowException) as raised:
        operator.execute({})
    assert not isinstance(raised.value, AirflowFailException)
    # A job that got through still has its summary found, after Spark's records of its shutdown.
    operator = operator_printing(json.dumps(SUMMARY) + "\n" + json.dumps({**crash, "level": "WARN"}) + "\n", 0)
    assert operator.execute({}) == SUMMARY


@pytest.mark.parametrize(
    ("connection", "listed", "options"),
    [
        ({"host": "local[*]"}, True, ("--jars", "--driver-class-path")),
        ({"host": "local[*]"}, False, ("--packages",)),
        ({"host": "spark://127.0.0.1", "port": 7077}, True, ("--jars",)),
        ({"host": "spark://127.0.0.1", "port": 7077}, False, ("--packages",)),
    ],
    ids=["local mode, jars listed", "local mode, none listed", "cluster, jars listed", "cluster, none listed"],
)
def test_spark_submit_gets_the_jars_resolved_here_when_listed_and_the_packages_otherwise(
    operator_printing, monkeypatch, tmp_path, connection, listed, options
):
    from flowlake.dist import packages
    from flowlake.spark_session import record_resolved_jars

    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", **connection}))
    monkeypatch.setenv("FLOWLAKE_IVY_CACHE", str(tmp_path / "ivy"))
    folder = tmp_path / "ivy" / "jars"
    sharing = jar_holding(folder / "commons-logging.jar", SPARK_CLASS)
    apart = [
        jar_holding(folder / "io.delta_delta-spark.jar", "io/delta/tables/DeltaTable.class"),
        jar_holding(folder / "hadoop-aws.jar", "org/apache/hadoop/fs/s3a/S3AFileSystem.class"),
    ]
    if listed:
        record_resolved_jars(",".join(jar.as_uri() for jar in (sharing, *apart)))
    operator = operator_printing(json.dumps(SUMMARY) + "\n", 0)
    command = spark_submit_command(operator)
    # In local mode the jars holding no class of Spark's go on the driver's class path (not copied).
    local = "--driver-class-path" in options
    given = {
        "--jars": ",".join(jar.as_uri() for jar in ((sharing,) if local else (sharing, *apart))),
        "--driver-class-path": os.pathsep.join(str(jar) for jar in apart),
        "--packages": packages(),
    }
    for option in options:
        assert f" {option} {given[option]} " in command, command
    assert (set(given) - set(options)).isdisjoint(command.split()), command


@pytest.mark.parametrize("memory", ["2g", None])
def test_spark_submit_gives_the_driver_the_memory_flowlake_driver_memory_says(operator_printing, monkeypatch, memory):
    """A job's session started by spark-submit cannot set its own driver's memory: spark-submit must."""
    if memory:
        monkeypatch.setenv("FLOWLAKE_DRIVER_MEMORY", memory)
    else:
        monkeypatch.delenv("FLOWLAKE_DRIVER_MEMORY", raising=False)
    operator = operator_printing(json.dumps(SUMMARY) + "\n", 0)
    command = spark_submit_command(operator)
    if memory:
        assert f" --driver-memory {memory} " in command, command
    else:
        assert "--driver-memory" not in command, command


@pytest.mark.parametrize(
    ("master", "cores", "job_environment", "options"),
    [
        ("local[*]", 2, {}, "-XX:+UseParallelGC -XX:MetaspaceSize=256m -XX:CompileThresholdScaling=5"),
        # What the job's own environment already chooses is left to it: a JVM given two collectors refuses to start.
        (
            "local[2]",
            2,
            {"JAVA_TOOL_OPTIONS": "-XX:+UseSerialGC"},
            "-XX:MetaspaceSize=256m -XX:CompileThresholdScaling=5",
        ),
        ("local[*]", 4, {}, None),
        ("spark://127.0.0.1:7077", 2, {}, None),
    ],
    ids=["local mode, 2 cores", "local mode, the job's collector chosen", "local mode, 4 cores", "cluster"],
)
def test_a_local_job_s_driver_gets_from_spark_submit_the_jvm_options_a_local_session_gives_itself(
    operator_printing, monkeypatch, master, cores, job_environment, options
):
    """A job's session started by spark-submit cannot choose its driver's JVM options: spark-submit must."""
    for name in ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": master}))
    operator = operator_printing(json.dumps(SUMMARY) + "\n", 0)
    operator.env_vars = job_environment
    command = spark_submit_command(operator)
    if options:
        assert f" --conf spark.driver.defaultJavaOptions={options} " in command, command
    else:
        assert "JavaOptions" not in command, command


@pytest.mark.parametrize(
    "connection",
    [{"conn_type": "spark", "host": "k8s://https://127.0.0.1:6443"}, {"conn_type": "k8s", "host": "127.0.0.1"}],
    ids=["master in the host", "master in the type"],
)
def test_a_kubernetes_master_is_refused_saying_what_works(operator_printing, monkeypatch, connection):
    """The driver's environment (alert connections, the pseudonymization key) would go to a pod, not here."""
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(connection))
    operator = operator_printing(json.dumps(SUMMARY) + "\n", 0)
    with pytest.raises(AirflowFailException, match="points at Kubernetes.*standalone master or YARN"):
        operator.execute({})


def test_cluster_deploy_mode_is_refused_saying_what_works(operator_printing, monkeypatch):
    """A standalone master refuses the driver's environment in cluster mode (every try failed, and was retried);
    on YARN the driver would find none of the files it names, and its summary would not reach the task."""
    from airflow.sdk.exceptions import AirflowFailException

    connection = {"conn_type": "spark", "host": "spark://127.0.0.1", "port": 7077, "extra": {"deploy-mode": "cluster"}}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(connection))
    operator = operator_printing(json.dumps(SUMMARY) + "\n", 0)
    with pytest.raises(AirflowFailException, match="asks for deploy mode cluster.*Remove deploy-mode"):
        operator.execute({})


def running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def timed_out_alerts(monkeypatch, error: BaseException) -> list[str] | None:
    """The lines of what the hourly task's retry callback posts to the webhook for a try that failed with error
    (None: nothing)."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from flowlake_airflow.defaults import DEFAULT_ARGS
    from tests.servers import WebhookServer

    ti = SimpleNamespace(
        dag_id="vpc_flow_logs_hourly", task_id="process_hour", try_number=1, log_url="http://127.0.0.1:8080/log"
    )
    context = {
        "ti": ti,
        "run_id": "scheduled__2026-11-01T11:00:00+00:00",
        "logical_date": datetime(2026, 11, 1, 11, tzinfo=UTC),
        "data_interval_start": datetime(2026, 11, 1, 10, tzinfo=UTC),
        "data_interval_end": datetime(2026, 11, 1, 11, tzinfo=UTC),
        "exception": error,
    }
    with WebhookServer() as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        DEFAULT_ARGS["on_retry_callback"](context)
    if not webhook.received:
        return None
    (posted,) = webhook.received
    return json.loads(posted["body"])["text"].splitlines()


def test_a_job_that_times_out_is_killed_with_the_driver_it_started(operator_running, monkeypatch, tmp_path):
    """spark-submit's JVM runs a Python job's driver as its child: the provider's on_kill kills the JVM alone, and a
    driver busy in Python (not waiting on the JVM) went on running, orphaned, after its task had timed out.

    Airflow's own path: the task runner runs execute under the task's execution_timeout (SIGALRM) and calls on_kill
    when it expires. The stand-in spark-submit starts its "driver" and says so; the timeout expires then."""
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
    from airflow.sdk.exceptions import AirflowTaskTimeout
    from airflow.sdk.execution_time.task_runner import _run_execute_callable

    read_output = SparkSubmitHook._process_spark_submit_log

    def reading_until_the_timeout(hook, lines):
        def then_the_timeout():
            for line in lines:
                yield line
                os.kill(os.getpid(), signal.SIGALRM)  # the execution_timeout's timer going off

        read_output(hook, then_the_timeout())

    monkeypatch.setattr(SparkSubmitHook, "_process_spark_submit_log", reading_until_the_timeout)
    pids = tmp_path / "pids"
    operator = operator_running(f"sleep 600 &\necho $$ $! > {pids}\necho started\nwait\n")
    try:
        with pytest.raises(AirflowTaskTimeout) as timed_out:
            _run_execute_callable({}, operator.execute, operator)
        submit, driver = (int(pid) for pid in pids.read_text().split())
        assert operator._hook._submit_sp.pid == submit
        assert operator._hook._submit_sp.wait(timeout=10) == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while running(driver) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(driver)
        assert timed_out_alerts(monkeypatch, timed_out.value) == [
            "flowlake task timed out, killed and retried: vpc_flow_logs_hourly.process_hour for 2026-11-01T10:00Z "
            "to 2026-11-01T11:00Z",
            "- DAG vpc_flow_logs_hourly, task process_hour, logical date 2026-11-01T11:00:00Z, try 1",
            "- run scheduled__2026-11-01T11:00:00+00:00",
            "- error: AirflowTaskTimeout; what it says is in the log",
            "- log: http://127.0.0.1:8080/log",
        ]
        # Any other failed try is retried without a word: its last failure alerts (alert_task_failure).
        assert timed_out_alerts(monkeypatch, RuntimeError("spark-submit exited with 1")) is None
    finally:
        for pid in (int(pid) for pid in pids.read_text().split()) if pids.exists() else ():
            if running(pid):
                os.kill(pid, signal.SIGKILL)

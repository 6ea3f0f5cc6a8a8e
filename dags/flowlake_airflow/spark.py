"""The one operator flowlake's DAGs run Spark with: spark-submit of a job's entry point in jobs/."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psutil
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from flowlake_airflow.settings import PROJECT_ROOT, SPARK_CONNECTION, Setting

JOBS_FOLDER = PROJECT_ROOT / "jobs"

# Ivy's report on the jars spark-submit resolves for --packages: some 90 lines at the top of every
# task's log, even with every jar cached. Held back unless the job fails before its summary.
IVY_REPORT_LINE = re.compile(
    r":: (?:loading settings|resolving dependencies|resolution report|retrieving) :: .*"
    r"|:: (?:modules in use|evicted modules):"
    r"|Ivy Default Cache set to: .*"
    r"|The jars for the packages stored in: .*"
    r"|\S+#\S+ added as a dependency"
    r"|confs: \[\S+\]"
    r"|found \S+#\S+;\S+ in \S+"
    r"|\S+#\S+;\S+ (?:from \S+|by \[\S+\]) in \[\S+\]"
    r"|downloading \S+ \.\.\."
    r"|\[SUCCESSFUL \] .*"
    # its table of module counts: rules of dashes, and rows with a double bar between modules and artifacts
    r"|-{60,}"
    r"|\|.*\|\|.*\|"
    r"|\d+ artifacts copied, \d+ already retrieved .*"
)
# Spark's notices at the start of every job, which say nothing of the run: the JVM's about the vector module, and
# what Hadoop and Spark log before Spark's log level applies (Hadoop's native library, Spark's log profile, the Spark,
# OS and Java versions), then Spark's about its log level.
SPARK_START_UP_LINE = re.compile(
    r"WARNING: Using incubator modules: jdk\.incubator\.vector"
    r"|\d\d/\d\d/\d\d \d\d:\d\d:\d\d WARN NativeCodeLoader: Unable to load native-hadoop library for your "
    r"platform\.\.\. using builtin-java classes where applicable"
    r"|Using Spark's default log4j profile: \S+"
    r"|\d\d/\d\d/\d\d \d\d:\d\d:\d\d INFO SparkContext: (?:Running Spark version|OS info|Java version) .*"
    r'|Setting Spark log level to "\w+"\.'
)


def _refuse_kubernetes(connection) -> None:
    """A task's driver runs here (client mode) in an environment the task gives it: the alert connections'
    file, the key that pseudonymizes addresses. Submitting to Kubernetes, the provider puts that environment
    on a driver pod instead (and needs its Kubernetes provider): alerts would go nowhere and addresses be
    written as they are. Refused, without retries, saying what works."""
    if connection.conn_type == "k8s" or (connection.host or "").startswith("k8s://"):
        raise AirflowFailException(
            f"{SPARK_CONNECTION} points at Kubernetes ({connection.host}): flowlake's DAG tasks run their "
            "driver here with an environment of its own, which spark-submit to Kubernetes does not give it. "
            "Point it at a standalone master or YARN, or submit the jobs with --deploy-mode cluster as the "
            "README's cluster section shows."
        )


def _refuse_cluster_mode(deploy_mode: str | None) -> None:
    """For the same reasons, no driver on the cluster: a standalone master refuses the driver's environment in
    cluster mode (each try failed, and was retried), YARN's driver would find none of the files it names, and
    the job's summary, which the task reads from the driver's output, would not reach it."""
    if deploy_mode == "cluster":
        raise AirflowFailException(
            f"{SPARK_CONNECTION} asks for deploy mode cluster: flowlake's DAG tasks run their driver here (client "
            "mode), with an environment of its own and its summary read from its output, which a driver on the "
            "cluster does not have. Remove deploy-mode from the connection's extra (or set it to client)."
        )


def timeout_of(setting: Setting, minutes: str) -> timedelta:
    """The execution_timeout a number of minutes gives; anything else is refused, naming the setting."""
    try:
        value = float(minutes)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(
            f"Variable {setting.variable} (else {setting.environment} in the environment) must be a positive "
            f"number of minutes: {minutes!r}"
        )
    return timedelta(minutes=value)


def _started_by(process) -> list[psutil.Process]:
    """The processes a running subprocess.Popen started, found while they are still its descendants."""
    if process is None or process.poll() is not None:
        return []
    try:
        return psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def job_application(command: str) -> Path:
    """The spark-submit entry point of a flowlake command: jobs/<command, with _ for ->.py."""
    return JOBS_FOLDER / f"{command.replace('-', '_')}.py"


# The keys of every line Spark logs with structured logging on (spark.log.structuredLogging.enabled, a cluster's
# spark-defaults may set it): a log record, never a job's summary.
STRUCTURED_LOG_KEYS = frozenset({"ts", "level", "msg", "logger"})


def last_json_value(lines: Sequence[str]):
    """The last line that is a JSON object or array, and not one of Spark's structured log records: the summary a
    job prints when it is done."""
    for line in reversed(lines):
        if line.startswith(("{", "[")):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if not (isinstance(value, dict) and value.keys() >= STRUCTURED_LOG_KEYS):
                return value
    return None


class FlowlakeJobOperator(SparkSubmitOperator):
    """spark-submit of a flowlake job, the way the README's cluster section runs it by hand:
    `spark-submit --py-files flowlake.zip --jars ... jobs/<command>.py ARGUMENTS`: `--jars` of the jars Ivy
    resolved on this machine before (`flowlake jars`), else `--packages` (see
    flowlake.spark_session.resolved_jars).

    The zip is built from the flowlake package installed beside Airflow when the task
    runs, so the driver and the executors run exactly that code; the driver runs the
    Python that runs Airflow (client mode, spark-submit's default, so that the job's
    JSON summary reaches the task and becomes its XCom). Executors run the Python
    the cluster gives them, or this one in local mode. Every flowlake job writes
    Delta tables: give each task pool=DELTA_WRITERS_POOL. A job that printed its
    summary and still exited non-zero gave a verdict, so the task fails without
    retries (a crash before the summary is retried).

    window: {"start": ..., "end": ...} -> --start/--end; options: flag -> value,
    passed only when the value is not empty (a Variable left empty means "default").

    timeout: the setting of the job's execution_timeout, in minutes: its default when the DAG file is parsed
    (what the UI shows), its Variable when the task runs (rendered before the timeout starts). A job that runs
    longer is failed, and on_kill kills spark-submit and the processes it started (the Python driver too).
    """

    template_fields: Sequence[str] = (*SparkSubmitOperator.template_fields, "window", "options", "timeout_minutes")

    def __init__(
        self,
        *,
        command: str,
        timeout: Setting,
        arguments: Sequence[str] = (),
        window: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(
            application=str(job_application(command)),
            application_args=list(arguments),
            conn_id=SPARK_CONNECTION,
            name=f"flowlake-{command}",
            execution_timeout=timeout_of(timeout, timeout.default),
            **kwargs,
        )
        self.command = command
        self.window = window
        self.options = options or {}
        self.timeout_setting = timeout
        self.timeout_minutes = timeout.template

    def render_template_fields(self, context, jinja_env=None) -> None:
        super().render_template_fields(context, jinja_env)
        # Rendered before execute, which the task runner then runs under the task's execution_timeout.
        if str(self.timeout_minutes).strip():
            self.execution_timeout = timeout_of(self.timeout_setting, self.timeout_minutes)

    def on_kill(self) -> None:
        """Kills spark-submit (the provider's on_kill: SIGKILL of its JVM) and every process it had started.

        The JVM runs a Python job's driver as its child process. A driver waiting on the JVM dies with it, but one
        busy in Python (nat-inventory's EC2 calls, sending alerts) went on, orphaned and unseen by Airflow, until
        it next called the JVM. Called when the task times out, and when it is killed (marked failed, SIGTERM)."""
        started = _started_by(getattr(self._hook, "_submit_sp", None))
        super().on_kill()
        for process in started:
            with contextlib.suppress(psutil.NoSuchProcess):  # ended with the JVM
                process.kill()
        if started:
            self.log.info("Killed the %d processes spark-submit had started", len(started))

    def execute(self, context):
        # Imported when the task runs, not when the DAG is parsed.
        from flowlake.connections import CONNECTIONS_FILE_VARIABLE, handed_connections, write_connections_file
        from flowlake.dist import build_zip, packages
        from flowlake.dq import DATA_DOCS_ASSETS_VARIABLE, data_docs_assets
        from flowlake.spark_session import jars_for_driver, local_java_conf, resolved_jars

        self.application_args = [*self.application_args, *self._window_arguments(), *self._option_arguments()]
        _refuse_kubernetes(BaseHook.get_connection(self._conn_id))
        hook = self._get_hook()
        _refuse_cluster_mode(hook._connection["deploy_mode"])
        master = hook._connection["master"]
        self.env_vars = {
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            # The driver imports flowlake from the zip, away from the project's installed Data Docs assets.
            DATA_DOCS_ASSETS_VARIABLE: str(data_docs_assets()),
            **(self.env_vars or {}),
        }
        if master.startswith("local"):
            self.env_vars.setdefault("PYSPARK_PYTHON", sys.executable)
        # In local mode the job's tasks run in the driver's JVM, which spark-submit starts before the job's session
        # could choose its options: spark-submit gives it those a local session gives itself (the collector, the
        # compilation). An hourly job of the sample hour, alternating: 49.5-53.4 s and 84-91 CPU-seconds with them,
        # 57.2-61.0 s and 104-112 without.
        conf = self.conf or {}
        environ = {**os.environ, **self.env_vars}
        self.conf = {**conf, **local_java_conf(master, os.cpu_count() or 1, conf, environ)}
        # The job's session cannot size the driver spark-submit has started: spark-submit must.
        self._driver_memory = self._driver_memory or os.environ.get("FLOWLAKE_DRIVER_MEMORY") or None
        # The driver runs here (client mode): the jars Ivy resolved here before serve as they are, and a
        # cluster's executors fetch them from the driver. spark-submit skips resolving them again (2 s, and
        # Ivy's report), and each executor gets them once: spark-submit ships a Python application's
        # --packages as Python files too, so they reached it twice (the AWS SDK bundle alone is 686 MB).
        # In local mode most of them go on the driver's class path, uncopied (see jars_for_driver).
        listed = resolved_jars()
        if listed:
            shipped, class_path = jars_for_driver(master, listed)
            self.jars, self.packages = ",".join(shipped) or None, None
            self.driver_class_path = os.pathsep.join(p for p in (*class_path, self.driver_class_path) if p) or None
        else:
            self.packages = packages()
        with tempfile.TemporaryDirectory(prefix="flowlake-dist-") as folder:
            self.py_files = str(build_zip(Path(folder) / "flowlake.zip"))
            # Read here, where Airflow answers; the job's driver runs on this machine (client mode).
            connections = write_connections_file(Path(folder) / "connections.json", handed_connections())
            self.env_vars[CONNECTIONS_FILE_VARIABLE] = str(connections)
            self._hook = self._get_hook()
            output = _keep_output(self._hook)
            try:
                super().execute(context)
            except AirflowException as error:
                summary = last_json_value(output.lines)
                if summary is None:
                    output.log_held_back(self.log)
                    raise  # spark-submit or the job crashed: worth a retry
                # The job got through and exited non-zero: its verdict (e.g. a failed validation) would not change.
                raise AirflowFailException(f"flowlake {self.command} failed: {json.dumps(summary)}") from error
        output.log_left_out(self.log)
        return last_json_value(output.lines)

    def _window_arguments(self) -> list[str]:
        if self.window is None:
            return []
        return ["--start", str(self.window["start"]), "--end", str(self.window["end"])]

    def _option_arguments(self) -> list[str]:
        return [
            part for flag, value in self.options.items() if str(value).strip() for part in (flag, str(value).strip())
        ]


@dataclass
class SubmitOutput:
    """What spark-submit printed (lines), and the parts of it kept out of the task log: Ivy's report and Spark's
    start-up notices."""

    lines: list[str] = field(default_factory=list)
    ivy_report: list[str] = field(default_factory=list)
    start_up: list[str] = field(default_factory=list)

    def log_left_out(self, log) -> None:
        if self.ivy_report:
            log.info("Ivy's report on the packages spark-submit resolved: %d lines, left out", len(self.ivy_report))
        if self.start_up:
            log.info("Spark's start-up notices: %d lines, left out", len(self.start_up))

    def log_held_back(self, log) -> None:
        if self.ivy_report or self.start_up:
            log.info("spark-submit failed before the job's summary; the lines held back were:")
        for line in (*self.ivy_report, *self.start_up):
            log.info(line)


def _keep_output(hook) -> SubmitOutput:
    """Collects the lines spark-submit prints while the hook logs them, less Ivy's report and Spark's start-up
    notices.

    The hook only logs that output (in client mode, the driver's stdout with the job's
    summary is part of it), so its reader is wrapped: a private method of the pinned
    provider, which tests/test_dag_run.py exercises through the summaries it asserts.
    """
    output = SubmitOutput()
    log_output = hook._process_spark_submit_log

    def keep_and_log(lines: Iterator[str]) -> None:
        def kept() -> Iterator[str]:
            for line in lines:
                stripped = line.strip()
                output.lines.append(stripped)
                if IVY_REPORT_LINE.fullmatch(stripped):
                    output.ivy_report.append(stripped)
                elif SPARK_START_UP_LINE.fullmatch(stripped):
                    output.start_up.append(stripped)
                else:
                    yield line

        log_output(kept())

    hook._process_spark_submit_log = keep_and_log
    return output

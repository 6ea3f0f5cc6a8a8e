"""Secrets go only where they are used: never on a command line, in a job's output or files, in an alert,
the Data Docs or dq_results. And a job asks the network for nothing beyond the hosts it is configured with.

Each test plants recognizable secrets where production keeps them (the environment, an
Airflow connection), runs the real thing, and looks for them everywhere a person or
another process could read them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.frames import read
from tests.servers import RefusingProxy, SmtpServer, WebhookServer, free_port, tls_files

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AWS_SECRET = "planted-aws-secret-3f9c"
SMTP_PASSWORD = "planted-smtp-password-8d21"
WEBHOOK_TOKEN = "planted-webhook-token-5b7e"
SECRETS = (AWS_SECRET, SMTP_PASSWORD, WEBHOOK_TOKEN)


def secrets_in(text: str | bytes) -> list[str]:
    text = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return [secret for secret in SECRETS if secret in text]


class SessionCommandLines:
    """Every command line of the processes of one session (a process started with start_new_session=True
    and all it starts: spark-submit, the JVM, Python workers), polled from /proc while the block runs."""

    def __init__(self, session_id: int):
        self.session_id = session_id
        self.seen: set[tuple[str, ...]] = set()
        self._stop = threading.Event()

    def _poll(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    # The session id is the 6th field, after the command name in parentheses.
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[3]) == self.session_id:
                        argv = (entry / "cmdline").read_bytes().split(b"\0")
                        self.seen.add(tuple(arg.decode("utf-8", "replace") for arg in argv if arg))
                except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                    continue  # the process ended while being read
            time.sleep(0.05)

    def __enter__(self):
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@pytest.mark.slow
def test_a_failed_validation_alerting_by_webhook_and_email_leaks_no_secret_and_calls_nothing_out(spark, tmp_path):
    """flowlake validate as a user runs it, on an empty lake (every table's schema check fails, critically),
    with S3 keys, an SMTP password (STARTTLS, private CA) and a webhook token in its environment."""
    lake, docs = tmp_path / "lake", tmp_path / "data_docs"
    lake.mkdir()
    tls = tls_files(tmp_path)
    with (
        WebhookServer() as webhook,
        SmtpServer(tls=tls, login=("alerts", SMTP_PASSWORD)) as smtp,
        RefusingProxy() as proxy,
    ):
        env = {
            **os.environ,
            # With an endpoint, the keys go into s3a's configuration: the place they must stay in.
            "FLOWLAKE_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
            "AWS_ACCESS_KEY_ID": "planted-access-key-id",
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "FLOWLAKE_ALERT_WEBHOOK_URL": f"http://127.0.0.1:{webhook.port}/services/T000/B000/{WEBHOOK_TOKEN}",
            "FLOWLAKE_SMTP_HOST": "127.0.0.1",
            "FLOWLAKE_SMTP_PORT": str(smtp.port),
            "FLOWLAKE_SMTP_USER": "alerts",
            "FLOWLAKE_SMTP_PASSWORD": SMTP_PASSWORD,
            "FLOWLAKE_SMTP_CA_FILE": str(tls.ca),
            "FLOWLAKE_SMTP_TO": "oncall@example.com",
            # Whatever in the job speaks HTTP the usual way asks this proxy, which fetches nothing;
            # the webhook and SMTP servers on 127.0.0.1 are reached directly.
            **{name: proxy.url for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")},
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        job = subprocess.Popen(
            [
                *(sys.executable, "-m", "flowlake.cli", "validate"),
                *("--lake", str(lake), "--data-docs", str(docs), "--run-id", "planted-secrets"),
                *("--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T11:00:00Z"),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        with SessionCommandLines(job.pid) as command_lines:
            stdout, stderr = job.communicate(timeout=900)

    assert job.returncode == 1, stderr[-4000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert (summary["alerted"], summary["alert_failures"]) == (["webhook", "email"], [])
    # The secrets were in play: the token was the webhook's path, the password logged in over TLS.
    assert [message["path"] for message in webhook.received] == [f"/services/T000/B000/{WEBHOOK_TOKEN}"]
    assert smtp.logins == [("alerts", SMTP_PASSWORD)]
    # spark-submit's command lines were among those seen, with the options PySpark passes on them (the
    # Delta jar, or its coordinates when Ivy resolves them).
    submits = [" ".join(argv) for argv in command_lines.seen if "org.apache.spark.deploy.SparkSubmit" in argv]
    assert submits and all("delta-spark" in submit for submit in submits), command_lines.seen

    assert {argv: secrets_in(" ".join(argv)) for argv in command_lines.seen if secrets_in(" ".join(argv))} == {}
    assert (secrets_in(stdout), secrets_in(stderr)) == ([], [])
    assert secrets_in(webhook.received[0]["body"]) == []
    (mail,) = smtp.received
    assert secrets_in(mail["message"].as_bytes()) == []
    # Every file the run wrote: the lake's logs and data, the Data Docs pages and their project, Spark's own.
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    pages = [path for path in written if path.suffix == ".html"]
    assert docs / "index.html" in pages and len(pages) > 20
    assert {str(path): secrets_in(path.read_bytes()) for path in written if secrets_in(path.read_bytes())} == {}
    # dq_results' Parquet is compressed: its rows, as values.
    results = read(spark, lake, "dq_results").collect()
    assert len(results) == summary["expectations"]
    assert secrets_in(json.dumps([row.asDict() for row in results], default=str)) == []
    assert proxy.requested == []


def test_a_failed_spark_submit_alerts_where_its_log_is_not_what_the_job_printed(monkeypatch, tmp_path):
    """The operator's spark-submit (a stand-in that prints a planted secret, as a crashing job may print a
    credential, and fails) gets no secret on its command line, and the task-failure alert none either."""
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "dags"))
    from airflow.sdk.exceptions import AirflowException

    from flowlake_airflow.alerting import alert_task_failure
    from flowlake_airflow.settings import HOURLY_TIMEOUT_MINUTES
    from flowlake_airflow.spark import FlowlakeJobOperator

    bin_folder, argv_file = tmp_path / "bin", tmp_path / "spark-submit.argv"
    bin_folder.mkdir()
    spark_submit = bin_folder / "spark-submit"
    spark_submit.write_text(
        "#!/usr/bin/env bash\n"
        f"printf '%s\\0' \"$@\" > {argv_file}\n"
        'echo "py4j.protocol.Py4JJavaError: An error occurred while calling o42.load."\n'
        'echo "java.nio.file.AccessDeniedException: s3a://lake/flow_logs: secret key $AWS_SECRET_ACCESS_KEY"\n'
        "exit 1\n"
    )
    spark_submit.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "local[*]"}))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("FLOWLAKE_SMTP_PASSWORD", SMTP_PASSWORD)
    logical_date = datetime(2026, 11, 1, 11, tzinfo=UTC)
    operator = FlowlakeJobOperator(
        task_id="process_hour",
        command="hourly",
        timeout=HOURLY_TIMEOUT_MINUTES,
        arguments=["--source", "s3a://raw/", "--lake", "s3a://lake/"],
        window={"start": "2026-11-01T10:00:00+00:00", "end": "2026-11-01T11:00:00+00:00"},
    )
    with pytest.raises(AirflowException) as failed:
        operator.execute({})
    # What the old alert sent on as "error: ...": spark-submit's last lines, the secret among them.
    assert secrets_in(str(failed.value)) == [AWS_SECRET]
    argv = argv_file.read_bytes().decode().split("\0")[:-1]
    assert argv[argv.index("--name") + 1] == "flowlake-hourly"
    assert argv[-9:] == [
        str(PROJECT_ROOT / "jobs" / "hourly.py"),
        *("--source", "s3a://raw/", "--lake", "s3a://lake/"),
        *("--start", "2026-11-01T10:00:00+00:00", "--end", "2026-11-01T11:00:00+00:00"),
    ]
    assert secrets_in(" ".join(argv)) == []

    log_url = "http://127.0.0.1:8080/dags/vpc_flow_logs_hourly/runs/scheduled__2026-11-01T11:00:00+00:00/tasks/process_hour?try_number=2"
    with WebhookServer() as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        alert_task_failure(
            {
                "ti": SimpleNamespace(
                    dag_id="vpc_flow_logs_hourly", task_id="process_hour", try_number=2, log_url=log_url
                ),
                "run_id": "scheduled__2026-11-01T11:00:00+00:00",
                "logical_date": logical_date,
                "data_interval_start": datetime(2026, 11, 1, 10, tzinfo=UTC),
                "data_interval_end": logical_date,
                "exception": failed.value,
            }
        )
    (posted,) = webhook.received
    text = json.loads(posted["body"])["text"]
    assert secrets_in(text) == []
    assert text.splitlines() == [
        "flowlake task failed: vpc_flow_logs_hourly.process_hour for 2026-11-01T10:00Z to 2026-11-01T11:00Z",
        "- DAG vpc_flow_logs_hourly, task process_hour, logical date 2026-11-01T11:00:00Z, try 2",
        "- run scheduled__2026-11-01T11:00:00+00:00",
        "- error: AirflowException; what it says is in the log",
        f"- log: {log_url}",
    ]

"""Airflow for the end-to-end tests: a real one on 127.0.0.1 started the way `make airflow` starts it, and dag.test() runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from scripts.airflow_local import ADMIN, airflow_environment, password_file, prepare
from tests.servers import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = PROJECT_ROOT / "scripts" / "airflow_local.py"
STARTUP_SECONDS = 420


@dataclass
class LocalAirflow:
    url: str
    env: dict[str, str]  # what its components run with: for `airflow` commands against it
    password: str
    log: Path
    token: str = ""

    def request(self, method: str, path: str, body=None):
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def get(self, path: str):
        return self.request("GET", path)

    def cli(self, *arguments: str) -> subprocess.CompletedProcess:
        airflow = Path(sys.executable).parent / "airflow"
        return subprocess.run([str(airflow), *arguments], env=self.env, capture_output=True, text=True, timeout=300)

    def wait_for(self, what: str, check, timeout: float, interval: float = 3.0):
        """check() until it returns something truthy, or fail with the log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = check()
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                value = None
            if value:
                return value
            time.sleep(interval)
        raise TimeoutError(f"{what}: not within {timeout:.0f}s\n{self.log.read_text()[-6000:]}")


def _healthy(airflow: LocalAirflow) -> bool:
    health = airflow.get("/api/v2/monitor/health")
    return all(
        health.get(part, {}).get("status") == "healthy"
        for part in ("metadatabase", "scheduler", "dag_processor", "triggerer")
    )


@contextmanager
def running_airflow(root: Path, source: Path, lake: Path, extra_env: dict[str, str]) -> Iterator[LocalAirflow]:
    """scripts/airflow_local.py (airflow standalone) in its own process group, until the block ends."""
    home, port, log = root / "airflow", free_port(), root / "airflow.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                str(SCRIPT),
                "--home",
                str(home),
                "--port",
                str(port),
                "--source",
                str(source),
                "--lake",
                str(lake),
            ],
            env={**os.environ, **extra_env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    airflow = LocalAirflow(
        url=f"http://127.0.0.1:{port}",
        env={**airflow_environment(home.resolve(), port, source.resolve(), lake.resolve()), **extra_env},
        password="",
        log=log,
    )
    try:
        airflow.wait_for("Airflow healthy", lambda: process.poll() is None and _healthy(airflow), STARTUP_SECONDS)
        airflow.password = json.loads(password_file(home).read_text())[ADMIN]
        airflow.token = airflow.request("POST", "/auth/token", {"username": ADMIN, "password": airflow.password})[
            "access_token"
        ]
        yield airflow
    finally:
        # Every component at once (standalone, told by Ctrl-C, stops them one by one and took 60 s);
        # nothing of this Airflow is needed afterwards.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# ---------------------------------------------------------------- dag.test() runs

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
print("RUN " + json.dumps({
    "state": run.state,
    "data_interval": [run.data_interval_start.isoformat(), run.data_interval_end.isoformat()],
    "tasks": tasks,
    "results": results,
}))
"""


def run_hour(env: dict, hour: datetime) -> dict:
    """dag.test() of the run whose data interval is [hour, hour + 1h), without retries."""
    # A manual run's data interval is the last whole hour before its logical date.
    logical_date = (hour + timedelta(hours=1)).isoformat()
    result = subprocess.run(
        [sys.executable, "-c", DAG_TEST, str(PROJECT_ROOT / "dags"), DAG_ID, logical_date],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RUN ")]
    assert result.returncode == 0 and lines, (result.stdout[-6000:], result.stderr[-6000:])
    return json.loads(lines[-1][len("RUN ") :])


def airflow_for(root: Path) -> dict:
    """The environment of a dag.test() on root/source and root/lake, its Airflow home prepared."""
    env = airflow_environment(root / "airflow", 8793, root / "source", root / "lake")
    prepare(env)
    return env

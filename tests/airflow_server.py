"""A real Airflow on 127.0.0.1, started the way `make airflow` starts it, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scripts.airflow_local import ADMIN, airflow_environment, password_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = PROJECT_ROOT / "scripts" / "airflow_local.py"
STARTUP_SECONDS = 420


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        # airflow standalone stops its components on Ctrl-C.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

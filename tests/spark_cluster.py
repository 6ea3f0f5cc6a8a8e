"""A real Spark standalone cluster on 127.0.0.1, and a Python without flowlake for its executors.

The cluster is started the way PySpark's pip package allows (it ships
bin/spark-class but no sbin/start-*.sh): one master and one worker of two cores,
each a JVM of its own, and every application's executor a JVM of its own too.
One executor of two cores, not two of one: a second executor fetched the
driver's 744 MB of jars again and warmed a second JVM for the same few rows.
Executors run `python3` from the worker's PATH, which is a virtual environment
that has flowlake's dependencies but not flowlake: they can only import the code
spark-submit ships.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyspark

from tests.servers import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPARK_HOME = Path(pyspark.__file__).resolve().parent
STARTUP_SECONDS = 120
# What a Python process must not inherit from this one to be a plain user's shell:
# the tests' own session sets PYSPARK_PYTHON to this interpreter (which has flowlake).
INHERITED_PYTHON_SETTINGS = ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")

# In the executors' Python: logs where each process imports flowlake from, and which interpreter it is.
SITECUSTOMIZE = """
import importlib.machinery, json, os, sys


class LogWhereFlowlakeComesFrom:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "flowlake":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        with open({log!r}, "a") as log:
            log.write(json.dumps({{"pid": os.getpid(), "executable": sys.executable, "cwd": os.getcwd(),
                                   "origin": spec.origin if spec else None}}) + "\\n")
        return spec


sys.meta_path.insert(0, LogWhereFlowlakeComesFrom)
"""


def python_without_flowlake(folder: Path) -> Path:
    """A venv whose python3 imports everything this one has installed except flowlake.

    A .pth file in its site-packages adds this environment's site-packages to its path;
    the .pth files in there (flowlake's editable install among them) are not processed,
    since only a site directory's own .pth files are.
    """
    if not (folder / "bin" / "python3").exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site_packages = Path(
        subprocess.run(
            [str(folder / "bin" / "python3"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site_packages / "flowlake-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin" / "python3"


def plain_environment(**settings: str) -> dict[str, str]:
    """This process's environment without what points Spark or Python at this interpreter, plus settings."""
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_PYTHON_SETTINGS}
    return {**env, **settings}


# An executor's log line for each file it fetches from its driver's file server.
_FETCHED = re.compile(r"Executor: Fetching spark://([^:/]+):\d+/(jars|files)/(\S+) with timestamp")


@dataclass
class StandaloneCluster:
    master_url: str
    web_url: str
    work_dirs: list[Path]

    def status(self) -> dict:
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=10) as response:
            return json.loads(response.read())

    def applications(self) -> dict[str, str]:
        """Every application the master knows, running or completed: its id and its name."""
        status = self.status()
        return {app["id"]: app["name"] for app in status["completedapps"] + status["activeapps"]}

    def fetched(self, application: str | None = None) -> dict[Path, list[tuple[str, str, str]]]:
        """What each executor (of one application, else of all) fetched from its driver: (driver's
        address, jars or files, name), from the executor's log."""
        logs = (
            self.executor_logs()
            if application is None
            else [p for p in self.executor_logs() if p.parent.parent.name == application]
        )
        return {log: _FETCHED.findall(log.read_text()) for log in logs}

    def executor_logs(self) -> list[Path]:
        """The stderr of every executor the workers have run, one folder per application and executor."""
        return sorted(path for work in self.work_dirs for path in work.glob("app-*/*/stderr"))


def _spark_class(env: dict[str, str], log: Path, *arguments: str) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *arguments],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait(what: str, check, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError):
            # Until its JSON endpoint is attached, the master's web UI answers with its HTML page.
            pass
        time.sleep(1)
    raise TimeoutError(f"{what} within {STARTUP_SECONDS}s:\n{log.read_text()[-4000:]}")


@contextmanager
def standalone_cluster(
    root: Path, executor_python: Path, workers: int = 1, cores: int = 2
) -> Iterator[StandaloneCluster]:
    """A master and `workers` workers of `cores` cores and 1 GiB each, until the block ends."""
    env = plain_environment(
        SPARK_HOME=str(SPARK_HOME),
        # The executors run `python3`: the one without flowlake.
        PATH=f"{executor_python.parent}{os.pathsep}{os.environ['PATH']}",
    )
    port, web_port = free_port(), free_port()
    processes = [
        _spark_class(
            env,
            root / "master.log",
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web_port)),
        )
    ]
    cluster = StandaloneCluster(
        master_url=f"spark://127.0.0.1:{port}",
        web_url=f"http://127.0.0.1:{web_port}",
        work_dirs=[root / f"worker-{n}" for n in range(workers)],
    )
    try:
        _wait("the master answers", lambda: cluster.status()["status"] == "ALIVE", root / "master.log")
        for n, work_dir in enumerate(cluster.work_dirs):
            processes.append(
                _spark_class(
                    env,
                    root / f"worker-{n}.log",
                    "org.apache.spark.deploy.worker.Worker",
                    cluster.master_url,
                    *("--host", "127.0.0.1", "--cores", str(cores), "--memory", "1G"),
                    *("--work-dir", str(work_dir), "--webui-port", "0"),
                )
            )
        _wait(f"{workers} workers alive", lambda: cluster.status()["aliveworkers"] == workers, root / "master.log")
        yield cluster
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

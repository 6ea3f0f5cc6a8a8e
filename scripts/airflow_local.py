"""Airflow on this machine with flowlake's DAGs, pointed at the local sample data (`make airflow`).

    .venv/bin/python scripts/airflow_local.py [--home .cache/airflow] [--port 8080]
        [--source sample/source] [--lake sample/lake]

Prepares an Airflow home (SQLite metadata, the repository's dags/ folder, no
examples, the `spark_default` connection in local mode, the Delta writers pool,
an admin user with a generated password), prints where the UI is and how to log
in, then runs `airflow standalone` (api-server, scheduler, dag-processor,
triggerer) until Ctrl-C. Preparing twice changes nothing: an edited connection
or password is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "dags"))

from flowlake_airflow.settings import (  # noqa: E402
    DELTA_WRITERS_POOL,
    DELTA_WRITERS_POOL_SLOTS,
    SPARK_CONNECTION,
)

ADMIN = "admin"
# spark-submit and airflow come from the same environment as this interpreter.
BIN = Path(sys.executable).parent
NAT_INVENTORY_NAME = "nat_gateways.csv"  # where `flowlake generate` puts the sample's NAT gateways


def password_file(home: Path) -> Path:
    """Where the simple auth manager reads its users' passwords (Airflow's default name)."""
    return home / "simple_auth_manager_passwords.json.generated"


def airflow_environment(home: Path, port: int, source: Path, lake: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "FLOWLAKE_SOURCE": str(source),
        "FLOWLAKE_LAKE": str(lake),
    }
    if (source / NAT_INVENTORY_NAME).exists() and "FLOWLAKE_NAT_INVENTORY" not in os.environ:
        env["FLOWLAKE_NAT_INVENTORY"] = str(source / NAT_INVENTORY_NAME)
    return env


def airflow(env: dict[str, str], *arguments: str, ok_if: str | None = None) -> None:
    result = subprocess.run([str(BIN / "airflow"), *arguments], env=env, capture_output=True, text=True)
    if result.returncode != 0 and not (ok_if and ok_if in result.stdout + result.stderr):
        raise RuntimeError(f"airflow {' '.join(arguments)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")


def prepare(env: dict[str, str]) -> str:
    """Creates or upgrades the metadata, the pool, the Spark connection and the admin password; returns it."""
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    airflow(env, "db", "migrate")
    airflow(
        env,
        "pools",
        "set",
        DELTA_WRITERS_POOL,
        str(DELTA_WRITERS_POOL_SLOTS),
        "flowlake Delta writers: one at a time, since concurrent drivers can lose data on S3",
    )
    airflow(
        env,
        "connections",
        "add",
        SPARK_CONNECTION,
        "--conn-type",
        "spark",
        "--conn-host",
        "local[*]",
        "--conn-description",
        "Local Spark; point the host at a cluster master (yarn, spark://) in production",
        ok_if="already exists",
    )
    passwords_path = password_file(home)
    passwords = json.loads(passwords_path.read_text()) if passwords_path.exists() else {}
    if ADMIN not in passwords:
        passwords[ADMIN] = secrets.token_urlsafe(12)
        passwords_path.write_text(json.dumps(passwords) + "\n")
        passwords_path.chmod(0o600)
    return passwords[ADMIN]


def banner(home: Path, port: int, password: str, source: Path, lake: Path) -> str:
    lines = [
        f"flowlake Airflow: http://127.0.0.1:{port}/",
        f"  log in as {ADMIN} / {password}   (password kept in {password_file(home)})",
        f"  source {source}",
        f"  lake   {lake}",
        "  DAGs start paused: unpause vpc_flow_logs_hourly in the UI, or backfill hours (the DAG unpaused):",
        f"  AIRFLOW_HOME={home} {BIN / 'airflow'} backfill create --dag-id vpc_flow_logs_hourly"
        " --from-date 2026-11-01T00:00:00+00:00 --to-date 2026-11-01T02:00:00+00:00",
    ]
    if not source.exists():
        lines.insert(
            3, f"  (no objects yet: {BIN / 'flowlake'} generate --out {source} --start 2026-11-01T00:00:00Z --hours 3)"
        )
    return "\n" + "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / ".cache" / "airflow", help="AIRFLOW_HOME")
    parser.add_argument("--port", type=int, default=8080, help="port of the UI and API on 127.0.0.1")
    parser.add_argument("--source", type=Path, default=PROJECT_ROOT / "sample" / "source", help="flow-log objects")
    parser.add_argument("--lake", type=Path, default=PROJECT_ROOT / "sample" / "lake", help="the Delta tables")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    home, source, lake = args.home.resolve(), args.source.resolve(), args.lake.resolve()
    env = airflow_environment(home, args.port, source, lake)
    password = prepare(env)
    print(banner(home, args.port, password, source, lake), flush=True)
    os.execve(str(BIN / "airflow"), [str(BIN / "airflow"), "standalone"], env)


if __name__ == "__main__":
    main()

"""docker-compose.yml, checked as far as a machine without a Docker engine can check it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from flowlake.generate import build_parser as generate_parser

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]


def test_the_stack_has_every_part():
    assert set(AIRFLOW_SERVICES) <= set(SERVICES)
    assert {"postgres", "minio", "minio-buckets", "spark-master", "spark-worker", "airflow-init", "seed"} <= set(
        SERVICES
    )
    assert [SERVICES[s]["command"] for s in AIRFLOW_SERVICES] == [
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
    ]


def test_every_service_has_an_image_and_every_build_its_files():
    for name, service in SERVICES.items():
        assert service.get("image") or service.get("build"), name
        if "build" in service:
            build = service["build"]
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    for source in re.findall(r"^COPY --chown=\S+ (.+) \S+$", dockerfile, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies missing {path}"
    assert "apache/airflow:3.3.2-python3.11" in dockerfile
    assert "constraints.txt" in dockerfile


def test_every_mounted_file_and_entrypoint_exists():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            if host.startswith((".", "/")):
                assert (ROOT / host).exists(), f"{name} mounts missing {host}"
        entrypoint = service.get("entrypoint")
        if entrypoint and entrypoint[0].startswith("/opt/flowlake/"):
            script = ROOT / entrypoint[0].removeprefix("/opt/flowlake/")
            assert script.is_file() and script.stat().st_mode & 0o111, f"{name}: {script} is not an executable file"
    passwords = SERVICES["airflow-api-server"]["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert (ROOT / passwords.removeprefix("/opt/flowlake/")).is_file()


def test_the_environment_the_dags_read_is_set_for_airflow_and_points_at_the_object_store():
    dag_settings = (ROOT / "dags/flowlake_airflow/settings.py").read_text()
    read_by_dags = set(re.findall(r'"(FLOWLAKE_[A-Z_]+)"', dag_settings))
    assert {"FLOWLAKE_SOURCE", "FLOWLAKE_LAKE"} <= read_by_dags
    for name in AIRFLOW_SERVICES:
        env = SERVICES[name]["environment"]
        assert env["FLOWLAKE_SOURCE"].startswith("s3a://") and env["FLOWLAKE_LAKE"].startswith("s3a://")
        assert env["FLOWLAKE_S3_ENDPOINT"] == "http://minio:9000"
        assert env["AIRFLOW_CONN_SPARK_DEFAULT"] == "spark://spark-master:7077"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/flowlake/dags"
        assert env["AWS_ACCESS_KEY_ID"] == SERVICES["minio"]["environment"]["MINIO_ROOT_USER"]
        assert env["AWS_SECRET_ACCESS_KEY"] == SERVICES["minio"]["environment"]["MINIO_ROOT_PASSWORD"]
    buckets_command = " ".join(SERVICES["minio-buckets"]["command"])
    for service in ("seed", "spark-worker", *AIRFLOW_SERVICES):
        env = SERVICES[service]["environment"]
        for location in (env["FLOWLAKE_SOURCE"], env["FLOWLAKE_LAKE"]):
            assert f"local/{location.split('/')[2]}" in buckets_command, f"{service}: no bucket for {location}"


def test_host_ports_do_not_clash():
    published = [p.split(":")[0] for s in SERVICES.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published)), published


def test_dependencies_name_real_services():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", []):
            assert dependency in SERVICES and dependency != name


def test_seed_runs_a_valid_generate_command():
    script = (ROOT / "deploy/seed.sh").read_text()
    command = re.search(r"^flowlake generate (.+?)(?<!\\)$", script.replace("\\\n", " "), re.M).group(1)
    words = shlex.split(
        command.replace('"$start"', "2026-11-01T00:00:00Z")
        .replace('"$((${SEED_HOURS:-24} + 1))"', "25")
        .replace('"${FLOWLAKE_SOURCE:?}"', "s3a://flowlake-raw/flow-logs")
        .replace('"${FLOWLAKE_NAT_INVENTORY:?}"', "s3a://flowlake-raw/nat_gateways.csv")
    )
    args = generate_parser().parse_args(words)
    assert (args.out, args.hours, args.nat_inventory) == (
        "s3a://flowlake-raw/flow-logs",
        25,
        "s3a://flowlake-raw/nat_gateways.csv",
    )


@pytest.mark.parametrize("script", ["deploy/spark-node.sh", "deploy/airflow-init.sh", "deploy/seed.sh"])
def test_scripts_are_valid_bash(script):
    import subprocess

    assert subprocess.run(["bash", "-n", str(ROOT / script)]).returncode == 0

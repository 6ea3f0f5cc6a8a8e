"""docker-compose.yml, checked as far as a machine without a Docker engine can check it."""

from __future__ import annotations

import base64
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from flowlake.generate import build_parser as generate_parser
from scripts.compose_env import generated_values
from scripts.compose_env import main as compose_env

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
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
    for source in re.findall(r"^COPY (?!--from=)(?:--chown=\S+ )?(.+) \S+$", dockerfile, re.M):
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


def test_every_named_volume_of_the_flowlake_image_starts_out_owned_by_its_user():
    """A named volume takes the owner of its folder in the image, or root when the image has none there: the
    image's user (airflow) could not write Data Docs or the admin's password."""
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    made = {folder for line in re.findall(r"RUN mkdir -p (.+)", dockerfile) for folder in line.split()}
    for name, service in SERVICES.items():
        if service.get("image") != "flowlake:local":
            continue
        for mount in service.get("volumes", []):
            source, target = mount.split(":")[:2]
            if source in COMPOSE["volumes"]:
                assert target in made, f"{name}: volume {source} at {target}, a folder the image does not make"


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


def test_only_the_airflow_ui_is_published_and_on_the_hosts_loopback_alone():
    """Spark's master (7077) takes jobs from anyone who reaches it, MinIO holds the lake: neither on the host."""
    published = {name: service["ports"] for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"airflow-api-server": ["127.0.0.1:8080:8080"]}


def test_every_service_is_on_the_internal_network_and_only_the_ui_on_another():
    assert COMPOSE["networks"]["internal"] == {"internal": True}
    others = {name: set(service["networks"]) - {"internal"} for name, service in SERVICES.items()}
    assert {name: rest for name, rest in others.items() if rest} == {"airflow-api-server": {"ui"}}
    assert all("internal" in service["networks"] for service in SERVICES.values())


def interpolated(value: str) -> set[str]:
    """The variables a compose value takes from .env."""
    return set(re.findall(r"\$\{([A-Z_]+):\?run scripts/compose_env\.py\}", value))


# Environment variables that hold a credential, or a URL with one in it.
CREDENTIAL = re.compile(r"PASSWORD|SECRET|_KEY($|_)|TOKEN|MC_HOST|SQL_ALCHEMY_CONN")


def test_every_credential_comes_from_the_generated_env_file_and_every_variable_is_generated():
    credentials = {
        (name, variable): value
        for name, service in SERVICES.items()
        for variable, value in service.get("environment", {}).items()
        if CREDENTIAL.search(variable) and not variable.endswith("_FILE")  # a path to one is not
    }
    assert {key for key, value in credentials.items() if not interpolated(str(value))} == set()
    # Nothing of the value is fixed but the user names and host names around the credentials.
    fixed = {key: re.sub(r"\$\{[^}]+\}", "", str(value)) for key, value in credentials.items()}
    assert {value for value in fixed.values()} == {
        "",
        "postgresql+psycopg2://airflow:@postgres:5432/airflow",
        "http://:@minio:9000",
    }
    # Every variable the file takes is one compose_env.py writes, and the other way round.
    assert set(re.findall(r"\$\{([A-Z_]+)", COMPOSE_TEXT)) == set(generated_values())
    assert all(interpolated(value) for value in re.findall(r"\$\{[^}]+\}", COMPOSE_TEXT))
    # The admin's password reaches the init step alone, which writes it where the api-server reads it.
    holders = [name for name, service in SERVICES.items() if "AIRFLOW_ADMIN_PASSWORD" in service.get("environment", {})]
    assert holders == ["airflow-init"]
    init_script = (ROOT / "deploy/airflow-init.sh").read_text()
    assert 'os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]' in init_script
    assert 'os.environ["AIRFLOW_ADMIN_PASSWORD"]' in init_script
    passwords_file = SERVICES["airflow-api-server"]["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert any(
        passwords_file.startswith(volume.split(":")[1] + "/") for volume in SERVICES["airflow-api-server"]["volumes"]
    )
    assert not (ROOT / "deploy/simple_auth_manager_passwords.json").exists()
    assert "local/" in SERVICES["minio-buckets"]["command"][0] and not interpolated(
        SERVICES["minio-buckets"]["command"][0]
    )


def test_compose_env_writes_fresh_random_values_for_its_owner_alone_and_keeps_an_existing_file(tmp_path, capsys):
    first, second = tmp_path / "first.env", tmp_path / "second.env"
    assert compose_env(["--env-file", str(first)]) == 0
    assert compose_env(["--env-file", str(second)]) == 0

    def values(path: Path) -> dict[str, str]:
        lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
        return dict(line.split("=", 1) for line in lines)

    ones, others = values(first), values(second)
    assert set(ones) == set(generated_values())
    assert all(ones[name] != others[name] for name in ones)
    assert all(re.fullmatch(r"[A-Za-z0-9_=-]{16,}", value) for value in ones.values())
    assert len(base64.urlsafe_b64decode(ones["AIRFLOW_FERNET_KEY"])) == 32
    assert first.stat().st_mode & 0o777 == 0o600
    # No value on the terminal.
    assert not any(value in capsys.readouterr().out for value in ones.values())

    assert compose_env(["--env-file", str(first)]) == 1
    assert values(first) == ones
    assert "docker compose down -v" in capsys.readouterr().err
    assert compose_env(["--env-file", str(first), "--force"]) == 0
    assert values(first) != ones


def test_the_generated_env_file_is_never_committed():
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0


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

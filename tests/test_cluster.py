"""The README's cluster commands, run as written against a real Spark standalone cluster on 127.0.0.1.

A master and a worker (each application's executor a JVM of its own) whose executor runs a
Python without flowlake; spark-submit gets the code only through --py-files.
The tables the cluster writes hold exactly the rows worked out by hand from the
objects (tests/test_dag_run.py compares a cluster run with local mode).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest

from flowlake.spark_session import resolved_jars
from tests.conftest import S3_ACCESS_KEY, S3_SECRET_KEY
from tests.flowlog_objects import ACCOUNT, NOT_IN_THE_DEFAULT_FORMAT, write_object
from tests.frames import ordered, rows
from tests.spark_cluster import PROJECT_ROOT, plain_environment

pytestmark = pytest.mark.slow

BUCKET = "flowlake-cluster"
README_JOB = "flowlake-hourly"


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 1, hour, minute, tzinfo=UTC)


def record(src: str, dstport: int, size: int, start: datetime, action: str = "ACCEPT") -> str:
    begin = int(start.timestamp())
    return f"2 {ACCOUNT} eni-0a {src} 10.0.0.2 49152 {dstport} 6 3 {size} {begin} {begin + 60} {action} OK"


def write_objects(source: Path) -> None:
    """Hour 10's objects: a record of hour 9 among them, a bad line, a NODATA record."""
    write_object(
        source,
        at(10, 5),
        [
            record("10.0.0.1", 443, 1000, at(9, 58)),
            record("10.0.0.1", 443, 2000, at(10, 1)),
            record("198.51.100.7", 22, 40, at(10, 2), action="REJECT"),
        ],
        object_hash="c1000001",
    )
    write_object(
        source,
        at(10, 35),
        [
            record("10.0.0.3", 5432, 500, at(10, 30)).replace(" 500 ", " five "),
            record("10.0.0.3", 5432, 500, at(10, 31)),
        ],
        object_hash="c1000002",
    )


def readme_cluster_block() -> str:
    """The sh block of the README's cluster section, as a user copies it."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("## Running on a cluster") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def with_settings(block: str, master: str, source: str, lake: str) -> str:
    """The block with its settings line (MASTER=... SOURCE=... LAKE=...) set to this cluster and bucket."""
    line = re.search(r"^MASTER=.*$", block, re.M).group(0)
    return block.replace(line, f"MASTER={master} SOURCE={source} LAKE={lake}")


@pytest.fixture(scope="module")
def objects(tmp_path_factory, s3_client) -> tuple[Path, str]:
    """The same objects in a local folder and in the local S3 server."""
    source = tmp_path_factory.mktemp("objects")
    write_objects(source)
    s3_client.create_bucket(Bucket=BUCKET)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        s3_client.put_object(Bucket=BUCKET, Key=f"raw/{path.relative_to(source)}", Body=path.read_bytes())
    return source, f"s3a://{BUCKET}/raw"


@pytest.fixture(scope="module")
def submitted(spark_cluster, objects, s3_endpoint, tmp_path_factory) -> dict:
    """The README's block, run by bash from the repository root; the job's JSON summary."""
    _, source = objects
    lake = f"s3a://{BUCKET}/cluster-lake"
    env = plain_environment(
        FLOWLAKE_S3_ENDPOINT=s3_endpoint,
        AWS_ACCESS_KEY_ID=S3_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY,
        FLOWLAKE_DATA_DOCS=str(tmp_path_factory.mktemp("cluster_data_docs")),
    )
    script = "set -euo pipefail\n" + with_settings(readme_cluster_block(), spark_cluster.master_url, source, lake)
    earlier = spark_cluster.applications()
    result = subprocess.run(
        ["bash", "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-6000:])
    (summary,) = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    # The cluster is the run's: other modules' jobs (tests/test_dag_run.py's, by the same name) run on it too.
    ((application, name),) = spark_cluster.applications().items() - earlier.items()
    assert name == README_JOB, name
    return {"lake": lake, "application": application, **summary}


def test_the_executors_python_cannot_import_flowlake(executor_python):
    python, _ = executor_python
    # Run from elsewhere than the repository, whose folder would be on the path as the current one.
    missing = subprocess.run([str(python), "-c", "import flowlake"], capture_output=True, text=True, cwd=python.parent)
    assert missing.returncode != 0 and "No module named 'flowlake'" in missing.stderr
    present = subprocess.run([str(python), "-c", "import pyspark, pyarrow, pandas, numpy, yaml"], capture_output=True)
    assert present.returncode == 0, present.stderr


def test_the_readme_job_runs_on_the_cluster(submitted):
    ingested = submitted["ingest"]
    assert (
        ingested["objects"],
        ingested["lines_read"],
        ingested["records_written"],
        ingested["lines_quarantined"],
    ) == (
        2,
        5,
        4,
        1,
    )
    assert ingested["hours_touched"] == ["2026-11-01T09:00:00+00:00", "2026-11-01T10:00:00+00:00"]
    # The run's hour and those the records touched, not the lookback's hour 8, to which nothing was added.
    (aggregated,) = submitted["aggregate"]
    assert (aggregated["window_start"], aggregated["window_end"], aggregated["hours"]) == (
        "2026-11-01T09:00:00+00:00",
        "2026-11-01T11:00:00+00:00",
        2,
    )
    # Read from the files' footers on S3, through pyarrow: what the default format has no field for.
    assert aggregated["columns_without_values"] == NOT_IN_THE_DEFAULT_FORMAT
    assert (submitted["validate"]["exit_code"], submitted["validate"]["failed_critical"]) == (0, [])
    assert submitted["validate"]["expectations"] > 0


def test_the_executor_ran_in_its_own_jvm_and_imported_only_the_shipped_zip(submitted, spark_cluster, executor_python):
    application = submitted["application"]
    # The application had one executor on the worker: a JVM of its own, with its own work folder.
    folders = [work / application for work in spark_cluster.work_dirs]
    assert all(any(folder.glob("*/stderr")) for folder in folders), application
    python, log = executor_python
    # Its executor's Python processes' imports: each runs in <worker's work folder>/<application>/<executor>.
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    imports = [seen for seen in logged if Path(seen["cwd"]).parent.name == application]
    assert {Path(seen["executable"]) for seen in imports} == {python}
    # PySpark puts the shipped zip on the path relative to the executor's folder.
    found = [Path(seen["cwd"], seen["origin"]) for seen in imports if seen["origin"]]
    assert found, "no executor imported flowlake"
    for origin in found:
        # <worker's work folder>/<application>/<executor>/flowlake.zip/flowlake/__init__.py
        shipped = origin.parent.parent
        assert shipped.name == "flowlake.zip" and shipped.parent.parent.parent in spark_cluster.work_dirs, origin


def test_the_executor_fetched_each_jar_once_from_the_driver_on_127_0_0_1(submitted, spark_cluster):
    jars = sorted(Path(urlparse(jar).path).name for jar in resolved_jars())
    fetched = spark_cluster.fetched(submitted["application"])
    assert len(fetched) == 1, fetched
    for log, files in fetched.items():
        assert {socket.gethostbyname(address) for address, _, _ in files} == {"127.0.0.1"}, log
        # Not again as Python files, as spark-submit ships a Python application's --packages.
        assert sorted(name for _, kind, name in files if kind == "jars") == jars, log
        assert [name for _, kind, name in files if kind == "files"] == ["flowlake.zip"], log


def test_the_cluster_writes_the_exact_rows_of_the_objects(spark_s3, submitted):
    def table(name):
        return spark_s3.read.format("delta").load(f"{submitted['lake']}/{name}")

    assert rows(
        table("flow_logs"), "event_time", "srcaddr", "dstport", "packets", "bytes", "action", "line_number"
    ) == (
        ordered(
            [
                (at(9, 58), "10.0.0.1", 443, 3, 1000, "ACCEPT", 2),
                (at(10, 1), "10.0.0.1", 443, 3, 2000, "ACCEPT", 3),
                (at(10, 2), "198.51.100.7", 22, 3, 40, "REJECT", 4),
                (at(10, 31), "10.0.0.3", 5432, 3, 500, "ACCEPT", 3),
            ]
        )
    )
    ((name, line_number, raw_line),) = rows(table("flow_logs_quarantine"), "source_file", "line_number", "raw_line")
    assert (name.rsplit("_", 1)[1], line_number, " five " in raw_line) == ("c1000002.log.gz", 2, True)
    assert rows(
        table("source_objects"), "flow_log_id", "lines_read", "records_written", "lines_quarantined", "status"
    ) == [
        ("fl-1234abcd", 2, 1, 1, "partial"),
        ("fl-1234abcd", 3, 3, 0, "ok"),
    ]
    assert rows(table("traffic_hourly"), "hour", "interface_id", "action", "records", "packets", "bytes") == ordered(
        [
            (at(9, 0), "eni-0a", "ACCEPT", 1, 3, 1000),
            (at(10, 0), "eni-0a", "ACCEPT", 2, 6, 2500),
            (at(10, 0), "eni-0a", "REJECT", 1, 3, 40),
        ]
    )
    assert rows(table("rejects_hourly"), "hour", "dstport", "records", "bytes", "distinct_sources") == [
        (at(10, 0), 22, 1, 40, 1)
    ]
    # Every expectation's result of the run, once.
    assert table("dq_results").count() == submitted["validate"]["expectations"]

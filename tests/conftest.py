"""One SparkSession for each process of the run (`make test` runs two, each taking whole modules), in a zone
other than UTC, and a real S3-compatible server on 127.0.0.1.

The S3 server is moto's standalone server (moto[server], from PyPI): a real HTTP
endpoint that speaks the S3 and EC2 APIs, so s3a and boto3 talk to it exactly
as to AWS. MinIO and LocalStack need binaries or Docker that this machine
cannot fetch.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.servers import free_port
from tests.spark_cluster import SITECUSTOMIZE, python_without_flowlake, standalone_cluster

# The whole run, and every process it starts, in a zone that is not UTC, before any
# SparkSession starts: PySpark converts TIMESTAMP values through the Python process's
# zone, so a test or a job that leans on the host being UTC fails here, not only on a
# developer's laptop (CI runs on UTC).
os.environ["TZ"] = "America/New_York"
time.tzset()
# Every Spark JVM of the run, this session's and those of the processes it starts (jobs, Airflow's
# tasks, the cluster's drivers), on 127.0.0.1: else Spark binds the host's own address.
os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
# Two shuffle partitions (and Delta log replays in two tasks) for the run's session and every job it
# starts: the tests' rows fit in one, and eight tasks per shuffle cost each job seconds.
os.environ["FLOWLAKE_SHUFFLE_PARTITIONS"] = "2"
# Every other JVM the run starts (jobs, Airflow's tasks, the cluster's master, workers, drivers and
# executors, spark-submit's launcher) lives for a minute at most on a few rows: compiled by C1 alone it
# spends a quarter less CPU (an hourly job: 78-94 s of user time against 93-129 s): C2's compiling,
# which its few rows never repay. C1 alone also shrinks the code cache from 240 MB to 48 MB, which an
# hourly job outgrew ("Out of space in CodeCache for adapters" killed its executor): the cache keeps
# its usual size.
# The session's own JVM, which serves the whole run, keeps both compilers (see spark()).
# Every JVM of the run, the session's too, collects garbage with the serial collector: the tests' heaps
# hold a few MB that live, and G1's concurrent threads and write barriers cost more than its pauses
# save. An hourly job of the sample hour, alternating: 46-62 s of user time against 50-65 s.
os.environ["JAVA_TOOL_OPTIONS"] = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m -XX:+UseSerialGC"
# Spark's defaults for every Spark JVM of the run, the session's too: no generated code (see the file).
os.environ["SPARK_CONF_DIR"] = str(Path(__file__).resolve().parent / "spark_conf")

SPARK_FIXTURES = {"spark", "spark_s3"}
S3_ACCESS_KEY = "flowlake-test"
S3_SECRET_KEY = "flowlake-test-secret"


@pytest.fixture(scope="session")
def spark():
    from flowlake.spark_session import get_spark

    session = get_spark(
        "flowlake-tests",
        extra_conf={
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            # One driver serves every test: its 1 GiB default ran out late in a full run (the JVM
            # died under the last tests), and Delta keeps up to 10,000 tables' logs cached in it.
            "spark.driver.memory": "3g",
            "spark.databricks.delta.delta.log.cacheSize": "64",
            # C2 too, overriding JAVA_TOOL_OPTIONS (compiled by C1 alone this JVM's tests ran slower), but
            # only for what runs ten times as often as by default: with the defaults its compiler threads
            # took 71 of its 174 CPU-seconds over tests/test_aggregates.py. tests/test_ingest.py, alternating:
            # 142 s of user time against 158 s, wall 95 s against 100 s.
            "spark.driver.extraJavaOptions": " ".join(
                (
                    "-XX:TieredStopAtLevel=4",
                    "-XX:Tier4InvocationThreshold=50000",
                    "-XX:Tier4MinInvocationThreshold=20000",
                    "-XX:Tier4CompileThreshold=60000",
                    "-XX:Tier4BackEdgeThreshold=400000",
                )
            ),
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def s3_endpoint():
    """URL of a moto server on 127.0.0.1 (S3 and EC2 APIs), for the whole run."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    )


@pytest.fixture(scope="session")
def spark_s3(spark, s3_endpoint):
    """The session, with s3a pointed at the local server (set before any s3a use)."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in {
        "fs.s3a.endpoint": s3_endpoint,
        "fs.s3a.endpoint.region": "us-east-1",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.access.key": S3_ACCESS_KEY,
        "fs.s3a.secret.key": S3_SECRET_KEY,
        "fs.s3a.change.detection.mode": "none",
    }.items():
        conf.set(key, value)
    return spark


@pytest.fixture(scope="session")
def executor_python(tmp_path_factory) -> tuple[Path, Path]:
    """The Python of the cluster's executors (no flowlake), and the log of where each of its processes
    imported flowlake from."""
    folder = tmp_path_factory.mktemp("executor_python")
    python = python_without_flowlake(folder / "venv")
    log = folder / "flowlake-imports.jsonl"
    site_packages = next((folder / "venv" / "lib").glob("python3*/site-packages"))
    (site_packages / "sitecustomize.py").write_text(SITECUSTOMIZE.format(log=str(log)))
    return python, log


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory, executor_python):
    """A Spark standalone master and a worker of two cores on 127.0.0.1, shared by every test that submits to one."""
    with standalone_cluster(tmp_path_factory.mktemp("cluster"), executor_python[0]) as running:
        yield running


def pytest_collection_modifyitems(items):
    """Modules with end-to-end (slow) cases first (in the order of their files' names), then the others by how
    many of their tests use Spark, most first; each module's tests kept together and in order. `make test`'s two
    workers take whole modules in this order, and a worker takes its next module while its last tests still run:
    with the longest first, what is left at the end is short, instead of one worker alone with a long module while
    the other has finished (the order of the files' names left a module of 83 s and another of 202 s last: 88 s of
    one worker idle)."""
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    spark_tests = Counter(item.path for item in items if SPARK_FIXTURES & set(item.fixturenames))
    items.sort(key=lambda item: (0, 0) if item.path in slow_modules else (1, -spark_tests[item.path]))

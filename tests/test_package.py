"""The package's shape: one importable library, thin entry points, contracts that travel with the code."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

from flowlake import cli, dist, spark_session
from flowlake.contracts import contract_files
from scripts.cache_source_wheels import SOURCE_ONLY, cache_wheels, pinned_versions
from scripts.compile_worker_zips import compile_zip, installed_worker_zips
from tests.jar_files import SPARK_CLASS, jar_holding
from tests.spark_cluster import PROJECT_ROOT, python_without_flowlake

JOBS = PROJECT_ROOT / "jobs"
LIBRARY = PROJECT_ROOT / "flowlake"
# The subcommands that start Spark, each of which spark-submit must be able to run.
SPARK_JOBS = {
    "ingest",
    "aggregate",
    "run",
    "hourly",
    "validate",
    "compact",
    "nat-inventory",
    "capacity",
    "retention",
    "erase",
    "remove-objects",
    "sweep",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_library_never_imports_the_entry_points():
    for path in LIBRARY.rglob("*.py"):
        assert not any(name.split(".")[0] == "jobs" for name in imported_modules(path)), path


def test_every_spark_job_has_a_thin_entry_point_that_runs_its_subcommand():
    entry_points = {path.stem for path in JOBS.glob("*.py")}
    assert entry_points == {command.replace("-", "_") for command in SPARK_JOBS}
    for name in entry_points:
        path = JOBS / f"{name}.py"
        code = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith(('"""', "#"))]
        assert len(code) <= 6, f"{path} is not a thin entry point"
        assert imported_modules(path) <= {"sys", "flowlake.cli"}, path
        assert f'run("{name.replace("_", "-")}", sys.argv[1:])' in path.read_text(), path


def test_every_package_the_library_and_dags_import_comes_with_an_install_without_dev():
    """pip install flowlake[dq,airflow] (what an image or a cluster gets): dev's packages are not there."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def name(requirement: Requirement) -> str:
        return requirement.name.lower().replace("_", "-")

    pending = [Requirement(r) for r in [*project["dependencies"], *extras["dq"], *extras["airflow"]]]
    installed = set()
    while pending:
        wanted = pending.pop()
        if (name(wanted), frozenset(wanted.extras)) in installed:
            continue
        installed.add((name(wanted), frozenset(wanted.extras)))
        for text in importlib.metadata.requires(wanted.name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *wanted.extras)):
                pending.append(requirement)
    installed = {distribution for distribution, _ in installed}
    provided_by = importlib.metadata.packages_distributions()
    for path in [*LIBRARY.rglob("*.py"), *(PROJECT_ROOT / "dags").rglob("*.py")]:
        for module in {m.split(".")[0] for m in imported_modules(path)} - set(sys.stdlib_module_names):
            if module in ("flowlake", "flowlake_airflow", "tests"):
                continue
            distributions = {d.lower().replace("_", "-") for d in provided_by.get(module, [])}
            assert distributions & installed, f"{path} imports {module}, which no dependency but dev's installs"


def test_no_module_spark_submit_or_airflow_puts_on_the_path_hides_a_dependency():
    """spark-submit puts jobs/ first on sys.path, Airflow dags/: a jobs/delta.py would hide delta-spark."""
    installed = set(importlib.metadata.packages_distributions()) | set(sys.stdlib_module_names)
    for folder in (JOBS, PROJECT_ROOT / "dags"):
        for path in folder.iterdir():
            name = path.stem if path.suffix == ".py" else path.name
            if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()):
                assert name not in installed, f"{path} hides the installed module {name}"


@pytest.mark.parametrize("package", ["great_expectations", "airflow", "pyarrow"])
def test_set_up_compiles_the_installed_packages_bytecode(package):
    """Every module, imported yet or not, has its bytecode from the set-up: where PYTHONDONTWRITEBYTECODE is
    set, a process would otherwise compile again each module it imports (Great Expectations' import 6.5 s, not 3)."""
    root = Path(importlib.util.find_spec(package).origin).parent
    sources = list(root.rglob("*.py"))
    uncompiled = [path for path in sources if not Path(importlib.util.cache_from_source(str(path))).exists()]
    assert len(sources) > 50 and uncompiled == [], f"{len(uncompiled)} of {len(sources)} modules uncompiled"


def test_spark_s_python_workers_import_pyspark_and_py4j_from_bytecode_the_set_up_compiled():
    """Spark puts pyspark.zip and py4j's zip first on its workers' path: each worker daemon imports from them."""
    archives = installed_worker_zips()
    assert [path.name.split("-")[0] for path in archives] == ["py4j", "pyspark.zip"]
    probe = "import pyspark.daemon, pyspark.worker, py4j.java_gateway as g; print(pyspark.worker.__file__, g.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(str(path) for path in reversed(archives))},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [f"{archives[1]}/pyspark/worker.pyc", f"{archives[0]}/py4j/java_gateway.pyc"]


def test_set_up_installs_the_source_only_packages_from_wheels_built_once_not_from_builds_of_its_own():
    """uv marks a package it built from a source distribution (uv_build.json), and one installed from a wheel
    (uv_cache.json): every fresh set-up built PySpark again, 7.6 s and half a gigabyte of uv's cache each time."""
    pins = pinned_versions(PROJECT_ROOT / "constraints.txt", SOURCE_ONLY)
    for name in SOURCE_ONLY:
        installed = importlib.metadata.distribution(name)
        assert installed.version == pins[name]
        marks = sorted(file.name for file in installed.files if file.name.startswith("uv_"))
        assert marks == ["uv_cache.json"], f"{name}: {marks}"


def fake_build(calls: list[list[str]]):
    """A runner for cache_wheels that records each command and does what pip download and uv build would: a source
    distribution in pip's --dest, the wheel in uv's --out-dir."""

    def run(command: list[str]) -> None:
        calls.append(command)
        if "download" in command:
            name, version = command[-1].split("==")
            dest = Path(command[command.index("--dest") + 1])
            dest.mkdir(parents=True)
            (dest / f"{name.replace('-', '_')}-{version}.tar.gz").write_bytes(b"source")
        else:
            out, source = Path(command[command.index("--out-dir") + 1]), Path(command[-1])
            out.mkdir(parents=True)
            wheel = source.name.removesuffix(".tar.gz") + "-py2.py3-none-any.whl"
            (out / wheel).write_bytes(b"wheel of " + source.name.encode())

    return run


def test_the_wheels_of_the_pinned_versions_are_built_once_into_the_cache_and_a_new_pin_builds_its_own(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("py4j==0.10.9.9\npyspark==4.2.0\npyspark-client==4.2.0  # the Connect client\n")
    cache, calls = tmp_path / "wheels", []

    built = cache_wheels(cache, constraints, "uv", fake_build(calls))
    assert sorted(path.name for path in built) == [
        "pyspark-4.2.0-py2.py3-none-any.whl",
        "pyspark_client-4.2.0-py2.py3-none-any.whl",
    ]
    assert sorted(path.name for path in cache.iterdir()) == sorted(path.name for path in built)
    assert (cache / "pyspark-4.2.0-py2.py3-none-any.whl").read_bytes() == b"wheel of pyspark-4.2.0.tar.gz"
    downloads = [command[-1] for command in calls if "download" in command]
    assert downloads == ["pyspark==4.2.0", "pyspark-client==4.2.0"]
    (pyspark_build,) = [command for command in calls if command[-1].endswith("/pyspark-4.2.0.tar.gz")]
    assert "--config-setting=--build-option=--compression=stored" in pyspark_build

    calls.clear()
    assert cache_wheels(cache, constraints, "uv", fake_build(calls)) == []
    assert calls == []

    constraints.write_text("pyspark==4.2.1\npyspark-client==4.2.0\n")
    assert [path.name for path in cache_wheels(cache, constraints, "uv", fake_build(calls))] == [
        "pyspark-4.2.1-py2.py3-none-any.whl"
    ]
    assert len(list(cache.iterdir())) == 3


def test_a_failed_build_leaves_nothing_in_the_cache(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("pyspark==4.2.0\npyspark-client==4.2.0\n")

    def unreachable_index(command: list[str]) -> None:
        raise subprocess.CalledProcessError(1, command)

    with pytest.raises(
        SystemExit, match=r"no wheel of pyspark 4\.2\.0: `.* -m pip download .* pyspark==4\.2\.0` exited 1"
    ):
        cache_wheels(tmp_path / "wheels", constraints, "uv", unreachable_index)
    assert list((tmp_path / "wheels").iterdir()) == []


def test_a_source_only_package_without_a_pin_is_named(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("pyspark==4.2.0\npyspark-client>=4.2.0\n")
    with pytest.raises(SystemExit, match=f"pyspark-client not pinned in {constraints}"):
        pinned_versions(constraints, SOURCE_ONLY)


def test_compiling_a_zip_adds_bytecode_that_python_imports_and_a_second_time_changes_nothing(tmp_path):
    archive = tmp_path / "lib.zip"
    with zipfile.ZipFile(archive, "w") as new:
        new.writestr("pkg/__init__.py", "")
        new.writestr("pkg/answer.py", "VALUE = 6 * 7\n")
        new.writestr("pkg/data.txt", "kept")
    cached_copy = tmp_path / "cache.zip"
    os.link(archive, cached_copy)
    original = archive.read_bytes()

    assert compile_zip(archive) == 2
    with zipfile.ZipFile(archive) as compiled:
        assert sorted(compiled.namelist()) == [
            "pkg/__init__.py",
            "pkg/__init__.pyc",
            "pkg/answer.py",
            "pkg/answer.pyc",
            "pkg/data.txt",
        ]
        assert compiled.read("pkg/data.txt") == b"kept"
    assert cached_copy.read_bytes() == original, "the zip was written in place, through uv's link to its cache"
    probe = "import pkg.answer; print(pkg.answer.__file__, pkg.answer.VALUE)"
    result = subprocess.run(
        [sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(archive)}, capture_output=True, text=True
    )
    assert result.stdout.split() == [f"{archive}/pkg/answer.pyc", "42"], result.stderr

    written = archive.read_bytes()
    assert compile_zip(archive) == 0
    assert archive.read_bytes() == written


def test_flowlake_packages_prints_the_coordinates_for_spark_submit():
    printed = subprocess.run(
        [str(Path(sys.executable).parent / "flowlake"), "packages"], capture_output=True, text=True, check=True
    )
    coordinates = printed.stdout.strip().split(",")
    assert [c.split(":")[:2] for c in coordinates] == [
        ["io.delta", "delta-spark_4.2_2.13"],
        ["org.apache.hadoop", "hadoop-aws"],
    ]
    assert coordinates[0].endswith(":" + importlib.metadata.version("delta-spark"))


def test_flowlake_jars_prints_the_jars_resolved_here_for_spark_submit_or_says_how_to_get_them(tmp_path):
    flowlake = str(Path(sys.executable).parent / "flowlake")
    env = {**os.environ, "FLOWLAKE_IVY_CACHE": str(tmp_path)}
    unlisted = subprocess.run([flowlake, "jars"], capture_output=True, text=True, env=env)
    assert (unlisted.returncode, unlisted.stdout) == (1, "")
    assert "make jars" in unlisted.stderr and "--packages" in unlisted.stderr, unlisted.stderr
    (tmp_path / "jars").mkdir()
    jars = [tmp_path / "jars" / "io.delta_delta-spark.jar", tmp_path / "jars" / "hadoop-aws.jar"]
    for jar in jars:
        jar.write_bytes(b"PK")
    (tmp_path / spark_session.jar_list_file().name).write_text("\n".join(jar.as_uri() for jar in jars) + "\n")
    listed = subprocess.run([flowlake, "jars"], capture_output=True, text=True, env=env, check=True)
    assert listed.stdout == f"{jars[0].as_uri()},{jars[1].as_uri()}\n"


def test_a_session_starts_with_the_jars_ivy_resolved_before_until_one_of_them_is_gone(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLAKE_IVY_CACHE", str(tmp_path))
    monkeypatch.delenv("FLOWLAKE_DRIVER_MEMORY", raising=False)
    resolve = {"spark.jars.packages": ",".join(dist.PACKAGES), "spark.jars.ivy": str(tmp_path)}
    assert spark_session.launch_conf("local[*]") == resolve
    sharing = jar_holding(
        tmp_path / "jars" / "commons-logging.jar", "org/apache/commons/logging/Log.class", SPARK_CLASS
    )
    apart = jar_holding(tmp_path / "jars" / "io.delta_delta-spark.jar", "io/delta/tables/DeltaTable.class")
    spark_session.record_resolved_jars(f"{sharing.as_uri()},{apart.as_uri()}")
    # Executors of their own fetch every jar; in local mode only those holding a class of Spark's are
    # copied for the driver's own executor, the others are on its class path.
    for master in ("spark://127.0.0.1:7077", "local-cluster[2,1,1024]"):
        assert spark_session.launch_conf(master) == {
            "spark.jars": f"{sharing.as_uri()},{apart.as_uri()}",
            "spark.jars.ivy": str(tmp_path),
        }
    assert spark_session.launch_conf("local[*]") == {
        "spark.jars": sharing.as_uri(),
        "spark.driver.extraClassPath": str(apart),
        "spark.jars.ivy": str(tmp_path),
    }
    sharing.unlink()
    assert spark_session.launch_conf("local[*]") == resolve


def test_the_jars_apart_from_spark_s_are_listed_once_for_later_sessions(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLAKE_IVY_CACHE", str(tmp_path))
    unreadable = tmp_path / "jars" / "not-a-zip.jar"
    apart = jar_holding(tmp_path / "jars" / "hadoop-aws.jar", "org/apache/hadoop/fs/s3a/S3AFileSystem.class")
    unreadable.write_bytes(b"PK")
    jars = [unreadable.as_uri(), apart.as_uri()]
    assert spark_session.local_class_path(jars) == [apart.as_uri()]
    listed = spark_session.class_path_file(jars)
    assert listed.read_text() == f"{apart.as_uri()}\n"
    # Read from the list, not the jars, from then on.
    apart.write_bytes(b"PK")
    assert spark_session.local_class_path(jars) == [apart.as_uri()]


def test_an_ivy_home_that_cannot_be_written_to_leaves_the_jars_unlisted(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "ivy"
    not_a_folder.write_text("a file where the Ivy home would be")
    monkeypatch.setenv("FLOWLAKE_IVY_CACHE", str(not_a_folder))
    spark_session.record_resolved_jars((tmp_path / "delta-spark.jar").as_uri())
    assert spark_session.resolved_jars() is None


def test_the_running_session_s_jars_are_listed_for_the_next_session(spark):
    conf = spark.sparkContext.getConf()
    shipped = conf.get("spark.jars").split(",")
    on_class_path = [Path(path).as_uri() for path in conf.get("spark.driver.extraClassPath").split(os.pathsep)]
    assert sorted(spark_session.resolved_jars()) == sorted(shipped + on_class_path)
    # Ivy names a jar group_artifact-version.jar.
    for group, artifact, version in (package.split(":") for package in dist.PACKAGES):
        assert any(jar.endswith(f"/{group}_{artifact}-{version}.jar") for jar in on_class_path), (
            artifact,
            on_class_path,
        )


def test_a_local_session_copies_only_the_jars_that_share_a_class_with_spark(spark):
    from pyspark import SparkFiles

    spark.range(1).count()  # the driver's executor copies its jars before its first task
    jars = spark_session.resolved_jars()
    copied = {path.name for path in Path(SparkFiles.getRootDirectory()).glob("*.jar")}
    names = {jar: Path(urlparse(jar).path).name for jar in jars}
    apart = spark_session.jars_apart_from_spark(jars)
    assert copied == {names[jar] for jar in jars if jar not in apart}
    assert any(name.startswith("software.amazon.awssdk_bundle-") for jar, name in names.items() if jar in apart)


def test_the_tests_session_listens_on_127_0_0_1_only(spark):
    assert socket.gethostbyname(spark.sparkContext.getConf().get("spark.driver.host")) == "127.0.0.1"


def test_a_task_aggregates_at_most_8_mb_of_rows_shuffled(spark):
    """With Spark's 64 MB, the benchmark's 5M records of random traffic were aggregated by address in 7
    tasks whose hash maps spilled gigabytes to disk in a 2 GiB heap (bench/README.md)."""
    assert int(spark.conf.get("spark.sql.adaptive.advisoryPartitionSizeInBytes")) == 8 * 1024 * 1024
    assert spark.conf.get("spark.sql.adaptive.enabled") == "true"


def test_a_kept_aggregation_of_a_few_rows_is_read_in_one_task_whatever_the_shuffle_partitions(spark):
    """aggregate keeps the tables others are computed from (port_traffic_hourly for security_findings): kept in
    as many parts as the shuffle had, each later read of an hour's few rows ran 32 tasks, and an hourly
    aggregate took 5 s longer (bench/README.md)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    with spark_session.session_settings(spark, {"spark.sql.shuffle.partitions": "32"}):
        kept = (
            spark.range(100)
            .groupBy((F.col("id") % 7).alias("key"))
            .agg(F.count(F.lit(1)).alias("rows"))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        try:
            assert sorted(kept.collect()) == [(key, 15 if key < 2 else 14) for key in range(7)]
            assert kept.rdd.getNumPartitions() == 1
        finally:
            kept.unpersist()


@pytest.mark.parametrize(
    ("configured", "master", "parallelism", "shuffle", "snapshot"),
    [
        (None, "spark://127.0.0.1:7077", 2, "32", "8"),
        ("2", "spark://127.0.0.1:7077", 16, "2", "2"),
        ("64", "yarn", 64, "64", "8"),
        (None, "local[*]", 2, "32", "2"),
        (None, "local[16]", 16, "32", "8"),
        ("1", "local[4]", 4, "1", "1"),
    ],
)
def test_delta_rebuilds_a_table_s_state_in_8_tasks_at_most_and_no_more_than_local_cores(
    monkeypatch, configured, master, parallelism, shuffle, snapshot
):
    if configured is None:
        monkeypatch.delenv("FLOWLAKE_SHUFFLE_PARTITIONS", raising=False)
    else:
        monkeypatch.setenv("FLOWLAKE_SHUFFLE_PARTITIONS", configured)
    assert spark_session.runtime_conf()["spark.sql.shuffle.partitions"] == shuffle
    assert spark_session.snapshot_partitions(master, parallelism) == snapshot


def test_a_session_tells_delta_its_snapshot_partitions(spark):
    # The run's session: local, two cores by spark.default.parallelism, FLOWLAKE_SHUFFLE_PARTITIONS=2.
    assert spark.conf.get("spark.databricks.delta.snapshotPartitions") == "2"


def test_a_session_keeps_the_compiled_code_of_a_thousand_queries(spark):
    # Spark's 100 made an aggregate of every hourly table compile some of its ~350 code bodies twice.
    assert spark.conf.get("spark.sql.codegen.cache.maxEntries") == "1000"


def java_options_of(monkeypatch, environment: dict[str, str]) -> None:
    """The JVM options of the environment are these alone."""
    for name in ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


PARALLEL, METASPACE, LATER = "-XX:+UseParallelGC", "-XX:MetaspaceSize=256m", "-XX:CompileThresholdScaling=5"


@pytest.mark.parametrize(
    ("master", "cores", "environment", "conf", "options"),
    [
        ("local[*]", 2, {}, {}, f"{PARALLEL} {METASPACE} {LATER}"),
        ("local[2]", 1, {}, {}, f"{PARALLEL} {METASPACE} {LATER}"),
        # A site's own default options are kept after these.
        ("local", 2, {}, {"spark.driver.defaultJavaOptions": "-Dsite=x"}, f"{PARALLEL} {METASPACE} {LATER} -Dsite=x"),
        ("local[*]", 4, {}, {}, None),
        ("local-cluster[2,1,1024]", 2, {}, {}, None),
        ("spark://127.0.0.1:7077", 2, {}, {}, None),
        # A collector chosen anywhere else is the one: given two, the JVM refuses to start.
        ("local[*]", 2, {"JAVA_TOOL_OPTIONS": "-Xss4m -XX:+UseG1GC"}, {}, f"{METASPACE} {LATER}"),
        ("local[*]", 2, {"JDK_JAVA_OPTIONS": "-XX:+UseSerialGC"}, {}, f"{METASPACE} {LATER}"),
        ("local[*]", 2, {}, {"spark.driver.extraJavaOptions": "-XX:+UseZGC -Xss4m"}, f"{METASPACE} {LATER}"),
        (
            "local[*]",
            2,
            {},
            {"spark.driver.defaultJavaOptions": "-XX:+UseShenandoahGC"},
            f"{METASPACE} {LATER} -XX:+UseShenandoahGC",
        ),
        # So are compilation thresholds and a metadata threshold set anywhere else.
        ("local[*]", 2, {"JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1"}, {}, f"{PARALLEL} {METASPACE}"),
        (
            "local[*]",
            2,
            {},
            {"spark.driver.extraJavaOptions": "-XX:Tier4InvocationThreshold=50000"},
            f"{PARALLEL} {METASPACE}",
        ),
        ("local[*]", 2, {"JDK_JAVA_OPTIONS": "-XX:MetaspaceSize=64m"}, {}, f"{PARALLEL} {LATER}"),
        (
            "local[*]",
            2,
            {"JAVA_TOOL_OPTIONS": "-XX:+UseSerialGC -XX:CompileThresholdScaling=2 -XX:MetaspaceSize=64m"},
            {},
            None,
        ),
        # Options of other kinds change nothing.
        ("local[*]", 2, {"JAVA_TOOL_OPTIONS": "-XX:+UseCompressedOops -Xss4m"}, {}, f"{PARALLEL} {METASPACE} {LATER}"),
    ],
)
def test_a_jvm_running_its_own_tasks_on_two_cores_collects_in_parallel_and_compiles_later(
    monkeypatch, master, cores, environment, conf, options
):
    java_options_of(monkeypatch, environment)
    expected = {"spark.driver.defaultJavaOptions": options} if options else {}
    assert spark_session.local_java_conf(master, cores, conf) == expected


LOG_OPTION = f"-Dlog4j2.configurationFile={spark_session.LOG_CONFIGURATION.as_uri()}"


@pytest.mark.parametrize(
    ("environment", "conf", "log4j2_file", "options"),
    [
        ({}, {}, None, LOG_OPTION),
        # A site's own default options are kept after it.
        ({}, {"spark.driver.defaultJavaOptions": "-Dsite=x"}, None, f"{LOG_OPTION} -Dsite=x"),
        # A log configuration of the site's own is the one: named in an option, or in Spark's configuration folder.
        ({"JAVA_TOOL_OPTIONS": "-Dlog4j2.configurationFile=/etc/site.xml"}, {}, None, None),
        ({}, {"spark.driver.extraJavaOptions": "-Dlog4j.configurationFile=site.properties"}, None, None),
        ({}, {}, "log4j2.properties", None),
        ({}, {}, "log4j2.xml", None),
        ({}, {}, "log4j2-test.yaml", None),
        # A template (a Spark distribution ships one there) or another file is none.
        ({}, {}, "log4j2.properties.template", LOG_OPTION),
        ({}, {}, "spark-defaults.conf", LOG_OPTION),
    ],
)
def test_a_driver_flowlake_starts_logs_by_flowlake_s_configuration_unless_the_site_has_its_own(
    monkeypatch, tmp_path, environment, conf, log4j2_file, options
):
    java_options_of(monkeypatch, environment)
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    if log4j2_file:
        (tmp_path / log4j2_file).write_text("")
    expected = {"spark.driver.defaultJavaOptions": options} if options else {}
    assert spark_session.log_configuration_conf(conf) == expected


@pytest.mark.slow
def test_a_local_session_s_jvm_runs_with_the_options_its_cores_call_for(tmp_path):
    """The options reach the JVM PySpark starts: on 2 cores or fewer its collectors are the parallel one's
    (PS Scavenge and PS MarkSweep), its first collection for class metadata waits for 256 MB and it compiles
    later; G1 and the JVM's own choices otherwise. It logs by flowlake's log configuration."""
    environment = {k: v for k, v in os.environ.items() if k not in ("JAVA_TOOL_OPTIONS", "SPARK_CONF_DIR")}
    script = (
        "from flowlake.spark_session import get_spark\n"
        "spark = get_spark('local-options', {'spark.ui.enabled': 'false'})\n"
        "management = spark._jvm.java.lang.management.ManagementFactory\n"
        "print(sorted(bean.getName() for bean in management.getGarbageCollectorMXBeans()))\n"
        "diagnostics = management.getPlatformMXBean(spark._jvm.com.sun.management.HotSpotDiagnosticMXBean._java_lang_class)\n"
        "for option in ('MetaspaceSize', 'CompileThresholdScaling'):\n"
        "    print(diagnostics.getVMOption(option).getValue())\n"
        "spark.stop()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Started quietly: of Spark's default profile's start-up lines, only the JVM's own notice is left.
    assert done.stderr.splitlines() == ["WARNING: Using incubator modules: jdk.incubator.vector"]
    lines = done.stdout.strip().splitlines()[-3:]
    if (os.cpu_count() or 1) <= 2:
        assert lines == [str(["PS MarkSweep", "PS Scavenge"]), str(256 * 1024**2), "5.0"]
    else:
        assert lines[0] == str(["G1 Old Generation", "G1 Young Generation"])
        assert lines[1] != str(256 * 1024**2) and lines[2] == "1.0"


def test_a_job_drops_the_jars_spark_submit_put_on_its_python_path(monkeypatch):
    """spark-submit --packages puts each jar on the driver's sys.path (PYTHONPATH); the job takes them off."""
    jars = [
        "/root/.ivy2.5.2/jars/io.delta_delta-spark_4.2_2.13-4.4.0.jar",
        "/root/.ivy2.5.2/jars/software.amazon.awssdk_bundle-2.35.4.jar",
    ]
    spark_python = [str(PROJECT_ROOT / "jobs"), *jars, *sys.path]
    monkeypatch.setattr(sys, "path", list(spark_python))
    assert cli.run("packages", []) == 0
    # A SparkSession this process started already may have put the jars on the path too: every jar goes.
    assert sys.path == [entry for entry in spark_python if not entry.endswith(".jar")]


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    return dist.build_zip(tmp_path_factory.mktemp("dist") / "flowlake.zip")


def test_the_zip_holds_the_code_and_every_contract_and_nothing_else(built_zip):
    names = set(zipfile.ZipFile(built_zip).namelist())
    sources = {path.relative_to(PROJECT_ROOT).as_posix() for path in dist.package_files(LIBRARY)}
    assert names == sources
    for folder, suffix in (("schemas", ".yaml"), ("expectations", ".json"), ("queries", ".sql")):
        assert any(name.startswith(f"flowlake/{folder}/") and name.endswith(suffix) for name in names), folder
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_the_same_sources_give_the_same_zip(built_zip, tmp_path):
    assert dist.build_zip(tmp_path / "again.zip").read_bytes() == built_zip.read_bytes()


def test_a_python_without_flowlake_reads_every_contract_from_the_zip(built_zip, tmp_path):
    """What an executor does: import flowlake from the shipped zip, and read its contracts from there."""
    python = python_without_flowlake(tmp_path / "venv")
    probe = (
        "import flowlake, json\n"
        "from flowlake.contracts import table_schema, field_catalogue, contract_files\n"
        "from flowlake.dq import suite_names, suite_file\n"
        "from flowlake.sql import named_queries\n"
        "print(json.dumps({'from': flowlake.__file__, 'fields': len(field_catalogue()),\n"
        "  'flow_logs': len(table_schema('flow_logs').columns),\n"
        "  'suites': {n: len(suite_file(n)['expectations']) for n in suite_names()},\n"
        "  'queries': sorted(named_queries())}))\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe], env={"PYTHONPATH": str(built_zip)}, capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    from flowlake.contracts import field_catalogue, table_schema
    from flowlake.dq import suite_file, suite_names

    seen = json.loads(result.stdout)
    assert seen["from"] == f"{built_zip}/flowlake/__init__.py"
    assert seen["fields"] == len(field_catalogue())
    assert seen["flow_logs"] == len(table_schema("flow_logs").columns)
    assert seen["suites"] == {n: len(suite_file(n)["expectations"]) for n in suite_names()}
    assert seen["queries"] == sorted(contract_files("queries", ".sql"))


def test_a_driver_importing_flowlake_from_the_zip_finds_the_data_docs_assets_of_the_folder_it_runs_in(tmp_path):
    """The README's cluster block: spark-submit --py-files dist/flowlake.zip from the repository root, whose driver
    imports flowlake from the zip (spark-submit puts it first on the driver's path) and validates."""
    project = tmp_path / "project"
    shipped = dist.build_zip(project / "dist" / "flowlake.zip")
    probe = "import flowlake, flowlake.dq\nprint(flowlake.__file__)\nprint(flowlake.dq.data_docs_assets())"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(shipped)},
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{shipped}/flowlake/__init__.py",
        str(project.resolve() / ".cache" / "data_docs_assets"),
    ]


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: flowlake {command}")


@pytest.mark.parametrize(
    ("argv", "error"), [(["ingset", "--lake", "l"], "unknown command 'ingset'"), ([], "a command is required")]
)
def test_a_missing_or_unknown_subcommand_is_a_usage_error_saying_so(argv, error, capsys):
    assert cli.main(argv) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == f"usage: flowlake {{{', '.join(cli.COMMANDS)}}} [options]\nflowlake: error: {error}\n"

"""The one way every job and test gets its SparkSession.

Two ways to start:
- spark-submit (any master: standalone, YARN, Kubernetes, EMR): spark-submit has
  started the JVM with its --master, --packages and --py-files; the session only
  adds the settings every flowlake application needs.
- anything else (the `flowlake` command, tests, `make demo`): the session starts
  its own JVM, in local mode unless FLOWLAKE_SPARK_MASTER names a cluster, and
  resolves the jars of flowlake.dist.PACKAGES through Ivy (cached in Spark's Ivy
  home, or FLOWLAKE_IVY_CACHE) once: later sessions start with the jars it
  resolved. On a cluster master it ships the package to the executors itself.

Credentials never go into Spark's configuration at start, which PySpark passes
on the JVM's command line for anyone running `ps` to read: s3a's settings are
put into the running session's Hadoop configuration (see configure_s3a).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pyspark
from pyspark import SparkConf
from pyspark.java_gateway import launch_gateway
from pyspark.sql import SparkSession

from flowlake.contracts import table_names, table_schema
from flowlake.dist import PACKAGES, build_zip, written_whole
from flowlake.rules import register_sql_functions

log = logging.getLogger(__name__)


def delta_encoded_columns() -> list[str]:
    """The columns the contracts say rise by small steps, in any table."""
    return sorted({column for table in table_names() for column in table_schema(table).delta_encoded})


def shuffle_partitions() -> str:
    return os.environ.get("FLOWLAKE_SHUFFLE_PARTITIONS", "32")


SNAPSHOT_PARTITIONS = "spark.databricks.delta.snapshotPartitions"


def snapshot_partitions(master: str, default_parallelism: int) -> str:
    """Delta rebuilds a table's state from its log in this many tasks (50 by default): flowlake's logs are
    small, and 50 tasks per table read cost seconds each. In local mode, no more tasks than the cores run
    at once: on 2 cores, the 11 tables a validation reads took 11-12 s to rebuild in 8 tasks each, about
    7 s in 2."""
    partitions = min(int(shuffle_partitions()), 8)
    if is_local(master):
        partitions = min(partitions, default_parallelism)
    return str(partitions)


@contextmanager
def session_settings(spark: SparkSession, settings: dict[str, str]) -> Iterator[None]:
    """The session's SQL settings changed for the block, and put back as they were after it."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


VERIFY_COMMITS_OUTSIDE_UTC = "spark.databricks.delta.allFilesInCrc.verificationMode.forceOnNonUTC.enabled"
CODEGEN_CACHE_ENTRIES = "spark.sql.codegen.cache.maxEntries"


def runtime_conf() -> dict[str, str]:
    """Settings every flowlake application needs, however it was started."""
    return {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        # Flow-log times are UTC; a session in another zone would shift hours.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Ingest hands whole objects (up to 75 MB gzip each) to Python in Arrow batches of
        # up to 64 objects or 32 MB: objects of one batch are parsed together, and a
        # worker's memory stays bounded.
        "spark.sql.execution.arrow.maxRecordsPerBatch": "64",
        "spark.sql.execution.arrow.maxBytesPerBatch": str(32 * 1024 * 1024),
        # Spark checks the listed objects in a job of one task per object by
        # default (1,152 tasks for a day of 4 flow logs): a few tasks suffice.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": "16",
        # Each gzip object is one task; small objects are packed together.
        "spark.sql.files.openCostInBytes": str(1024 * 1024),
        # A task aggregates its part of a shuffle in memory: parts of at most 8 MB of shuffled rows
        # (adaptive execution joins smaller ones up to that, so a small shuffle is still one task). With
        # Spark's 64 MB, the 5M records of the benchmark's random traffic were aggregated by address in 7
        # tasks whose hash maps spilled gigabytes to disk in a 2 GiB heap.
        "spark.sql.adaptive.advisoryPartitionSizeInBytes": str(8 * 1024 * 1024),
        "spark.sql.shuffle.partitions": shuffle_partitions(),
        # A kept (persisted) aggregation is joined up like any other: Spark 4 keeps it in as many parts as
        # its shuffle had, and every later read of an hour's port figures ran 32 tasks.
        "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
        # Jobs of different scheduler pools share the cores (lake.write_concurrently puts each table's
        # write in a pool of its own); jobs of one pool, and of a thread that names none, still run first
        # come, first served. The aggregate of the benchmark's 5M-record day: 2.5 s less of about 51 s,
        # with the lake inputs read while the records are cached (aggregate.run_aggregate).
        "spark.scheduler.mode": "FAIR",
        "spark.ui.showConsoleProgress": "false",
        # From the context's start, on the driver and the executors: a job's log is flowlake's progress
        # and summary, not Spark fetching each jar (hundreds of INFO lines per task in Airflow).
        "spark.log.level": os.environ.get("FLOWLAKE_SPARK_LOG_LEVEL", "ERROR"),
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        # S3 faults (503 SlowDown, connection resets, stalled or cut-off answers) are retried, here
        # rather than by Hadoop's version-dependent defaults: the AWS SDK tries each request up to 5
        # times, and s3a repeats a failed operation up to 10 times (throttling: 20) with growing pauses.
        "spark.hadoop.fs.s3a.attempts.maximum": "5",
        "spark.hadoop.fs.s3a.retry.limit": "10",
        "spark.hadoop.fs.s3a.retry.interval": "500ms",
        "spark.hadoop.fs.s3a.retry.throttle.limit": "20",
        "spark.hadoop.fs.s3a.retry.throttle.interval": "1000ms",
        # hadoop-aws 3.5 reads through the analytics accelerator by default, which fails the read (and
        # the job) when S3 cuts an answer short; the classic stream reopens at the offset and goes on.
        "spark.hadoop.fs.s3a.input.stream.type": "classic",
        # Parquet's vectored reads fetch each range once, with no retry when the answer is cut short:
        # plain reads go through the stream's retries.
        "spark.hadoop.parquet.hadoop.vectored.io.enabled": "false",
        # A connection that stalls this long is abandoned and the request retried.
        "spark.hadoop.fs.s3a.connection.timeout": "120s",
        "spark.hadoop.fs.s3a.connection.establish.timeout": "30s",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Smaller than snappy and, measured on flow logs, faster to write.
        "spark.sql.parquet.compression.codec": "zstd",
        # 8-byte timestamps that delta-encode, instead of the legacy 12-byte INT96.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # Those are smaller delta-encoded than in a dictionary of up to 86,400 values a day. Parquet
        # reads per-column settings from the Hadoop configuration only, so they apply by column name
        # to every table.
        **{f"spark.hadoop.parquet.enable.dictionary#{column}": "false" for column in delta_encoded_columns()},
        # A task writes up to this many partitions' files side by side instead of sorting its rows by
        # the partition columns first (it sorts the rest beyond that): rows keep the order they come
        # in, which for flow_logs is the parser's, and 5M wide rows cost no sort (~4 s per million).
        "spark.sql.maxConcurrentOutputFileWriters": "16",
        # Cached frames (the aggregate's window of records) kept as they are: building a compressed cache
        # tries every encoding on every value, 14.5 s for a 5M-record day against 7.4 s, to save 62 MB
        # (101 MB against 163 MB), and the tables read from either as fast.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        # Spark keeps the classes it compiled for this many generated code bodies (100 by default). An
        # aggregate of every hourly table generates some 350, so with 100 a query's code was evicted and
        # compiled again (Janino), and its new class compiled again by the JIT: the benchmark's 5M-record
        # day aggregated with 8% less CPU with room for every body (351-362 compilations against 391-450).
        CODEGEN_CACHE_ENTRIES: "1000",
        # Vacuum below 7 days is refused unless the caller asks for it.
        "spark.databricks.delta.retentionDurationCheck.enabled": "true",
        # Delta keeps the file list of a table of fewer than 50 files in each commit's checksum, and
        # where the JVM's zone is not UTC it checks that list against a reconstruction of the table's
        # state after every commit: Spark jobs a UTC host never runs (the check is for timestamps
        # before 1883; flowlake's session zone is UTC). Checkpoints still check it, as on a UTC host.
        VERIFY_COMMITS_OUTSIDE_UTC: "false",
    }


# Parquet v2 data pages, which delta-encode numbers. Delta takes the writer version from a write's
# options, else from this session setting, else writes v1: set on the session, it covers every write,
# OPTIMIZE's rewrites included. Not a Spark property, so it cannot go with those at launch.
SESSION_SETTINGS = {"parquet.writer.version": "v2"}


def ivy_home() -> Path:
    """Where Ivy keeps the jars it resolves: FLOWLAKE_IVY_CACHE, else Spark's default."""
    return Path(os.environ.get("FLOWLAKE_IVY_CACHE") or Path.home() / ".ivy2.5.2")


def jar_list_file() -> Path:
    """Where the jars Ivy resolved for PACKAGES are listed, beside them in the Ivy home."""
    return ivy_home() / f"flowlake-jars-{hashlib.sha256(','.join(PACKAGES).encode()).hexdigest()[:16]}.txt"


def resolved_jars() -> list[str] | None:
    """The jars of PACKAGES resolved by an earlier session, when every one of them is still there."""
    try:
        jars = jar_list_file().read_text().split()
    except OSError:
        return None
    present = jars and all(Path(urlparse(jar).path).is_file() for jar in jars)
    return jars if present else None


def main_jars(argv: list[str] | None = None) -> int:
    """`flowlake jars`: the jars `make jars` resolved here, for spark-submit --jars."""
    argparse.ArgumentParser(
        prog="flowlake jars",
        description="Prints the jars Ivy resolved on this machine (`make jars`), for spark-submit --jars: "
        "unlike --packages, which spark-submit also ships as Python files, they reach each executor once.",
    ).parse_args(argv)
    jars = resolved_jars()
    if not jars:
        print(
            f"no jars listed in {jar_list_file()} (or one of them is gone): run `make jars`, "
            'or give spark-submit --packages "$(flowlake packages)" instead',
            file=sys.stderr,
        )
        return 1
    print(",".join(jars))
    return 0


def record_resolved_jars(jars: str) -> None:
    """Lists the jars Ivy resolved (spark.jars of a session started with spark.jars.packages), written
    whole or not at all: sessions may start side by side. An Ivy home this user cannot write to (a
    shared, read-only cache) only means the next session resolves again."""
    target = jar_list_file()
    listed = [jar for jar in jars.split(",") if jar]
    try:
        with written_whole(target) as partial:
            partial.write_text("\n".join(listed) + "\n")
    except OSError as error:
        log.info("the jars Ivy resolved are not listed in %s (%s): the next session resolves them again", target, error)
        return
    local_class_path(listed)


def spark_jars_folder() -> Path:
    """The jars of the Spark that starts this machine's JVMs: SPARK_HOME's, else PySpark's own."""
    return Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).parent) / "jars"


def _class_names(jar: Path) -> list[str]:
    with zipfile.ZipFile(jar) as archive:
        return [name for name in archive.namelist() if name.endswith(".class") and not name.startswith("META-INF/")]


def jars_apart_from_spark(jars: list[str]) -> list[str]:
    """The jars that hold no class Spark's own jars hold. Through spark.jars a class is looked up in
    Spark's jars first; a jar holding none of Spark's classes is found the same way on the class path.
    A jar that cannot be read is not among them."""
    spark_classes = {name for jar in sorted(spark_jars_folder().glob("*.jar")) for name in _class_names(jar)}
    apart = []
    for jar in jars:
        try:
            names = _class_names(Path(urlparse(jar).path))
        except (OSError, zipfile.BadZipFile):
            continue
        if spark_classes.isdisjoint(names):
            apart.append(jar)
    return apart


def class_path_file(jars: list[str]) -> Path:
    """Where the jars of jars_apart_from_spark are listed, for these jars and this Spark's."""
    key = "\n".join([*jars, *sorted(jar.name for jar in spark_jars_folder().glob("*.jar"))])
    return ivy_home() / f"flowlake-class-path-{hashlib.sha256(key.encode()).hexdigest()[:16]}.txt"


def local_class_path(jars: list[str]) -> list[str]:
    """jars_apart_from_spark(jars): reading every class name of the jars takes a few seconds, so the
    answer is listed beside the jars once and read from there by later sessions."""
    target = class_path_file(jars)
    try:
        return target.read_text().split()
    except OSError:
        pass
    apart = jars_apart_from_spark(jars)
    try:
        with written_whole(target) as partial:
            partial.write_text("".join(f"{jar}\n" for jar in apart))
    except OSError as error:
        log.info("the jars for a local driver's class path are not listed in %s (%s)", target, error)
    return apart


def jars_for_driver(master: str, jars: list[str]) -> tuple[list[str], list[str]]:
    """(the jars to give as spark.jars, the files to put on the driver's class path) for a driver on master.

    In local mode the executor, in the driver's JVM, copies each of spark.jars into a temporary folder
    before its first task: 744 MB here (the AWS SDK bundle alone is 686 MB), some 2 s of every start, and
    left behind when the JVM is killed. The jars apart from Spark's go on the driver's
    class path instead, where that JVM's tasks find them uncopied. A cluster's executors fetch every jar
    from spark.jars.
    """
    if not tasks_run_in_the_driver(master):
        return jars, []
    on_class_path = local_class_path(jars)
    return [jar for jar in jars if jar not in on_class_path], [urlparse(jar).path for jar in on_class_path]


def launch_conf(master: str) -> dict[str, str]:
    """What spark-submit's own options would give: the jars, for a session that starts its JVM itself.

    Ivy resolves PACKAGES once and the jars it resolved are listed (record_resolved_jars): later
    sessions start with those jars and skip the resolution, some 2 s of each start.
    """
    jars = resolved_jars()
    if jars:
        shipped, class_path = jars_for_driver(master, jars)
        conf = {"spark.jars": ",".join(shipped)} if shipped else {}
        if class_path:
            conf["spark.driver.extraClassPath"] = os.pathsep.join(class_path)
    else:
        conf = {"spark.jars.packages": ",".join(PACKAGES)}
    if os.environ.get("FLOWLAKE_IVY_CACHE"):
        conf["spark.jars.ivy"] = os.environ["FLOWLAKE_IVY_CACHE"]
    if os.environ.get("FLOWLAKE_DRIVER_MEMORY"):
        conf["spark.driver.memory"] = os.environ["FLOWLAKE_DRIVER_MEMORY"]
    return conf


# JVM options that choose a garbage collector (a JVM given two of them refuses to start), that set when the
# JIT compiles a method, and that set the class metadata which first triggers a collection.
_COLLECTOR_OPTION = re.compile(r"-XX:\+Use\w+GC\b")
_COMPILATION_OPTION = re.compile(r"-XX:(\w*Threshold\w*|TieredStopAtLevel)=")
_METASPACE_OPTION = re.compile(r"-XX:MetaspaceSize=")
# A local JVM on at most this many cores gets local_java_conf's options.
LOCAL_OPTIONS_MAX_CORES = 2


def local_java_conf(
    master: str, cores: int, conf: dict[str, str], environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """JVM options for a driver that runs its session's tasks itself on few cores, each unless the
    environment the JVM starts in (environ) or conf already sets its kind:
    - the parallel collector: on 2 cores the JVM picks G1, whose concurrent threads take the cores the tasks
      run on (the aggregate of the benchmark's 5M-record day took 56.1-57.8 s with the serial collector,
      62.7-67.9 s with G1), and the serial collector keeps every task thread waiting while it collects on
      one core: the parallel one collects on both;
    - no collection for class metadata below 256 MB: at the JVM's first threshold (about 20 MB) it collected
      the whole heap five times in the session's first seconds, while Spark loads its classes;
    - methods compiled after 5 times as many calls as the JVM's default: a job's JVM lives a minute or
      two, and compiling Spark's generated classes early cost more than running them compiled saved. On
      top of the serial collector: the aggregate 57.2-60.9 s against 60.7-62.6 s (96-103 CPU-seconds
      against 106-110), the ingest 46.1-46.3 s against 47.5-48.6 s (JIT threads 14 CPU-seconds, not 23).
    The first two against the serial collector, alternating on that day: the aggregate 45.5-46.1 s against
    47.2-51.1 s (its collections paused 4.9-8.2 s serially, 3.7-4.2 s with the parallel collector alone), the
    ingest 42.5-42.7 s against 42.6-44.3 s; on random traffic, the aggregate 69.9-70.3 s against 73.0-73.3 s.
    Executors of their own are left the JVM's choices, as are more cores (unmeasured)."""
    if not tasks_run_in_the_driver(master) or cores > LOCAL_OPTIONS_MAX_CORES:
        return {}
    chosen = _java_options_chosen(conf, environ)
    options = [
        option
        for option, kind in (
            ("-XX:+UseParallelGC", _COLLECTOR_OPTION),
            ("-XX:MetaspaceSize=256m", _METASPACE_OPTION),
            ("-XX:CompileThresholdScaling=5", _COMPILATION_OPTION),
        )
        if not kind.search(chosen)
    ]
    return _with_default_java_options(conf, options)


_DEFAULT_JAVA_OPTIONS = "spark.driver.defaultJavaOptions"


def _java_options_chosen(conf: dict[str, str], environ: Mapping[str, str]) -> str:
    """The driver JVM's options its environment and conf already set."""
    return " ".join(
        (
            environ.get("JAVA_TOOL_OPTIONS", ""),
            environ.get("JDK_JAVA_OPTIONS", ""),
            conf.get(_DEFAULT_JAVA_OPTIONS, ""),
            conf.get("spark.driver.extraJavaOptions", ""),
        )
    )


def _with_default_java_options(conf: dict[str, str], options: list[str]) -> dict[str, str]:
    """The driver's default options with these before those conf already has ({}: none to add)."""
    if not options:
        return {}
    key = _DEFAULT_JAVA_OPTIONS
    return {key: " ".join([*options, *([conf[key]] if conf.get(key) else [])])}


LOG_CONFIGURATION = Path(__file__).parent / "settings" / "log4j2.properties"
_LOG_CONFIGURATION_OPTION = re.compile(r"-Dlog4j2?\.configurationFile=")
# The files log4j2 finds by itself on the class path, which Spark's configuration folder is on (not the templates
# a Spark distribution ships there).
_LOG_CONFIGURATION_FILE = re.compile(r"log4j2(?:-test)?\.(?:properties|ya?ml|jsn|json|xml)")


def log_configuration_conf(conf: dict[str, str]) -> dict[str, str]:
    """flowlake's log configuration (LOG_CONFIGURATION) for a driver it starts itself, unless the site has its own:
    an option naming one, or a log4j2 file in Spark's configuration folder. Spark's default profile prints five
    lines at each start (the profile, its default level, how to change it, Hadoop's native library, the level
    flowlake sets), before anything of the run's."""
    spark_home = os.environ.get("SPARK_HOME") or str(Path(pyspark.__file__).parent)
    conf_dir = Path(os.environ.get("SPARK_CONF_DIR") or Path(spark_home, "conf"))
    site_files = conf_dir.is_dir() and any(_LOG_CONFIGURATION_FILE.fullmatch(path.name) for path in conf_dir.iterdir())
    if _LOG_CONFIGURATION_OPTION.search(_java_options_chosen(conf, os.environ)) or site_files:
        return {}
    return _with_default_java_options(conf, [f"-Dlog4j2.configurationFile={LOG_CONFIGURATION.as_uri()}"])


def launched_by_spark_submit() -> bool:
    # spark-submit starts the JVM first and tells the Python driver where its gateway is.
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def s3a_settings() -> dict[str, str]:
    """s3a settings from the environment: an S3-compatible endpoint, and fixed keys with it (temporary ones,
    of an assumed role or SSO, with their AWS_SESSION_TOKEN: S3 refuses them without it).

    Without FLOWLAKE_S3_ENDPOINT, s3a uses the standard AWS credential chain, as on EMR.
    """
    settings: dict[str, str] = {}
    endpoint = os.environ.get("FLOWLAKE_S3_ENDPOINT")
    if not endpoint:
        return settings
    settings.update(
        {
            "fs.s3a.endpoint": endpoint,
            "fs.s3a.path.style.access": "true",
            "fs.s3a.connection.ssl.enabled": str(endpoint.startswith("https")).lower(),
            "fs.s3a.endpoint.region": os.environ.get("AWS_REGION", "us-east-1"),
        }
    )
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        session_token = os.environ.get("AWS_SESSION_TOKEN")
        provider = "TemporaryAWSCredentialsProvider" if session_token else "SimpleAWSCredentialsProvider"
        settings["fs.s3a.aws.credentials.provider"] = f"org.apache.hadoop.fs.s3a.{provider}"
        settings["fs.s3a.access.key"] = os.environ["AWS_ACCESS_KEY_ID"]
        settings["fs.s3a.secret.key"] = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        if session_token:
            settings["fs.s3a.session.token"] = session_token
    return settings


def configure_s3a(spark: SparkSession, settings: dict[str, str]) -> None:
    """Puts s3a settings into the running session's Hadoop configuration.

    In memory only: the driver uses them, and the tasks carry them to the executors
    with the configuration Spark serializes for every read and write.
    """
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in settings.items():
        hadoop_conf.set(key, value)


def is_local(master: str) -> bool:
    return master.startswith("local")


def tasks_run_in_the_driver(master: str) -> bool:
    """local or local[N]; not local-cluster, whose executors are JVMs of their own."""
    return master == "local" or master.startswith("local[")


def ship_package(spark: SparkSession) -> None:
    """Sends the package to the executors of a cluster the session started on itself."""
    target = Path(tempfile.mkdtemp(prefix="flowlake-dist-")) / "flowlake.zip"
    spark.sparkContext.addPyFile(str(build_zip(target)))
    log.info("shipped %s to the executors", target)


def get_spark(app_name: str = "flowlake", extra_conf: dict[str, str] | None = None) -> SparkSession:
    builder = SparkSession.builder.appName(app_name)
    conf = runtime_conf()
    by_spark_submit = launched_by_spark_submit()
    if not by_spark_submit:
        master = os.environ.get("FLOWLAKE_SPARK_MASTER", "local[*]")
        builder = builder.master(master)
        conf.update(launch_conf(master))
        if is_local(master):
            # Python workers must run the interpreter that has flowlake installed.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {**conf, **(extra_conf or {})}
    if not by_spark_submit:
        settings.update(local_java_conf(master, os.cpu_count() or 1, settings))
        settings.update(log_configuration_conf(settings))
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    resolved = spark.sparkContext.getConf().get("spark.jars")
    if "spark.jars.packages" in conf and resolved:
        record_resolved_jars(resolved)
    for key, value in SESSION_SETTINGS.items():
        spark.conf.set(key, value)
    context = spark.sparkContext
    spark.conf.set(SNAPSHOT_PARTITIONS, snapshot_partitions(context.master, context.defaultParallelism))
    configure_s3a(spark, s3a_settings())
    register_sql_functions(spark)
    if not by_spark_submit and not is_local(context.master):
        ship_package(spark)
    return spark


def cache_jars() -> None:
    """`make jars`: Ivy resolves PACKAGES into its home once, and the jars are listed for later sessions.

    spark-submit resolves the packages before it starts the JVM's Python gateway, so the gateway alone
    is started, with a session's launch settings: no SparkContext and no session, which took 12 of the
    19-22 s this step took on a fresh machine.
    """
    jars = resolved_jars()
    if jars:
        local_class_path(jars)
        return
    conf = SparkConf(loadDefaults=False)
    for key, value in launch_conf("local[*]").items():
        conf.set(key, value)
    gateway = launch_gateway(conf)
    try:
        resolved = gateway.jvm.java.lang.System.getProperty("spark.jars") or ""
    finally:
        gateway.shutdown()
        # The gateway's JVM ends when its standard input closes.
        gateway.proc.stdin.close()
        gateway.proc.wait()
    record_resolved_jars(resolved)


if __name__ == "__main__":
    cache_jars()
    print("jars cached for Spark", pyspark.__version__, file=sys.stderr)

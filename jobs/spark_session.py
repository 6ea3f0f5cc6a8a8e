"""The one way every job and test builds its SparkSession.

Local mode by default; any master (YARN, Kubernetes, spark://) through
FLOWLAKE_SPARK_MASTER or spark-submit's own --master, which wins when set.
The Delta and hadoop-aws jars come from Maven Central through Ivy into a cache
inside the project, so only the first run downloads them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# delta-spark's jar is built per Spark minor version: keep it in step with
# the pyspark and delta-spark pins in pyproject.toml.
DELTA_PACKAGE = "io.delta:delta-spark_4.2_2.13:4.4.0"
# hadoop-aws must match the Hadoop client that PySpark ships (3.5.0 for 4.2.0).
HADOOP_AWS_PACKAGE = "org.apache.hadoop:hadoop-aws:3.5.0"
PACKAGES = (DELTA_PACKAGE, HADOOP_AWS_PACKAGE)

# Transitive artifacts that PySpark already ships (a second copy at another
# version breaks class loading) or that only Unity Catalog tables need.
EXCLUDED_PACKAGES = (
    "io.unitycatalog:unitycatalog-client",
    "io.unitycatalog:unitycatalog-hadoop",
    "io.delta:delta-kernel-unitycatalog",
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "org.apache.parquet:parquet-column",
    "org.apache.parquet:parquet-common",
    "org.apache.parquet:parquet-encoding",
    "org.apache.parquet:parquet-format-structures",
    "org.apache.parquet:parquet-hadoop",
    "org.apache.parquet:parquet-jackson",
    "org.apache.logging.log4j:log4j-api",
    "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
    "org.slf4j:slf4j-api",
    "com.fasterxml.jackson.core:jackson-annotations",
    "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-databind",
    "com.fasterxml.jackson.datatype:jackson-datatype-jdk8",
    "com.github.luben:zstd-jni",
    "org.xerial.snappy:snappy-java",
    "io.airlift:aircompressor",
    "org.roaringbitmap:RoaringBitmap",
    "org.roaringbitmap:shims",
    "commons-logging:commons-logging",
)


def ivy_cache_dir() -> Path:
    return Path(os.environ.get("FLOWLAKE_IVY_CACHE", PROJECT_ROOT / ".cache" / "ivy"))


def base_conf() -> dict[str, str]:
    """Settings every flowlake Spark application needs, also used for spark-submit."""
    return {
        "spark.jars.packages": ",".join(PACKAGES),
        "spark.jars.excludes": ",".join(EXCLUDED_PACKAGES),
        "spark.jars.ivy": str(ivy_cache_dir()),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        # Flow-log times are UTC; a session in another zone would shift hours.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Ingest hands whole objects (up to 75 MB gzip each) to Python in Arrow
        # batches: a few objects per batch bounds a worker's memory.
        "spark.sql.execution.arrow.maxRecordsPerBatch": "16",
        # Spark checks the listed objects in a job of one task per object by
        # default (1,152 tasks for a day of 4 flow logs): a few tasks suffice.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": "16",
        # Each gzip object is one task; small objects are packed together.
        "spark.sql.files.openCostInBytes": str(1024 * 1024),
        "spark.sql.shuffle.partitions": os.environ.get("FLOWLAKE_SHUFFLE_PARTITIONS", "8"),
        "spark.ui.showConsoleProgress": "false",
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Vacuum below 7 days is refused unless the caller asks for it.
        "spark.databricks.delta.retentionDurationCheck.enabled": "true",
    }


def s3_conf_from_env() -> dict[str, str]:
    """s3a settings for S3-compatible stores (an endpoint) or fixed keys.

    Without these, s3a uses the standard AWS credential chain, as on EMR.
    """
    conf: dict[str, str] = {}
    endpoint = os.environ.get("FLOWLAKE_S3_ENDPOINT")
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(endpoint.startswith("https")).lower()
        conf["spark.hadoop.fs.s3a.endpoint.region"] = os.environ.get("AWS_REGION", "us-east-1")
    if os.environ.get("AWS_ACCESS_KEY_ID") and endpoint:
        conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = (
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        )
        conf["spark.hadoop.fs.s3a.access.key"] = os.environ["AWS_ACCESS_KEY_ID"]
        conf["spark.hadoop.fs.s3a.secret.key"] = os.environ["AWS_SECRET_ACCESS_KEY"]
    return conf


def get_spark(app_name: str = "flowlake", extra_conf: dict[str, str] | None = None) -> SparkSession:
    # Python workers must run the interpreter that has flowlake installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    master = os.environ.get("FLOWLAKE_SPARK_MASTER")
    if master:
        builder = builder.master(master)
    elif not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Not launched by spark-submit, whose --master must not be overridden.
        builder = builder.master("local[*]")
    conf = {**base_conf(), **s3_conf_from_env(), **(extra_conf or {})}
    driver_memory = os.environ.get("FLOWLAKE_DRIVER_MEMORY")
    if driver_memory:
        conf["spark.driver.memory"] = driver_memory
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("FLOWLAKE_SPARK_LOG_LEVEL", "ERROR"))
    return spark


if __name__ == "__main__":
    # `make jars`: resolve and cache the jars by starting (and stopping) a session.
    session = get_spark("flowlake-resolve-jars")
    print("jars cached in", ivy_cache_dir(), "for Spark", session.version)
    session.stop()

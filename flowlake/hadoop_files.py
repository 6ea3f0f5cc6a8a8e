"""Files of the source and the lake through the file system Hadoop has for their URI: what Spark reads and
writes them with, so that a local folder, S3 and Azure take the same code and the session's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by modules the DAGs import, which never import Spark at parse time
    from pyspark.sql import SparkSession


def hadoop_path(spark: SparkSession, uri: str):
    """The URI as Hadoop's Path, and the file system Hadoop has for it."""
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def read_bytes(fs, path, size: int | None = None) -> bytes:
    """The file's first size bytes (None: all of them)."""
    stream = fs.open(path)
    try:
        return bytes(stream.readAllBytes() if size is None else stream.readNBytes(size))
    finally:
        stream.close()

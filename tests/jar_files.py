"""Jars made for a test: zips holding empty class files of the given names."""

from __future__ import annotations

import zipfile
from pathlib import Path

# A class of Spark's own jars: a jar holding it shares a class with Spark.
SPARK_CLASS = "org/apache/spark/SparkContext.class"


def jar_holding(path: Path, *class_files: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as jar:
        for name in class_files:
            jar.writestr(name, b"")
    return path

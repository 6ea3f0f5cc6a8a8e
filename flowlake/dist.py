"""What a cluster runs flowlake with: the zip that spark-submit's --py-files ships, and the Maven packages.

    flowlake dist [--out dist/flowlake.zip]     # `make dist`
    flowlake packages                           # for spark-submit --packages

The zip holds the flowlake package, its code and the contracts it reads at run
time (schemas/, expectations/, queries/), so that the driver and every executor
import the same code whatever is installed on their machines.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# delta-spark's jar is built per Spark minor version: keep it in step with the
# pyspark and delta-spark pins in pyproject.toml. hadoop-aws must match the
# Hadoop client that PySpark ships (3.5.0 for PySpark 4.2.0).
PACKAGES = (
    "io.delta:delta-spark_4.2_2.13:4.4.0",
    "org.apache.hadoop:hadoop-aws:3.5.0",
)
DEFAULT_ZIP = Path("dist") / "flowlake.zip"
# Fixed entry times: the same sources give the same zip, byte for byte.
_ENTRY_TIME = (2026, 1, 1, 0, 0, 0)


def package_folder() -> Path:
    import flowlake

    folder = Path(flowlake.__file__).resolve().parent
    if not (folder / "__init__.py").is_file():
        raise RuntimeError(f"flowlake is imported from {folder}, not from a folder of sources: nothing to zip")
    return folder


def package_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    )


@contextmanager
def written_whole(target: Path) -> Iterator[Path]:
    """A new file beside target to write, put in target's place when the block ends (a reader never
    sees half of it) and removed if the block fails."""
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        yield Path(partial)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def build_zip(target: Path = DEFAULT_ZIP) -> Path:
    """Writes the package to target (atomically: a reader never sees half a zip); returns target."""
    folder = package_folder()
    target.parent.mkdir(parents=True, exist_ok=True)
    with written_whole(target) as partial, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in package_files(folder):
            entry = zipfile.ZipInfo(path.relative_to(folder.parent).as_posix(), date_time=_ENTRY_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, path.read_bytes())
    return target


def packages() -> str:
    return ",".join(PACKAGES)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake dist", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_ZIP, help=f"where to write the zip (default {DEFAULT_ZIP})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(build_zip(args.out))
    return 0


def main_packages(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="flowlake packages", description="Prints the Maven coordinates for spark-submit --packages."
    ).parse_args(argv)
    print(packages())
    return 0

"""Builds, once per machine, the wheels of the pinned packages PyPI serves only as source distributions (PySpark),
into a cache outside the clone that `make setup` installs them from (`uv pip install --find-links`).

uv keeps a wheel it built only while the index calls its source distribution unchanged. The package index here
answers each revalidation as modified, so every fresh set-up downloaded PySpark and built it again: 7.6 s of each
set-up, and another half gigabyte of uv's cache each time (40 copies, 48 GB, had piled up). A wheel in the cache is
found by its name, which holds the pinned version: a new pin builds its own.

    python scripts/cache_source_wheels.py --cache DIR [--constraints constraints.txt]
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

SOURCE_ONLY = ("pyspark", "pyspark-client")
# PySpark's 472 MB are mostly jars, already compressed: stored as they are, the wheel builds in 11-12 s where
# compressing them again took 24-27 s.
BUILD_SETTINGS = {"pyspark": ("--config-setting=--build-option=--compression=stored",)}

Runner = Callable[[list[str]], None]


def pinned_versions(constraints: Path, names: tuple[str, ...]) -> dict[str, str]:
    """{name: version} of each name pinned `name==version` in the constraints file."""
    wanted, pins = {normalized(name) for name in names}, {}
    for line in constraints.read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9._-]+)\s*==\s*([^\s;#]+).*", line)
        if match and normalized(match.group(1)) in wanted:
            pins[normalized(match.group(1))] = match.group(2)
    missing = [name for name in names if normalized(name) not in pins]
    if missing:
        raise SystemExit(f"cache_source_wheels: {', '.join(missing)} not pinned in {constraints}")
    return {name: pins[normalized(name)] for name in names}


def normalized(name: str) -> str:
    """A distribution's name as a wheel's file name spells it (PEP 427: runs of -_. as one underscore)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def is_cached(cache: Path, name: str, version: str) -> bool:
    return any(cache.glob(f"{normalized(name)}-{version}-*.whl"))


def run(command: list[str]) -> None:
    subprocess.run(command, check=True)


def build_wheel(cache: Path, name: str, version: str, uv: str, runner: Runner = run) -> Path:
    """Downloads name==version's source distribution, builds its wheel and moves it into the cache. Built in a
    folder of its own inside the cache, then renamed: a set-up running beside this one finds a whole wheel or none."""
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache, prefix=f".{normalized(name)}-"))
    try:
        sources, wheels = work / "sources", work / "wheels"
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
        runner([*pip, "--no-binary", ":all:", "--dest", str(sources), f"{name}=={version}"])
        (source,) = sources.iterdir()
        build = [uv, "build", "--quiet", "--wheel", "--no-config", "--out-dir", str(wheels)]
        runner([*build, *BUILD_SETTINGS.get(name, ()), str(source)])
        (wheel,) = wheels.glob("*.whl")
        return Path(shutil.move(wheel, cache / wheel.name))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cache_wheels(cache: Path, constraints: Path, uv: str, runner: Runner = run) -> list[Path]:
    """The wheels built now: those of SOURCE_ONLY's pinned versions that the cache did not hold."""
    built = []
    for name, version in pinned_versions(constraints, SOURCE_ONLY).items():
        if is_cached(cache, name, version):
            continue
        print(f"cache_source_wheels: building the wheel of {name} {version} into {cache} (once per machine)")
        try:
            built.append(build_wheel(cache, name, version, uv, runner))
        except subprocess.CalledProcessError as error:
            raise SystemExit(
                f"cache_source_wheels: no wheel of {name} {version}: `{shlex.join(error.cmd)}` exited {error.returncode}"
            ) from error
    return built


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="where the built wheels are kept")
    parser.add_argument("--constraints", type=Path, default=Path("constraints.txt"))
    parser.add_argument("--uv", default=str(Path(sys.executable).parent / "uv"), help="the uv that builds them")
    args = parser.parse_args(argv)
    cache_wheels(args.cache.expanduser(), args.constraints, args.uv)


if __name__ == "__main__":
    main(sys.argv[1:])

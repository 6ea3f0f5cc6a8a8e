"""Adds compiled bytecode beside every module in the zips Spark's Python workers import PySpark and py4j from.

Spark puts `pyspark/python/lib/pyspark.zip` and py4j's zip first on its Python workers' path, and a zip without
bytecode makes every worker daemon of every Spark application compile the modules it imports again (0.5 s
instead of 0.13 s).
zipimport reads `module.pyc` beside `module.py`; unchecked hash-based bytecode needs no matching times, and a
Python of another version skips it for the source (its magic number differs).

    python scripts/compile_worker_zips.py [ZIP ...]     # default: the installed PySpark's

The zip is replaced by a new file, never written in place: uv links installed files to its cache.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import sys
import tempfile
import zipfile
from pathlib import Path

# PEP 552's flags: hash-based bytecode whose source is not checked at import.
UNCHECKED_HASH = (0b01).to_bytes(4, "little")


def installed_worker_zips() -> list[Path]:
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise SystemExit("compile_worker_zips: PySpark is not installed in this Python")
    return sorted((Path(spec.origin).parent / "python" / "lib").glob("*.zip"))


def header(source: bytes) -> bytes:
    """The 16 bytes before a module's code in its bytecode file: this Python's magic number, the flags, the hash."""
    return importlib.util.MAGIC_NUMBER + UNCHECKED_HASH + importlib.util.source_hash(source)


def bytecode(source: bytes, filename: str) -> bytes:
    return header(source) + marshal.dumps(compile(source, filename, "exec", dont_inherit=True))


def is_compiled(archive: zipfile.ZipFile) -> bool:
    names = set(archive.namelist())
    for name in names:
        if name.endswith(".py"):
            if name + "c" not in names:
                return False
            if archive.read(name + "c")[:16] != header(archive.read(name)):
                return False
    return True


def compile_zip(path: Path) -> int:
    """Writes the zip again with each module's bytecode beside it; returns how many modules were compiled."""
    with zipfile.ZipFile(path) as archive:
        if is_compiled(archive):
            return 0
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        compiled = 0
        try:
            with os.fdopen(descriptor, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
                for entry in archive.infolist():
                    if entry.filename.endswith(".pyc"):
                        continue
                    data = archive.read(entry)
                    new.writestr(entry, data)
                    if entry.filename.endswith(".py"):
                        compiled_entry = zipfile.ZipInfo(entry.filename + "c", entry.date_time)
                        compiled_entry.compress_type = zipfile.ZIP_DEFLATED
                        new.writestr(compiled_entry, bytecode(data, str(path / entry.filename)))
                        compiled += 1
            os.chmod(temporary, path.stat().st_mode & 0o777)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return compiled


def main(argv: list[str]) -> None:
    for path in [Path(arg) for arg in argv] or installed_worker_zips():
        compiled = compile_zip(path)
        if compiled:
            print(f"compile_worker_zips: {compiled} modules compiled in {path}")


if __name__ == "__main__":
    main(sys.argv[1:])

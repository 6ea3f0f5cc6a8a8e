"""The flowlake command: one subcommand per job or tool. The jobs are also spark-submit's entry points in jobs/."""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, its main function): main(argv) runs the subcommand.
COMMANDS = {
    "ingest": ("flowlake.ingest", "main"),
    "aggregate": ("flowlake.aggregate", "main"),
    "run": ("flowlake.run", "main"),
    "hourly": ("flowlake.hourly", "main"),
    "validate": ("flowlake.validate", "main"),
    "compact": ("flowlake.compact", "main"),
    "remove-objects": ("flowlake.remove", "main"),
    "sweep": ("flowlake.sweep", "main"),
    "capacity": ("flowlake.capacity", "main"),
    "retention": ("flowlake.retention", "main"),
    "erase": ("flowlake.retention", "main_erase"),
    "nat-inventory": ("flowlake.nat_inventory", "main"),
    "generate": ("flowlake.generate", "main"),
    "sql": ("flowlake.sql", "main"),
    "report": ("flowlake.report", "main"),
    "demo": ("flowlake.demo", "main"),
    "dist": ("flowlake.dist", "main"),
    "packages": ("flowlake.dist", "main_packages"),
    "jars": ("flowlake.spark_session", "main_jars"),
}


def drop_jars_from_python_path() -> None:
    """Takes spark-submit's --packages jars off the driver's Python path.

    spark-submit puts every jar it resolved there, for Python code shipped inside jars (flowlake's jars
    hold none). Each lookup of an installed package's metadata then opens all of them, the AWS SDK
    bundle among them: 3 s for the first, and importing Great Expectations makes several (an hourly
    job reached its Spark session some 4 s later).
    """
    sys.path[:] = [entry for entry in sys.path if not entry.endswith(".jar")]


def run(command: str, argv: list[str]) -> int:
    """Runs one subcommand; its exit code (a subcommand that returns a summary exits 0)."""
    drop_jars_from_python_path()
    module, function = COMMANDS[command]
    result = getattr(importlib.import_module(module), function)(argv)
    return result if isinstance(result, int) else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = f"usage: flowlake {{{', '.join(COMMANDS)}}} [options]"
    if argv and argv[0] in ("-h", "--help"):
        print(f"{usage}\n\nRun 'flowlake COMMAND --help' for a command's options.")
        return 0
    if not argv or argv[0] not in COMMANDS:
        # As argparse says what is wrong with a command's options: the usage, then the error, on stderr.
        error = f"unknown command {argv[0]!r}" if argv else "a command is required"
        print(f"{usage}\nflowlake: error: {error}", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())

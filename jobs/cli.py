"""The flowlake command: one subcommand per job, each also runnable by spark-submit."""

from __future__ import annotations

import importlib
import sys

# subcommand -> module whose main(argv) runs it
COMMANDS = {
    "ingest": "jobs.ingest",
    "compact": "jobs.compact",
    "generate": "jobs.generate",
    "aggregate": "jobs.aggregate",
    "run": "jobs.run",
    "nat-inventory": "jobs.nat_inventory",
    "validate": "jobs.validate",
    "sql": "jobs.sql",
    "report": "jobs.report",
    "demo": "jobs.demo",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        names = ", ".join(COMMANDS)
        print(f"usage: flowlake {{{names}}} [options]\n\nRun 'flowlake COMMAND --help' for a command's options.")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]])
    result = module.main(argv[1:])
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())

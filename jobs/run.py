"""spark-submit's entry point of `flowlake run`, with the same arguments (see flowlake/run.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("run", sys.argv[1:]))

"""spark-submit's entry point of `flowlake sweep`, with the same arguments (see flowlake/sweep.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("sweep", sys.argv[1:]))

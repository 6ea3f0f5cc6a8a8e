"""spark-submit's entry point of `flowlake erase`, with the same arguments (see flowlake/retention.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("erase", sys.argv[1:]))

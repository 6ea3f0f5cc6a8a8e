"""spark-submit's entry point of `flowlake hourly`, with the same arguments (see flowlake/hourly.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("hourly", sys.argv[1:]))

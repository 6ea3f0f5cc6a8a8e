"""spark-submit's entry point of `flowlake aggregate`, with the same arguments (see flowlake/aggregate.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("aggregate", sys.argv[1:]))

"""spark-submit's entry point of `flowlake capacity`, with the same arguments (see flowlake/capacity.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("capacity", sys.argv[1:]))

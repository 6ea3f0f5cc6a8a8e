"""spark-submit's entry point of `flowlake compact`, with the same arguments (see flowlake/compact.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("compact", sys.argv[1:]))

"""spark-submit's entry point of `flowlake ingest`, with the same arguments (see flowlake/ingest.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("ingest", sys.argv[1:]))

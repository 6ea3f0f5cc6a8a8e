"""spark-submit's entry point of `flowlake retention`, with the same arguments (see flowlake/retention.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("retention", sys.argv[1:]))

"""spark-submit's entry point of `flowlake remove-objects`, with the same arguments (see flowlake/remove.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("remove-objects", sys.argv[1:]))

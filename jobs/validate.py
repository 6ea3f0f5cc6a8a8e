"""spark-submit's entry point of `flowlake validate`, with the same arguments (see flowlake/validate.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("validate", sys.argv[1:]))

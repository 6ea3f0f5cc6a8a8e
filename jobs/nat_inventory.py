"""spark-submit's entry point of `flowlake nat-inventory`, with the same arguments (see flowlake/nat_inventory.py)."""

import sys

from flowlake.cli import run

if __name__ == "__main__":
    sys.exit(run("nat-inventory", sys.argv[1:]))

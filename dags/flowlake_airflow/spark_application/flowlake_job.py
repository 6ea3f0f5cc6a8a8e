"""The application spark-submit runs for every flowlake job: `flowlake_job.py COMMAND [OPTIONS]` is `flowlake COMMAND`.

It sits alone in its folder because spark-submit puts a script's folder first on
sys.path: run as scripts, the job modules would have jobs/ there, where
jobs/delta.py hides the delta package.
"""

import sys

from jobs.cli import main

if __name__ == "__main__":
    sys.exit(main())

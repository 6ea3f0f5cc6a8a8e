"""Where flowlake's DAGs take their settings from, and the names they share.

Each setting is an Airflow Variable read when a task runs, so an operator changes
it in the UI without a deploy. Without the Variable, the environment of the DAG
processor decides (FLOWLAKE_SOURCE, ...), and without that the repository's local
sample data does, so `make airflow` works on a fresh clone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SPARK_CONNECTION = "spark_default"
# Delta on S3 loses data when two drivers write one table at once: every task that
# writes a Delta table, in any DAG, takes the pool's only slot.
DELTA_WRITERS_POOL = "flowlake_delta_writers"
DELTA_WRITERS_POOL_SLOTS = 1


@dataclass(frozen=True)
class Setting:
    variable: str
    environment: str
    local_default: str

    @property
    def default(self) -> str:
        """The value without the Variable: the environment's of the process that parses the DAG file, else local."""
        return os.environ.get(self.environment, self.local_default)

    @property
    def expression(self) -> str:
        """A Jinja expression of the value, read when the task runs."""
        return f"var.value.get({self.variable!r}, {self.default!r})"

    @property
    def template(self) -> str:
        return "{{ " + self.expression + " }}"


SOURCE = Setting("flowlake_source", "FLOWLAKE_SOURCE", str(PROJECT_ROOT / "sample" / "source"))
LAKE = Setting("flowlake_lake", "FLOWLAKE_LAKE", str(PROJECT_ROOT / "sample" / "lake"))
# AWS publishes an object about 10 minutes after its 5 minutes end, best effort.
DELIVERY_LAG_MINUTES = Setting("flowlake_delivery_lag_minutes", "FLOWLAKE_DELIVERY_LAG_MINUTES", "15")
# Objects later than the lag are picked up by the runs of the following hours.
LOOKBACK_HOURS = Setting("flowlake_lookback_hours", "FLOWLAKE_LOOKBACK_HOURS", "2")
# Empty: aggregation reads the lake's nat_gateways table (refreshed daily from EC2).
NAT_INVENTORY_FILE = Setting("flowlake_nat_inventory", "FLOWLAKE_NAT_INVENTORY", "")


def reads_the_ec2_inventory(inventory_file: str) -> bool:
    """Whether the hourly figures use the lake's nat_gateways table (no inventory file configured): else its
    refresh from the EC2 API is skipped, which a stack without AWS (docker-compose's) would fail every day."""
    return not inventory_file.strip()


# Empty: every region enabled for the account.
NAT_REGIONS = Setting("flowlake_nat_regions", "FLOWLAKE_NAT_REGIONS", "")
# Empty: AWS's own endpoint for each region.
EC2_ENDPOINT = Setting("flowlake_ec2_endpoint", "FLOWLAKE_EC2_ENDPOINT", "")

# A Spark job stuck for good (a cluster with no free cores: Spark waits for executors forever, its warning hidden by
# spark.log.level=ERROR; a hung S3 call) would hold the Delta writers' only slot and, with max_active_runs=1, stop
# every later run without an alert: a job running longer than this many minutes is failed, spark-submit and the
# driver killed, then retried, and alerted once its retries are spent. Read when the task runs, as the others.
# The hourly job: well above a normal hour's run, and over before the next hour's run is due.
HOURLY_TIMEOUT_MINUTES = Setting("flowlake_hourly_timeout_minutes", "FLOWLAKE_HOURLY_TIMEOUT_MINUTES", "45")
# Each maintenance job: a compaction of whole tables, a week's sweep of the bucket.
MAINTENANCE_TIMEOUT_MINUTES = Setting(
    "flowlake_maintenance_timeout_minutes", "FLOWLAKE_MAINTENANCE_TIMEOUT_MINUTES", "180"
)

# The hourly DAG's runs: their data interval, one UTC hour. A run triggered without a logical date
# (`airflow dags trigger` without -l, the REST API's logical_date null, the UI's form with the date cleared) has
# no data interval at all: it processes the last whole hour before it ran (Airflow gives run_after in UTC).
_LAST_WHOLE_HOUR_END = "dag_run.run_after.replace(minute=0, second=0, microsecond=0)"
HOUR_START = (
    "{{ (data_interval_start | default(" + _LAST_WHOLE_HOUR_END + " - macros.timedelta(hours=1), true)).isoformat() }}"
)
HOUR_END = "{{ (data_interval_end | default(" + _LAST_WHOLE_HOUR_END + ", true)).isoformat() }}"
# The end of the previous successful run's hour, after an outage (catchup is off): its hours since are ingested too.
# A run without a logical date has none (Airflow looks for one of an earlier logical date): the lookback only, and
# the scheduled runs after it still catch up from theirs.
CATCH_UP_FROM = "{{ prev_data_interval_end_success | default('', true) }}"
# The maintenance DAG's runs have no data interval of their own (a trigger timetable): the day
# before the run's, whole UTC days, is what capacity_daily is computed for. A run triggered without a
# logical date (`airflow dags trigger` without -l) has no data interval at all: it is as of when it ran.
_RUN_AS_OF = "(data_interval_end | default(dag_run.run_after, true))"
PREVIOUS_DAY_END = "{{ " + _RUN_AS_OF + ".strftime('%Y-%m-%dT00:00:00+00:00') }}"
RUN_DAY = "{{ " + _RUN_AS_OF + ".strftime('%Y-%m-%d') }}"
# Empty: `flowlake retention`'s defaults (FLOWLAKE_RETENTION_DAYS / FLOWLAKE_AGGREGATE_RETENTION_DAYS
# in the task's environment, else 90 and 730 days).
RETENTION_DAYS = Setting("flowlake_retention_days", "FLOWLAKE_RETENTION_DAYS", "")
AGGREGATE_RETENTION_DAYS = Setting("flowlake_aggregate_retention_days", "FLOWLAKE_AGGREGATE_RETENTION_DAYS", "")
# Empty: `flowlake compact`'s default (7 days, its safe minimum).
VACUUM_RETENTION_HOURS = Setting("flowlake_vacuum_retention_hours", "FLOWLAKE_VACUUM_RETENTION_HOURS", "")
# Days the daily sweep compares the bucket with source_objects for, ingesting what the hourly runs missed.
SWEEP_DAYS = Setting("flowlake_sweep_days", "FLOWLAKE_SWEEP_DAYS", "7")
# capacity_daily is computed again for the days the sweep covers: an hour it (or an hourly run's lookback, after
# the day's capacity ran) re-aggregated changes its day's figures.
SWEPT_DAYS_START = (
    "{{ ("
    + _RUN_AS_OF
    + " - macros.timedelta(days=("
    + SWEEP_DAYS.expression
    + " | int))).strftime('%Y-%m-%dT00:00:00+00:00') }}"
)

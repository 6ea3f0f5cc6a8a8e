"""vpc_flow_logs_maintenance: daily compaction and vacuum of the lake, the NAT gateway inventory refresh, and
the capacity figures of the days the sweep covers."""

from __future__ import annotations

from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG, CronTriggerTimetable

from flowlake_airflow.assets import CAPACITY_ASSET, HOURLY_ASSETS, INGEST_ASSETS, NAT_GATEWAYS_ASSET
from flowlake_airflow.defaults import DAG_ARGUMENTS, QUICK_TASK_TIMEOUT
from flowlake_airflow.settings import (
    AGGREGATE_RETENTION_DAYS,
    DELTA_WRITERS_POOL,
    EC2_ENDPOINT,
    LAKE,
    MAINTENANCE_TIMEOUT_MINUTES,
    NAT_INVENTORY_FILE,
    NAT_REGIONS,
    PREVIOUS_DAY_END,
    RETENTION_DAYS,
    RUN_DAY,
    SOURCE,
    SWEEP_DAYS,
    SWEPT_DAYS_START,
    VACUUM_RETENTION_HOURS,
    reads_the_ec2_inventory,
)
from flowlake_airflow.spark import FlowlakeJobOperator

DOC = f"""
### VPC flow logs, daily maintenance

- **refresh_nat_inventory** rebuilds the `nat_gateways` table from the EC2 API
  (DescribeNatGateways; regions: Variable `{NAT_REGIONS.variable}`, empty = all enabled;
  endpoint: Variable `{EC2_ENDPOINT.variable}`, empty = AWS). The hourly NAT figures use it
  unless the Variable `flowlake_nat_inventory` names an inventory file: then it is skipped.
- **sweep** runs `flowlake sweep` over the last days (Variable `{SWEEP_DAYS.variable}`, default 7)
  up to today 00:00 UTC: it ingests every object of the bucket that no hourly run ingested
  (delivered after the lookback, or in hours an outage skipped) and re-aggregates those hours
  (with the hourly runs' NAT inventory, the Variable `flowlake_nat_inventory`).
- **compact** runs `flowlake compact`: OPTIMIZE then VACUUM of the lake's tables (only the files
  under 1 MiB are merged, the others hold spans of hours; retention: Variable
  `{VACUUM_RETENTION_HOURS.variable}`, empty = 7 days, the minimum).
- **retention** runs `flowlake retention`: deletes `flow_logs` and quarantine rows older than
  Variable `{RETENTION_DAYS.variable}` days (empty = FLOWLAKE_RETENTION_DAYS, else 90) and the
  derived tables' rows older than `{AGGREGATE_RETENTION_DAYS.variable}` (else 730), then vacuums
  (retention: `{VACUUM_RETENTION_HOURS.variable}`, as compact);
  compaction runs after it. The hours whose records it removed keep their figures: it records on
  `flow_logs` the day it removed records before, and no later aggregation touches the hours before it.
- **capacity** runs `flowlake capacity` for the days the sweep covers, up to the previous UTC day:
  `capacity_daily` from `traffic_hourly` and `nat_gateway_hourly` (the day is whole by 02:30 UTC, the
  hourly runs done). The earlier days again: an hour the sweep re-aggregated, or an hourly run's
  lookback after the day's capacity ran, changes its day's figures.

All write Delta tables, so all take the pool `flowlake_delta_writers` (one slot), shared
with the hourly DAG: compaction never runs while an hour is being written. Each runs
{MAINTENANCE_TIMEOUT_MINUTES.default} minutes at most (Variable `{MAINTENANCE_TIMEOUT_MINUTES.variable}`, else
FLOWLAKE_MAINTENANCE_TIMEOUT_MINUTES): one stuck longer is killed, spark-submit and its driver, alerted
at once and retried, instead of holding the pool's slot, and with it every hourly run, for good.
A run triggered without a logical date (the Trigger form with the date cleared, `airflow dags trigger`
without `-l`) runs as of the UTC day it was triggered on, as that day's scheduled run would.
Lake: Variable `{LAKE.variable}` (else FLOWLAKE_LAKE, else the repository's sample lake).
"""

with DAG(
    dag_id="vpc_flow_logs_maintenance",
    description="Daily OPTIMIZE/VACUUM of the flowlake Delta tables and NAT gateway inventory refresh",
    doc_md=DOC,
    # Maintenance acts on whole tables, not on an interval of data: a trigger timetable is enough.
    schedule=CronTriggerTimetable("30 2 * * *", timezone="UTC"),
    **DAG_ARGUMENTS,
    tags=["flowlake", "maintenance", "spark", "delta"],
) as dag:
    ec2_inventory_in_use = ShortCircuitOperator(
        task_id="ec2_inventory_in_use",
        python_callable=reads_the_ec2_inventory,
        op_kwargs={"inventory_file": NAT_INVENTORY_FILE.template},
        execution_timeout=QUICK_TASK_TIMEOUT,
    )

    refresh_nat_inventory = FlowlakeJobOperator(
        task_id="refresh_nat_inventory",
        pool=DELTA_WRITERS_POOL,
        timeout=MAINTENANCE_TIMEOUT_MINUTES,
        command="nat-inventory",
        arguments=["--lake", LAKE.template],
        options={"--regions": NAT_REGIONS.template, "--endpoint-url": EC2_ENDPOINT.template},
        outlets=[NAT_GATEWAYS_ASSET],
    )

    retention = FlowlakeJobOperator(
        task_id="retention",
        pool=DELTA_WRITERS_POOL,
        timeout=MAINTENANCE_TIMEOUT_MINUTES,
        command="retention",
        arguments=["--lake", LAKE.template, "--as-of", RUN_DAY],
        options={
            "--days": RETENTION_DAYS.template,
            "--aggregate-days": AGGREGATE_RETENTION_DAYS.template,
            "--vacuum-hours": VACUUM_RETENTION_HOURS.template,
        },
    )

    sweep = FlowlakeJobOperator(
        task_id="sweep",
        pool=DELTA_WRITERS_POOL,
        timeout=MAINTENANCE_TIMEOUT_MINUTES,
        command="sweep",
        arguments=["--source", SOURCE.template, "--lake", LAKE.template, "--end", PREVIOUS_DAY_END],
        # The hours it re-aggregates get their NAT figures from the inventory the hourly runs use.
        options={"--days": SWEEP_DAYS.template, "--nat-inventory": NAT_INVENTORY_FILE.template},
        outlets=[*INGEST_ASSETS, *HOURLY_ASSETS],
    )

    compact = FlowlakeJobOperator(
        task_id="compact",
        pool=DELTA_WRITERS_POOL,
        timeout=MAINTENANCE_TIMEOUT_MINUTES,
        command="compact",
        arguments=["--lake", LAKE.template],
        options={"--retention-hours": VACUUM_RETENTION_HOURS.template},
    )

    capacity = FlowlakeJobOperator(
        task_id="capacity",
        pool=DELTA_WRITERS_POOL,
        timeout=MAINTENANCE_TIMEOUT_MINUTES,
        command="capacity",
        arguments=["--lake", LAKE.template],
        window={"start": SWEPT_DAYS_START, "end": PREVIOUS_DAY_END},
        outlets=[CAPACITY_ASSET],
    )

    ec2_inventory_in_use >> refresh_nat_inventory
    retention >> compact
    # The capacity figures include what the sweep found.
    sweep >> capacity

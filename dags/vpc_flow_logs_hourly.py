"""vpc_flow_logs_hourly: one run per UTC hour: wait for delivery, ingest, aggregate, validate."""

from __future__ import annotations

from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG, CronDataIntervalTimetable, task

from flowlake_airflow.assets import DQ_RESULTS_ASSET, HOURLY_ASSETS, INGEST_ASSETS
from flowlake_airflow.defaults import DAG_ARGUMENTS
from flowlake_airflow.settings import (
    DELIVERY_LAG_MINUTES,
    DELTA_WRITERS_POOL,
    HOUR_END,
    HOUR_START,
    LAKE,
    LOOKBACK_HOURS,
    LOOKBACK_START,
    NAT_INVENTORY_FILE,
    SOURCE,
)
from flowlake_airflow.spark import FlowlakeJobOperator
from flowlake_airflow.windows import aggregation_windows

DOC = f"""
### VPC flow logs, hourly

One run per UTC hour, its data interval that hour `[start, end)`.

1. **wait_for_delivery** waits, deferred (no worker slot held), until the hour's end
   plus the delivery lag (Variable `{DELIVERY_LAG_MINUTES.variable}`, minutes).
2. **ingest** reads the objects named in the hour and the lookback hours before it
   (Variable `{LOOKBACK_HOURS.variable}`), so late objects are picked up; ingestion
   replaces by object, so nothing is counted twice.
3. **hours_to_aggregate** lists the hours to rebuild: the ingested window's and every
   hour whose records the ingest changed (a record lands in the hour of its start).
4. **aggregate** rebuilds those hours of every hourly table, one mapped task per span of
   consecutive hours.
5. **validate** runs the data-quality suites on the hour; a critical failure fails the
   task at once (no retries: the verdict would not change) and alerts.

Source and lake: Variables `{SOURCE.variable}` and `{LAKE.variable}` (else FLOWLAKE_SOURCE,
FLOWLAKE_LAKE, else the repository's sample data). Spark: connection `spark_default`.
Every Delta writer runs in the pool `flowlake_delta_writers` (one slot), shared with the
maintenance DAG. Backfill (the DAG must be unpaused): `airflow backfill create --dag-id
vpc_flow_logs_hourly --from-date ... --to-date ...` (logical dates, both included: one run
per hour starting at each) or the UI's Trigger > Backfill dialog (tick "Unpause on trigger");
to redo hours that already ran, add `--reprocess-behavior completed` (the dialog's Reprocess
Behavior "All Runs").
"""

with DAG(
    dag_id="vpc_flow_logs_hourly",
    description="AWS VPC flow logs of one UTC hour into Delta: ingest, aggregate, validate",
    doc_md=DOC,
    # An interval timetable: a plain cron schedule gives a zero-width data interval in Airflow 3.
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    **DAG_ARGUMENTS,
    tags=["flowlake", "hourly", "spark", "delta"],
) as dag:
    wait_for_delivery = TimeDeltaSensor(
        task_id="wait_for_delivery",
        delta=DELIVERY_LAG_MINUTES.template,
        deferrable=True,
    )

    ingest = FlowlakeJobOperator(
        task_id="ingest",
        pool=DELTA_WRITERS_POOL,
        command="ingest",
        arguments=["--source", SOURCE.template, "--lake", LAKE.template],
        window={"start": LOOKBACK_START, "end": HOUR_END},
        outlets=INGEST_ASSETS,
    )

    hours_to_aggregate = task(task_id="hours_to_aggregate")(aggregation_windows)(ingest.output)

    aggregate = FlowlakeJobOperator.partial(
        task_id="aggregate",
        pool=DELTA_WRITERS_POOL,
        command="aggregate",
        arguments=["--lake", LAKE.template],
        options={"--nat-inventory": NAT_INVENTORY_FILE.template},
        outlets=HOURLY_ASSETS,
    ).expand(window=hours_to_aggregate)

    validate = FlowlakeJobOperator(
        task_id="validate",
        pool=DELTA_WRITERS_POOL,
        command="validate",
        # A rerun of this Airflow run replaces its results in dq_results; another run adds its own.
        arguments=["--lake", LAKE.template, "--run-id", "{{ run_id }}"],
        window={"start": HOUR_START, "end": HOUR_END},
        options={"--nat-inventory": NAT_INVENTORY_FILE.template},
        outlets=[DQ_RESULTS_ASSET],
    )

    wait_for_delivery >> ingest >> hours_to_aggregate >> aggregate >> validate

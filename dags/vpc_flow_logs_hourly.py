"""vpc_flow_logs_hourly: one run per UTC hour: wait for delivery, then ingest, aggregate and validate the hour."""

from __future__ import annotations

from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG, CronDataIntervalTimetable

from flowlake_airflow.assets import DQ_RESULTS_ASSET, HOURLY_ASSETS, INGEST_ASSETS
from flowlake_airflow.defaults import DAG_ARGUMENTS, DELIVERY_WAIT_TIMEOUT, minutes
from flowlake_airflow.settings import (
    CATCH_UP_FROM,
    DELIVERY_LAG_MINUTES,
    DELTA_WRITERS_POOL,
    HOUR_END,
    HOUR_START,
    HOURLY_TIMEOUT_MINUTES,
    LAKE,
    LOOKBACK_HOURS,
    NAT_INVENTORY_FILE,
    SOURCE,
)
from flowlake_airflow.spark import FlowlakeJobOperator

DOC = f"""
### VPC flow logs, hourly

One run per UTC hour, its data interval that hour `[start, end)`.

1. **wait_for_delivery** waits, deferred (no worker slot held), until the hour's end
   plus the delivery lag (Variable `{DELIVERY_LAG_MINUTES.variable}`, minutes); after
   {minutes(DELIVERY_WAIT_TIMEOUT)} minutes of waiting it fails (a triggerer down).
2. **process_hour** runs `flowlake hourly`, one Spark application (one JVM start):
   - ingests the objects named in the hour and in the lookback hours before it
     (Variable `{LOOKBACK_HOURS.variable}`), so late objects are picked up, and after an
     outage every hour since the last successful run (a week at most); ingestion reads
     only new or changed objects, so nothing is counted twice;
   - re-aggregates every hourly table for the hour and for every hour whose records the
     ingest changed (a record lands in the hour of its own start);
   - validates the hour with the data-quality suites, from the hour of the first corrupt object it
     read (one delivered late is validated, and alerted, once), or of the first hour caught up that
     no run validated (dq_results records them: one caught up is validated, and alerted, once, not
     by every run until one succeeds). A critical failure fails the task
     at once (no retries: the verdict would not change) and alerts; the tables are written.

   It runs {HOURLY_TIMEOUT_MINUTES.default} minutes at most (Variable `{HOURLY_TIMEOUT_MINUTES.variable}`,
   else FLOWLAKE_HOURLY_TIMEOUT_MINUTES): a job stuck longer (a cluster with no free cores, a hung S3 call)
   is killed, spark-submit and its driver, alerted at once and retried (alerted again if it fails for
   good), instead of holding the Delta writers' slot and every later run. The first run after a long outage ingests every hour since the last
   success too (a week at most): raise the Variable if it needs longer.

A run triggered without a logical date (the Trigger form with the date cleared, `airflow dags trigger
vpc_flow_logs_hourly` without `-l`, the REST API with `logical_date: null`) has no data interval: it
processes the last whole UTC hour before it was triggered (at 10:17, 09:00 to 10:00: the interval Airflow
gives a run triggered with a logical date of 10:17), waits for delivery counted from when it was
triggered, and catches up nothing beyond the lookback (the scheduled runs still catch up from theirs).

Source and lake: Variables `{SOURCE.variable}` and `{LAKE.variable}` (else FLOWLAKE_SOURCE,
FLOWLAKE_LAKE, else the repository's sample data). Spark: connection `spark_default` (local mode,
or a cluster master: the job's code is shipped with it). Every Delta writer runs in the pool
`flowlake_delta_writers` (one slot), shared with the maintenance DAG. Backfill (the DAG must be
unpaused): `airflow backfill create --dag-id vpc_flow_logs_hourly --from-date ... --to-date ...`
(logical dates, both included: one run per hour starting at each) or the UI's Trigger > Backfill
dialog (tick "Unpause on trigger"); to redo hours that already ran, add
`--reprocess-behavior completed` (the dialog's Reprocess Behavior "All Runs").
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
        timeout=DELIVERY_WAIT_TIMEOUT,
        execution_timeout=DELIVERY_WAIT_TIMEOUT,
    )

    process_hour = FlowlakeJobOperator(
        task_id="process_hour",
        pool=DELTA_WRITERS_POOL,
        command="hourly",
        timeout=HOURLY_TIMEOUT_MINUTES,
        # A rerun of this Airflow run replaces its results in dq_results; another run adds its own.
        arguments=["--source", SOURCE.template, "--lake", LAKE.template, "--run-id", "{{ run_id }}"],
        window={"start": HOUR_START, "end": HOUR_END},
        options={
            "--lookback-hours": LOOKBACK_HOURS.template,
            # After an outage (catchup is off), the hours since the last successful run are ingested too.
            "--catch-up-from": CATCH_UP_FROM,
            "--nat-inventory": NAT_INVENTORY_FILE.template,
        },
        outlets=[*INGEST_ASSETS, *HOURLY_ASSETS, DQ_RESULTS_ASSET],
    )

    wait_for_delivery >> process_hour

"""What every flowlake DAG and task gets: an owner, retries with exponential backoff, the failure and timeout
alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowlake_airflow.alerting import alert_task_failure, alert_timed_out_try

DEFAULT_ARGS = {
    "owner": "flowlake",
    "retries": 3,
    # 2, 4, 8 minutes: long enough for a throttled S3 or a restarted cluster to come back.
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    # Called once the task has failed for good (not on each retry).
    "on_failure_callback": alert_task_failure,
    # Called on each retry; alerts only a try killed for running past its timeout.
    "on_retry_callback": alert_timed_out_try,
}

# The execution_timeout of a task that runs no Spark job (a check): it takes seconds. Each Spark job's is a setting
# (flowlake_airflow.settings: HOURLY_TIMEOUT_MINUTES, MAINTENANCE_TIMEOUT_MINUTES).
QUICK_TASK_TIMEOUT = timedelta(minutes=10)
# How long the deferred wait for an hour's delivery may last, from when it starts: the hour's end plus the delivery
# lag (15 minutes, its Variable) is long past by then unless the triggerer is down. A deferred task is bounded by
# its sensor's timeout (the trigger's), not by execution_timeout: both get it. Keep the lag well under it.
DELIVERY_WAIT_TIMEOUT = timedelta(hours=2)


def minutes(duration: timedelta) -> int:
    """A timeout as the DAGs' docs give it."""
    return int(duration.total_seconds() // 60)


DAG_ARGUMENTS = {
    "start_date": datetime(2026, 1, 1, tzinfo=UTC),
    # Unpausing runs the latest interval only; earlier ones are a deliberate backfill.
    "catchup": False,
    # Runs of one DAG write the same tables; the pool serializes the writes, this the runs.
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
}

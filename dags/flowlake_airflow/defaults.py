"""What every flowlake DAG and task gets: an owner, retries with exponential backoff, the failure alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowlake_airflow.alerting import alert_task_failure

DEFAULT_ARGS = {
    "owner": "flowlake",
    "retries": 3,
    # 2, 4, 8 minutes: long enough for a throttled S3 or a restarted cluster to come back.
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    # Called once the task has failed for good (not on each retry).
    "on_failure_callback": alert_task_failure,
}

DAG_ARGUMENTS = {
    "start_date": datetime(2026, 1, 1, tzinfo=UTC),
    # Unpausing runs the latest interval only; earlier ones are a deliberate backfill.
    "catchup": False,
    # Runs of one DAG write the same tables; the pool serializes the writes, this the runs.
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
}

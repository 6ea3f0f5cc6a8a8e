"""Arguments every flowlake task gets: an owner, retries with exponential backoff, the failure alert."""

from __future__ import annotations

from datetime import timedelta

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

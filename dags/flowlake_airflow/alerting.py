"""A task that failed for good, or whose try ran past its timeout, alerts the same targets, the same way, as
`flowlake validate` does."""

from __future__ import annotations

from datetime import UTC

from airflow.sdk.exceptions import AirflowTaskTimeout

from flowlake.alerts import send_alert

FAILED = "failed"
TIMED_OUT = "timed out, killed and retried"


def failure_alert(context, what: str = FAILED) -> tuple[str, list[str]]:
    """Subject and lines: which task of which run and which try failed, for which window, and where its log is.

    Not the error's text: a failed spark-submit's carries the tail of the job's output, which
    may hold whatever the job printed (a credential in a stack trace, rows of data). That
    stays in the task's log, behind Airflow's access control; the chat gets the way there.
    """
    ti = context["ti"]
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    window = (
        f" for {start.astimezone(UTC):%Y-%m-%dT%H:%MZ} to {end.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
        if start and end
        else ""
    )
    # An asset-triggered run has no logical date.
    logical_date = context.get("logical_date")
    logical = f"{logical_date.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}" if logical_date else "none"
    error = context.get("exception")
    subject = f"flowlake task {what}: {ti.dag_id}.{ti.task_id}{window}"
    return subject, [
        f"DAG {ti.dag_id}, task {ti.task_id}, logical date {logical}, try {ti.try_number}",
        f"run {context['run_id']}",
        f"error: {type(error).__name__ if error else 'none given'}; what it says is in the log",
        f"log: {ti.log_url}",
    ]


def alert_task_failure(context) -> None:
    send_alert(*failure_alert(context))


def alert_timed_out_try(context) -> None:
    """A try killed for running past its timeout alerts at once, before its retries: a stuck job (a cluster
    with no free cores, a hung S3 call) holds the Delta writers' slot, and its retries, each as long, would
    keep on-call from knowing for hours. Other failed tries are retried without a word."""
    if isinstance(context.get("exception"), AirflowTaskTimeout):
        send_alert(*failure_alert(context, TIMED_OUT))

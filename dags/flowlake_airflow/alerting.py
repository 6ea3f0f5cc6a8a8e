"""A task that failed for good, or whose try ran past its timeout, alerts the same targets, the same way, as
`flowlake validate` does."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk.exceptions import AirflowTaskTimeout

from flowlake.alerts import send_alert

FAILED = "failed"
TIMED_OUT = "timed out, killed and retried"


def processed_window(context) -> tuple[datetime, datetime] | None:
    """The window the task processed: a flowlake job's own (its rendered --start and --end), else the run's data
    interval when it has a width. A maintenance run's data interval is the instant it was due (a trigger
    timetable), not what its tasks processed; a run without a logical date has none, while its hourly task
    processes the hour before it."""
    window = getattr(context.get("task"), "window", None)
    try:
        start, end = (datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"]))
    except (TypeError, KeyError, ValueError):  # no window of its own, or not rendered (a task failing to render)
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
    return (start, end) if start and end and start < end else None


def failure_alert(context, what: str = FAILED) -> tuple[str, list[str]]:
    """Subject and lines: which task of which run and which try failed, for which window, and where its log is.

    Not the error's text: a failed spark-submit's carries the tail of the job's output, which
    may hold whatever the job printed (a credential in a stack trace, rows of data). That
    stays in the task's log, behind Airflow's access control; the chat gets the way there.
    """
    ti = context["ti"]
    processed = processed_window(context)
    window = (
        f" for {processed[0].astimezone(UTC):%Y-%m-%dT%H:%MZ} to {processed[1].astimezone(UTC):%Y-%m-%dT%H:%MZ}"
        if processed
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

"""A task that failed for good alerts the same targets, the same way, as `flowlake validate` does."""

from __future__ import annotations

from datetime import UTC

from flowlake.alerts import send_alert


def failure_alert(context) -> tuple[str, list[str]]:
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
    subject = f"flowlake task failed: {ti.dag_id}.{ti.task_id}{window}"
    return subject, [
        f"DAG {ti.dag_id}, task {ti.task_id}, logical date {logical}, try {ti.try_number}",
        f"run {context['run_id']}",
        f"error: {type(error).__name__ if error else 'none given'}; what it says is in the log",
        f"log: {ti.log_url}",
    ]


def alert_task_failure(context) -> None:
    send_alert(*failure_alert(context))

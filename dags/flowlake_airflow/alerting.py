"""A task that failed for good alerts the same targets, the same way, as `flowlake validate` does."""

from __future__ import annotations

from datetime import UTC

from flowlake.alerts import send_alert


def failure_alert(context) -> tuple[str, list[str]]:
    """Subject and lines: which task of which run, for which window, why, and where its log is."""
    ti = context["ti"]
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    window = (
        f" for {start.astimezone(UTC):%Y-%m-%dT%H:%MZ} to {end.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
        if start and end
        else ""
    )
    subject = f"flowlake task failed: {ti.dag_id}.{ti.task_id}{window}"
    return subject, [
        f"run {context['run_id']}, try {ti.try_number}",
        f"error: {context.get('exception')}",
        f"log: {ti.log_url}",
    ]


def alert_task_failure(context) -> None:
    send_alert(*failure_alert(context))

"""Task failures alert the same targets, the same way, as `flowlake validate` does."""

from __future__ import annotations


def alert_task_failure(context) -> None:
    from jobs.alerts import send_alert

    ti = context["ti"]
    send_alert(
        f"flowlake: {ti.dag_id}.{ti.task_id} failed",
        f"window [{context['data_interval_start']}, {context['data_interval_end']}): {context.get('exception')}\n{ti.log_url}",
    )

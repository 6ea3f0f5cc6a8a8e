"""Which hours an hourly run re-aggregates, from what its ingest reported."""

from __future__ import annotations


def aggregation_windows(ingest_summary: dict) -> list[dict[str, str]]:
    """The ingested window's hours plus every hour whose records it changed, as whole-hour windows.

    A record lands in the hour of its own start, which can be before the window
    (a record starting 10:58 in an object named 11:05 belongs to hour 10), and a
    late object rewrites an hour that was already aggregated: ingest reports them
    as hours_touched. The same rule as `flowlake run` (flowlake.run.aggregate_windows).
    """
    if ingest_summary is None:
        raise ValueError(
            "ingest printed no summary: spark-submit must run the driver in client mode "
            "(the spark_default connection's deploy mode) so that its output reaches the task"
        )
    # Imported when the task runs: flowlake.run imports pyspark.
    from flowlake.run import aggregate_windows
    from flowlake.window import Window, parse_utc

    ingested = Window(parse_utc(ingest_summary["window_start"]), parse_utc(ingest_summary["window_end"]))
    return [
        {"start": window.start.isoformat(), "end": window.end.isoformat()}
        for window in aggregate_windows(ingested, ingest_summary["hours_touched"])
    ]

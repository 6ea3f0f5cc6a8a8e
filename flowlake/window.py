"""The half-open UTC window every job reads and writes, and what every job's command line shares.

Jobs get their window as arguments (never "latest", never the clock), so a
run of a window gives the same tables whenever and however often it runs.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T


def parse_utc(text: str) -> datetime:
    """ISO-8601 instant, naive means UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_instant(moment: datetime) -> datetime:
    """moment in UTC. A naive datetime is refused: Python and Spark would read it in the host's own zone."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: give flowlake aware (UTC) datetimes")
    return moment.astimezone(UTC)


def timestamp_literal(moment: datetime) -> Column:
    """A TIMESTAMP literal of an aware datetime, whatever the zone of the host or the session."""
    return F.lit(utc_instant(moment)).cast("timestamp")


ISO_INSTANT = "yyyy-MM-dd'T'HH:mm:ssXXX"
HOUR = timedelta(hours=1)


def hour_of(instant: datetime) -> datetime:
    """The start of the hour the instant falls in."""
    return instant.replace(minute=0, second=0, microsecond=0)


def timestamps_as_text(df: DataFrame, pattern: str = ISO_INSTANT) -> DataFrame:
    """df with each TIMESTAMP column formatted by Spark, with its offset ("Z" in flowlake's UTC session).

    What is collected into Python must be text: PySpark turns a TIMESTAMP into a
    naive datetime in the host's own zone, which would name another hour on a
    host that is not on UTC.
    """
    return df.select(
        [
            F.date_format(F.col(f"`{field.name}`"), pattern).alias(field.name)
            if isinstance(field.dataType, T.TimestampType)
            else F.col(f"`{field.name}`")
            for field in df.schema.fields
        ]
    )


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC; aware datetimes in any zone are converted, naive ones refused."""

    start: datetime
    end: datetime

    def __post_init__(self):
        object.__setattr__(self, "start", utc_instant(self.start))
        object.__setattr__(self, "end", utc_instant(self.end))
        if self.start >= self.end:
            raise ValueError(f"window start {self.start} is not before its end {self.end}")

    def predicate(self, column: str) -> str:
        # To the microsecond, as the window is: cut to the second, it would name other objects than the listing's
        # (a run's rows outside the slice it replaces, read again and written once more by every rerun).
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        return f"{column} >= TIMESTAMP '{self.start.strftime(fmt)}' AND {column} < TIMESTAMP '{self.end.strftime(fmt)}'"


def slice_predicate(window: Window, time_column: str) -> str:
    """The window on time_column, plus the same bound on event_date so that Delta prunes partitions."""
    last_date = (window.end - timedelta(microseconds=1)).date()
    return (
        f"event_date >= DATE '{window.start.date()}' AND event_date <= DATE '{last_date}' "
        f"AND {window.predicate(time_column)}"
    )


def require_whole_hours(window: Window) -> None:
    for name, instant in (("start", window.start), ("end", window.end)):
        if (instant.minute, instant.second, instant.microsecond) != (0, 0, 0):
            raise ValueError(f"this job's windows are whole UTC hours: {name} {instant.isoformat()} is not on the hour")


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", required=True, type=parse_utc, help="window start, UTC, inclusive (ISO 8601)")
    parser.add_argument("--end", required=True, type=parse_utc, help="window end, UTC, exclusive (ISO 8601)")


def job_arguments(
    parser: argparse.ArgumentParser, argv: list[str] | None, whole_hours: bool = False
) -> tuple[argparse.Namespace, Window]:
    """A windowed job's arguments and window, with logging set up: the start of every such main().

    A bad window ends the command with a usage error.
    """
    args = parser.parse_args(argv)
    try:
        window = Window(args.start, args.end)
        if whole_hours:
            require_whole_hours(window)
    except ValueError as error:
        parser.error(str(error))
    configure_logging()
    return args, window


def name_value(text: str) -> tuple[str, str]:
    """A NAME=VALUE option (a --param of validate's thresholds or of a named query), as argparse's type."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value.strip()


def configure_logging() -> None:
    """Progress lines on stderr for a job run from the command line or spark-submit."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Libraries that log every store write or socket close at INFO: noise, and
    # py4j's closing message can come after the streams are gone at exit.
    for chatty in ("great_expectations", "py4j"):
        logging.getLogger(chatty).setLevel(logging.WARNING)

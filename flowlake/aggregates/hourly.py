"""What the hourly tables share: the hour of a record, which records are traffic, the schema contract."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from flowlake.contracts import conform
from flowlake.rules import is_vpc_traffic

# Every hourly table is keyed by hour first; event_date (the date of the hour,
# equal to flow_logs.event_date) is carried along as the partition column.
HOUR_KEYS = ("hour", "event_date")


def with_hour(flow_logs: DataFrame) -> DataFrame:
    return flow_logs.withColumn("hour", F.date_trunc("hour", F.col("event_time")))


def hourly_traffic(flow_logs: DataFrame) -> DataFrame:
    """The records of traffic through VPC interfaces, with their hour."""
    return with_hour(flow_logs.where(is_vpc_traffic()))


def hourly_totals(flow_logs: DataFrame, table: str, keys: tuple[str, ...], *metrics: Column) -> DataFrame:
    """Groups by hour and keys, and returns the table's columns in its documented order and types."""
    return conform(with_hour(flow_logs).groupBy(*HOUR_KEYS, *keys).agg(*metrics), table)


def records() -> Column:
    return F.count(F.lit(1)).alias("records")

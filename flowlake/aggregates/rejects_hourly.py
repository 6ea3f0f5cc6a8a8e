"""rejects_hourly: rejected traffic per hour, interface, destination port, protocol and reject reason."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import hourly_totals, records
from flowlake.rules import is_vpc_traffic

TABLE = "rejects_hourly"
KEYS = ("account_id", "region", "vpc_id", "interface_id", "dstport", "protocol", "reject_reason")


def transform(flow_logs: DataFrame, **options) -> DataFrame:
    return hourly_totals(
        flow_logs.where(is_vpc_traffic() & (F.col("action") == "REJECT")),
        TABLE,
        KEYS,
        records(),
        F.sum("packets").alias("packets"),
        F.sum("bytes").alias("bytes"),
        F.count_distinct("srcaddr").alias("distinct_sources"),
    )

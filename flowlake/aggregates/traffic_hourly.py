"""traffic_hourly: records, packets and bytes of traffic per hour, interface, action, protocol, direction."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import hourly_totals, records
from flowlake.rules import is_vpc_traffic

TABLE = "traffic_hourly"
KEYS = ("account_id", "region", "vpc_id", "interface_id", "action", "protocol", "flow_direction")


def transform(flow_logs: DataFrame, **options) -> DataFrame:
    return hourly_totals(
        flow_logs.where(is_vpc_traffic()),
        TABLE,
        KEYS,
        records(),
        F.sum("packets").alias("packets"),
        F.sum("bytes").alias("bytes"),
    )

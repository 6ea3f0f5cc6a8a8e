"""port_traffic_hourly: traffic towards each service port per hour, interface and protocol.

A record counts for its destination port when that is the service side of the conversation
(rules.is_service_side: requests and probes, not the replies to ephemeral ports). These are the
hourly figures security_findings compares an hour with to find traffic spikes.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import hourly_totals, records
from flowlake.rules import is_service_side, is_vpc_traffic

TABLE = "port_traffic_hourly"
KEYS = ("account_id", "region", "vpc_id", "interface_id", "dstport", "protocol")


def transform(flow_logs: DataFrame, **options) -> DataFrame:
    return hourly_totals(
        flow_logs.where(is_vpc_traffic() & is_service_side()),
        TABLE,
        KEYS,
        records(),
        F.sum("packets").alias("packets"),
        F.sum("bytes").alias("bytes"),
        F.count(F.when(F.col("action") == "REJECT", 1)).alias("rejected_records"),
        F.count_distinct("srcaddr").alias("distinct_sources"),
    )

"""log_status_hourly: every record per hour, interface and log status (OK, NODATA, SKIPDATA)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import hourly_totals, records
from flowlake.rules import is_vpc_record

TABLE = "log_status_hourly"
KEYS = ("account_id", "region", "interface_id", "log_status")


def transform(flow_logs: DataFrame, **options) -> DataFrame:
    return hourly_totals(
        flow_logs.where(is_vpc_record()),
        TABLE,
        KEYS,
        records(),
        F.sum(F.col("end") - F.col("start")).alias("window_seconds"),
    )

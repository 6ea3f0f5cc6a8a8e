"""log_status_hourly: every record per hour, interface and log status (OK, NODATA, SKIPDATA).

Transit gateway records too (no interface: interface_id NULL): their SKIPDATA is lost data as well.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import hourly_totals, records

TABLE = "log_status_hourly"
KEYS = ("account_id", "region", "interface_id", "log_status")


def transform(flow_logs: DataFrame, **options) -> DataFrame:
    return hourly_totals(
        flow_logs,
        TABLE,
        KEYS,
        records(),
        F.sum(F.col("end") - F.col("start")).alias("window_seconds"),
    )

"""top_talkers_hourly: per hour, account and region, the top sources and destinations by bytes.

Each (hour, account, region, direction) has up to `top_talkers` ranked rows and
one row (rank and address NULL) for everyone else, so the rows of a direction
add up to the hour's traffic: analysts get "top N + others" without a second query.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import HOUR_KEYS, with_hour
from flowlake.contracts import conform
from flowlake.rules import is_traffic

TABLE = "top_talkers_hourly"
TOP_TALKERS = 10
GROUP = (*HOUR_KEYS, "account_id", "region", "direction")
ADDRESS_OF_DIRECTION = {"source": "srcaddr", "destination": "dstaddr"}


def _totals():
    return (
        F.sum("bytes").alias("bytes"),
        F.sum("packets").alias("packets"),
        F.sum("records").alias("records"),
    )


def transform(flow_logs: DataFrame, top_talkers: int = TOP_TALKERS, **options) -> DataFrame:
    traffic = with_hour(flow_logs.where(is_traffic()))
    sides = [
        traffic.select(
            *HOUR_KEYS,
            "account_id",
            "region",
            F.lit(direction).alias("direction"),
            F.col(column).alias("address"),
            "bytes",
            "packets",
            F.lit(1).alias("records"),
        )
        for direction, column in ADDRESS_OF_DIRECTION.items()
    ]
    per_address = sides[0].unionByName(sides[1]).groupBy(*GROUP, "address").agg(*_totals())
    ranking = Window.partitionBy(*GROUP).orderBy(F.desc_nulls_last("bytes"), F.asc_nulls_last("address"))
    ranked = per_address.withColumn("rank", F.row_number().over(ranking))
    top = ranked.where(F.col("rank") <= top_talkers)
    others = (
        ranked.where(F.col("rank") > top_talkers)
        .groupBy(*GROUP)
        .agg(*_totals())
        .withColumn("rank", F.lit(None).cast("int"))
        .withColumn("address", F.lit(None).cast("string"))
    )
    return conform(top.unionByName(others), TABLE)

"""transit_gateway_hourly: traffic and lost packets per hour, transit gateway, attachment and pair attachment.

From the records of transit gateway flow logs (resource-type TransitGateway or
TransitGatewayAttachment: no interface, no action), whose packets-lost-* fields say how many
packets the gateway dropped and why.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import HOUR_KEYS, records, with_hour
from flowlake.contracts import conform
from flowlake.rules import is_transit_gateway_traffic

TABLE = "transit_gateway_hourly"
KEYS = ("account_id", "region", "tgw_id", "tgw_attachment_id", "tgw_pair_attachment_id")
LOSS_REASONS = ("no_route", "blackhole", "mtu_exceeded", "ttl_expired")


def lost(reason: str):
    return F.coalesce(F.col(f"packets_lost_{reason}"), F.lit(0))


def transform(flow_logs: DataFrame, **options) -> DataFrame:
    lost_total = sum((lost(reason) for reason in LOSS_REASONS), F.lit(0))
    totals = (
        with_hour(flow_logs.where(is_transit_gateway_traffic()).withColumn("packets_lost", lost_total))
        .groupBy(*HOUR_KEYS, *KEYS)
        .agg(
            records(),
            F.coalesce(F.sum("packets"), F.lit(0)).alias("packets"),
            F.coalesce(F.sum("bytes"), F.lit(0)).alias("bytes"),
            *[F.sum(lost(reason)).alias(f"packets_lost_{reason}") for reason in LOSS_REASONS],
            F.sum("packets_lost").alias("packets_lost"),
        )
    )
    # The share of the packets that reached the gateway and were dropped: lost / (passed on + lost).
    offered = F.col("packets") + F.col("packets_lost")
    return conform(totals.withColumn("loss_share", F.when(offered > 0, F.col("packets_lost") / offered)), TABLE)

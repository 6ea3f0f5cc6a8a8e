"""top_talkers_hourly: per hour, account and region, the top sources and destinations by bytes.

Each (hour, account, region, direction) has up to `top_talkers` ranked rows and
one row (rank and address NULL) for everyone else, so the rows of a direction
add up to the hour's traffic: analysts get "top N + others" without a second query.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import HOUR_KEYS, hourly_traffic, records
from flowlake.contracts import conform

TABLE = "top_talkers_hourly"
TOP_TALKERS = 10
GROUP = (*HOUR_KEYS, "account_id", "region")
ADDRESS_OF_DIRECTION = {"source": "srcaddr", "destination": "dstaddr"}
# A group's number: its hour's epoch seconds times this, plus its rank among the hour's accounts and regions.
# Hours are 3,600 seconds apart, so two groups share a number only past 3,600 times this many in one hour.
_NUMBERS_PER_HOUR = 1 << 20


def numbered_groups(flow_logs: DataFrame) -> DataFrame:
    """Each (hour, account, region) of the traffic: its totals, and a number that stands for it.

    Ranked within a number rather than within the four columns, a group's addresses are sorted comparing
    numbers: sorted by the hour, date, account and region first (three strings, equal within a group), the
    5M-record random traffic's 10M addresses took 11 of their ranking's 21 CPU-seconds to sort.
    """
    in_hour = Window.partitionBy("hour").orderBy("event_date", "account_id", "region")
    return (
        hourly_traffic(flow_logs)
        .groupBy(*GROUP)
        .agg(F.sum("bytes").alias("bytes"), F.sum("packets").alias("packets"), records())
        # (An hour of NULL, were there one, gets a number no hour has: hours are multiples of 3600 seconds.)
        .withColumn(
            "group", F.coalesce(F.unix_seconds("hour"), F.lit(-1)) * _NUMBERS_PER_HOUR + F.dense_rank().over(in_hour)
        )
    )


def intermediates(flow_logs: DataFrame, **options) -> dict[str, DataFrame]:
    """What `flowlake aggregate` computes and counts before the transform is planned: the groups, few, so that
    Spark broadcasts them to the records instead of shuffling every record to meet them."""
    return {"talker_groups": numbered_groups(flow_logs)}


def transform(
    flow_logs: DataFrame, top_talkers: int = TOP_TALKERS, talker_groups: DataFrame | None = None, **options
) -> DataFrame:
    """talker_groups: the window's, from intermediates (None: computed from flow_logs)."""
    groups = talker_groups if talker_groups is not None else numbered_groups(flow_logs)
    numbers = groups.select(*GROUP, "group")
    same_group = [F.col(f"record.{k}").eqNullSafe(F.col(f"group.{k}")) for k in GROUP]
    numbered = (
        hourly_traffic(flow_logs)
        .alias("record")
        .join(numbers.alias("group"), on=same_group, how="inner")
        .select("group.group", "record.srcaddr", "record.dstaddr", "record.bytes", "record.packets")
    )
    # Each direction aggregated on its own, its index added to the few rows that come out: one aggregation
    # of both directions' rows keyed by direction too took 30% longer (5M records: 4.5-5.7 s against
    # 3.3-4.1 s on the realistic day, 39.5-42.8 s against 27.5-28.2 s on random traffic).
    per_address = [
        numbered.groupBy("group", F.col(column).alias("address"))
        .agg(F.sum("bytes").alias("bytes"), F.sum("packets").alias("packets"), records())
        .select(
            "group",
            F.lit(index).alias("direction"),
            "address",
            "bytes",
            "packets",
            "records",
            F.lit(False).alias("is_total"),
        )
        for index, column in enumerate(ADDRESS_OF_DIRECTION.values())
    ]
    # Every record has one source and one destination: a group's total is the same for both directions,
    # summed once over the records rather than over twice as many address rows. Ranked first, it is
    # kept with ranks up to N + 1 while Spark sorts, and one pass over those few rows turns it into
    # "everyone else".
    group_totals = groups.select(
        "group",
        F.explode(F.array(*[F.lit(index) for index in range(len(ADDRESS_OF_DIRECTION))])).alias("direction"),
        F.lit(None).cast("string").alias("address"),
        "bytes",
        "packets",
        "records",
        F.lit(True).alias("is_total"),
    )
    candidates = per_address[0].unionByName(per_address[1]).unionByName(group_totals)
    ranking = Window.partitionBy("group", "direction").orderBy(
        F.desc("is_total"), F.desc_nulls_last("bytes"), F.asc_nulls_last("address")
    )
    top = candidates.withColumn("position", F.row_number().over(ranking)).where(F.col("position") <= top_talkers + 1)
    group = Window.partitionBy("group", "direction")
    kept = {c: F.sum(F.when(~F.col("is_total"), F.col(c))).over(group) for c in ("bytes", "packets", "records")}
    direction_names = F.create_map(
        *[item for index, name in enumerate(ADDRESS_OF_DIRECTION) for item in (F.lit(index), F.lit(name))]
    )
    rows = top.select(
        "group",
        F.element_at(direction_names, F.col("direction")).alias("direction"),
        F.when(~F.col("is_total"), F.col("address")).alias("address"),
        F.when(~F.col("is_total"), F.col("position") - 1).alias("rank"),
        *[
            F.when(F.col("is_total"), F.col(c) - F.coalesce(kept[c], F.lit(0))).otherwise(F.col(c)).alias(c)
            for c in ("bytes", "packets", "records")
        ],
    ).join(numbers, "group", how="inner")
    return conform(rows.where(F.col("records") > 0), TABLE)

"""nat_gateway_hourly: the bytes entering each NAT gateway per hour, by side, and the AWS services behind them.

A record enters the gateway when it is on the gateway's interface and addressed
to the gateway's private IP. In the AWS example of one conversation (instance
10.0.1.5 behind gateway 10.0.0.220 talking to 203.0.113.5) two of the four
records do: 10.0.1.5 -> 10.0.0.220 from the source side and
203.0.113.5 -> 10.0.0.220 from the destination side; the other two leave it.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from flowlake.aggregates.hourly import HOUR_KEYS, conform, records, with_hour
from flowlake.contracts import table_schema
from flowlake.rules import is_vpc_traffic

TABLE = "nat_gateway_hourly"
KEYS = ("account_id", "region", "nat_gateway_id", "interface_id")
DEFAULT_PRICE_PER_GB = 0.045
TOP_SERVICES = 5

# Sources in these blocks are inside, whatever the VPC's CIDR: RFC 1918 and
# the shared address space of RFC 6598. A record addressed to the gateway's
# private IPv4 address has an IPv4 source, so no IPv6 block is needed.
PRIVATE_IPV4_BLOCKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
_DOTTED_QUAD = r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})"
IPV4_ADDRESS = f"^{_DOTTED_QUAD}$"
IPV4_CIDR = f"^{_DOTTED_QUAD}/([0-9]{{1,2}})$"


def _dotted_quad_number(text: Column, pattern: str) -> Column:
    """The number of the dotted quad in pattern's first four groups; NULL when text does not match."""
    return sum(F.regexp_extract(text, pattern, group).try_cast("bigint") * 256 ** (4 - group) for group in range(1, 5))


def ipv4_number(address: Column) -> Column:
    return _dotted_quad_number(address, IPV4_ADDRESS)


def ipv4_range(cidr: Column) -> Column:
    """struct(low, high): the first and last address numbers of an IPv4 CIDR block; NULLs for anything else."""
    network = _dotted_quad_number(cidr, IPV4_CIDR)
    size = F.pow(F.lit(2), 32 - F.regexp_extract(cidr, IPV4_CIDR, 5).try_cast("int")).cast("bigint")
    low = network - F.pmod(network, size)
    return F.struct(low.alias("low"), (low + size - 1).alias("high"))


def _inside_ranges() -> Column:
    blocks = F.concat(
        F.array(*[F.lit(block) for block in PRIVATE_IPV4_BLOCKS]),
        F.coalesce(F.col("vpc_cidr_blocks"), F.array().cast("array<string>")),
    )
    return F.transform(blocks, ipv4_range)


def _side_sum(column: str, from_source: bool) -> Column:
    on_side = F.col("from_source") if from_source else ~F.col("from_source")
    # A product, not a CASE: NULL stays NULL where the format has no packets
    # or bytes, and a side without records sums to 0.
    return F.sum(F.col(column) * on_side.cast("bigint"))


def transform(
    flow_logs: DataFrame,
    nat_inventory: DataFrame | None = None,
    nat_price_per_gb: float = DEFAULT_PRICE_PER_GB,
    **options,
) -> DataFrame:
    """nat_inventory: nat_gateways rows, one per (interface_id, private_ip); without it the table has no rows."""
    if nat_inventory is None:
        return flow_logs.sparkSession.createDataFrame([], table_schema(TABLE).struct())
    # Ranges are computed once per gateway address, not once per record.
    addresses = nat_inventory.select(
        F.col("interface_id").alias("gateway_interface_id"),
        "private_ip",
        "nat_gateway_id",
        _inside_ranges().alias("inside_ranges"),
    )
    entering = flow_logs.where(is_vpc_traffic()).join(
        addresses,
        on=(F.col("interface_id") == F.col("gateway_interface_id")) & (F.col("dstaddr") == F.col("private_ip")),
        how="inner",
    )
    # The source's number is computed once per record: inside the lambda it would be computed twice per range.
    source = F.col("source_number")
    from_source = F.coalesce(F.exists("inside_ranges", lambda r: source.between(r.low, r.high)), F.lit(False))
    classified = with_hour(
        entering.withColumn("source_number", ipv4_number(F.col("srcaddr")))
        .withColumn("from_source", from_source)
        .withColumn(
            "far_service",
            F.when(F.col("from_source"), F.col("pkt_dst_aws_service")).otherwise(F.col("pkt_src_aws_service")),
        )
    )
    # Two passes instead of a join back: per far service first (for the
    # ranking), then per gateway; distinct sources stay exact through sets.
    by_service = classified.groupBy(*HOUR_KEYS, *KEYS, "far_service").agg(
        _side_sum("bytes", True).alias("bytes_in_from_source"),
        _side_sum("bytes", False).alias("bytes_in_from_destination"),
        _side_sum("packets", True).alias("packets_in_from_source"),
        _side_sum("packets", False).alias("packets_in_from_destination"),
        records(),
        F.collect_set("srcaddr").alias("sources"),
    )
    service_bytes = F.coalesce(F.col("bytes_in_from_source") + F.col("bytes_in_from_destination"), F.lit(0))
    # Ascending on (-bytes, name): most bytes first, ties by service name.
    ranked_services = F.array_sort(
        F.collect_list(
            F.when(
                F.col("far_service").isNotNull(),
                F.struct((-service_bytes).alias("negative_bytes"), F.col("far_service").alias("service")),
            )
        )
    )
    per_gateway = by_service.groupBy(*HOUR_KEYS, *KEYS).agg(
        *[
            F.sum(column).alias(column)
            for column in (
                "bytes_in_from_source",
                "bytes_in_from_destination",
                "packets_in_from_source",
                "packets_in_from_destination",
                "records",
            )
        ],
        F.size(F.array_distinct(F.flatten(F.collect_list("sources")))).alias("distinct_sources"),
        F.transform(F.slice(ranked_services, 1, TOP_SERVICES), lambda s: s.service).alias(
            "top_destination_aws_services"
        ),
    )
    processed_bytes = F.col("bytes_in_from_source") + F.col("bytes_in_from_destination")
    return conform(
        per_gateway.withColumn("estimated_cost_usd", processed_bytes / 1e9 * F.lit(float(nat_price_per_gb))),
        TABLE,
    )

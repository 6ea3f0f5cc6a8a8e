"""NAT gateway inventory: which network interfaces and private IPs belong to NAT gateways.

Flow logs do not say which interfaces are NAT gateways; the EC2 API does.

    flowlake nat-inventory --lake LAKE [--regions us-east-1,eu-west-1] [--endpoint-url URL]

builds the nat_gateways table from DescribeNatGateways (DescribeNetworkInterfaces
for the interfaces' owner, DescribeVpcs for the VPCs' CIDR blocks) with the
standard AWS credential chain. `flowlake aggregate` reads the inventory from
--nat-inventory FILE when given, else from the nat_gateways table: a FILE is a
CSV with a header line or a JSON array of objects, with columns of the
nat_gateways table; nat_gateway_id, interface_id and private_ip are required,
the others optional (vpc_cidr_blocks: space-separated in CSV, an array in JSON).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake.contracts import conform, table_schema
from flowlake.lake import table_exists, table_path, write_table_slice
from flowlake.layout import normalize_uri
from flowlake.window import configure_logging, timestamp_literal

log = logging.getLogger("flowlake.nat_inventory")

TABLE = "nat_gateways"
REQUIRED_COLUMNS = ("nat_gateway_id", "interface_id", "private_ip")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
# Columns from DescribeNetworkInterfaces and DescribeVpcs, not from the gateway itself.
DESCRIBED_ELSEWHERE = ("account_id", "vpc_cidr_blocks")


@dataclass(frozen=True)
class RegionResponses:
    """What the EC2 API returned for one region, page by page."""

    region: str
    nat_gateway_pages: list[dict]  # DescribeNatGateways
    interface_pages: list[dict]  # DescribeNetworkInterfaces of the gateways' interfaces
    vpc_pages: list[dict]  # DescribeVpcs of the gateways' VPCs


def inventory_rows(responses: list[RegionResponses], seen_at: datetime) -> list[dict]:
    """One row per gateway address that has its interface and private IP assigned."""
    rows = []
    for response in responses:
        owners = {
            interface["NetworkInterfaceId"]: interface.get("OwnerId")
            for page in response.interface_pages
            for interface in page.get("NetworkInterfaces", [])
        }
        cidr_blocks = {
            vpc["VpcId"]: [
                association["CidrBlock"]
                for association in vpc.get("CidrBlockAssociationSet", [])
                if association.get("CidrBlockState", {}).get("State") == "associated"
            ]
            for page in response.vpc_pages
            for vpc in page.get("Vpcs", [])
        }
        for page in response.nat_gateway_pages:
            for gateway in page.get("NatGateways", []):
                for address in gateway.get("NatGatewayAddresses", []):
                    interface_id = address.get("NetworkInterfaceId")
                    if not interface_id or not address.get("PrivateIp"):
                        continue  # a secondary address still being assigned
                    rows.append(
                        {
                            "nat_gateway_id": gateway["NatGatewayId"],
                            "interface_id": interface_id,
                            "private_ip": address["PrivateIp"],
                            "public_ip": address.get("PublicIp"),
                            "account_id": owners.get(interface_id),
                            "region": response.region,
                            "vpc_id": gateway.get("VpcId"),
                            "subnet_id": gateway.get("SubnetId"),
                            "vpc_cidr_blocks": cidr_blocks.get(gateway.get("VpcId")),
                            "connectivity_type": gateway.get("ConnectivityType", "public"),
                            "state": gateway.get("State"),
                            "last_seen_at": seen_at,
                        }
                    )
    return rows


def transform(spark: SparkSession, responses: list[RegionResponses], seen_at: datetime) -> DataFrame:
    schema = table_schema(TABLE)
    rows = inventory_rows(responses, seen_at)
    return conform(
        spark.createDataFrame([tuple(row[c] for c in schema.column_names) for row in rows], schema.struct()),
        TABLE,
    )


def keep_unreturned(current: DataFrame, previous: DataFrame) -> DataFrame:
    """current, plus the previous rows of addresses the API no longer returns: a deleted gateway's (deleted ones
    drop out of it) and a secondary address unassigned from a gateway still there, whose records of the hours
    it had it are still that gateway's traffic when those hours are aggregated again. A returned address keeps the
    previous details the API no longer gives (DESCRIBED_ELSEWHERE)."""
    address = ["interface_id", "private_ip"]
    gone = previous.join(current.select(*address).distinct(), on=address, how="left_anti")
    # A gateway the API returns as deleted has its interface and often its VPC deleted too: the details only those
    # gave stay as last seen (its VPC's CIDR blocks tell the sides of its traffic when its hours are aggregated again).
    last_seen = previous.select(*address, *[F.col(c).alias(f"last_seen_{c}") for c in DESCRIBED_ELSEWHERE])
    filled = current.join(last_seen, on=address, how="left").select(
        *[F.coalesce(c, f"last_seen_{c}").alias(c) if c in DESCRIBED_ELSEWHERE else F.col(c) for c in current.columns]
    )
    return filled.unionByName(gone)


def describe(regions: list[str] | None, endpoint_url: str | None = None) -> list[RegionResponses]:
    """Calls the EC2 API of each region (all enabled regions when None), every page."""
    import boto3

    session = boto3.Session()
    if not regions:
        home = session.client("ec2", region_name=session.region_name or "us-east-1", endpoint_url=endpoint_url)
        regions = sorted(r["RegionName"] for r in home.describe_regions()["Regions"])
    responses = []
    for region in regions:
        ec2 = session.client("ec2", region_name=region, endpoint_url=endpoint_url)
        gateway_pages = list(ec2.get_paginator("describe_nat_gateways").paginate())
        gateways = [g for page in gateway_pages for g in page.get("NatGateways", [])]
        addresses = [a for g in gateways for a in g.get("NatGatewayAddresses", [])]
        interface_ids = sorted({a["NetworkInterfaceId"] for a in addresses if a.get("NetworkInterfaceId")})
        vpc_ids = sorted({g["VpcId"] for g in gateways if g.get("VpcId")})
        # Filters, not ID lists: a deleted gateway's interface or VPC is simply
        # absent instead of failing the call.
        responses.append(
            RegionResponses(
                region=region,
                nat_gateway_pages=gateway_pages,
                interface_pages=_pages(ec2, "describe_network_interfaces", "network-interface-id", interface_ids),
                vpc_pages=_pages(ec2, "describe_vpcs", "vpc-id", vpc_ids),
            )
        )
        log.info("%s: %d NAT gateways", region, len(gateways))
    return responses


def _pages(ec2, operation: str, filter_name: str, values: list[str]) -> list[dict]:
    if not values:
        return []
    return list(ec2.get_paginator(operation).paginate(Filters=[{"Name": filter_name, "Values": values}]))


def region_predicate(regions: list[str]) -> str:
    for region in regions:
        if not _REGION.match(region):
            raise ValueError(f"not an AWS region name: {region!r}")
    return "region IN (" + ", ".join(f"'{r}'" for r in regions) + ")"


def write(spark: SparkSession, inventory: DataFrame, lake: str, regions: list[str]) -> DataFrame:
    """Replaces the queried regions' rows, keeping gateways no longer returned; returns what was written."""
    path = table_path(lake, TABLE)
    predicate = region_predicate(regions)
    if table_exists(spark, path):
        inventory = keep_unreturned(inventory, spark.read.format("delta").load(path).where(predicate))
    write_table_slice(inventory, lake, TABLE, predicate)
    return spark.read.format("delta").load(path).where(predicate)


def run_nat_inventory(
    spark: SparkSession, lake: str, seen_at: datetime, regions: list[str] | None = None, endpoint_url: str | None = None
) -> dict:
    lake = normalize_uri(lake)
    responses = describe(regions, endpoint_url)
    queried = [r.region for r in responses]
    written = write(spark, transform(spark, responses, seen_at), lake, queried)
    counts = written.agg(
        F.count_distinct("nat_gateway_id").alias("nat_gateways"),
        F.count(F.lit(1)).alias("addresses"),
        F.count(F.when(F.col("last_seen_at") < timestamp_literal(seen_at), 1)).alias("no_longer_returned"),
    ).first()
    return {"regions": queried, **counts.asDict(), "table": table_path(lake, TABLE)}


def read_inventory_file(spark: SparkSession, path: str) -> DataFrame:
    """An inventory file (see the module's doc) as nat_gateways rows; columns it lacks are NULL."""
    schema = table_schema(TABLE)
    uri = normalize_uri(path)
    if path.lower().endswith(".json"):
        raw = spark.read.option("multiLine", True).schema(schema.struct()).json(uri)
    elif path.lower().endswith(".csv"):
        raw = spark.read.option("header", True).csv(uri)
        if "vpc_cidr_blocks" in raw.columns:
            blocks = F.trim("vpc_cidr_blocks")
            raw = raw.withColumn("vpc_cidr_blocks", F.when(blocks != "", F.split(blocks, r"\s+")))
    else:
        raise ValueError(f"NAT gateway inventory {path}: expected a .csv or .json file")
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"NAT gateway inventory {path}: missing columns {', '.join(missing)}")
    return conform(
        raw.select([F.col(c) if c in raw.columns else F.lit(None).alias(c) for c in schema.column_names]),
        TABLE,
    )


def checked(inventory: DataFrame, origin: str) -> DataFrame:
    """The inventory without repeated rows; ValueError when a required value is missing or an address repeats."""
    incomplete = inventory.where(" OR ".join(f"{c} IS NULL" for c in REQUIRED_COLUMNS)).limit(3).collect()
    if incomplete:
        raise ValueError(f"NAT gateway inventory {origin}: rows without {', '.join(REQUIRED_COLUMNS)}: {incomplete}")
    unique = inventory.dropDuplicates()
    repeated = unique.groupBy("interface_id", "private_ip").count().where("count > 1").limit(3).collect()
    if repeated:
        # Each address would count the same records once per row.
        names = ", ".join(f"{r.interface_id}/{r.private_ip}" for r in repeated)
        raise ValueError(f"NAT gateway inventory {origin}: addresses listed with different details: {names}")
    return unique


def resolve(spark: SparkSession, lake: str, path: str | None) -> tuple[DataFrame | None, str]:
    """The inventory aggregation uses: the file when given, else the lake's nat_gateways table, else none."""
    if path:
        return checked(read_inventory_file(spark, path), path), f"file {path}"
    table = table_path(lake, TABLE)
    if table_exists(spark, table):
        return checked(spark.read.format("delta").load(table), table), f"table {table}"
    return None, "none (no --nat-inventory and no nat_gateways table): no address is a NAT gateway's"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake nat-inventory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", required=True, help="local folder or s3a://bucket/prefix of the Delta tables")
    parser.add_argument(
        "--regions",
        type=lambda text: [r.strip() for r in text.split(",") if r.strip()],
        help="comma-separated regions (default: every region enabled for the account)",
    )
    parser.add_argument("--endpoint-url", help="EC2 API endpoint (default: AWS's own for each region)")
    return parser


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    from flowlake.spark_session import get_spark

    args = build_parser().parse_args(argv)
    configure_logging()
    spark = spark or get_spark("flowlake-nat-inventory")
    summary = run_nat_inventory(spark, args.lake, datetime.now(UTC), args.regions, args.endpoint_url)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

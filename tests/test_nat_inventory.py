"""NAT gateway inventory: files, the EC2 API (a moto server on 127.0.0.1), and its use by aggregation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import boto3
import pytest
from pyspark.testing import assertDataFrameEqual

from flowlake import nat_inventory
from flowlake.aggregate import run_aggregate
from flowlake.contracts import table_schema
from flowlake.lake import table_path
from flowlake.layout import normalize_uri
from flowlake.nat_inventory import RegionResponses, checked, keep_unreturned, read_inventory_file, resolve
from flowlake.window import Window
from tests.frames import append, frame, read

# No other test creates EC2 resources here: the region's gateways are exactly this file's.
REGION = "eu-north-1"
SEEN_AT = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)


def address(nat_gateway_id, interface_id, private_ip, **columns) -> dict:
    return {"nat_gateway_id": nat_gateway_id, "interface_id": interface_id, "private_ip": private_ip, **columns}


def test_transform_turns_api_pages_into_one_row_per_gateway_address(spark):
    responses = [
        RegionResponses(
            region="us-east-1",
            nat_gateway_pages=[
                {
                    "NatGateways": [
                        {
                            "NatGatewayId": "nat-1",
                            "VpcId": "vpc-1",
                            "SubnetId": "subnet-1",
                            "State": "available",
                            "ConnectivityType": "public",
                            "NatGatewayAddresses": [
                                {"NetworkInterfaceId": "eni-1", "PrivateIp": "10.0.0.220", "PublicIp": "198.51.100.1"},
                                {"NetworkInterfaceId": "eni-1", "PrivateIp": "10.0.0.221"},
                                {"PrivateIp": "10.0.0.222"},  # being assigned: no interface yet
                            ],
                        }
                    ]
                },
                {
                    "NatGateways": [
                        {
                            "NatGatewayId": "nat-2",
                            "VpcId": "vpc-gone",
                            "SubnetId": "subnet-2",
                            "State": "deleted",
                            "ConnectivityType": "private",
                            "NatGatewayAddresses": [{"NetworkInterfaceId": "eni-2", "PrivateIp": "10.9.0.5"}],
                        }
                    ]
                },
            ],
            interface_pages=[{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "OwnerId": "111122223333"}]}],
            vpc_pages=[
                {
                    "Vpcs": [
                        {
                            "VpcId": "vpc-1",
                            "CidrBlockAssociationSet": [
                                {"CidrBlock": "10.0.0.0/16", "CidrBlockState": {"State": "associated"}},
                                {"CidrBlock": "10.1.0.0/16", "CidrBlockState": {"State": "disassociated"}},
                                {"CidrBlock": "100.64.0.0/16", "CidrBlockState": {"State": "associated"}},
                            ],
                        }
                    ]
                }
            ],
        )
    ]

    actual = nat_inventory.transform(spark, responses, SEEN_AT)

    common = {"region": "us-east-1", "last_seen_at": SEEN_AT}
    gateway_1 = {
        **common,
        "account_id": "111122223333",
        "vpc_id": "vpc-1",
        "subnet_id": "subnet-1",
        "vpc_cidr_blocks": ["10.0.0.0/16", "100.64.0.0/16"],
        "connectivity_type": "public",
        "state": "available",
    }
    assertDataFrameEqual(
        actual,
        frame(
            spark,
            "nat_gateways",
            [
                address("nat-1", "eni-1", "10.0.0.220", public_ip="198.51.100.1", **gateway_1),
                address("nat-1", "eni-1", "10.0.0.221", **gateway_1),
                address(
                    "nat-2",
                    "eni-2",
                    "10.9.0.5",
                    **common,
                    vpc_id="vpc-gone",
                    subnet_id="subnet-2",
                    connectivity_type="private",
                    state="deleted",
                ),
            ],
        ),
    )


def test_keep_unreturned_keeps_the_addresses_the_api_stopped_returning(spark):
    """A deleted gateway's, and a secondary address unassigned from a gateway the API still returns."""
    previous = frame(
        spark,
        "nat_gateways",
        [
            address("nat-1", "eni-1", "10.0.0.220", state="pending"),
            address("nat-1", "eni-1", "10.0.0.222", public_ip="198.51.100.2", state="available"),
            address("nat-old", "eni-old", "10.0.0.99", state="deleted"),
        ],
    )
    current = frame(
        spark,
        "nat_gateways",
        [
            address("nat-1", "eni-1", "10.0.0.220", state="available"),
            address("nat-1", "eni-1", "10.0.0.221", state="available"),
        ],
    )

    assertDataFrameEqual(
        keep_unreturned(current, previous),
        frame(
            spark,
            "nat_gateways",
            [
                address("nat-1", "eni-1", "10.0.0.220", state="available"),
                address("nat-1", "eni-1", "10.0.0.221", state="available"),
                address("nat-1", "eni-1", "10.0.0.222", public_ip="198.51.100.2", state="available"),
                address("nat-old", "eni-old", "10.0.0.99", state="deleted"),
            ],
        ),
    )


def test_a_gateway_returned_as_deleted_keeps_the_owner_and_vpc_blocks_its_deleted_interface_and_vpc_gave(spark):
    """Deleted with its VPC, the gateway is still returned for about an hour, but its interface and VPC are not:
    its row kept for re-aggregation lost the VPC's CIDR blocks (203.0.113.0/24, not private space), so its
    traffic from that block counted as entering from the destination side."""
    blocks = {"account_id": "111122223333", "vpc_id": "vpc-1", "vpc_cidr_blocks": ["203.0.113.0/24"]}
    previous = frame(spark, "nat_gateways", [address("nat-1", "eni-1", "203.0.113.5", state="available", **blocks)])
    current = frame(spark, "nat_gateways", [address("nat-1", "eni-1", "203.0.113.5", state="deleted", vpc_id="vpc-1")])

    assertDataFrameEqual(
        keep_unreturned(current, previous),
        frame(spark, "nat_gateways", [address("nat-1", "eni-1", "203.0.113.5", state="deleted", **blocks)]),
    )


def test_inventory_files_csv_and_json_read_into_the_table_columns(spark, tmp_path):
    csv = tmp_path / "nat.csv"
    csv.write_text(
        "region,nat_gateway_id,interface_id,private_ip,vpc_cidr_blocks\n"
        "us-east-1,nat-1,eni-1,10.0.0.220,10.0.0.0/16  198.18.0.0/16\n"
        "us-east-1,nat-1,eni-1,10.0.0.220,10.0.0.0/16  198.18.0.0/16\n"
        "us-east-1,nat-2,eni-2,10.0.1.220,\n"
    )
    json = tmp_path / "nat.json"
    json.write_text(
        '[{"nat_gateway_id": "nat-1", "interface_id": "eni-1", "private_ip": "10.0.0.220", "region": "us-east-1",'
        '  "vpc_cidr_blocks": ["10.0.0.0/16", "198.18.0.0/16"]},\n'
        ' {"nat_gateway_id": "nat-2", "interface_id": "eni-2", "private_ip": "10.0.1.220", "region": "us-east-1"}]'
    )
    expected = frame(
        spark,
        "nat_gateways",
        [
            address(
                "nat-1", "eni-1", "10.0.0.220", region="us-east-1", vpc_cidr_blocks=["10.0.0.0/16", "198.18.0.0/16"]
            ),
            address("nat-2", "eni-2", "10.0.1.220", region="us-east-1"),
        ],
    )

    for path in (csv, json):
        assertDataFrameEqual(checked(read_inventory_file(spark, str(path)), str(path)), expected)


def test_inventory_files_with_missing_or_conflicting_addresses_are_refused(spark, tmp_path):
    no_ip = tmp_path / "no_ip.csv"
    no_ip.write_text("nat_gateway_id,interface_id\nnat-1,eni-1\n")
    blank_ip = tmp_path / "blank_ip.csv"
    blank_ip.write_text("nat_gateway_id,interface_id,private_ip\nnat-1,eni-1,\n")
    conflicting = tmp_path / "conflicting.csv"
    conflicting.write_text("nat_gateway_id,interface_id,private_ip\nnat-1,eni-1,10.0.0.220\nnat-2,eni-1,10.0.0.220\n")

    with pytest.raises(ValueError, match="missing columns private_ip"):
        read_inventory_file(spark, str(no_ip))
    with pytest.raises(ValueError, match="rows without"):
        checked(read_inventory_file(spark, str(blank_ip)), str(blank_ip))
    with pytest.raises(ValueError, match="eni-1/10.0.0.220"):
        checked(read_inventory_file(spark, str(conflicting)), str(conflicting))
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        read_inventory_file(spark, str(tmp_path / "nat.txt"))


@pytest.fixture(scope="module")
def ec2_gateways(s3_endpoint):
    """Two NAT gateways in REGION on the moto server (a public one with an Elastic IP, a private one), one elsewhere."""
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=s3_endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock="10.1.0.0/16")
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")
    public = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation["AllocationId"])["NatGateway"]
    private = ec2.create_nat_gateway(SubnetId=subnet, ConnectivityType="private")["NatGateway"]
    elsewhere = boto3.client("ec2", region_name="ap-south-2", endpoint_url=s3_endpoint)
    other_vpc = elsewhere.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    other_subnet = elsewhere.create_subnet(VpcId=other_vpc, CidrBlock="10.2.0.0/24")["Subnet"]["SubnetId"]
    elsewhere.create_nat_gateway(SubnetId=other_subnet, ConnectivityType="private")
    return {"vpc": vpc, "subnet": subnet, "public_ip": allocation["PublicIp"], "public": public, "private": private}


def test_nat_inventory_job_builds_nat_gateways_from_the_ec2_api(spark, tmp_path, s3_endpoint, ec2_gateways):
    lake = str(tmp_path / "lake")

    summary = nat_inventory.main(["--lake", lake, "--regions", REGION, "--endpoint-url", s3_endpoint], spark=spark)

    assert (summary["regions"], summary["nat_gateways"], summary["addresses"], summary["no_longer_returned"]) == (
        [REGION],
        2,
        2,
        0,
    )
    table = read(spark, lake, "nat_gateways")
    assert table.schema == table_schema("nat_gateways").struct()
    gateway = {
        "account_id": "123456789012",
        "region": REGION,
        "vpc_id": ec2_gateways["vpc"],
        "subnet_id": ec2_gateways["subnet"],
        "vpc_cidr_blocks": ["10.0.0.0/16", "10.1.0.0/16"],
        "state": "available",
    }
    public, private = ec2_gateways["public"], ec2_gateways["private"]
    assertDataFrameEqual(
        table.drop("last_seen_at"),
        frame(
            spark,
            "nat_gateways",
            [
                address(
                    public["NatGatewayId"],
                    public["NatGatewayAddresses"][0]["NetworkInterfaceId"],
                    public["NatGatewayAddresses"][0]["PrivateIp"],
                    public_ip=ec2_gateways["public_ip"],
                    connectivity_type="public",
                    **gateway,
                ),
                address(
                    private["NatGatewayId"],
                    private["NatGatewayAddresses"][0]["NetworkInterfaceId"],
                    private["NatGatewayAddresses"][0]["PrivateIp"],
                    connectivity_type="private",
                    **gateway,
                ),
            ],
        ).drop("last_seen_at"),
    )
    assert table.where("last_seen_at IS NOT NULL").select("last_seen_at").distinct().count() == 1


def test_aggregation_takes_the_lake_nat_gateways_table_when_no_file_is_given(
    spark, tmp_path, s3_endpoint, ec2_gateways
):
    lake = normalize_uri(str(tmp_path / "lake"))
    nat_inventory.run_nat_inventory(spark, lake, SEEN_AT, [REGION], s3_endpoint)
    gateway = ec2_gateways["public"]["NatGatewayAddresses"][0]
    start = int(datetime(2026, 11, 1, 10, 5, tzinfo=UTC).timestamp())
    flow_logs = frame(
        spark,
        "flow_logs",
        [
            {
                "account_id": "123456789012",
                "region": REGION,
                "interface_id": gateway["NetworkInterfaceId"],
                "srcaddr": source,
                "dstaddr": gateway["PrivateIp"],
                "packets": 1,
                "bytes": size,
                "start": start,
                "end": start + 60,
                "action": "ACCEPT",
                "log_status": "OK",
                "event_time": datetime.fromtimestamp(start, UTC),
                "event_date": date(2026, 11, 1),
            }
            for source, size in (("10.0.3.3", 100), ("203.0.113.5", 5000))
        ],
    )
    append(flow_logs, lake, "flow_logs")

    inventory, origin = resolve(spark, lake, None)
    summary = run_aggregate(
        spark, lake, Window(datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 11, tzinfo=UTC))
    )

    assert inventory.count() == 2
    assert summary["nat_inventory"] == origin == f"table {table_path(lake, 'nat_gateways')}"
    row = read(spark, lake, "nat_gateway_hourly").first()
    assert (row.nat_gateway_id, row.bytes_in_from_source, row.bytes_in_from_destination, row.records) == (
        ec2_gateways["public"]["NatGatewayId"],
        100,
        5000,
        2,
    )

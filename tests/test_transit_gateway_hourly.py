"""transit_gateway_hourly: records in AWS's default transit gateway format, parsed as ingest parses them,
give exactly these rows, and their losses exactly these packet_loss findings."""

from __future__ import annotations

import gzip
import hashlib

import pyarrow as pa
from pyspark.testing import assertDataFrameEqual

from flowlake.aggregates import module_for
from flowlake.aggregates.security_findings import transform as findings
from flowlake.contracts import table_schema
from flowlake.layout import object_key
from flowlake.parse import parse_object
from flowlake.security import SecurityConfig
from tests.frames import frame, rows, utc

ACCOUNT, REGION, TGW = "123456789010", "us-east-1", "tgw-0abc"
H = utc(2026, 11, 1, 10)
S = int(H.timestamp())
# AWS's default format of transit gateway flow logs: every transit gateway field, no interface-id, no action.
TGW_FORMAT = (
    "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id "
    "tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id "
    "tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
    "log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded "
    "packets-lost-ttl-expired tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service"
)


def line(resource, attachment, pair, src, dst, packets, bytes_, lost: str, status="OK", second=0) -> str:
    vpcs = f"{ACCOUNT} {ACCOUNT} vpc-0a vpc-0b subnet-0a subnet-0b eni-0a1 eni-0b1 use1-az1 use1-az2"
    return (
        f"6 {resource} {ACCOUNT} {TGW} {attachment} {vpcs} {pair} {src} {dst} 49152 443 6 {packets} {bytes_} "
        f"{S + second} {S + second + 60} {status} IPv4 {lost} 3 {REGION} egress - -"
    )


LINES = [
    line(
        "TransitGatewayAttachment",
        "tgw-attach-0aaa",
        "tgw-attach-0bbb",
        "10.0.1.5",
        "10.1.2.7",
        900,
        450000,
        "100 0 0 0",
    ),
    # "-": a loss AWS did not report counts 0.
    line(
        "TransitGatewayAttachment", "tgw-attach-0aaa", "tgw-attach-0bbb", "10.0.1.6", "10.1.2.7", 100, 50000, "- - - -"
    ),
    line(
        "TransitGatewayAttachment", "tgw-attach-0bbb", "tgw-attach-0aaa", "10.1.2.7", "10.0.1.5", 800, 400000, "0 0 0 2"
    ),
    # 80 % lost, but of 50 packets only: below the 100 packets a finding needs.
    line(
        "TransitGatewayAttachment", "tgw-attach-0ccc", "tgw-attach-0aaa", "10.2.0.9", "10.0.1.5", 10, 5000, "0 40 0 0"
    ),
    line("TransitGateway", "tgw-attach-0ddd", "tgw-attach-0bbb", "10.3.0.4", "10.1.2.7", 600, 300000, "0 0 400 0"),
    # No traffic: not counted.
    f"6 TransitGateway {ACCOUNT} {TGW} - - - - - - - - - - - - - - - - - - - {S} {S + 60} NODATA - - - - - - {REGION} - - -",
]


def transit_gateway_records(spark):
    """The lines as ingest types them: parsed from a gzip object named as AWS names it."""
    key = object_key(ACCOUNT, REGION, "fl-0tgw1234", utc(2026, 11, 1, 10, 5), "abcd1234")
    content = gzip.compress(("\n".join([TGW_FORMAT, *LINES]) + "\n").encode())
    parsed = pa.Table.from_batches(parse_object(f"file:/flow-logs/{key}", content))
    records = parsed.filter(pa.compute.equal(parsed.column("row_kind"), "record"))
    columns = table_schema("flow_logs").column_names
    return frame(spark, "flow_logs", [{c: row[c] for c in columns} for row in records.to_pylist()])


def transit(attachment, pair, records, packets, bytes_, no_route, blackhole, mtu, ttl) -> dict:
    lost = no_route + blackhole + mtu + ttl
    return {
        "hour": H,
        "account_id": ACCOUNT,
        "region": REGION,
        "tgw_id": TGW,
        "tgw_attachment_id": attachment,
        "tgw_pair_attachment_id": pair,
        "records": records,
        "packets": packets,
        "bytes": bytes_,
        "packets_lost_no_route": no_route,
        "packets_lost_blackhole": blackhole,
        "packets_lost_mtu_exceeded": mtu,
        "packets_lost_ttl_expired": ttl,
        "packets_lost": lost,
        "loss_share": lost / (packets + lost),
        "event_date": H.date(),
    }


def loss(attachment, pair, severity, share, description) -> dict:
    identity = "|".join(["packet_loss", str(S), ACCOUNT, REGION, "", attachment, pair, "", ""])
    return {
        "hour": H,
        "finding_id": hashlib.sha256(identity.encode()).hexdigest(),
        "finding_type": "packet_loss",
        "severity": severity,
        "account_id": ACCOUNT,
        "region": REGION,
        "resource_id": attachment,
        "peer_resource_id": pair,
        "addresses": [],
        "ports": [],
        "metric": "loss_share",
        "observed_value": share,
        "description": description,
        "event_date": H.date(),
    }


def test_default_format_records_give_these_rows_and_these_packet_loss_findings(spark):
    flow_logs = transit_gateway_records(spark)
    assert flow_logs.count() == 6

    assertDataFrameEqual(
        module_for("transit_gateway_hourly").transform(flow_logs),
        frame(
            spark,
            "transit_gateway_hourly",
            [
                transit("tgw-attach-0aaa", "tgw-attach-0bbb", 2, 1000, 500000, 100, 0, 0, 0),
                transit("tgw-attach-0bbb", "tgw-attach-0aaa", 1, 800, 400000, 0, 0, 0, 2),
                transit("tgw-attach-0ccc", "tgw-attach-0aaa", 1, 10, 5000, 0, 40, 0, 0),
                transit("tgw-attach-0ddd", "tgw-attach-0bbb", 1, 600, 300000, 0, 0, 400, 0),
            ],
        ),
    )
    assertDataFrameEqual(
        findings(flow_logs, security=SecurityConfig.load()),
        frame(
            spark,
            "security_findings",
            [
                # 100 of 1,100 offered: over 1 %, under 10 %.
                loss(
                    "tgw-attach-0aaa",
                    "tgw-attach-0bbb",
                    "medium",
                    100 / 1100,
                    "transit gateway tgw-0abc lost 100 of 1100 packets "
                    "(no route 100, blackhole 0, MTU exceeded 0, TTL expired 0)",
                ),
                loss(
                    "tgw-attach-0ddd",
                    "tgw-attach-0bbb",
                    "high",
                    0.4,
                    "transit gateway tgw-0abc lost 400 of 1000 packets "
                    "(no route 0, blackhole 0, MTU exceeded 400, TTL expired 0)",
                ),
            ],
        ),
    )
    # Attachments are not interfaces: the interface tables leave these records out.
    assert rows(module_for("traffic_hourly").transform(flow_logs)) == []
    # But every record has a log status: a transit gateway's SKIPDATA is lost data too.
    keys = {"hour": H, "account_id": ACCOUNT, "region": REGION, "interface_id": None, "event_date": H.date()}
    assertDataFrameEqual(
        module_for("log_status_hourly").transform(flow_logs),
        frame(
            spark,
            "log_status_hourly",
            [
                {**keys, "log_status": "OK", "records": 5, "window_seconds": 300},
                {**keys, "log_status": "NODATA", "records": 1, "window_seconds": 60},
            ],
        ),
    )

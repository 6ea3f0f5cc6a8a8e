"""Sample VPC flow logs: seeded, realistic, and laid out exactly as AWS delivers them.

    flowlake generate --out SOURCE --start 2026-11-01T00:00:00Z --hours 24 [--seed 7] [--records-per-hour 2000]

SOURCE is a local folder or an s3a:// (s3://) URI; S3 is written with boto3 and
the standard credential chain, at FLOWLAKE_S3_ENDPOINT when that is set.

Three accounts, four VPCs in three regions, one flow log each, together covering
the default format and custom ones (a shuffled version-5 format, a version-5
Parquet one), the default and Hive-compatible layouts, daily and hourly
partitions, text and Parquet. Interfaces: EC2 instances, load balancers and NAT
gateways; the NAT gateway inventory goes to SOURCE/nat_gateways.csv, outside
AWSLogs/, so ingestion skips it. Traffic follows a daily rhythm in each
region's local time and carries port scans, SSH/RDP attempts and exposures, a
daily traffic spike (a database instance uploading about 400 MB at 20:05 UTC),
NODATA and SKIPDATA records; a few objects are delivered late (named 10 or 15
minutes after their records' end times). Beside them, a transit gateway joining
prod-use1 and staging-use1 has a flow log of AWS's transit gateway format
(its vpc_id in the summary is the gateway's ID), and its blackhole route drops
a database's packets every day at 09:00 UTC.

Everything is a pure function of (seed, flow log, 5-minute window): the same
seed gives byte-identical objects, and a window's objects do not depend on
which range was asked for (except that a late object is only made when its
later name still falls inside the range, so ingesting the range sees every
record). `write_benchmark_day` is the fast, vectorized default-format variant
the benchmark uses.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import hashlib
import io
import json
import math
import multiprocessing
import os
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from flowlake.contracts import field_catalogue
from flowlake.layout import object_key
from flowlake.parse import catalogue_schema
from flowlake.window import parse_utc, utc_instant

WINDOW = timedelta(minutes=5)
WINDOWS_PER_HOUR = 12

DEFAULT_FORMAT = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
]
# A custom version-5 format in an order of its owner's choosing: parsing must follow the header.
SHUFFLED_V5_FORMAT = [
    "region",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "interface-id",
    "account-id",
    "flow-direction",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "tcp-flags",
    "log-status",
    "traffic-path",
    "type",
    "az-id",
    "version",
]
# Every field of versions 2 to 5 in AWS's documented order.
ALL_V5_FORMAT = DEFAULT_FORMAT + [
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
]

NAT_INVENTORY_NAME = "nat_gateways.csv"
NAT_INVENTORY_COLUMNS = ("nat_gateway_id", "interface_id", "private_ip", "account_id", "region", "vpc_id", "subnet_id")

# Documentation ranges (RFC 5737 / RFC 3849) stand in for the internet.
CLIENTS = [f"203.0.113.{i}" for i in range(1, 255)] + [f"192.0.2.{i}" for i in range(1, 255)]
IPV6_CLIENTS = [f"2001:db8:85a3::{i:x}" for i in range(1, 200)]
INTERNET_SERVICES = [f"198.51.100.{i}" for i in range(1, 128)]
SCANNERS = [f"198.51.100.{i}" for i in range(128, 255)]
OFFICE = "203.0.113.10"  # the only address the bastions' security groups let in on port 22
S3_ADDRESSES = [f"52.216.{i}.{j}" for i in (8, 64, 170) for j in (14, 86, 133, 220)]
NOISE_PORTS = (23, 25, 445, 1433, 3306, 5900, 6379, 8080, 8443, 9200)
# Every day from 20:05 to 20:15 UTC, the first database instance of prod-use1 uploads about 400 MB
# to one internet address on port 443: a traffic spike against that interface's usual hour.
EXFILTRATION_VPC = "prod-use1"
EXFILTRATION_HOUR_UTC = 20
EXFILTRATION_WINDOWS = 2
EXFILTRATION_RECORDS_PER_WINDOW = 30
EXFILTRATION_DESTINATION = "192.0.2.200"
# A transit gateway in us-east-1 joins prod-use1 and staging-use1 (and once joined a legacy VPC,
# 10.9.0.0/16, whose attachment is gone: its route is a blackhole). Its flow log has AWS's default
# transit gateway format. Every day from 09:00 to 09:15 UTC, staging's database instance tries the
# legacy VPC: those packets are lost to the blackhole route, a packet_loss finding.
TRANSIT_GATEWAY_FORMAT = [
    "version",
    "resource-type",
    "account-id",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "log-status",
    "type",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
    "tcp-flags",
    "region",
    "flow-direction",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
]
TRANSIT_GATEWAY_TRAFFIC_SHARE = 0.05
BLACKHOLE_HOUR_UTC = 9
BLACKHOLE_WINDOWS = 3
LEGACY_PREFIX = "10.9.0."
DATABASE_PORTS = (5432, 6379)

TCP, UDP, ICMP = 6, 17, 1
SYN, FIN_SYN, FIN_SYN_ACK = 2, 3, 19
PATH_SAME_VPC, PATH_GATEWAY_ENDPOINT, PATH_INTERNET_GATEWAY = 1, 7, 8


@dataclass(frozen=True)
class Interface:
    interface_id: str
    role: str  # elb, nat, web, db, bastion, windows, standby
    private_ip: str
    subnet_id: str
    az_id: str
    instance_id: str | None  # None on requester-managed interfaces (load balancer, NAT gateway)
    ipv6: str | None = None
    nat_gateway_id: str | None = None


@dataclass(frozen=True)
class Vpc:
    name: str
    account_id: str
    region: str
    vpc_id: str
    resolver_ip: str
    utc_offset_hours: int  # the daily rhythm follows local time
    interfaces: tuple[Interface, ...]

    def with_role(self, *roles: str) -> list[Interface]:
        return [i for i in self.interfaces if i.role in roles]


@dataclass(frozen=True)
class FlowLog:
    flow_log_id: str
    vpc: Vpc
    fields: tuple[str, ...]
    hive: bool
    hourly: bool
    parquet: bool
    aggregation_seconds: int
    traffic_share: float  # of the records per hour
    prefix: str = ""

    @property
    def seed_key(self) -> int:
        return int(self.flow_log_id[3:11], 16)

    def describe(self) -> dict:
        return {
            "flow_log_id": self.flow_log_id,
            "account_id": self.vpc.account_id,
            "region": self.vpc.region,
            "vpc_id": self.vpc.vpc_id,
            "log_format": " ".join(self.fields),
            "layout": "hive" if self.hive else "default",
            "partitions": "hourly" if self.hourly else "daily",
            "file_format": "parquet" if self.parquet else "text",
            "aggregation_interval_seconds": self.aggregation_seconds,
            "prefix": self.prefix,
        }


@dataclass(frozen=True)
class GeneratedObject:
    flow_log: FlowLog
    window_start: datetime  # the 5-minute window of its records' end times
    name_time: datetime  # the timestamp in its name: window_start, or later for a late object
    records: pa.Table  # typed columns named as in the tables, in the flow log's field order

    @property
    def late(self) -> bool:
        return self.name_time > self.window_start

    def key(self, seed: int) -> str:
        identity = f"{seed}:{self.flow_log.flow_log_id}:{self.window_start:%Y%m%dT%H%M}:{self.name_time:%Y%m%dT%H%M}"
        digest = hashlib.sha256(identity.encode())
        fl = self.flow_log
        return object_key(
            fl.vpc.account_id,
            fl.vpc.region,
            fl.flow_log_id,
            self.name_time,
            digest.hexdigest()[:8],
            prefix=fl.prefix,
            hive=fl.hive,
            hourly=fl.hourly,
            parquet=fl.parquet,
        )


# ---------------------------------------------------------------- topology


def _aws_id(kind: str, name: str) -> str:
    """A stable, AWS-looking resource ID (kind-0 + 16 hex digits) for a name."""
    return f"{kind}-0{hashlib.sha256(f'{kind}:{name}'.encode()).hexdigest()[:16]}"


_AZ_DIRECTIONS = {
    "east": "e",
    "west": "w",
    "north": "n",
    "south": "s",
    "central": "c",
    "northeast": "ne",
    "southeast": "se",
}
_PUBLIC_ROLES = ("elb", "nat", "bastion", "windows")
# Host part of each role's addresses: role n gets base + n.
_HOST_BASE = {"bastion": 5, "windows": 6, "elb": 10, "web": 20, "db": 100, "standby": 200, "nat": 220}


def _vpc(
    name: str, account_id: str, region: str, second_octet: int, utc_offset_hours: int, roles: dict[str, int]
) -> Vpc:
    """Interfaces alternate between two AZs; public subnets 10.N.{0,1}.0/24, private 10.N.{10,11}.0/24."""
    area, direction, number = region.split("-")
    azs = [f"{area}{_AZ_DIRECTIONS[direction]}{number}-az{k}" for k in (1, 2)]  # e.g. use1-az1, apse2-az2
    interfaces = []
    for role, count in roles.items():
        for n in range(count):
            az = n % 2
            third_octet = az if role in _PUBLIC_ROLES else 10 + az
            host = _HOST_BASE[role] + n
            label = f"{name}/{role}-{n}"
            interfaces.append(
                Interface(
                    interface_id=_aws_id("eni", label),
                    role=role,
                    private_ip=f"10.{second_octet}.{third_octet}.{host}",
                    subnet_id=_aws_id("subnet", f"{name}/{third_octet}"),
                    az_id=azs[az],
                    instance_id=None if role in ("elb", "nat") else _aws_id("i", label),
                    ipv6=f"2600:1f18:{second_octet:x}:{az}::{host:x}" if role == "elb" else None,
                    nat_gateway_id=_aws_id("nat", label) if role == "nat" else None,
                )
            )
    return Vpc(
        name=name,
        account_id=account_id,
        region=region,
        vpc_id=_aws_id("vpc", name),
        resolver_ip=f"10.{second_octet}.0.2",
        utc_offset_hours=utc_offset_hours,
        interfaces=tuple(interfaces),
    )


PROD, STAGING, SHARED = "111122223333", "444455556666", "777788889999"


@cache
def sample_flow_logs() -> tuple[FlowLog, ...]:
    """The sample estate: one flow log per VPC, each with another format and layout."""
    prod_use1 = _vpc(
        "prod-use1",
        PROD,
        "us-east-1",
        0,
        -5,
        {"elb": 2, "nat": 1, "web": 4, "db": 2, "bastion": 1, "windows": 1, "standby": 1},
    )
    prod_euw1 = _vpc(
        "prod-euw1", PROD, "eu-west-1", 1, 0, {"elb": 1, "nat": 1, "web": 3, "db": 1, "bastion": 1, "standby": 1}
    )
    staging_use1 = _vpc(
        "staging-use1", STAGING, "us-east-1", 2, -5, {"elb": 1, "nat": 1, "web": 2, "db": 1, "bastion": 1, "standby": 1}
    )
    shared_apse2 = _vpc(
        "shared-apse2", SHARED, "ap-southeast-2", 3, 11, {"nat": 1, "web": 2, "db": 1, "windows": 1, "standby": 1}
    )
    return (
        FlowLog(
            _aws_id("fl", "prod-use1"),
            prod_use1,
            tuple(DEFAULT_FORMAT),
            hive=False,
            hourly=False,
            parquet=False,
            aggregation_seconds=600,
            traffic_share=0.4,
        ),
        FlowLog(
            _aws_id("fl", "prod-euw1"),
            prod_euw1,
            tuple(SHUFFLED_V5_FORMAT),
            hive=True,
            hourly=True,
            parquet=False,
            aggregation_seconds=60,
            traffic_share=0.2,
        ),
        FlowLog(
            _aws_id("fl", "staging-use1"),
            staging_use1,
            tuple(ALL_V5_FORMAT),
            hive=False,
            hourly=True,
            parquet=True,
            aggregation_seconds=60,
            traffic_share=0.15,
        ),
        FlowLog(
            _aws_id("fl", "shared-apse2"),
            shared_apse2,
            tuple(DEFAULT_FORMAT),
            hive=True,
            hourly=False,
            parquet=False,
            aggregation_seconds=600,
            traffic_share=0.25,
            prefix="network-logs",
        ),
    )


@dataclass(frozen=True)
class Attachment:
    attachment_id: str
    vpc: Vpc
    eni: str  # the attachment's interface in the VPC's first subnet


@cache
def sample_transit_gateway() -> tuple[FlowLog, str, tuple[Attachment, ...]]:
    """(its flow log, the transit gateway ID, its attachments: prod-use1's and staging-use1's)."""
    estate = sample_flow_logs()
    prod, staging = estate[0].vpc, estate[2].vpc
    tgw_id = _aws_id("tgw", "use1")
    attachments = tuple(
        Attachment(_aws_id("tgw-attach", vpc.name), vpc, _aws_id("eni", f"{vpc.name}/tgw")) for vpc in (prod, staging)
    )
    # The flow log's Vpc stands for the gateway: its account and region, no interfaces.
    gateway = Vpc("tgw-use1", PROD, "us-east-1", tgw_id, "", -5, ())
    flow_log = FlowLog(
        _aws_id("fl", "tgw-use1"),
        gateway,
        tuple(TRANSIT_GATEWAY_FORMAT),
        hive=False,
        hourly=False,
        parquet=False,
        aggregation_seconds=60,
        traffic_share=TRANSIT_GATEWAY_TRAFFIC_SHARE,
    )
    return flow_log, tgw_id, attachments


def nat_inventory(flow_logs: tuple[FlowLog, ...]) -> list[dict]:
    """What DescribeNatGateways would say about the NAT gateways behind these flow logs."""
    return [
        {
            "nat_gateway_id": i.nat_gateway_id,
            "interface_id": i.interface_id,
            "private_ip": i.private_ip,
            "account_id": fl.vpc.account_id,
            "region": fl.vpc.region,
            "vpc_id": fl.vpc.vpc_id,
            "subnet_id": i.subnet_id,
        }
        for fl in flow_logs
        for i in fl.vpc.with_role("nat")
    ]


def nat_inventory_csv(rows: list[dict]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=NAT_INVENTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def write_nat_inventory(out: str, flow_logs: tuple[FlowLog, ...], location: str | None = None) -> str:
    """Writes the inventory CSV (by default next to AWSLogs/, where ingestion skips it); returns where."""
    location = location or join(out, NAT_INVENTORY_NAME)
    write_bytes(location, nat_inventory_csv(nat_inventory(flow_logs)))
    return location


# ---------------------------------------------------------------- records


def rhythm(local_hour: int) -> float:
    """Traffic relative to the daily mean: 1.6 at 15:00 local time, 0.4 at 03:00."""
    return 1 + 0.6 * math.cos(2 * math.pi * (local_hour - 15) / 24)


def _local_hour(vpc: Vpc, t: datetime) -> int:
    return (t.hour + vpc.utc_offset_hours) % 24


def _format_version(fields: tuple[str, ...]) -> int:
    return max(f.version for f in field_catalogue() if f.name in fields)


def _columns(fields: tuple[str, ...]) -> list[str]:
    return [name.replace("-", "_") for name in fields]


def _rng(seed: int, flow_log: FlowLog, window_start: datetime, stream: int) -> np.random.Generator:
    """Independent randomness per flow log and window (or hour): results never depend on the range asked for."""
    return np.random.default_rng([seed, flow_log.seed_key, int(window_start.timestamp()) // 300, stream])


_WINDOW_STREAM, _HOUR_STREAM, _BENCH_STREAM, _EXFILTRATION_STREAM = 1, 2, 3, 4


@dataclass(frozen=True)
class HourEvents:
    """What happens once in a flow log's hour, and in which of its twelve windows."""

    port_scan: int
    ssh_attempts: tuple[int, ...]
    admin_session: int
    rdp_exposure: int | None
    skipdata: int | None
    late: tuple[int, int] | None  # (window, delay in minutes): that window's stragglers arrive late


def hour_events(seed: int, flow_log: FlowLog, hour_start: datetime, flow_logs: tuple[FlowLog, ...]) -> HourEvents:
    rng = _rng(seed, flow_log, hour_start, _HOUR_STREAM)
    hour_index = int(hour_start.timestamp()) // 3600
    late_window = int(rng.integers(0, WINDOWS_PER_HOUR))
    late_delay = int(rng.choice([10, 15]))
    return HourEvents(
        port_scan=int(rng.integers(0, WINDOWS_PER_HOUR)),
        ssh_attempts=tuple(int(w) for w in rng.integers(0, WINDOWS_PER_HOUR, size=int(rng.integers(2, 6)))),
        admin_session=int(rng.integers(0, WINDOWS_PER_HOUR)),
        rdp_exposure=int(rng.integers(0, WINDOWS_PER_HOUR)) if rng.random() < 0.5 else None,
        # One flow log per hour, in turn, loses records to capacity.
        skipdata=int(rng.integers(0, WINDOWS_PER_HOUR))
        if hour_index % len(flow_logs) == flow_logs.index(flow_log)
        else None,
        late=(late_window, late_delay) if rng.random() < 0.3 else None,
    )


class _WindowRecords:
    """Accumulates one flow log's records for one 5-minute window of end times."""

    def __init__(self, flow_log: FlowLog, window_start: datetime, rng: np.random.Generator):
        self.flow_log = flow_log
        self.vpc = flow_log.vpc
        self.window = int(window_start.timestamp())
        self.rng = rng
        self.rows: list[dict] = []

    # -- building blocks

    def _pick(self, items):
        return items[int(self.rng.integers(0, len(items)))]

    def _times(self) -> tuple[int, int]:
        end = self.window + int(self.rng.integers(0, 300))
        return end - int(self.rng.integers(0, self.flow_log.aggregation_seconds)), end

    def _ephemeral_port(self) -> int:
        return int(self.rng.integers(32768, 61000))

    def _volume(self, mean_packets: float, mean_packet_size: int) -> tuple[int, int]:
        packets = max(1, int(self.rng.lognormal(math.log(mean_packets), 0.8)))
        size = int(np.clip(self.rng.normal(mean_packet_size, mean_packet_size / 4), 40, 1500))
        return packets, packets * size

    def _client(self) -> str:
        # Zipf-like popularity so that top talkers stand out.
        return CLIENTS[(int(self.rng.zipf(1.6)) - 1) % len(CLIENTS)]

    def _interface_fields(self, interface: Interface) -> dict:
        return {
            "account_id": self.vpc.account_id,
            "interface_id": interface.interface_id,
            "vpc_id": self.vpc.vpc_id,
            "subnet_id": interface.subnet_id,
            "instance_id": interface.instance_id,
            "region": self.vpc.region,
            "az_id": interface.az_id,
        }

    def flow(
        self,
        interface,
        src,
        dst,
        srcport,
        dstport,
        protocol,
        volume,
        times,
        *,
        egress,
        action="ACCEPT",
        tcp_flags=FIN_SYN,
        pkt_src=None,
        pkt_dst=None,
        path=None,
        src_service=None,
        dst_service=None,
    ):
        packets, size = volume
        start, end = times
        self.rows.append(
            {
                **self._interface_fields(interface),
                "srcaddr": src,
                "dstaddr": dst,
                "srcport": srcport,
                "dstport": dstport,
                "protocol": protocol,
                "packets": packets,
                "bytes": size,
                "start": start,
                "end": end,
                "action": action,
                "log_status": "OK",
                "tcp_flags": tcp_flags if protocol == TCP else 0,
                "type": "IPv6" if ":" in src else "IPv4",
                "pkt_srcaddr": pkt_src or src,
                "pkt_dstaddr": pkt_dst or dst,
                "pkt_src_aws_service": src_service,
                "pkt_dst_aws_service": dst_service,
                "flow_direction": "egress" if egress else "ingress",
                "traffic_path": path if egress else None,
            }
        )

    def exchange(
        self,
        client_side,
        server_side,
        client,
        server,
        client_port,
        server_port,
        protocol,
        request,
        response,
        times,
        *,
        path_out=PATH_SAME_VPC,
        path_back=PATH_SAME_VPC,
        service=None,
    ):
        """A request/response pair, recorded on each end's interface that is in this VPC."""
        if client_side is not None:
            self.flow(
                client_side,
                client,
                server,
                client_port,
                server_port,
                protocol,
                request,
                times,
                egress=True,
                path=path_out,
                dst_service=service,
            )
            self.flow(
                client_side,
                server,
                client,
                server_port,
                client_port,
                protocol,
                response,
                times,
                egress=False,
                tcp_flags=FIN_SYN_ACK,
                src_service=service,
            )
        if server_side is not None:
            self.flow(server_side, client, server, client_port, server_port, protocol, request, times, egress=False)
            self.flow(
                server_side,
                server,
                client,
                server_port,
                client_port,
                protocol,
                response,
                times,
                egress=True,
                tcp_flags=FIN_SYN_ACK,
                path=path_back,
            )

    def status_only(self, interface: Interface, status: str, start: int, end: int):
        self.rows.append({**self._interface_fields(interface), "start": start, "end": end, "log_status": status})

    # -- traffic

    def web_request(self):
        """Internet client -> load balancer :443 -> web instance :8080."""
        elb = self._pick(self.vpc.with_role("elb"))
        web = self._pick(self.vpc.with_role("web"))
        times = self._times()
        ipv6 = self.rng.random() < 0.05
        client = self._pick(IPV6_CLIENTS) if ipv6 else self._client()
        elb_address = elb.ipv6 if ipv6 else elb.private_ip
        request, response = self._volume(12, 300), self._volume(20, 1200)
        self.exchange(
            None,
            elb,
            client,
            elb_address,
            self._ephemeral_port(),
            443,
            TCP,
            request,
            response,
            times,
            path_back=PATH_INTERNET_GATEWAY,
        )
        self.exchange(
            elb, web, elb.private_ip, web.private_ip, self._ephemeral_port(), 8080, TCP, request, response, times
        )

    def database_call(self):
        web = self._pick(self.vpc.with_role("web"))
        db = self._pick(self.vpc.with_role("db"))
        self.exchange(
            web,
            db,
            web.private_ip,
            db.private_ip,
            self._ephemeral_port(),
            self._pick(DATABASE_PORTS),
            TCP,
            self._volume(6, 200),
            self._volume(10, 900),
            self._times(),
        )

    def nat_egress(self):
        """An instance reaches the internet through the NAT gateway: AWS's four records on its interface."""
        instance = self._pick(self.vpc.with_role("web", "db", "windows"))
        nat = self._pick(self.vpc.with_role("nat"))
        remote = self._pick(INTERNET_SERVICES)
        protocol, port = (UDP, 123) if self.rng.random() < 0.1 else (TCP, 443 if self.rng.random() < 0.85 else 80)
        instance_port, nat_port = self._ephemeral_port(), int(self.rng.integers(1024, 65536))
        request, response = self._volume(8, 250), self._volume(30, 1300)
        times = self._times()
        local, nat_ip = instance.private_ip, nat.private_ip
        self.exchange(instance, None, local, remote, instance_port, port, protocol, request, response, times)
        self.flow(
            nat,
            local,
            nat_ip,
            instance_port,
            port,
            protocol,
            request,
            times,
            egress=False,
            pkt_src=local,
            pkt_dst=remote,
        )
        self.flow(
            nat, nat_ip, remote, nat_port, port, protocol, request, times, egress=True, path=PATH_INTERNET_GATEWAY
        )
        self.flow(nat, remote, nat_ip, port, nat_port, protocol, response, times, egress=False, tcp_flags=FIN_SYN_ACK)
        self.flow(
            nat,
            nat_ip,
            local,
            port,
            instance_port,
            protocol,
            response,
            times,
            egress=True,
            tcp_flags=FIN_SYN_ACK,
            pkt_src=remote,
            pkt_dst=local,
            path=PATH_SAME_VPC,
        )

    def s3_transfer(self):
        instance = self._pick(self.vpc.with_role("web", "db"))
        self.exchange(
            instance,
            None,
            instance.private_ip,
            self._pick(S3_ADDRESSES),
            self._ephemeral_port(),
            443,
            TCP,
            self._volume(40, 1400),
            self._volume(15, 300),
            self._times(),
            path_out=PATH_GATEWAY_ENDPOINT,
            service="S3",
        )

    def dns_lookup(self):
        instance = self._pick(self.vpc.with_role("web", "db", "bastion", "windows"))
        self.exchange(
            instance,
            None,
            instance.private_ip,
            self.vpc.resolver_ip,
            self._ephemeral_port(),
            53,
            UDP,
            (1, 72),
            (1, 120),
            self._times(),
        )

    def internet_noise(self):
        """Unsolicited probes of public interfaces, rejected by their security groups."""
        target = self._pick(self.vpc.with_role("elb", "bastion", "windows"))
        protocol = ICMP if self.rng.random() < 0.2 else TCP
        port = 0 if protocol == ICMP else self._pick(NOISE_PORTS)
        self.flow(
            target,
            self._pick(SCANNERS),
            target.private_ip,
            0 if protocol == ICMP else self._ephemeral_port(),
            port,
            protocol,
            (1, 40 if protocol == TCP else 84),
            self._times(),
            egress=False,
            action="REJECT",
            tcp_flags=SYN,
        )

    TRAFFIC = (
        (web_request, 0.35, ("elb", "web")),
        (database_call, 0.25, ("web", "db")),
        (nat_egress, 0.2, ("nat",)),
        (s3_transfer, 0.08, ()),
        (dns_lookup, 0.07, ()),
        (internet_noise, 0.05, ()),
    )

    def background(self, records: int):
        kinds = [
            (kind, weight) for kind, weight, roles in self.TRAFFIC if all(self.vpc.with_role(role) for role in roles)
        ]
        weights = np.array([w for _, w in kinds])
        while len(self.rows) < records:
            kinds[int(self.rng.choice(len(kinds), p=weights / weights.sum()))][0](self)

    # -- events

    def port_scan(self):
        target = self._pick(self.vpc.with_role("elb", "bastion", "windows", "web"))
        scanner, times = self._pick(SCANNERS), self._times()
        ports = np.sort(self.rng.choice(np.arange(1, 1025), size=int(self.rng.integers(20, 60)), replace=False))
        source_port = self._ephemeral_port()
        for port in ports:
            self.flow(
                target,
                scanner,
                target.private_ip,
                source_port,
                int(port),
                TCP,
                (1, 44),
                times,
                egress=False,
                action="REJECT",
                tcp_flags=SYN,
            )

    def ssh_attempt(self):
        for bastion in self.vpc.with_role("bastion")[:1]:
            self.flow(
                bastion,
                self._pick(SCANNERS),
                bastion.private_ip,
                self._ephemeral_port(),
                22,
                TCP,
                (2, 120),
                self._times(),
                egress=False,
                action="REJECT",
                tcp_flags=SYN,
            )

    def admin_session(self):
        """The office SSHes into the bastion, and on from it to a web instance."""
        for bastion in self.vpc.with_role("bastion")[:1]:
            times = self._times()
            self.exchange(
                None,
                bastion,
                OFFICE,
                bastion.private_ip,
                self._ephemeral_port(),
                22,
                TCP,
                self._volume(60, 120),
                self._volume(80, 400),
                times,
                path_back=PATH_INTERNET_GATEWAY,
            )
            web = self._pick(self.vpc.with_role("web"))
            self.exchange(
                bastion,
                web,
                bastion.private_ip,
                web.private_ip,
                self._ephemeral_port(),
                22,
                TCP,
                self._volume(50, 120),
                self._volume(70, 400),
                times,
            )

    def rdp_exposure(self):
        """RDP open to the world on a jump host: accepted from an unknown address."""
        for jump_host in self.vpc.with_role("windows")[:1]:
            self.exchange(
                None,
                jump_host,
                self._pick(SCANNERS),
                jump_host.private_ip,
                self._ephemeral_port(),
                3389,
                TCP,
                self._volume(30, 200),
                self._volume(40, 800),
                self._times(),
                path_back=PATH_INTERNET_GATEWAY,
            )

    def exfiltration(self, rng: np.random.Generator):
        """A database instance sends hundreds of megabytes out on 443 (its own randomness: the window's
        other records stay as they were without it)."""
        for db in self.vpc.with_role("db")[:1]:
            for _ in range(EXFILTRATION_RECORDS_PER_WINDOW):
                end = self.window + int(rng.integers(0, 300))
                # Started within the hour, so that the whole spike lands in it.
                start = end - int(rng.integers(0, min(self.flow_log.aggregation_seconds, 300)))
                packets = int(rng.integers(4500, 5500))
                self.exchange(
                    db,
                    None,
                    db.private_ip,
                    EXFILTRATION_DESTINATION,
                    int(rng.integers(32768, 61000)),
                    443,
                    TCP,
                    (packets, packets * 1400),
                    (packets // 2, packets // 2 * 60),
                    (start, end),
                    path_out=PATH_INTERNET_GATEWAY,
                )

    def skipdata(self):
        interface = self._pick(self.vpc.interfaces)
        start, end = self._times()
        self.status_only(interface, "SKIPDATA", start, end)

    def nodata(self):
        """Idle interfaces report NODATA once per aggregation interval ending in this window."""
        interval = self.flow_log.aggregation_seconds
        boundaries = range(self.window - self.window % interval + interval, self.window + 301, interval)
        for interface in self.vpc.with_role("standby"):
            for boundary in boundaries:
                end = boundary - int(self.rng.integers(1, 6))
                self.status_only(interface, "NODATA", boundary - interval + int(self.rng.integers(0, 5)), end)

    def table(self) -> pa.Table:
        fields = self.flow_log.fields
        version = _format_version(fields)
        order = self.rng.permutation(len(self.rows))  # AWS does not sort a file's records
        rows = [self.rows[i] for i in order]
        schema = catalogue_schema()
        return pa.table(
            {
                column: pa.array(
                    [version] * len(rows) if column == "version" else [r.get(column) for r in rows],
                    schema.field(column).type,
                )
                for column in _columns(fields)
            }
        )


def _transit_gateway_record(
    tgw_id: str, logged: Attachment, pair: Attachment | None, source: Attachment, flow: dict, lost: dict, direction: str
) -> dict:
    destination = pair if source is logged else logged
    return {
        "resource_type": "TransitGatewayAttachment",
        "account_id": PROD,
        "region": "us-east-1",
        "tgw_id": tgw_id,
        "tgw_attachment_id": logged.attachment_id,
        "tgw_pair_attachment_id": pair.attachment_id if pair else None,
        "tgw_src_vpc_account_id": source.vpc.account_id,
        "tgw_dst_vpc_account_id": destination.vpc.account_id if destination else None,
        "tgw_src_vpc_id": source.vpc.vpc_id,
        "tgw_dst_vpc_id": destination.vpc.vpc_id if destination else None,
        "tgw_src_subnet_id": source.vpc.interfaces[0].subnet_id,
        "tgw_dst_subnet_id": destination.vpc.interfaces[0].subnet_id if destination else None,
        "tgw_src_eni": source.eni,
        "tgw_dst_eni": destination.eni if destination else None,
        "tgw_src_az_id": source.vpc.interfaces[0].az_id,
        "tgw_dst_az_id": destination.vpc.interfaces[0].az_id if destination else None,
        "log_status": "OK",
        "type": "IPv4",
        "tcp_flags": FIN_SYN,
        "flow_direction": direction,
        **flow,
        **{
            f"packets_lost_{reason}": lost.get(reason, 0)
            for reason in ("no_route", "blackhole", "mtu_exceeded", "ttl_expired")
        },
    }


def transit_gateway_objects(seed: int, window_start: datetime, records_per_hour: int) -> list[GeneratedObject]:
    """One object per 5-minute window: prod's web instances call staging's database through the gateway,
    each flow logged on both attachments (ingress on the sender's, egress on the receiver's); at
    09:00-09:15 UTC, staging's database tries the legacy VPC and the blackhole route drops it all."""
    flow_log, tgw_id, (prod, staging) = sample_transit_gateway()
    rng = _rng(seed, flow_log, window_start, _WINDOW_STREAM)
    records = _WindowRecords(flow_log, window_start, rng)
    window = int(window_start.timestamp())
    expected = (
        records_per_hour * flow_log.traffic_share * rhythm(_local_hour(prod.vpc, window_start)) / WINDOWS_PER_HOUR
    )
    for _ in range(max(1, int(rng.poisson(expected)))):
        web, db = records._pick(prod.vpc.with_role("web")), staging.vpc.with_role("db")[0]
        end = window + int(rng.integers(0, 300))
        packets = max(1, int(rng.lognormal(math.log(8), 0.8)))
        flow = {
            "srcaddr": web.private_ip,
            "dstaddr": db.private_ip,
            "srcport": int(rng.integers(32768, 61000)),
            "dstport": 5432,
            "protocol": TCP,
            "packets": packets,
            "bytes": packets * int(rng.integers(200, 1400)),
            "start": end - int(rng.integers(0, flow_log.aggregation_seconds)),
            "end": end,
        }
        # Now and then a packet too big for the path: a loss far below any threshold.
        lost = {"mtu_exceeded": 1} if rng.random() < 0.02 else {}
        records.rows.append(_transit_gateway_record(tgw_id, prod, staging, prod, flow, lost, "ingress"))
        records.rows.append(_transit_gateway_record(tgw_id, staging, prod, prod, flow, {}, "egress"))
    if window_start.hour == BLACKHOLE_HOUR_UTC and window_start.minute < 5 * BLACKHOLE_WINDOWS:
        db = staging.vpc.with_role("db")[0]
        for _ in range(10):
            end = window + int(rng.integers(0, 300))
            packets = int(rng.integers(10, 40))
            flow = {
                "srcaddr": db.private_ip,
                "dstaddr": LEGACY_PREFIX + str(int(rng.integers(10, 250))),
                "srcport": int(rng.integers(32768, 61000)),
                "dstport": 443,
                "protocol": TCP,
                "packets": 0,
                "bytes": 0,
                "start": end - int(rng.integers(0, flow_log.aggregation_seconds)),
                "end": end,
            }
            records.rows.append(
                _transit_gateway_record(tgw_id, staging, None, staging, flow, {"blackhole": packets}, "ingress")
            )
    return [GeneratedObject(flow_log, window_start, window_start, records.table())]


def is_exfiltration_window(flow_log: FlowLog, window_start: datetime) -> bool:
    return (
        flow_log.vpc.name == EXFILTRATION_VPC
        and window_start.hour == EXFILTRATION_HOUR_UTC
        and 5 <= window_start.minute < 5 * (EXFILTRATION_WINDOWS + 1)
    )


def window_objects(
    seed: int,
    flow_log: FlowLog,
    window_start: datetime,
    records_per_hour: int,
    range_end: datetime,
    flow_logs: tuple[FlowLog, ...],
) -> list[GeneratedObject]:
    """The objects AWS would publish for one flow log's 5-minute window (pure: no I/O).

    Usually one object named after the window; none when the window has no
    records; two when some of its records are delivered late, in an object named
    10 or 15 minutes later.
    """
    hour_start = window_start.replace(minute=0, second=0, microsecond=0)
    index = (window_start - hour_start) // WINDOW
    events = hour_events(seed, flow_log, hour_start, flow_logs)
    rng = _rng(seed, flow_log, window_start, _WINDOW_STREAM)
    records = _WindowRecords(flow_log, window_start, rng)
    expected = (
        records_per_hour * flow_log.traffic_share * rhythm(_local_hour(flow_log.vpc, window_start)) / WINDOWS_PER_HOUR
    )
    records.background(int(rng.poisson(expected)))
    if index == events.port_scan:
        records.port_scan()
    for _ in range(events.ssh_attempts.count(index)):
        records.ssh_attempt()
    if index == events.admin_session:
        records.admin_session()
    if index == events.rdp_exposure:
        records.rdp_exposure()
    if index == events.skipdata:
        records.skipdata()
    if is_exfiltration_window(flow_log, window_start):
        records.exfiltration(_rng(seed, flow_log, window_start, _EXFILTRATION_STREAM))
    records.nodata()
    if not records.rows:
        return []
    table = records.table()
    if not (events.late and events.late[0] == index and window_start + timedelta(minutes=events.late[1]) < range_end):
        return [GeneratedObject(flow_log, window_start, window_start, table)]
    stragglers = rng.random(table.num_rows) < 0.3
    parts = [
        GeneratedObject(flow_log, window_start, window_start, table.filter(pa.array(~stragglers))),
        GeneratedObject(
            flow_log, window_start, window_start + timedelta(minutes=events.late[1]), table.filter(pa.array(stragglers))
        ),
    ]
    return [part for part in parts if part.records.num_rows]


# ---------------------------------------------------------------- encoding and writing


def encode_text(fields: tuple[str, ...] | list[str], records: pa.Table) -> bytes:
    """gzip text as AWS delivers it: a header line of field names, then '-' for every missing value."""
    as_text = pa.table(
        {name: pc.fill_null(records.column(name).cast(pa.string()), "-") for name in records.column_names}
    )
    body = io.BytesIO()
    body.write((" ".join(fields) + "\n").encode())
    if as_text.num_rows:
        pa_csv.write_csv(as_text, body, pa_csv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none"))
    # mtime=0: the same records give the same bytes.
    return gzip.compress(body.getvalue(), compresslevel=6, mtime=0)


def encode_parquet(records: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(records, sink, compression="gzip")
    return sink.getvalue()


def encode(generated: GeneratedObject) -> bytes:
    if generated.flow_log.parquet:
        return encode_parquet(generated.records)
    return encode_text(generated.flow_log.fields, generated.records)


def is_s3(location: str) -> bool:
    return location.startswith(("s3://", "s3a://"))


@cache
def _s3_client(endpoint: str | None):
    import boto3
    from botocore.config import Config

    # S3-compatible stores on a plain host:port want path-style addressing.
    config = Config(s3={"addressing_style": "path"}) if endpoint else None
    return boto3.client("s3", endpoint_url=endpoint, config=config)


def write_bytes(location: str, data: bytes) -> None:
    """Writes a local file (creating its folders) or an S3 object."""
    if is_s3(location):
        bucket, _, key = location.split("://", 1)[1].partition("/")
        _s3_client(os.environ.get("FLOWLAKE_S3_ENDPOINT")).put_object(Bucket=bucket, Key=key, Body=data)
        return
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def join(root: str, key: str) -> str:
    return f"{root.rstrip('/')}/{key}"


def _windows(start: datetime, hours: int) -> list[datetime]:
    return [start + k * WINDOW for k in range(hours * WINDOWS_PER_HOUR)]


def _progress(done: int, total: int, what: str) -> None:
    if done == total or done % max(1, total // 10) == 0:
        print(f"generate: {done}/{total} {what}", file=sys.stderr, flush=True)


def generate(
    out: str,
    start: datetime,
    hours: int,
    seed: int = 7,
    records_per_hour: int = 2000,
    nat_inventory_location: str | None = None,
) -> dict:
    """Writes the sample estate's objects for [start, start + hours) and the NAT inventory; returns a summary."""
    start = utc_instant(start)
    if start.minute % 5 or start.second or start.microsecond:
        raise ValueError(f"start {start.isoformat()} is not on a 5-minute boundary")
    flow_logs = sample_flow_logs()
    range_end = start + timedelta(hours=hours)
    inventory_location = write_nat_inventory(out, flow_logs, nat_inventory_location)
    windows = _windows(start, hours)
    transit_gateway = sample_transit_gateway()[0]
    total = len(windows) * (len(flow_logs) + 1)
    objects = records = size = 0
    by_status: Counter[str] = Counter()
    rejected = 0
    late = []
    for done, (window_start, flow_log) in enumerate(
        ((w, fl) for w in windows for fl in (*flow_logs, transit_gateway)), start=1
    ):
        if flow_log is transit_gateway:
            objects_of_window = transit_gateway_objects(seed, window_start, records_per_hour)
        else:
            objects_of_window = window_objects(seed, flow_log, window_start, records_per_hour, range_end, flow_logs)
        for generated in objects_of_window:
            key = generated.key(seed)
            data = encode(generated)
            write_bytes(join(out, key), data)
            objects += 1
            records += generated.records.num_rows
            size += len(data)
            by_status.update(generated.records.column("log_status").to_pylist())
            if "action" in generated.records.column_names:  # transit gateway formats have none
                rejected += generated.records.column("action").to_pylist().count("REJECT")
            if generated.late:
                late.append(
                    {
                        "key": key,
                        "records_window_start": window_start.isoformat(),
                        "name_time": generated.name_time.isoformat(),
                    }
                )
        _progress(done, total, "flow-log windows")
    return {
        "source": out,
        "start": start.isoformat(),
        "end": range_end.isoformat(),
        "seed": seed,
        "objects": objects,
        "records": records,
        "bytes": size,
        "records_by_status": dict(sorted(by_status.items())),
        "rejected_records": rejected,
        "late_objects": late,
        "flow_logs": [fl.describe() for fl in (*flow_logs, transit_gateway)],
        "nat_inventory": inventory_location,
    }


# ---------------------------------------------------------------- benchmark data


@cache
def benchmark_flow_logs(count: int = 4) -> tuple[FlowLog, ...]:
    """Default-format, daily, text flow logs over larger VPCs (64 interfaces each), for volume."""
    estate = sample_flow_logs()
    flow_logs = []
    for n in range(count):
        template = estate[n % len(estate)].vpc
        vpc = _vpc(
            f"bench-{n}",
            template.account_id,
            template.region,
            100 + n,
            template.utc_offset_hours,
            {"elb": 4, "nat": 2, "web": 50, "db": 8},
        )
        flow_logs.append(
            FlowLog(
                _aws_id("fl", f"bench-{n}"),
                vpc,
                tuple(DEFAULT_FORMAT),
                hive=False,
                hourly=False,
                parquet=False,
                aggregation_seconds=600,
                traffic_share=1 / count,
            )
        )
    return tuple(flow_logs)


def benchmark_counts(flow_logs: tuple[FlowLog, ...], windows: list[datetime], records: int) -> np.ndarray:
    """Records per (flow log, window), following the daily rhythm and summing to exactly `records`."""
    weights = np.array([[fl.traffic_share * rhythm(_local_hour(fl.vpc, w)) for w in windows] for fl in flow_logs])
    exact = records * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    remainder = records - int(counts.sum())
    order = np.argsort(-(exact - counts), axis=None, kind="stable")[:remainder]
    counts.flat[order] += 1
    return counts


def benchmark_records(seed: int, flow_log: FlowLog, window_start: datetime, count: int) -> pa.Table:
    """`count` default-format records of one window, generated column-wise (no Python loop per record)."""
    rng = _rng(seed, flow_log, window_start, _BENCH_STREAM)
    interfaces = flow_log.vpc.interfaces
    which = rng.integers(0, len(interfaces), count)
    own = pa.array([i.private_ip for i in interfaces]).take(which)
    remotes = CLIENTS + INTERNET_SERVICES + S3_ADDRESSES
    remote = pa.array(remotes).take((rng.zipf(1.3, count) - 1) % len(remotes))
    egress = rng.random(count) < 0.5
    protocol = rng.choice(np.array([TCP, UDP, ICMP], dtype=np.int32), size=count, p=[0.85, 0.12, 0.03])
    service = rng.choice(
        np.array([443, 80, 5432, 6379, 53, 123, 22, 3389, 8080], dtype=np.int32),
        size=count,
        p=[0.5, 0.1, 0.1, 0.08, 0.1, 0.05, 0.03, 0.01, 0.03],
    )
    ephemeral = rng.integers(32768, 61000, count, dtype=np.int32)
    icmp = protocol == ICMP
    srcport = np.where(icmp, 0, np.where(egress, ephemeral, service))
    dstport = np.where(icmp, 0, np.where(egress, service, ephemeral))
    packets = np.maximum(1, rng.lognormal(2.0, 1.2, count)).astype(np.int64)
    size = packets * rng.integers(40, 1500, count)
    end = int(window_start.timestamp()) + rng.integers(0, 300, count)
    start = end - rng.integers(0, flow_log.aggregation_seconds, count)
    status = rng.choice(np.array(["OK", "NODATA", "SKIPDATA"]), size=count, p=[0.994, 0.005, 0.001])
    action = np.where(rng.random(count) < 0.04, "REJECT", "ACCEPT")
    ok = pa.array(status == "OK")

    def traffic(values: pa.Array) -> pa.Array:
        """NODATA and SKIPDATA records carry no traffic fields."""
        return pc.if_else(ok, values, pa.scalar(None, values.type))

    return pa.table(
        {
            "version": pa.array(np.full(count, 2, dtype=np.int32)),
            "account_id": pa.array([flow_log.vpc.account_id] * count),
            "interface_id": pa.array([i.interface_id for i in interfaces]).take(which),
            "srcaddr": traffic(pc.if_else(pa.array(egress), own, remote)),
            "dstaddr": traffic(pc.if_else(pa.array(egress), remote, own)),
            "srcport": traffic(pa.array(srcport, pa.int32())),
            "dstport": traffic(pa.array(dstport, pa.int32())),
            "protocol": traffic(pa.array(protocol, pa.int32())),
            "packets": traffic(pa.array(packets)),
            "bytes": traffic(pa.array(size)),
            "start": pa.array(start),
            "end": pa.array(end),
            "action": traffic(pa.array(action)),
            "log_status": pa.array(status),
        }
    )


def _write_benchmark_object(task: tuple) -> tuple[str, int, int]:
    out, seed, flow_log_count, index, window_start, count = task
    flow_log = benchmark_flow_logs(flow_log_count)[index]
    records = benchmark_records(seed, flow_log, window_start, count)
    generated = GeneratedObject(flow_log, window_start, window_start, records)
    key = generated.key(seed)
    data = encode(generated)
    write_bytes(join(out, key), data)
    return key, count, len(data)


def write_benchmark_day(
    out: str, start: datetime, records: int, flow_log_count: int = 4, seed: int = 7, hours: int = 24, processes: int = 2
) -> dict:
    """Default-format gzip objects, one per flow log and 5-minute window, exactly `records` records in all."""
    flow_logs = benchmark_flow_logs(flow_log_count)
    inventory_location = write_nat_inventory(out, flow_logs)
    windows = _windows(start, hours)
    counts = benchmark_counts(flow_logs, windows, records)
    tasks = [
        (out, seed, flow_log_count, f, w, int(counts[f, k]))
        for k, w in enumerate(windows)
        for f in range(len(flow_logs))
        if counts[f, k]
    ]
    size = 0
    with contextlib.ExitStack() as stack:
        if processes > 1:
            # spawn, not fork: a forked child can inherit a lock held by one of Arrow's threads.
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(processes))
            written = pool.imap_unordered(_write_benchmark_object, tasks, chunksize=8)
        else:
            written = map(_write_benchmark_object, tasks)
        for done, (_, _, object_size) in enumerate(written, 1):
            size += object_size
            _progress(done, len(tasks), "objects")
    return {
        "source": out,
        "start": start.isoformat(),
        "end": (start + timedelta(hours=hours)).isoformat(),
        "seed": seed,
        "objects": len(tasks),
        "records": records,
        "bytes": size,
        "flow_logs": [fl.describe() for fl in flow_logs],
        "nat_inventory": inventory_location,
    }


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="local folder or s3a://bucket/prefix (s3:// accepted)")
    parser.add_argument("--start", required=True, type=parse_utc, help="first 5-minute window, UTC (ISO 8601)")
    parser.add_argument("--hours", required=True, type=int, help="how many hours of objects")
    parser.add_argument("--seed", type=int, default=7, help="same seed, same bytes (default 7)")
    parser.add_argument(
        "--records-per-hour",
        type=int,
        default=2000,
        help="average records per hour over all flow logs, before events (default 2000)",
    )
    parser.add_argument("--nat-inventory", help=f"where the NAT gateway CSV goes (default OUT/{NAT_INVENTORY_NAME})")
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    summary = generate(args.out, args.start, args.hours, args.seed, args.records_per_hour, args.nat_inventory)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()

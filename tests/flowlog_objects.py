"""Writes hand-made flow-log objects where AWS would put them, for tests."""

from __future__ import annotations

import gzip
import io
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flowlake.layout import object_key

ACCOUNT = "123456789010"
REGION = "us-east-1"
DEFAULT_FORMAT = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)

# The aggregates' RECORD_COLUMNS a default-format record has no field for (account and region come from the
# object's name).
NOT_IN_THE_DEFAULT_FORMAT = [
    "vpc_id",
    "flow_direction",
    "reject_reason",
    "pkt_src_aws_service",
    "pkt_dst_aws_service",
    "resource_type",
    "tgw_id",
    "tgw_attachment_id",
    "tgw_pair_attachment_id",
    "packets_lost_no_route",
    "packets_lost_blackhole",
    "packets_lost_mtu_exceeded",
    "packets_lost_ttl_expired",
]


def write_object(
    root: Path,
    object_time: datetime,
    lines: list[str],
    *,
    header: str = DEFAULT_FORMAT,
    account_id: str = ACCOUNT,
    region: str = REGION,
    flow_log_id: str = "fl-1234abcd",
    object_hash: str = "fe123456",
    hive: bool = False,
    hourly: bool = False,
) -> Path:
    """A gzip text object: the header line, then the records."""
    key = object_key(account_id, region, flow_log_id, object_time, object_hash, hive=hive, hourly=hourly)
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join([header, *lines]) + "\n"
    path.write_bytes(gzip.compress(text.encode()))
    return path


def write_parquet_object(
    root: Path,
    object_time: datetime,
    table: pa.Table,
    *,
    account_id: str = ACCOUNT,
    region: str = REGION,
    flow_log_id: str = "fl-parquet1",
    object_hash: str = "ab123456",
) -> Path:
    key = object_key(account_id, region, flow_log_id, object_time, object_hash, parquet=True)
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    path.write_bytes(buffer.getvalue())
    return path


def write_raw(root: Path, key: str, content: bytes) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path

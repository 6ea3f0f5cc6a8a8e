"""Where AWS puts VPC flow-log objects, and how to find those of a window.

Keys (prefix optional, daily or hourly partitions):
  prefix/AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD[/HH]/name
  prefix/AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/
      year=YYYY/month=MM/day=DD[/hour=HH]/name
Name: {account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmmZ}_{hash}.log.gz
      (.log.parquet / .gz.parquet for Parquet delivery)
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flowlake.hadoop_files import hadoop_path

log = logging.getLogger(__name__)

OBJECT_NAME = re.compile(
    r"^(?P<account_id>[0-9]{12}|unknown)_vpcflowlogs_(?P<region>[a-z0-9-]+)_"
    r"(?P<flow_log_id>fl-[0-9a-zA-Z]+)_(?P<timestamp>[0-9]{8}T[0-9]{4}Z)_[0-9a-zA-Z]+"
    r"\.(?P<extension>log\.gz|log\.parquet|gz\.parquet)$"
)

# Partition folders, default or Hive-compatible: (level, pattern).
_DATE_SEGMENTS = (
    ("year", re.compile(r"^(?:year=)?([0-9]{4})$")),
    ("month", re.compile(r"^(?:month=)?([0-9]{2})$")),
    ("day", re.compile(r"^(?:day=)?([0-9]{2})$")),
    ("hour", re.compile(r"^(?:hour=)?([0-9]{2})$")),
)

# The folder AWS delivers under, below the source's prefix, if any.
_LOGS_FOLDER = "AWSLogs"

# Partition folders are named after the objects' timestamps; one hour on each
# side keeps objects near a boundary when pruning folders.
_FOLDER_SLACK = timedelta(hours=1)

# The minutes whose records an object holds, ending at the timestamp of its name: AWS's object named 16:20
# holds the records that ended from 16:15:01 to 16:20:00.
OBJECT_SPAN = timedelta(minutes=5)


@dataclass(frozen=True)
class FlowLogObject:
    uri: str
    key: str
    size_bytes: int
    account_id: str
    region: str
    flow_log_id: str
    object_time: datetime
    file_format: str  # "text" or "parquet"
    modified_at: datetime
    etag: str | None  # S3 gives one, a local folder does not

    def version(self) -> tuple:
        """What tells a rewrite of the object under the same key from the object already read."""
        return (self.etag, self.size_bytes, round(self.modified_at.timestamp() * 1000))


@dataclass
class Listing:
    root: str  # the source as Hadoop qualifies it; object keys are relative to it
    objects: list[FlowLogObject]
    skipped: list[str]  # URIs of objects that are not VPC flow logs
    # URIs named like flow-log objects whose name cannot be one (an impossible date): why each was skipped
    misnamed: dict[str, str] = field(default_factory=dict)


def normalize_uri(location: str) -> str:
    """s3:// is the same bucket as s3a://; a local folder becomes an absolute file: URI, its characters as they
    are: Hadoop takes a path's text literally (a %20 would be a folder named so), and escapes it itself."""
    if location.startswith("s3://"):
        return "s3a://" + location[len("s3://") :].rstrip("/")
    if "://" in location or location.startswith("file:"):
        return location.rstrip("/")
    from pathlib import Path

    return "file://" + Path(location).resolve().as_posix().rstrip("/")


def local_path(uri: str) -> str:
    """The folder or file a file: URI of normalize_uri (or Hadoop's file:/path) names, its text taken as it is, as
    Hadoop takes it: a '#' or '?' is part of a name, not a fragment or a query, and '%41' is a name, not an escape."""
    rest = uri.removeprefix("file:")
    if not rest.startswith("//"):
        return rest
    authority, _, path = rest[2:].partition("/")
    if authority not in ("", "localhost"):
        raise ValueError(f"{uri}: a file: URI of another host; give a local folder")
    return "/" + path


def object_key(
    account_id: str,
    region: str,
    flow_log_id: str,
    object_time: datetime,
    object_hash: str,
    *,
    prefix: str = "",
    hive: bool = False,
    hourly: bool = False,
    parquet: bool = False,
) -> str:
    """The key AWS gives an object, in the default or Hive-compatible layout."""
    t = object_time.astimezone(UTC)
    if hive:
        folders = [
            _LOGS_FOLDER,
            f"aws-account-id={account_id}",
            "aws-service=vpcflowlogs",
            f"aws-region={region}",
            f"year={t:%Y}",
            f"month={t:%m}",
            f"day={t:%d}",
        ] + ([f"hour={t:%H}"] if hourly else [])
    else:
        folders = [_LOGS_FOLDER, account_id, "vpcflowlogs", region, f"{t:%Y}", f"{t:%m}", f"{t:%d}"] + (
            [f"{t:%H}"] if hourly else []
        )
    extension = "log.parquet" if parquet else "log.gz"
    name = f"{account_id}_vpcflowlogs_{region}_{flow_log_id}_{t:%Y%m%dT%H%M}Z_{object_hash}.{extension}"
    return "/".join(([prefix.strip("/")] if prefix.strip("/") else []) + folders + [name])


class MisnamedObjectError(ValueError):
    """A name shaped like a flow-log object's that cannot be one, e.g. with the date 2026-13-01."""


def parse_object_name(name: str) -> dict | None:
    """Fields of a flow-log object's file name, or None when it is not one; MisnamedObjectError when it
    has the shape of one with an impossible date or time."""
    match = OBJECT_NAME.match(name)
    if not match:
        return None
    fields = match.groupdict()
    timestamp = fields.pop("timestamp")
    try:
        fields["object_time"] = datetime.strptime(timestamp, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError as error:
        raise MisnamedObjectError(f"{name}: the time in its name, {timestamp}, is not a date ({error})") from None
    fields["file_format"] = "parquet" if fields.pop("extension").endswith("parquet") else "text"
    return fields


def _partition_range(parts: dict[str, int]) -> tuple[datetime, datetime]:
    year = parts["year"]
    if "month" not in parts:
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    month = parts["month"]
    if "day" not in parts:
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        return start, end
    start = datetime(year, month, parts["day"], parts.get("hour", 0), tzinfo=UTC)
    return start, start + (timedelta(hours=1) if "hour" in parts else timedelta(days=1))


def _date_part(segment: str, parts: dict[str, int]) -> tuple[str, int] | None:
    """The date level this folder name adds to the partial date above it, if any."""
    for level, pattern in _DATE_SEGMENTS:
        if level in parts:
            continue
        match = pattern.match(segment)
        if match and (level == "year" or parts):
            return level, int(match.group(1))
        return None
    return None


def list_window(spark, source: str, start: datetime, end: datetime, missing_is_empty: bool = False) -> Listing:
    """Flow-log objects under source whose name timestamp is in [start, end).

    Walks the tree one folder level at a time and descends only into date
    partitions (below AWSLogs/) that can hold the window, so a year of history is not listed.
    Anything else found there (other services' logs, stray files) is skipped.
    missing_is_empty: a source that does not exist holds nothing (else an error). On S3 a prefix whose objects
    all expired is no folder at all.
    """
    root_uri = normalize_uri(source)
    root, fs = hadoop_path(spark, root_uri)
    root_text = fs.makeQualified(root).toString().rstrip("/")
    if not fs.exists(root):
        if missing_is_empty:
            return Listing(root_text, [], [])
        raise FileNotFoundError(f"source {source} does not exist")
    low, high = start - _FOLDER_SLACK, end + _FOLDER_SLACK
    objects: list[FlowLogObject] = []
    skipped: list[str] = []
    misnamed: dict[str, str] = {}
    # Date folders are below AWSLogs/ only: above it, the source's own prefix may name a folder 2024 or year=2025.
    pending = [(root, {}, _LOGS_FOLDER in root_text.split("/"))]
    while pending:
        folder, parts, below_logs = pending.pop()
        for status in fs.listStatus(folder):
            path = status.getPath()
            name = path.getName()
            if status.isDirectory():
                date_part = _date_part(name, parts) if below_logs else None
                child_parts = {**parts, date_part[0]: date_part[1]} if date_part else parts
                if date_part:
                    try:
                        folder_start, folder_end = _partition_range(child_parts)
                    except ValueError:  # e.g. month=13: not a date folder after all
                        folder_start, folder_end = low, high
                    if folder_end <= low or folder_start >= high:
                        continue
                pending.append((path, child_parts, below_logs or name == _LOGS_FOLDER))
                continue
            uri = path.toString()
            try:
                fields = parse_object_name(name)
            except MisnamedObjectError as error:
                misnamed[uri] = str(error)
                continue
            if fields is None:
                skipped.append(uri)
                continue
            if not (start <= fields["object_time"] < end):
                continue
            objects.append(
                FlowLogObject(
                    uri=uri,
                    key=uri[len(root_text) :].lstrip("/"),
                    size_bytes=int(status.getLen()),
                    modified_at=datetime.fromtimestamp(status.getModificationTime() / 1000, UTC),
                    etag=_etag(status),
                    **fields,
                )
            )
    objects.sort(key=lambda o: (o.object_time, o.uri))
    log.info("listed %d flow-log objects in [%s, %s), skipped %d others", len(objects), start, end, len(skipped))
    for uri, reason in sorted(misnamed.items()):
        log.warning("skipped %s: %s", uri, reason)
    return Listing(root=root_text, objects=objects, skipped=sorted(skipped), misnamed=misnamed)


def _etag(status) -> str | None:
    """The object's ETag where the file system keeps one (s3a's statuses are Hadoop EtagSources)."""
    from py4j.protocol import Py4JError

    try:
        return status.getEtag() or None
    except Py4JError:
        return None

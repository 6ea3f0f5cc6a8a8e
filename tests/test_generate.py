"""The sample-data generator: AWS's layout and formats, determinism, and a clean ingest."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flowlake import cli
from flowlake.generate import generate, rhythm, write_benchmark_day
from flowlake.layout import object_key, parse_object_name

START = datetime(2026, 11, 1, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)
NUMERIC = {"version", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "tcp_flags", "traffic_path"}
DEFAULT_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)


def read_object(path: Path) -> tuple[list[str], list[dict]]:
    """(header names, records keyed by table column) of a text or Parquet object, '-' as None."""
    if path.name.endswith(".parquet"):
        table = pq.read_table(path)
        return table.column_names, table.to_pylist()
    lines = gzip.decompress(path.read_bytes()).decode().split("\n")
    assert lines[-1] == "", "the last record ends with a newline"
    header = lines[0].split(" ")
    columns = [name.replace("-", "_") for name in header]
    records = []
    for line in lines[1:-1]:
        values = line.split(" ")
        assert len(values) == len(header), f"{path.name}: {line!r}"
        records.append(
            {c: None if v == "-" else int(v) if c in NUMERIC else v for c, v in zip(columns, values, strict=True)}
        )
    return header, records


def objects_under(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    summary = generate(str(root), START, hours=2, seed=7, records_per_hour=1000)
    flow_logs = {fl["flow_log_id"]: fl for fl in summary["flow_logs"]}
    objects = {}
    for key, path in objects_under(root).items():
        if "AWSLogs/" in key:
            fields = parse_object_name(path.name)
            header, records = read_object(path)
            objects[key] = {
                "fields": fields,
                "flow_log": flow_logs[fields["flow_log_id"]],
                "header": header,
                "records": records,
                "size": path.stat().st_size,
            }
    return root, summary, objects


def all_records(objects, where=lambda o: True):
    return [r for o in objects.values() if where(o) for r in o["records"]]


def test_same_seed_gives_byte_identical_objects(tmp_path):
    first = generate(str(tmp_path / "a"), START, hours=1, seed=7, records_per_hour=300)
    second = generate(str(tmp_path / "b"), START, hours=1, seed=7, records_per_hour=300)
    other = generate(str(tmp_path / "c"), START, hours=1, seed=8, records_per_hour=300)
    a, b, c = (objects_under(tmp_path / name) for name in "abc")
    assert list(a) == list(b)
    assert all(a[key].read_bytes() == b[key].read_bytes() for key in a)
    where = ("source", "nat_inventory")
    assert {k: v for k, v in first.items() if k not in where} == {k: v for k, v in second.items() if k not in where}
    assert other["records"] != first["records"] and set(c) != set(a)


def test_keys_are_aws_keys_in_every_layout(sample):
    root, summary, objects = sample
    assert set(objects_under(root)) - set(objects) == {"nat_gateways.csv"}  # outside AWSLogs/
    for key, obj in objects.items():
        fields, fl = obj["fields"], obj["flow_log"]
        object_hash = key.rsplit("_", 1)[1].split(".")[0]
        assert key == object_key(
            fields["account_id"],
            fields["region"],
            fields["flow_log_id"],
            fields["object_time"],
            object_hash,
            prefix=fl["prefix"],
            hive=fl["layout"] == "hive",
            hourly=fl["partitions"] == "hourly",
            parquet=fl["file_format"] == "parquet",
        )
        assert (fields["account_id"], fields["region"]) == (fl["account_id"], fl["region"])
    assert {
        (o["flow_log"]["layout"], o["flow_log"]["partitions"], o["fields"]["file_format"]) for o in objects.values()
    } == {
        ("default", "daily", "text"),
        ("hive", "hourly", "text"),
        ("default", "hourly", "parquet"),
        ("hive", "daily", "text"),
    }
    assert any("/hour=01/" in key for key in objects) and any(
        key.startswith("network-logs/AWSLogs/") for key in objects
    )
    assert len({fl["account_id"] for fl in summary["flow_logs"]}) == 3
    assert len({fl["region"] for fl in summary["flow_logs"]}) == 3


def test_one_object_every_five_minutes_per_flow_log_plus_the_late_ones(sample):
    _, summary, objects = sample
    late_keys = {late["key"] for late in summary["late_objects"]}
    assert late_keys and late_keys <= set(objects)
    windows = {START + k * FIVE_MINUTES for k in range(24)}
    for fl in summary["flow_logs"]:
        on_time = [
            o["fields"]["object_time"] for key, o in objects.items() if o["flow_log"] is fl and key not in late_keys
        ]
        assert sorted(on_time) == sorted(windows), fl["flow_log_id"]


def test_each_object_follows_its_flow_logs_format(sample):
    _, _, objects = sample
    formats = Counter()
    for obj in objects.values():
        fl = obj["flow_log"]
        expected = fl["log_format"].split(" ")
        if fl["file_format"] == "parquet":
            expected = [name.replace("-", "_") for name in expected]
        assert obj["header"] == expected  # read_object checked every line's field count
        formats[fl["log_format"]] += 1
    assert DEFAULT_HEADER in formats
    shuffled = [f for f in formats if f != DEFAULT_HEADER and not f.startswith("version ")]
    assert len(shuffled) == 1 and all(
        name in shuffled[0].split(" ")
        for name in (
            "vpc-id",
            "subnet-id",
            "instance-id",
            "flow-direction",
            "pkt-srcaddr",
            "pkt-dstaddr",
            "pkt-dst-aws-service",
            "traffic-path",
            "region",
        )
    )


def test_record_times_match_object_names(sample):
    _, summary, objects = sample
    late = {item["key"]: datetime.fromisoformat(item["records_window_start"]) for item in summary["late_objects"]}
    starts_in_previous_hour = 0
    for key, obj in objects.items():
        name_time = obj["fields"]["object_time"]
        window = late.get(key, name_time)
        assert window < name_time if key in late else window == name_time
        interval = obj["flow_log"]["aggregation_interval_seconds"]
        for record in obj["records"]:
            assert window.timestamp() <= record["end"] < (window + FIVE_MINUTES).timestamp()
            assert 0 <= record["end"] - record["start"] < interval
            starts_in_previous_hour += record["start"] < name_time.replace(minute=0).timestamp()
    assert starts_in_previous_hour > 0


def test_summary_counts_what_was_written(sample):
    _, summary, objects = sample
    records = all_records(objects)
    assert summary["objects"] == len(objects)
    assert summary["records"] == len(records)
    assert summary["bytes"] == sum(o["size"] for o in objects.values())
    assert summary["records_by_status"] == dict(Counter(r["log_status"] for r in records))
    # Transit gateway records have no action.
    assert summary["rejected_records"] == sum(r.get("action") == "REJECT" for r in records)


def test_statuses_rejects_scans_and_admin_ports_are_present(sample):
    _, summary, objects = sample
    records = all_records(objects)
    assert {"OK", "NODATA", "SKIPDATA"} == {r["log_status"] for r in records}
    for record in records:
        if record["log_status"] != "OK":
            assert record["action"] is None and record["srcaddr"] is None and record["packets"] is None
    ssh = [r for r in records if r["dstport"] == 22]
    assert {"ACCEPT", "REJECT"} == {r.get("action") for r in ssh}
    scanned_ports = defaultdict(set)
    for r in records:
        if r.get("action") == "REJECT":
            scanned_ports[(r["interface_id"], r["srcaddr"], r["srcport"])].add(r["dstport"])
    assert max(len(ports) for ports in scanned_ports.values()) >= 20  # a port scan
    assert any(r["dstport"] == 3389 and r.get("action") == "ACCEPT" for r in records)


def test_a_database_instance_spikes_at_20_utc_above_the_spike_thresholds(tmp_path):
    from flowlake.security import SecurityConfig

    root = tmp_path / "source"
    summary = generate(str(root), START + timedelta(hours=18), hours=3, seed=7, records_per_hour=400)
    prod = next(fl for fl in summary["flow_logs"] if fl["region"] == "us-east-1" and fl["file_format"] == "text")
    bytes_to_443 = Counter()
    for path in objects_under(root / "AWSLogs" / prod["account_id"]).values():
        for r in read_object(path)[1]:
            if r["dstport"] == 443 and r["srcaddr"] == "10.0.10.100":  # prod-use1's first database instance
                bytes_to_443[datetime.fromtimestamp(r["start"], UTC).hour] += r["bytes"]
    config = SecurityConfig.load()
    spike = bytes_to_443[20]
    usual = max(bytes_to_443[18], bytes_to_443[19], 1)
    assert spike >= config.spike_min_bytes and spike >= config.spike_high_factor * usual, bytes_to_443
    assert bytes_to_443[18] < config.spike_min_bytes and bytes_to_443[19] < config.spike_min_bytes


def test_a_transit_gateway_flow_log_of_the_default_format_loses_packets_to_a_blackhole_at_9_utc(tmp_path):
    from flowlake.generate import TRANSIT_GATEWAY_FORMAT
    from flowlake.security import SecurityConfig

    root = tmp_path / "source"
    summary = generate(str(root), START + timedelta(hours=8), hours=2, seed=7, records_per_hour=400)
    (tgw,) = [fl for fl in summary["flow_logs"] if fl["vpc_id"].startswith("tgw-")]
    assert tgw["log_format"] == " ".join(TRANSIT_GATEWAY_FORMAT) and "action" not in TRANSIT_GATEWAY_FORMAT
    offered, lost = Counter(), Counter()
    for path in objects_under(root).values():
        if tgw["flow_log_id"] in path.name:
            header, records = read_object(path)
            assert header == TRANSIT_GATEWAY_FORMAT
            for r in records:
                assert r["resource_type"] == "TransitGatewayAttachment" and r["log_status"] == "OK"
                key = (
                    datetime.fromtimestamp(r["start"], UTC).hour,
                    r["tgw_attachment_id"],
                    r["tgw_pair_attachment_id"],
                )
                losses = sum(
                    int(r[f"packets_lost_{reason}"])
                    for reason in ("no_route", "blackhole", "mtu_exceeded", "ttl_expired")
                )
                offered[key] += int(r["packets"]) + losses
                lost[key] += losses
    config = SecurityConfig.load()

    def finding(key) -> bool:
        return (
            offered[key] >= config.packet_loss_min_packets and lost[key] >= config.packet_loss_min_share * offered[key]
        )

    # Only the blackholed pair (no pair attachment) at 09:00 is lossy enough to be a finding.
    assert [key for key in offered if finding(key)] == [
        (9, key[1], None) for key in offered if key[0] == 9 and key[2] is None
    ]
    assert len([key for key in offered if finding(key)]) == 1


def test_nat_inventory_matches_the_nat_records(sample):
    root, summary, objects = sample
    assert summary["nat_inventory"] == str(root / "nat_gateways.csv")
    with open(root / "nat_gateways.csv", newline="") as f:
        inventory = list(csv.DictReader(f))
    assert list(inventory[0]) == [
        "nat_gateway_id",
        "interface_id",
        "private_ip",
        "account_id",
        "region",
        "vpc_id",
        "subnet_id",
    ]
    by_interface = {row["interface_id"]: row for row in inventory}
    assert len(by_interface) == len(inventory) == 4
    for interface_id, nat in by_interface.items():
        on_nat = [(o, r) for o in objects.values() for r in o["records"] if r.get("interface_id") == interface_id]
        assert on_nat, interface_id
        assert {(o["fields"]["account_id"], o["fields"]["region"], o["flow_log"]["vpc_id"]) for o, _ in on_nat} == {
            (nat["account_id"], nat["region"], nat["vpc_id"])
        }
        traffic = [r for _, r in on_nat if r["log_status"] == "OK"]
        ip = nat["private_ip"]
        assert all(ip in (r["srcaddr"], r["dstaddr"]) and r.get("instance_id") is None for r in traffic)
        # AWS's example: instance -> gateway, gateway -> internet, internet -> gateway, gateway -> instance.
        shapes = Counter(
            (
                "instance"
                if r["srcaddr"].startswith("10.") and r["srcaddr"] != ip
                else "gateway"
                if r["srcaddr"] == ip
                else "internet",
                "instance"
                if r["dstaddr"].startswith("10.") and r["dstaddr"] != ip
                else "gateway"
                if r["dstaddr"] == ip
                else "internet",
            )
            for r in traffic
        )
        assert set(shapes) == {
            ("instance", "gateway"),
            ("gateway", "internet"),
            ("internet", "gateway"),
            ("gateway", "instance"),
        }
        assert len(set(shapes.values())) == 1
        for r in traffic:
            if "pkt_srcaddr" in r:  # formats that carry the packet's original addresses
                if r["dstaddr"] == ip and r["srcaddr"].startswith("10."):
                    assert not r["pkt_dstaddr"].startswith("10.") and r["pkt_srcaddr"] == r["srcaddr"]
                if r["srcaddr"] == ip and r["dstaddr"].startswith("10."):
                    assert not r["pkt_srcaddr"].startswith("10.") and r["pkt_dstaddr"] == r["dstaddr"]
    translated = {
        r["interface_id"]
        for r in all_records(objects)
        if r.get("pkt_srcaddr") and (r["pkt_srcaddr"], r["pkt_dstaddr"]) != (r["srcaddr"], r["dstaddr"])
    }
    assert translated and translated <= set(by_interface)  # only NAT gateways translate addresses


def test_rhythm_peaks_in_the_afternoon_and_averages_one():
    assert rhythm(15) == pytest.approx(1.6)
    assert rhythm(3) == pytest.approx(0.4)
    assert sum(rhythm(h) for h in range(24)) / 24 == pytest.approx(1.0)


def test_cli_prints_the_summary(tmp_path, capsys):
    assert (
        cli.main(
            [
                "generate",
                "--out",
                str(tmp_path),
                "--start",
                "2026-11-01T00:00:00Z",
                "--hours",
                "1",
                "--records-per-hour",
                "100",
                "--nat-inventory",
                str(tmp_path / "inventory" / "nat.csv"),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["nat_inventory"] == str(tmp_path / "inventory" / "nat.csv")
    assert (tmp_path / "inventory" / "nat.csv").exists() and not (tmp_path / "nat_gateways.csv").exists()
    assert summary["objects"] == len(list((tmp_path / "AWSLogs").rglob("*.log.*"))) + len(
        list((tmp_path / "network-logs").rglob("*.log.*"))
    )


def test_writes_the_same_objects_to_s3(tmp_path, s3_client, s3_endpoint, monkeypatch):
    monkeypatch.setenv("FLOWLAKE_S3_ENDPOINT", s3_endpoint)
    s3_client.create_bucket(Bucket="generated")
    summary = generate("s3://generated/raw", START, hours=1, seed=3, records_per_hour=200)
    generate(str(tmp_path), START, hours=1, seed=3, records_per_hour=200)
    stored = {
        item["Key"][len("raw/") :]: s3_client.get_object(Bucket="generated", Key=item["Key"])["Body"].read()
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket="generated", Prefix="raw/")
        for item in page["Contents"]
    }
    local = {key: path.read_bytes() for key, path in objects_under(tmp_path).items()}
    assert stored == local
    assert summary["nat_inventory"] == "s3://generated/raw/nat_gateways.csv"


def test_benchmark_day_has_exactly_the_records_asked_for(tmp_path):
    summary = write_benchmark_day(str(tmp_path), START, records=2401, hours=1, processes=1)
    objects = {key: path for key, path in objects_under(tmp_path).items() if key != "nat_gateways.csv"}
    assert summary["nat_inventory"] == str(tmp_path / "nat_gateways.csv")
    assert summary["objects"] == len(objects) == 4 * 12
    total = 0
    for key, path in objects.items():
        fields = parse_object_name(path.name)
        assert key.startswith(f"AWSLogs/{fields['account_id']}/vpcflowlogs/{fields['region']}/2026/11/01/")
        header, records = read_object(path)
        assert " ".join(header) == DEFAULT_HEADER
        assert all(
            fields["object_time"].timestamp() <= r["end"] < fields["object_time"].timestamp() + 300 for r in records
        )
        total += len(records)
    assert total == summary["records"] == 2401
    assert summary["bytes"] == sum(p.stat().st_size for p in objects.values())
    again = tmp_path.parent / "again"
    write_benchmark_day(str(again), START, records=2401, hours=1, processes=1)
    assert all((again / key).read_bytes() == path.read_bytes() for key, path in objects.items())


@pytest.mark.slow
def test_a_generated_hour_ingests_without_quarantine(spark, tmp_path):
    from flowlake.ingest import run_ingest
    from flowlake.window import Window

    source = tmp_path / "source"
    summary = generate(str(source), START, hours=1, seed=11, records_per_hour=600)
    result = run_ingest(
        spark,
        str(source),
        str(tmp_path / "lake"),
        Window(START, START + timedelta(hours=1)),
        ingested_at=datetime(2026, 11, 1, 1, 5, tzinfo=UTC),
    )
    assert result["lines_quarantined"] == 0 and result["corrupt_objects"] == 0
    assert result["objects"] == summary["objects"]
    assert result["records_written"] == result["lines_read"] == summary["records"]
    assert result["skipped_objects"] == 1  # nat_gateways.csv
    assert result["hours_touched"] == ["2026-10-31T23:00:00+00:00", "2026-11-01T00:00:00+00:00"]


def test_benchmark_duckdb_figures_match_the_raw_records(tmp_path):
    from bench.duckdb_job import run

    summary = write_benchmark_day(str(tmp_path), START, records=1500, hours=1, processes=1)
    expected = defaultdict(lambda: [0, 0, 0])
    for path in (tmp_path / "AWSLogs").rglob("*.log.gz"):
        for r in read_object(path)[1]:
            if r["log_status"] == "OK":
                figures = expected[
                    (r["start"] - r["start"] % 3600, r["account_id"], r["interface_id"], r["action"], r["protocol"])
                ]
                figures[0] += 1
                figures[1] += r["packets"]
                figures[2] += r["bytes"]
    traffic = run(str(tmp_path), summary["nat_inventory"])["traffic"]
    assert {tuple(row[:5]): tuple(row[5:]) for row in traffic} == {key: tuple(v) for key, v in expected.items()}


def test_benchmark_random_objects_hold_exactly_the_records_asked_for_and_are_deterministic(tmp_path):
    from bench.data import RANDOM_OBJECTS, write_random_objects

    summary = write_random_objects(str(tmp_path / "a"), START, records=2003, processes=1)
    write_random_objects(str(tmp_path / "b"), START, records=2003, processes=1)
    objects = sorted((tmp_path / "a" / "AWSLogs").rglob("*.log.gz"))
    assert (summary["objects"], len(objects)) == (RANDOM_OBJECTS, RANDOM_OBJECTS)
    assert sum(len(read_object(path)[1]) for path in objects) == summary["records"] == 2003
    for path in objects:
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()


def test_the_demo_keeps_the_sample_of_its_window_and_replaces_another_windows(tmp_path, capsys):
    from flowlake.demo import prepare_sample

    source, start = tmp_path / "source", START

    def objects() -> dict[str, int]:
        return {str(p.relative_to(source)): p.stat().st_mtime_ns for p in source.rglob("*.log.*")}

    assert prepare_sample(source, start, 2)
    two_hours = objects()
    assert {name.rsplit("_", 2)[1][:11] for name in two_hours} == {"20261101T00", "20261101T01"}
    # The same window: nothing written again.
    assert not prepare_sample(source, start, 2)
    assert objects() == two_hours
    # Another window: the sample of that window alone, as a fresh generation of it gives.
    assert prepare_sample(source, start, 1)
    fresh = tmp_path / "fresh"
    generate(str(fresh), start, 1)
    assert sorted(objects()) == sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*.log.*"))

"""Hourly aggregates: hand-worked cases per table, reconciliation with flow_logs, re-running hours."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from flowlake import aggregate, retention
from flowlake.aggregate import run_aggregate
from flowlake.aggregates import module_for
from flowlake.contracts import table_schema
from flowlake.window import Window, timestamp_literal
from tests.flowlog_objects import NOT_IN_THE_DEFAULT_FORMAT
from tests.frames import append, frame, read, rows

# The tables whose figures are sums over flow_logs records (top_talkers_hourly has its own test).
SUMMED_TABLES = ("traffic_hourly", "rejects_hourly", "nat_gateway_hourly", "log_status_hourly")

H10 = datetime(2026, 11, 1, 10, tzinfo=UTC)
H11 = H10 + timedelta(hours=1)
H12 = H10 + timedelta(hours=2)
ACCOUNT = "123456789010"
REGION = "us-east-1"
ENI = "eni-1235b8ca123456789"
NAT_ENI = "eni-0nat0000000000001"


def at(hour: datetime, seconds: int) -> int:
    return int(hour.timestamp()) + seconds


def record(**fields) -> dict:
    """A flow_logs row: an OK record of ACCOUNT in REGION unless fields say otherwise."""
    row = {"version": 2, "account_id": ACCOUNT, "region": REGION, "log_status": "OK", **fields}
    event_time = datetime.fromtimestamp(row["start"], UTC)
    return {"event_time": event_time, "event_date": event_time.date(), **row}


# The AWS documentation's records, moved into hour 10, plus what they lack:
# a rejection with a reason, a record of a format without vpc-id,
# flow-direction and log-status, and a record of the next hour.
HAND_WORKED = [
    record(
        interface_id=ENI,
        srcaddr="172.31.16.139",
        dstaddr="172.31.16.21",
        srcport=20641,
        dstport=22,
        protocol=6,
        packets=20,
        bytes=4249,
        start=at(H10, 10),
        end=at(H10, 70),
        action="ACCEPT",
        vpc_id="vpc-1",
        flow_direction="ingress",
    ),
    record(
        interface_id=ENI,
        srcaddr="172.31.9.69",
        dstaddr="172.31.9.12",
        srcport=49761,
        dstport=3389,
        protocol=6,
        packets=20,
        bytes=4249,
        start=at(H10, 10),
        end=at(H10, 70),
        action="REJECT",
        vpc_id="vpc-1",
        flow_direction="ingress",
    ),
    record(interface_id=ENI, start=at(H10, 876), end=at(H10, 934), log_status="NODATA", vpc_id="vpc-1"),
    record(
        interface_id="eni-11111111aaaaaaaaa",
        start=at(H10, 876),
        end=at(H10, 934),
        log_status="SKIPDATA",
        vpc_id="vpc-1",
    ),
    record(
        interface_id=ENI,
        srcaddr="2001:db8:1234:a100:8d6e:3477:df66:f105",
        dstaddr="2001:db8:1234:a102:3304:8879:34cf:4071",
        srcport=34892,
        dstport=22,
        protocol=6,
        packets=54,
        bytes=8855,
        start=at(H10, 1708),
        end=at(H10, 1820),
        action="ACCEPT",
        vpc_id="vpc-1",
        flow_direction="ingress",
    ),
    record(
        interface_id=ENI,
        srcaddr="198.51.100.7",
        dstaddr="172.31.16.21",
        srcport=40000,
        dstport=22,
        protocol=6,
        packets=2,
        bytes=120,
        start=at(H10, 600),
        end=at(H10, 660),
        action="REJECT",
        vpc_id="vpc-1",
        flow_direction="ingress",
        reject_reason="BPA",
    ),
    record(
        interface_id=ENI,
        srcaddr="198.51.100.7",
        dstaddr="172.31.16.21",
        srcport=40001,
        dstport=22,
        protocol=6,
        packets=1,
        bytes=60,
        start=at(H10, 1200),
        end=at(H10, 1260),
        action="REJECT",
        vpc_id="vpc-1",
        flow_direction="ingress",
        reject_reason="BPA",
    ),
    record(
        interface_id=ENI,
        srcaddr="198.51.100.8",
        dstaddr="172.31.16.21",
        srcport=40002,
        dstport=22,
        protocol=6,
        packets=1,
        bytes=60,
        start=at(H10, 3599),
        end=at(H11, 59),
        action="REJECT",
        vpc_id="vpc-1",
        flow_direction="ingress",
        reject_reason="BPA",
    ),
    record(
        interface_id="eni-2",
        srcaddr="10.0.0.5",
        dstaddr="10.0.0.6",
        srcport=53,
        dstport=5353,
        protocol=17,
        packets=3,
        bytes=300,
        start=at(H10, 100),
        end=at(H10, 160),
        action="ACCEPT",
        log_status=None,
    ),
    record(
        interface_id=ENI,
        srcaddr="172.31.16.139",
        dstaddr="172.31.16.21",
        srcport=20642,
        dstport=22,
        protocol=6,
        packets=1,
        bytes=40,
        start=at(H11, 0),
        end=at(H11, 60),
        action="ACCEPT",
        vpc_id="vpc-1",
        flow_direction="ingress",
    ),
]


def expected(hour: datetime, **columns) -> dict:
    return {"hour": hour, "account_id": ACCOUNT, "region": REGION, "event_date": hour.date(), **columns}


def test_traffic_hourly_sums_traffic_records_by_action_protocol_and_direction(spark):
    actual = module_for("traffic_hourly").transform(frame(spark, "flow_logs", HAND_WORKED))

    traffic = dict(vpc_id="vpc-1", interface_id=ENI, protocol=6, flow_direction="ingress")
    assertDataFrameEqual(
        actual,
        frame(
            spark,
            "traffic_hourly",
            [
                expected(H10, **traffic, action="ACCEPT", records=2, packets=74, bytes=13104),
                expected(H10, **traffic, action="REJECT", records=4, packets=24, bytes=4489),
                expected(
                    H10,
                    vpc_id=None,
                    interface_id="eni-2",
                    action="ACCEPT",
                    protocol=17,
                    flow_direction=None,
                    records=1,
                    packets=3,
                    bytes=300,
                ),
                expected(H11, **traffic, action="ACCEPT", records=1, packets=1, bytes=40),
            ],
        ),
    )


def test_rejects_hourly_keeps_the_reject_reason_and_counts_distinct_sources_exactly(spark):
    actual = module_for("rejects_hourly").transform(frame(spark, "flow_logs", HAND_WORKED))

    assertDataFrameEqual(
        actual,
        frame(
            spark,
            "rejects_hourly",
            [
                expected(
                    H10,
                    vpc_id="vpc-1",
                    interface_id=ENI,
                    dstport=3389,
                    protocol=6,
                    reject_reason=None,
                    records=1,
                    packets=20,
                    bytes=4249,
                    distinct_sources=1,
                ),
                expected(
                    H10,
                    vpc_id="vpc-1",
                    interface_id=ENI,
                    dstport=22,
                    protocol=6,
                    reject_reason="BPA",
                    records=3,
                    packets=4,
                    bytes=240,
                    distinct_sources=2,
                ),
            ],
        ),
    )


def test_log_status_hourly_counts_every_record_with_nodata_and_skipdata(spark):
    actual = module_for("log_status_hourly").transform(frame(spark, "flow_logs", HAND_WORKED))

    assertDataFrameEqual(
        actual,
        frame(
            spark,
            "log_status_hourly",
            [
                expected(
                    H10, interface_id=ENI, log_status="OK", records=6, window_seconds=60 + 60 + 112 + 60 + 60 + 60
                ),
                expected(H10, interface_id=ENI, log_status="NODATA", records=1, window_seconds=58),
                expected(
                    H10, interface_id="eni-11111111aaaaaaaaa", log_status="SKIPDATA", records=1, window_seconds=58
                ),
                expected(H10, interface_id="eni-2", log_status=None, records=1, window_seconds=60),
                expected(H11, interface_id=ENI, log_status="OK", records=1, window_seconds=60),
            ],
        ),
    )


def nat_address(private_ip: str, vpc_cidr_blocks=None, nat_gateway_id="nat-0a1", interface_id=NAT_ENI) -> dict:
    return {
        "nat_gateway_id": nat_gateway_id,
        "interface_id": interface_id,
        "private_ip": private_ip,
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": "vpc-1",
        "subnet_id": "subnet-1",
        "vpc_cidr_blocks": vpc_cidr_blocks,
    }


def nat_record(srcaddr, dstaddr, packets, bytes, interface_id=NAT_ENI, **fields) -> dict:
    return record(
        **{"start": at(H10, 300), "end": at(H10, 360), **fields},
        interface_id=interface_id,
        srcaddr=srcaddr,
        dstaddr=dstaddr,
        srcport=44000,
        dstport=443,
        protocol=6,
        packets=packets,
        bytes=bytes,
        action="ACCEPT",
    )


# The AWS documentation's NAT gateway example: instance 10.0.1.5 behind the
# gateway 10.0.0.220 talking to 203.0.113.5. Of the 4 records on the gateway's
# interface, the 1st and 3rd are addressed to it (they enter it), one from each side.
NAT_EXAMPLE = [
    nat_record("10.0.1.5", "10.0.0.220", 10, 1000, pkt_srcaddr="10.0.1.5", pkt_dstaddr="203.0.113.5"),
    nat_record("10.0.0.220", "203.0.113.5", 10, 1000, pkt_srcaddr="10.0.0.220", pkt_dstaddr="203.0.113.5"),
    nat_record("203.0.113.5", "10.0.0.220", 20, 30000, pkt_srcaddr="203.0.113.5", pkt_dstaddr="10.0.0.220"),
    nat_record("10.0.0.220", "10.0.1.5", 20, 30000, pkt_srcaddr="203.0.113.5", pkt_dstaddr="10.0.1.5"),
]


def test_nat_gateway_hourly_counts_the_two_records_of_the_aws_example_that_enter_the_gateway(spark):
    actual = module_for("nat_gateway_hourly").transform(
        frame(spark, "flow_logs", NAT_EXAMPLE), nat_inventory=frame(spark, "nat_gateways", [nat_address("10.0.0.220")])
    )

    assertDataFrameEqual(
        actual,
        frame(
            spark,
            "nat_gateway_hourly",
            [
                expected(
                    H10,
                    nat_gateway_id="nat-0a1",
                    interface_id=NAT_ENI,
                    bytes_in_from_source=1000,
                    bytes_in_from_destination=30000,
                    packets_in_from_source=10,
                    packets_in_from_destination=20,
                    records=2,
                    distinct_sources=2,
                    top_destination_aws_services=[],
                    estimated_cost_usd=31000 / 1e9 * 0.045,
                ),
            ],
        ),
    )
    assert actual.first().estimated_cost_usd == 31000 / 1e9 * 0.045


def test_nat_gateway_hourly_sides_services_secondary_addresses_vpc_cidr_and_price(spark):
    to_gateway = "10.0.0.220"
    flow_logs = frame(
        spark,
        "flow_logs",
        [
            # from source: in the VPC's (non-private) CIDR, via the secondary address, in 100.64/10
            nat_record("198.18.5.5", to_gateway, 5, 500, pkt_dst_aws_service="S3"),
            nat_record("10.0.1.5", "10.0.0.221", 5, 500, pkt_dst_aws_service="DYNAMODB"),
            nat_record("10.0.1.6", to_gateway, 5, 500, pkt_dst_aws_service="EC2"),
            nat_record("100.64.3.3", to_gateway, 1, 100),
            nat_record("10.0.1.5", to_gateway, 1, 30, pkt_dst_aws_service="ROUTE53"),
            nat_record("10.0.1.5", to_gateway, 1, 20, pkt_dst_aws_service="CLOUDFRONT"),
            nat_record("10.0.1.5", to_gateway, 1, 10, pkt_dst_aws_service="AMAZON"),
            # from destination: the service is the packet's source
            nat_record("52.216.1.1", to_gateway, 4, 4000, pkt_src_aws_service="S3"),
            nat_record("8.8.8.8", to_gateway, 1, 50),
            # not entering a gateway: leaving it, another interface, no traffic
            nat_record(to_gateway, "52.216.1.1", 5, 500, pkt_dst_aws_service="S3"),
            nat_record("10.0.1.5", to_gateway, 9, 900, interface_id="eni-app"),
            record(interface_id=NAT_ENI, start=at(H10, 0), end=at(H10, 60), log_status="NODATA"),
        ],
    )
    inventory = frame(
        spark,
        "nat_gateways",
        [
            nat_address(to_gateway, vpc_cidr_blocks=["198.18.0.0/16", "2600:1f18:abcd:1200::/56"]),
            nat_address("10.0.0.221", vpc_cidr_blocks=["198.18.0.0/16"]),
            nat_address("10.9.0.9", nat_gateway_id="nat-idle", interface_id="eni-idle"),
        ],
    )

    actual = module_for("nat_gateway_hourly").transform(flow_logs, nat_inventory=inventory, nat_price_per_gb=0.05)

    assertDataFrameEqual(
        actual,
        frame(
            spark,
            "nat_gateway_hourly",
            [
                expected(
                    H10,
                    nat_gateway_id="nat-0a1",
                    interface_id=NAT_ENI,
                    bytes_in_from_source=500 + 500 + 500 + 100 + 30 + 20 + 10,
                    bytes_in_from_destination=4050,
                    packets_in_from_source=19,
                    packets_in_from_destination=5,
                    records=9,
                    distinct_sources=6,
                    top_destination_aws_services=["S3", "DYNAMODB", "EC2", "ROUTE53", "CLOUDFRONT"],
                    estimated_cost_usd=(1660 + 4050) / 1e9 * 0.05,
                ),
            ],
        ),
    )
    assert actual.first().estimated_cost_usd == (1660 + 4050) / 1e9 * 0.05


def test_nat_gateway_hourly_is_empty_without_an_inventory(spark):
    actual = module_for("nat_gateway_hourly").transform(frame(spark, "flow_logs", NAT_EXAMPLE))

    assert actual.schema == table_schema("nat_gateway_hourly").struct()
    assert actual.count() == 0


# --- the job: Delta slices, reconciliation, re-running hours -------------------------------


def write_flow_logs(spark, lake: str, records: list[dict]) -> None:
    """Adds records to the lake's flow_logs, as an ingest of another object would."""
    append(frame(spark, "flow_logs", records), lake, "flow_logs")


def write_inventory_csv(path) -> str:
    path.write_text(
        "nat_gateway_id,interface_id,private_ip,account_id,region,vpc_id,subnet_id,vpc_cidr_blocks\n"
        f"nat-0a1,{NAT_ENI},10.0.0.220,{ACCOUNT},{REGION},vpc-1,subnet-1,198.18.0.0/16 10.0.0.0/16\n"
    )
    return str(path)


def independent_figures(records: list[dict]) -> dict:
    """Per table and hour: records, packets, bytes, computed in Python from the flow_logs rows."""
    figures = defaultdict(lambda: [0, 0, 0])

    def add(table, row):
        hour = datetime.fromtimestamp(row["start"], UTC).replace(minute=0, second=0)
        totals = figures[(table, hour)]
        totals[0] += 1
        totals[1] += row.get("packets") or 0
        totals[2] += row.get("bytes") or 0

    for row in records:
        add("log_status_hourly", row)
        if row.get("log_status") in ("OK", None):
            add("traffic_hourly", row)
            if row.get("action") == "REJECT":
                add("rejects_hourly", row)
            if row["interface_id"] == NAT_ENI and row.get("dstaddr") == "10.0.0.220":
                add("nat_gateway_hourly", row)
    return {key: tuple(value) for key, value in figures.items()}


def table_figures(spark, lake: str) -> dict:
    figures = {}
    for table in SUMMED_TABLES:
        df = read(spark, lake, table)
        if table == "nat_gateway_hourly":
            packets = F.col("packets_in_from_source") + F.col("packets_in_from_destination")
            bytes_ = F.col("bytes_in_from_source") + F.col("bytes_in_from_destination")
        elif table == "log_status_hourly":
            packets = bytes_ = F.lit(None)
        else:
            packets, bytes_ = F.col("packets"), F.col("bytes")
        for hour, *totals in rows(
            df.groupBy("hour").agg(
                F.sum("records").alias("records"),
                F.coalesce(F.sum(packets), F.lit(0)).alias("packets"),
                F.coalesce(F.sum(bytes_), F.lit(0)).alias("bytes"),
            )
        ):
            figures[(table, hour)] = tuple(totals)
    return figures


def without_packets_of_log_status(figures: dict) -> dict:
    return {k: (v[0], 0, 0) if k[0] == "log_status_hourly" else v for k, v in figures.items()}


def test_every_figure_reconciles_with_flow_logs_hour_by_hour(spark, tmp_path):
    lake = str(tmp_path / "lake")
    records = (
        HAND_WORKED
        + NAT_EXAMPLE
        + [
            nat_record("198.18.5.5", "10.0.0.220", 3, 333, start=at(H12, 5), end=at(H12, 65), pkt_dst_aws_service="S3"),
        ]
    )
    write_flow_logs(spark, lake, records)

    summary = run_aggregate(
        spark,
        lake,
        Window(H10, H12 + timedelta(hours=1)),
        nat_inventory=write_inventory_csv(tmp_path / "nat.csv"),
        tables=SUMMED_TABLES,
    )

    assert table_figures(spark, lake) == without_packets_of_log_status(independent_figures(records))
    assert summary["rows"] == {
        "traffic_hourly": 6,
        "rejects_hourly": 2,
        "nat_gateway_hourly": 2,
        "log_status_hourly": 7,
    }
    assert summary["hours"] == 3
    assert summary["nat_inventory"].startswith("file ")


def test_rerunning_an_hour_replaces_exactly_that_hour_and_corrects_late_records(spark, tmp_path):
    lake = str(tmp_path / "lake")
    inventory = write_inventory_csv(tmp_path / "nat.csv")
    first = (
        HAND_WORKED
        + NAT_EXAMPLE
        + [
            nat_record("10.0.1.5", "10.0.0.220", 2, 200, start=at(H12, 5), end=at(H12, 65)),
        ]
    )
    write_flow_logs(spark, lake, first)
    run_aggregate(spark, lake, Window(H10, H12 + timedelta(hours=1)), nat_inventory=inventory, tables=SUMMED_TABLES)
    # Every row but hour 11's, which the re-runs below replace.
    not_hour_11 = F.col("hour") != timestamp_literal(H11)
    before = {t: rows(read(spark, lake, t).where(not_hour_11)) for t in SUMMED_TABLES}

    # Late records land in hour 11, which was already aggregated.
    late = [
        nat_record("10.0.1.7", "10.0.0.220", 7, 700, start=at(H11, 120), end=at(H11, 180)),
        record(
            interface_id=ENI,
            srcaddr="203.0.113.9",
            dstaddr="172.31.16.21",
            srcport=1,
            dstport=22,
            protocol=6,
            packets=1,
            bytes=40,
            start=at(H11, 7),
            end=at(H11, 9),
            action="REJECT",
            vpc_id="vpc-1",
            flow_direction="ingress",
        ),
    ]
    write_flow_logs(spark, lake, late)
    assert table_figures(spark, lake) != without_packets_of_log_status(independent_figures(first + late))

    for _ in range(2):  # twice: a re-run is idempotent
        run_aggregate(spark, lake, Window(H11, H12), nat_inventory=inventory, tables=SUMMED_TABLES)

    assert table_figures(spark, lake) == without_packets_of_log_status(independent_figures(first + late))
    for table in SUMMED_TABLES:
        after = read(spark, lake, table)
        assert rows(after.where(not_hour_11)) == before[table]
        assert after.count() == after.select("hour", *module_for(table).KEYS).distinct().count()


def vpc_ids_by_hour(spark, lake: str) -> dict:
    return dict(rows(read(spark, lake, "traffic_hourly").groupBy("hour").agg(F.sort_array(F.collect_set("vpc_id")))))


def test_columns_no_file_of_the_window_has_a_value_in_are_not_kept_and_the_figures_stand(spark, tmp_path):
    """The window's records have VPCs but none of the other columns a default-format record lacks; a record of
    another day, in a file of its own that the window does not read, has a direction."""
    lake = str(tmp_path / "lake")
    records = [
        {c: v for c, v in row.items() if c not in NOT_IN_THE_DEFAULT_FORMAT[1:]} for row in HAND_WORKED + NAT_EXAMPLE
    ]
    write_flow_logs(spark, lake, records)
    write_flow_logs(
        spark, lake, [record(interface_id=ENI, start=at(H10 - timedelta(days=2), 0), flow_direction="egress")]
    )

    summary = run_aggregate(
        spark,
        lake,
        Window(H10, H12),
        nat_inventory=write_inventory_csv(tmp_path / "nat.csv"),
        tables=(*SUMMED_TABLES, "transit_gateway_hourly"),
    )

    assert summary["columns_without_values"] == NOT_IN_THE_DEFAULT_FORMAT[1:]
    assert table_figures(spark, lake) == without_packets_of_log_status(independent_figures(records))
    assert vpc_ids_by_hour(spark, lake) == {H10: ["vpc-1"], H11: ["vpc-1"]}
    assert summary["rows"]["transit_gateway_hourly"] == 0


def test_records_with_values_the_footers_did_not_show_are_kept_whole(spark, tmp_path, caplog, monkeypatch):
    """The footers said the columns a default-format record lacks were empty, yet the records have VPCs and
    directions (a file committed after the footers were read): every column is cached, no figure loses
    them, and the run names them."""
    lake = str(tmp_path / "lake")
    write_flow_logs(spark, lake, HAND_WORKED)
    monkeypatch.setattr(aggregate, "columns_without_values", lambda *args: tuple(NOT_IN_THE_DEFAULT_FORMAT))
    with_values = [c for c in NOT_IN_THE_DEFAULT_FORMAT if any(row.get(c) is not None for row in HAND_WORKED)]

    summary = run_aggregate(spark, lake, Window(H10, H12), tables=SUMMED_TABLES)

    assert summary["columns_without_values"] == []
    assert f"records have {', '.join(with_values)}, which the window's files had no value of" in caplog.text
    assert table_figures(spark, lake) == without_packets_of_log_status(independent_figures(HAND_WORKED))
    assert vpc_ids_by_hour(spark, lake) == {H10: ["vpc-1"], H11: ["vpc-1"]}


def test_the_window_s_records_are_cached_in_parts_of_at_most_cached_part_bytes_of_files(spark, tmp_path, monkeypatch):
    """A table aggregates each cached part in one task. The real bound is 16 MB; a kilobyte shows it on a few
    rows: Spark's own (128 MB, or the files' bytes per core) keeps these rows in one or two parts."""
    lake = str(tmp_path / "lake")
    write_flow_logs(spark, lake, HAND_WORKED)
    file_bytes = sum(f.stat().st_size for f in (tmp_path / "lake" / "flow_logs").rglob("*.parquet"))
    monkeypatch.setattr(aggregate, "CACHED_PART_BYTES", 1024)
    setting = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(setting, None)

    version = retention.flow_logs_state(spark, lake).version
    cached = aggregate.read_window_records(spark, lake, Window(H10, H12), version)
    try:
        parts = cached.cache.rdd.getNumPartitions()
    finally:
        cached.cache.unpersist()

    assert cached.count == len(HAND_WORKED)
    assert parts >= file_bytes // 1024 > 2
    assert spark.conf.get(setting, None) == before


def test_a_lake_without_flow_logs_has_no_state_and_is_not_aggregated(spark, tmp_path):
    lake = str(tmp_path / "lake")
    assert retention.flow_logs_state(spark, lake) == (-1, None)
    with pytest.raises(
        FileNotFoundError, match=f"no flow_logs table at file://{lake}/flow_logs: run flowlake ingest first"
    ):
        run_aggregate(spark, lake, Window(H10, H12))
    assert not (tmp_path / "lake").exists()


def cached_frames_of(spark) -> bool:
    return not spark._jsparkSession.sharedState().cacheManager().isEmpty()


@pytest.mark.parametrize(
    "empty", [(), tuple(NOT_IN_THE_DEFAULT_FORMAT)], ids=["all columns cached", "columns left out"]
)
def test_a_window_whose_records_cannot_be_read_fails_and_leaves_nothing_cached(spark, tmp_path, monkeypatch, empty):
    lake = str(tmp_path / "lake")
    write_flow_logs(spark, lake, HAND_WORKED)
    monkeypatch.setattr(aggregate, "columns_without_values", lambda *args: empty)
    for data_file in (tmp_path / "lake" / "flow_logs").rglob("*.parquet"):
        data_file.write_bytes(b"not parquet")
    assert not cached_frames_of(spark)

    with pytest.raises(Exception, match="parquet"):
        run_aggregate(spark, lake, Window(H10, H12), tables=SUMMED_TABLES)

    assert not cached_frames_of(spark)


def test_an_unusable_nat_inventory_fails_the_run_and_leaves_nothing_cached(spark, tmp_path):
    # The inventory is read while the records are cached: its error comes after the cache is built.
    lake = str(tmp_path / "lake")
    write_flow_logs(spark, lake, NAT_EXAMPLE)
    inventory = tmp_path / "nat.csv"
    inventory.write_text(f"nat_gateway_id,interface_id\nnat-0a1,{NAT_ENI}\n")

    with pytest.raises(ValueError, match="missing columns private_ip"):
        run_aggregate(spark, lake, Window(H10, H11), nat_inventory=str(inventory), tables=SUMMED_TABLES)

    assert not cached_frames_of(spark)


def test_aggregate_cli_reads_a_json_inventory_and_the_price(spark, tmp_path):
    lake = str(tmp_path / "lake")
    write_flow_logs(spark, lake, NAT_EXAMPLE)
    inventory = tmp_path / "nat.json"
    inventory.write_text(
        f'[{{"nat_gateway_id": "nat-0a1", "interface_id": "{NAT_ENI}", "private_ip": "10.0.0.220", "region": "{REGION}"}}]'
    )

    summary = aggregate.main(
        [
            "--lake",
            lake,
            "--start",
            "2026-11-01T10:00:00Z",
            "--end",
            "2026-11-01T11:00:00Z",
            "--nat-inventory",
            str(inventory),
            "--nat-price-per-gb",
            "0.1",
        ],
        spark=spark,
    )

    assert summary["rows"]["nat_gateway_hourly"] == 1
    row = read(spark, lake, "nat_gateway_hourly").first()
    assert (row.bytes_in_from_source, row.bytes_in_from_destination, row.estimated_cost_usd) == (
        1000,
        30000,
        31000 / 1e9 * 0.1,
    )


def test_aggregate_cli_replaces_the_hours_of_the_tables_it_names_and_no_other(spark, tmp_path):
    lake = str(tmp_path / "lake")
    inventory = write_inventory_csv(tmp_path / "nat.csv")
    first = HAND_WORKED + NAT_EXAMPLE
    write_flow_logs(spark, lake, first)
    run_aggregate(spark, lake, Window(H10, H12), nat_inventory=inventory, tables=SUMMED_TABLES)
    late = [nat_record("10.0.1.7", "10.0.0.220", 7, 700, start=at(H10, 120), end=at(H10, 180))]
    write_flow_logs(spark, lake, late)
    window = ["--lake", lake, "--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T12:00:00Z"]

    summary = aggregate.main(
        [*window, "--nat-inventory", inventory, "--tables", "nat_gateway_hourly, traffic_hourly"], spark=spark
    )

    assert list(summary["rows"]) == ["traffic_hourly", "nat_gateway_hourly"]
    named = {"traffic_hourly", "nat_gateway_hourly"}
    now, then = independent_figures(first + late), independent_figures(first)
    assert table_figures(spark, lake) == without_packets_of_log_status(
        {key: (now if key[0] in named else then)[key] for key in now}
    )


@pytest.mark.parametrize("tables, named", [("traffic_hourly,flow_logs", "flow_logs"), (",", "no table")])
def test_aggregate_cli_refuses_a_table_that_is_not_an_hourly_one(tmp_path, capsys, tables, named):
    window = ["--lake", str(tmp_path), "--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T11:00:00Z"]

    with pytest.raises(SystemExit) as stopped:
        aggregate.main([*window, "--tables", tables])

    assert stopped.value.code == 2
    assert (
        f"{named}: not a registered hourly table; choose among traffic_hourly, rejects_hourly,"
        in capsys.readouterr().err
    )


def test_aggregate_without_any_inventory_says_nat_figures_are_empty(spark, tmp_path):
    lake = str(tmp_path / "lake")
    write_flow_logs(spark, lake, NAT_EXAMPLE)

    summary = run_aggregate(spark, lake, Window(H10, H11))

    assert summary["rows"]["nat_gateway_hourly"] == 0
    assert summary["rows"]["traffic_hourly"] == 1
    assert summary["nat_inventory"].startswith("none")


@pytest.mark.parametrize("start, end", [(H10 + timedelta(minutes=30), H11), (H10, H11 + timedelta(seconds=1))])
def test_aggregate_refuses_windows_that_are_not_whole_hours(spark, tmp_path, start, end):
    with pytest.raises(ValueError, match="whole UTC hours"):
        run_aggregate(spark, str(tmp_path / "lake"), Window(start, end))

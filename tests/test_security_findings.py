"""security_findings: hand-built traffic with a scan, spikes and exposures gives exactly those findings;
normal traffic gives none; spikes are found in the port_traffic_hourly rows aggregate passes; a run
finds the spikes of the later hours whose baselines reach into its window, so hours aggregated in any order
give the same findings; a re-run of an hour alerts nobody twice.

The hour is 2026-11-09 10:00 UTC. The estate (account 111122223333, us-east-1, vpc-0prod):
eni-web 10.0.0.20, eni-db 10.0.10.100, eni-api 10.0.1.30, eni-bastion 10.0.0.5, eni-win 10.0.0.6,
eni-elb 10.0.0.10, eni-fresh 10.0.2.40.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import timedelta

import pytest
from pyspark.testing import assertDataFrameEqual

from flowlake.aggregate import run_aggregate
from flowlake.aggregates import HOURLY_TABLES, module_for, port_traffic_hourly
from flowlake.aggregates.security_findings import intermediates, port_scan_candidates, transform
from flowlake.security import PortHistory, SecurityConfig, add_security_arguments, config_of, read_port_history
from flowlake.spark_session import session_settings
from flowlake.window import Window, slice_predicate
from tests.frames import append, frame, read, rows, utc
from tests.servers import SmtpServer, WebhookServer, body

ACCOUNT, REGION, VPC = "111122223333", "us-east-1", "vpc-0prod"
H = utc(2026, 11, 9, 10)
EPOCH = int(H.timestamp())
SCANNER, INTRUDER, OFFICE_1, OFFICE_2 = "198.51.100.9", "198.51.100.20", "203.0.113.10", "203.0.113.11"
IPV6_CLIENT = "2a05:d018::15"
# Records spike from 3 records up, so that a records spike fits in a tiny frame; the office is trusted.
CONFIG = SecurityConfig.load(overrides={"spike_min_records": 3, "trusted_source_cidrs": ["203.0.113.0/28"]})


def record(interface, src, dst, srcport, dstport, action="ACCEPT", size=100, *, protocol=6, direction="ingress"):
    return {
        "version": 5,
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": VPC,
        "interface_id": interface,
        "srcaddr": src,
        "dstaddr": dst,
        "srcport": srcport,
        "dstport": dstport,
        "protocol": protocol,
        "packets": max(1, size // 1000),
        "bytes": size,
        "start": EPOCH + 60,
        "end": EPOCH + 120,
        "action": action,
        "log_status": "OK",
        "flow_direction": direction,
        "event_time": H + timedelta(minutes=1),
        "event_date": H.date(),
    }


def history(interface, dstport, hours_back, size, records=1, protocol=6):
    hour = H - timedelta(hours=hours_back)
    return {
        "hour": hour,
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": VPC,
        "interface_id": interface,
        "dstport": dstport,
        "protocol": protocol,
        "records": records,
        "packets": records,
        "bytes": size,
        "rejected_records": 0,
        "distinct_sources": 1,
        "event_date": hour.date(),
    }


WEEK, DAY = 24 * 7, 24

# Nothing here is a finding: private sources, rejected SSH, outbound SSH and its reply, a reply into a NAT
# gateway's port that is an admin port, a load
# balancer reaching 16 targets (accepted: not a scan), an idle interface.
NORMAL = [
    record("eni-db", "10.0.0.20", "10.0.10.100", 50010, 5432),
    record("eni-bastion", "198.51.100.21", "10.0.0.5", 50020, 22, "REJECT"),
    record("eni-bastion", "10.0.0.5", "198.51.100.30", 50100, 22, direction="egress"),
    record("eni-bastion", "10.0.0.5", INTRUDER, 22, 50001, direction="egress"),
    # A NAT gateway's reply from a public HTTPS server into the port it translated to (1024-65535): 3306 here.
    record("eni-nat", "198.51.100.7", "10.0.0.220", 443, 3306, size=5000),
    *[record("eni-elb", "10.0.0.10", f"10.0.0.{30 + i}", 51000 + i, 8080, direction="egress") for i in range(16)],
    {
        **record("eni-idle", None, None, None, None, None),
        **dict.fromkeys(("protocol", "packets", "bytes", "flow_direction")),
        "log_status": "NODATA",
    },
]
SCAN = [record("eni-web", SCANNER, "10.0.0.20", 40000, port, "REJECT", 44) for port in range(1, 21)] + [
    record("eni-web", SCANNER, "10.0.0.20", 40000, 80, "ACCEPT", 60)
]
SPIKES = [
    # 600 MB out to 443: 60x its same-hour-of-the-week baseline.
    record("eni-db", "10.0.10.100", "203.0.113.50", 50000, 443, size=600_000_000, direction="egress"),
    # 120 MB to 873: 12x, a medium spike.
    record("eni-db", "10.0.10.100", "10.0.3.3", 50001, 873, size=120_000_000, direction="egress"),
    # 150 MB to 8443 from an interface seen only in the preceding hours, 60 MB of it in a flow log whose
    # format has no vpc-id: one spike, though neither part alone reaches the 100 MB floor.
    record("eni-api", "10.0.1.30", "198.51.100.77", 50002, 8443, size=90_000_000, direction="egress"),
    {
        **record("eni-api", "10.0.1.30", "198.51.100.77", 50012, 8443, size=60_000_000, direction="egress"),
        "vpc_id": None,
    },
    # 4 DNS records where the same hour of last week had none.
    *[record("eni-web", "10.0.0.20", "10.0.0.2", 50003 + i, 53, protocol=17, direction="egress") for i in range(4)],
    # 900 MB from an interface without any history: no baseline, no finding.
    record("eni-fresh", "10.0.2.40", "198.51.100.88", 50009, 443, size=900_000_000, direction="egress"),
]
EXPOSURES = [
    record("eni-bastion", INTRUDER, "10.0.0.5", 50030, 22, size=1000),
    # The same interface in a flow log whose format has no vpc-id: one finding all the same.
    {**record("eni-bastion", INTRUDER, "10.0.0.5", 50031, 22, size=2000), "vpc_id": None},
    # A format without flow-direction: a public source can only be inbound. Trusted: severity low.
    {**record("eni-win", OFFICE_1, "10.0.0.6", 50040, 3389, size=200), "flow_direction": None},
    {**record("eni-win", OFFICE_2, "10.0.0.6", 50041, 3389, size=300), "flow_direction": None},
    record("eni-db", IPV6_CLIENT, "10.0.10.100", 50050, 5432, size=400),
]
HISTORY = [
    # eni-db reported in the same hour 1, 2 and 3 weeks ago: the baseline is their mean, 0 where the
    # port had nothing (3 weeks ago). The day before does not count: weeks come first.
    history("eni-db", 443, WEEK, 10_000_000),
    history("eni-db", 443, 2 * WEEK, 20_000_000),
    history("eni-db", 5432, 3 * WEEK, 1000, records=10),
    history("eni-db", 443, DAY, 1_000_000_000),
    history("eni-db", 873, WEEK, 30_000_000),
    # eni-api: only 3 and 5 hours ago.
    history("eni-api", 8443, 3, 2_000_000),
    history("eni-api", 53, 5, 100, protocol=17),
    # eni-web: last week, on another port.
    history("eni-web", 443, WEEK, 100),
]


def finding_id(kind: str, *identity) -> str:
    return hashlib.sha256("|".join([kind, str(EPOCH), *map(str, identity)]).encode()).hexdigest()


def on_interface(kind, interface, dstport, protocol=6) -> str:
    return finding_id(kind, ACCOUNT, REGION, interface, interface, "", dstport, protocol)


def finding(kind, severity, metric, observed, description, **columns) -> dict:
    return {
        "hour": H,
        "finding_type": kind,
        "severity": severity,
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": VPC,
        "addresses": [],
        "ports": [],
        "metric": metric,
        "observed_value": float(observed),
        "description": description,
        "event_date": H.date(),
        **columns,
    }


def spike(interface, dstport, metric, observed, baseline, factor, severity, description, protocol=6) -> dict:
    return finding(
        "traffic_spike",
        severity,
        metric,
        observed,
        description,
        finding_id=on_interface("traffic_spike", interface, dstport, protocol),
        interface_id=interface,
        resource_id=interface,
        dstport=dstport,
        protocol=protocol,
        baseline=baseline,
        factor=factor,
    )


def exposure(interface, dstaddr, dstport, severity, sources, records, description) -> dict:
    return finding(
        "exposed_admin_port",
        severity,
        "records",
        records,
        description,
        finding_id=on_interface("exposed_admin_port", interface, dstport),
        interface_id=interface,
        resource_id=interface,
        srcaddr=sources[0] if len(sources) == 1 else None,
        dstaddr=dstaddr,
        dstport=dstport,
        protocol=6,
        addresses=sources,
    )


EXPECTED = [
    finding(
        "port_scan",
        "high",  # one probe (port 80) got through
        "distinct_ports",
        21,
        "one source probed 21 port(s) on 1 address(es): 20 of 21 records rejected",
        finding_id=finding_id("port_scan", ACCOUNT, REGION, SCANNER),
        interface_id="eni-web",
        resource_id="eni-web",
        srcaddr=SCANNER,
        dstaddr="10.0.0.20",
        protocol=6,
        addresses=["10.0.0.20"],
        ports=[*range(1, 21), 80],
    ),
    spike(
        "eni-db",
        443,
        "bytes",
        600_000_000,
        10_000_000.0,
        60.0,
        "high",
        "bytes to port 443/6: 600000000, 60.0x the baseline 10000000.0 (same hour of the week, 3 hours)",
    ),
    spike(
        "eni-db",
        873,
        "bytes",
        120_000_000,
        10_000_000.0,
        12.0,
        "medium",
        "bytes to port 873/6: 120000000, 12.0x the baseline 10000000.0 (same hour of the week, 3 hours)",
    ),
    spike(
        "eni-api",
        8443,
        "bytes",
        150_000_000,
        1_000_000.0,
        150.0,
        "high",
        "bytes to port 8443/6: 150000000, 150.0x the baseline 1000000.0 (preceding hours, 2 hours)",
    ),
    spike(
        "eni-web",
        53,
        "records",
        4,
        0.0,
        None,
        "high",
        "records to port 53/17: 4, nothing in the baseline 0.0 (same hour of the week, 1 hours)",
        protocol=17,
    ),
    exposure(
        "eni-bastion",
        "10.0.0.5",
        22,
        "high",
        [INTRUDER],
        2,
        "SSH (port 22) accepted from 1 public source(s): 2 records, 3000 bytes",
    ),
    exposure(
        "eni-win",
        "10.0.0.6",
        3389,
        "low",
        [OFFICE_1, OFFICE_2],
        2,
        "RDP (port 3389) accepted from 2 public source(s): 2 records, 500 bytes",
    ),
    exposure(
        "eni-db",
        "10.0.10.100",
        5432,
        "high",
        [IPV6_CLIENT],
        1,
        "PostgreSQL (port 5432) accepted from 1 public source(s): 1 records, 400 bytes",
    ),
]


def port_history(spark, before: list[dict], after: list[dict] = ()) -> PortHistory:
    return PortHistory(frame(spark, "port_traffic_hourly", before), frame(spark, "port_traffic_hourly", list(after)))


def test_a_scan_spikes_and_exposures_give_exactly_these_findings(spark):
    actual = transform(
        frame(spark, "flow_logs", NORMAL + SCAN + SPIKES + EXPOSURES),
        port_history=port_history(spark, HISTORY),
        security=CONFIG,
    )
    assertDataFrameEqual(actual, frame(spark, "security_findings", EXPECTED))


def test_spikes_come_from_the_port_traffic_rows_aggregate_passes(spark):
    # The window's port_traffic_hourly rows, as aggregate computes them once for both tables: the
    # spikes are found in those, whatever records come with them.
    all_records = frame(spark, "flow_logs", NORMAL + SCAN + SPIKES + EXPOSURES)
    actual = transform(
        frame(spark, "flow_logs", NORMAL + SCAN + EXPOSURES),
        port_history=port_history(spark, HISTORY),
        security=CONFIG,
        port_traffic_hourly=port_traffic_hourly.transform(all_records),
    )
    assertDataFrameEqual(actual, frame(spark, "security_findings", EXPECTED))


def joins(df) -> dict[str, int]:
    """How many joins of each kind Spark plans for df (before adaptive execution re-plans any)."""
    plan = df._jdf.queryExecution().executedPlan().toString()
    return {kind: plan.count(kind) for kind in ("SortMergeJoin", "BroadcastHashJoin")}


def test_intermediates_computed_first_are_broadcast_and_give_the_same_findings(spark):
    # Records Spark takes for more than it may broadcast, and the intermediates computed and counted one after
    # another, as aggregate does: planned by their real size, each is broadcast to the joins that meet it; only
    # the spike candidates' baselines meet their keys' history in a shuffle.
    records = frame(spark, "flow_logs", NORMAL + SCAN + SPIKES + EXPOSURES)
    history = port_history(spark, HISTORY)
    small = {"spark.sql.autoBroadcastJoinThreshold": "2000"}
    with session_settings(spark, small):
        # Planned before the intermediates are kept: Spark would otherwise find them in its cache.
        planned_alone = joins(transform(records, port_history=history, security=CONFIG))
    computed = {}
    for name, intermediate in intermediates(records, port_history=history, security=CONFIG).items():
        computed[name] = intermediate.persist()
        computed[name].count()
    try:
        assert [row.srcaddr for row in computed["port_scan_candidates"].collect()] == [SCANNER]
        # eni-api and eni-bastion have rows of a flow log without vpc-id too.
        assert sorted(map(tuple, computed["interface_hours_of_several_logs"].collect())) == [
            ("eni-api", EPOCH),
            ("eni-bastion", EPOCH),
        ]
        # At least 3 records (CONFIG) or 100 MB in the hour, summed over both flow logs where there are two:
        # eni-bastion's SSH is a reject, an outbound session and the two exposures.
        assert sorted(
            computed["spike_candidates"].select("interface_id", "dstport", "protocol", "records", "bytes").collect()
        ) == [
            ("eni-api", 8443, 6, 2, 150_000_000),
            ("eni-bastion", 22, 6, 4, 3200),
            ("eni-db", 443, 6, 1, 600_000_000),
            ("eni-db", 873, 6, 1, 120_000_000),
            ("eni-elb", 8080, 6, 16, 1600),
            ("eni-fresh", 443, 6, 1, 900_000_000),
            ("eni-web", 53, 17, 4, 400),
        ]
        with session_settings(spark, small):
            given = transform(records, port_history=history, security=CONFIG, **computed)
            assert planned_alone["SortMergeJoin"] > 1
            assert joins(given)["SortMergeJoin"] == 1
            assertDataFrameEqual(given, frame(spark, "security_findings", EXPECTED))
    finally:
        for kept in computed.values():
            kept.unpersist()


def test_normal_traffic_gives_no_finding(spark):
    usual = [
        # Twice last week's bytes: well under the factor of 5.
        record("eni-db", "10.0.10.100", "203.0.113.50", 50000, 443, size=200_000_000, direction="egress"),
        record("eni-fresh", "10.0.2.40", "198.51.100.88", 50009, 443, size=900_000_000, direction="egress"),
    ]
    actual = transform(
        frame(spark, "flow_logs", NORMAL + usual),
        port_history=port_history(spark, [history("eni-db", 443, WEEK, 100_000_000)]),
        security=CONFIG,
    )
    assert rows(actual) == []


def test_an_hour_before_the_window_is_a_baseline_and_never_a_spike(spark):
    # An hour before H: 500 MB to 443, 250x its preceding hour's 2 MB, a spike had that hour been aggregated. H:
    # 2 MB, no spike.
    at_h = record("eni-db", "10.0.10.100", "203.0.113.50", 50000, 443, size=2_000_000, direction="egress")
    actual = transform(
        frame(spark, "flow_logs", [at_h]),
        port_history=port_history(
            spark, [history("eni-db", 443, 1, 500_000_000), history("eni-db", 443, 2, 2_000_000)]
        ),
        security=CONFIG,
    )
    assert rows(actual) == []


# eni-db to 443: 10 MB the day before H, then 600 MB at H, 60x the same hour of the previous day.
DAY_BEFORE = H - timedelta(days=1)
LATER_SPIKE = spike(
    "eni-db",
    443,
    "bytes",
    600_000_000,
    10_000_000.0,
    60.0,
    "high",
    "bytes to port 443/6: 600000000, 60.0x the baseline 10000000.0 (same hour of previous days, 1 hours)",
)


def day_before(row: dict, size: int) -> dict:
    return {
        **row,
        "bytes": size,
        "start": row["start"] - 86400,
        "end": row["end"] - 86400,
        "event_time": row["event_time"] - timedelta(days=1),
        "event_date": DAY_BEFORE.date(),
    }


def test_the_spikes_of_later_hours_are_found_from_their_port_figures_and_the_window(spark):
    # Aggregating the day before H after H: H's figures are in the lake, and the window is their baseline.
    actual = transform(
        frame(spark, "flow_logs", [day_before(SPIKES[0], 10_000_000)]),
        port_history=port_history(spark, [], [history("eni-db", 443, 0, 600_000_000)]),
        security=CONFIG,
    )
    assertDataFrameEqual(actual, frame(spark, "security_findings", [LATER_SPIKE]))


def test_hours_aggregated_in_either_order_give_the_same_findings_and_alerts(spark, tmp_path, monkeypatch):
    records = [day_before(SPIKES[0], 10_000_000), SPIKES[0], *EXPOSURES[:2]]
    hours = {"day before": Window(DAY_BEFORE, DAY_BEFORE + timedelta(hours=1)), "H": Window(H, H + timedelta(hours=1))}
    tables = ("port_traffic_hourly", "security_findings")
    with WebhookServer() as webhook:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        for order in (["day before", "H"], ["H", "day before"]):
            lake = str(tmp_path / "-".join(order))
            append(frame(spark, "flow_logs", records), lake, "flow_logs")
            for name in order:
                run_aggregate(spark, lake, hours[name], tables=tables, security=CONFIG)
            exposed = exposure(
                "eni-bastion",
                "10.0.0.5",
                22,
                "high",
                [INTRUDER],
                2,
                "SSH (port 22) accepted from 1 public source(s): 2 records, 3000 bytes",
            )
            assertDataFrameEqual(
                read(spark, lake, "security_findings"), frame(spark, "security_findings", [LATER_SPIKE, exposed])
            )
            assert rows(read(spark, lake, "security_alerts"), "finding_id", "target", "hour") == sorted(
                [(LATER_SPIKE["finding_id"], "webhook", H), (exposed["finding_id"], "webhook", H)]
            )


def test_with_every_baseline_level_off_a_run_finds_no_spike_and_every_other_finding(spark):
    # "0 turns a level off ... No history at all: no spike finding" (settings/security_findings.yaml).
    no_baseline = SecurityConfig.load(
        overrides={
            "spike_min_records": 3,
            "trusted_source_cidrs": ["203.0.113.0/28"],
            "baseline_weeks": 0,
            "baseline_days": 0,
            "baseline_recent_hours": 0,
        }
    )
    hour = Window(H, H + timedelta(hours=1))
    module = module_for("security_findings")
    # A run replaces its hours' findings alone: no later hour's spikes depend on them (a run failed building an
    # empty window of later hours).
    assert module.replaced_slice(hour, security=no_baseline) == slice_predicate(hour, "hour")
    port_history = module.read_inputs(spark, "lake not read", hour, no_baseline)["port_history"]
    actual = transform(
        frame(spark, "flow_logs", NORMAL + SCAN + SPIKES + EXPOSURES), port_history=port_history, security=no_baseline
    )
    assertDataFrameEqual(
        actual, frame(spark, "security_findings", [f for f in EXPECTED if f["finding_type"] != "traffic_spike"])
    )


def kept_in_memory(df) -> bool:
    """Whether Spark holds df's rows as kept and computed, not to be computed again."""
    cached = df.sparkSession._jsparkSession.sharedState().cacheManager().lookupCachedData(df._jdf)
    return cached.isDefined() and cached.get().cachedRepresentation().cacheBuilder().isCachedColumnBuffersLoaded()


def test_the_port_history_stays_as_read_while_the_run_writes_port_figures(spark, tmp_path):
    # aggregate keeps what it computes from the history (the spike candidates), then writes the window's port
    # figures beside it: what it read must not change, nor what it kept be dropped (Spark drops what it keeps
    # of a table's latest version when the table is written; dropped while a job read it, a run failed).
    lake = str(tmp_path / "lake")
    later = history("eni-db", 443, -1, 500)
    append(frame(spark, "port_traffic_hourly", [later]), lake, "port_traffic_hourly")
    history_read = read_port_history(spark, lake, Window(H, H + timedelta(hours=1)), CONFIG)
    kept = history_read.after.persist()
    try:
        kept.count()
        # The window's own figures, and those of a later hour another run wrote meanwhile.
        written = [history("eni-db", 443, 0, 700), history("eni-db", 443, -2, 900)]
        append(frame(spark, "port_traffic_hourly", written), lake, "port_traffic_hourly")
        assert kept_in_memory(kept)
        assertDataFrameEqual(history_read.after, frame(spark, "port_traffic_hourly", [later]))
        assert history_read.before.count() == 0
    finally:
        kept.unpersist()


def test_registered_with_the_port_history_it_reads():
    assert {"port_traffic_hourly", "security_findings"} <= set(HOURLY_TABLES)
    assert hasattr(module_for("security_findings"), "read_inputs")


def test_a_rerun_of_the_hour_alerts_each_target_once(spark, tmp_path, monkeypatch):
    lake = str(tmp_path / "lake")
    # The exposure is high (alerted); the scan, all rejected, is medium (not alerted).
    append(frame(spark, "flow_logs", EXPOSURES[:2] + SCAN[:20]), lake, "flow_logs")
    hour = Window(H, H + timedelta(hours=1))
    with WebhookServer() as webhook, SmtpServer() as smtp:
        monkeypatch.setenv("FLOWLAKE_ALERT_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FLOWLAKE_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("FLOWLAKE_SMTP_TO", "soc@example.com")
        runs = [
            run_aggregate(spark, lake, hour, tables=("security_findings",), security=CONFIG)["after_write"]
            for _ in range(2)
        ]

    sent = {"targets": ["webhook", "email"], "sent": {"webhook": 1, "email": 1}, "failed": []}
    assert runs == [{"security_findings": sent}, {"security_findings": {**sent, "sent": {}}}]
    text = (
        "flowlake security: 1 finding(s) at or above high for 2026-11-08T11:00Z to 2026-11-09T11:00Z\n"
        f"- [high] exposed_admin_port 2026-11-09T10:00Z {ACCOUNT} {REGION} eni-bastion: {INTRUDER} -> "
        "10.0.0.5:22 - SSH (port 22) accepted from 1 public source(s): 2 records, 3000 bytes "
        f"(finding {on_interface('exposed_admin_port', 'eni-bastion', 22)})"
    )
    assert [json.loads(posted["body"])["text"] for posted in webhook.received] == [text]
    assert [body(mail) for mail in smtp.received] == [text + "\n"]
    assert rows(read(spark, lake, "security_alerts"), "finding_id", "target", "hour", "severity") == [
        (on_interface("exposed_admin_port", "eni-bastion", 22), "email", H, "high"),
        (on_interface("exposed_admin_port", "eni-bastion", 22), "webhook", H, "high"),
    ]


def test_a_source_whose_rejected_share_is_exactly_the_setting_is_a_scan_candidate(spark):
    # 55 of 100 rejected is a share of 0.55 exactly: the setting's "at least", whatever 100 * 0.55 rounds to.
    config = SecurityConfig.load(overrides={"port_scan_min_rejected_share": 0.55})
    traffic = spark.createDataFrame(
        [(H, H.date(), ACCOUNT, REGION, SCANNER, "REJECT" if n < 55 else "ACCEPT") for n in range(100)],
        "hour timestamp, event_date date, account_id string, region string, srcaddr string, action string",
    )
    candidates = port_scan_candidates(traffic, config)
    assert [(row.srcaddr, row.records, row.rejected) for row in candidates.collect()] == [(SCANNER, 100, 55)]


def test_a_security_settings_file_that_is_not_yaml_is_a_usage_error(tmp_path, capsys):
    settings = tmp_path / "security.yaml"
    settings.write_text("port_scan_min_distinct_ports: [20\n")
    parser = argparse.ArgumentParser(prog="flowlake aggregate")
    add_security_arguments(parser)
    with pytest.raises(SystemExit) as stopped:
        config_of(parser, parser.parse_args(["--security-config", str(settings)]))
    assert stopped.value.code == 2
    assert "flowlake aggregate: error: security settings: while parsing a flow sequence" in capsys.readouterr().err

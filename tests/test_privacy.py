"""Privacy: keyed pseudonyms in the tables analysts read (never in flow_logs, never the key in a log),
retention by age, and erasing one address from every table."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from flowlake import retention
from flowlake.aggregate import run_aggregate
from flowlake.aggregates import module_for
from flowlake.privacy import Pseudonymizer, configured, pseudonym, pseudonymize_table
from flowlake.window import Window
from tests.frames import append, frame, read, rows, utc

KEY = "pseudonym-key-for-tests-only"
ACCOUNT, REGION = "111122223333", "us-east-1"
D = utc(2026, 11, 9, 10)
SCANNER, PERSON = "198.51.100.9", "203.0.113.7"


def hexdigest(address: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), address.encode(), hashlib.sha256).hexdigest()


def test_a_pseudonym_is_the_hmac_sha256_of_the_address_with_its_network_kept_on_demand():
    assert pseudonym(KEY.encode(), "10.0.1.5") == f"anon:{hexdigest('10.0.1.5')}"
    assert pseudonym(KEY.encode(), "10.0.1.5", keep_network=True) == f"10.0.1.0/24:{hexdigest('10.0.1.5')}"
    v6 = "2001:db8:85a3:7:1::9"
    assert pseudonym(KEY.encode(), v6, keep_network=True) == f"2001:db8:85a3::/48:{hexdigest(v6)}"
    assert pseudonym(KEY.encode(), None) is None
    assert pseudonym(b"another key", "10.0.1.5") != pseudonym(KEY.encode(), "10.0.1.5")
    assert KEY not in repr(Pseudonymizer(KEY.encode())) and KEY not in str(Pseudonymizer(KEY.encode()))


def record(interface, src, dst, srcport, dstport, action="ACCEPT", day=D, size=100) -> dict:
    return {
        "version": 5,
        "account_id": ACCOUNT,
        "region": REGION,
        "vpc_id": "vpc-1",
        "interface_id": interface,
        "srcaddr": src,
        "dstaddr": dst,
        "srcport": srcport,
        "dstport": dstport,
        "protocol": 6,
        "packets": 1,
        "bytes": size,
        "start": int(day.timestamp()) + 60,
        "end": int(day.timestamp()) + 120,
        "action": action,
        "log_status": "OK",
        "flow_direction": "ingress",
        "event_time": day + timedelta(minutes=1),
        "event_date": day.date(),
    }


# A scan of 20 ports and one conversation.
RECORDS = [record("eni-web", SCANNER, "10.0.0.20", 40000, port, "REJECT", size=40) for port in range(1, 21)] + [
    record("eni-web", "10.0.0.1", "10.0.0.20", 50000, 443, size=5000)
]


def test_tables_analysts_read_carry_the_same_pseudonyms_and_flow_logs_the_addresses(
    spark, tmp_path, monkeypatch, caplog, capsys
):
    lake = str(tmp_path / "lake")
    append(frame(spark, "flow_logs", RECORDS), lake, "flow_logs")
    monkeypatch.setenv("FLOWLAKE_PSEUDONYM_KEY", KEY)
    caplog.set_level(logging.DEBUG)

    summary = run_aggregate(
        spark, lake, Window(D, D + timedelta(hours=1)), tables=("top_talkers_hourly", "security_findings")
    )

    anon = {address: f"anon:{hexdigest(address)}" for address in (SCANNER, "10.0.0.1", "10.0.0.20")}
    assert summary["pseudonymized"] == ["security_findings", "top_talkers_hourly"]
    # Sources by bytes: 10.0.0.1 (5000), the scanner (20 x 40); one destination.
    assert rows(read(spark, lake, "top_talkers_hourly"), "direction", "rank", "address", "bytes") == [
        ("destination", 1, anon["10.0.0.20"], 5800),
        ("source", 1, anon["10.0.0.1"], 5000),
        ("source", 2, anon[SCANNER], 800),
    ]
    scan_id = hashlib.sha256(f"port_scan|{int(D.timestamp())}|{ACCOUNT}|{REGION}|{anon[SCANNER]}".encode()).hexdigest()
    assert rows(
        read(spark, lake, "security_findings"), "finding_id", "finding_type", "srcaddr", "dstaddr", "addresses"
    ) == [(scan_id, "port_scan", anon[SCANNER], anon["10.0.0.20"], [anon["10.0.0.20"]])]
    # The pseudonyms join across tables; flow_logs, the raw records, keep the addresses.
    findings, talkers = read(spark, lake, "security_findings"), read(spark, lake, "top_talkers_hourly")
    assert findings.join(talkers, on=findings.srcaddr == talkers.address, how="inner").count() == 1
    assert {r.srcaddr for r in read(spark, lake, "flow_logs").select("srcaddr").distinct().collect()} == {
        SCANNER,
        "10.0.0.1",
    }
    # The key is in no log line, no output, no query plan.
    table = module_for("top_talkers_hourly").transform(frame(spark, "flow_logs", RECORDS))
    plan = pseudonymize_table("top_talkers_hourly", table, configured())._jdf.queryExecution().toString()
    captured = capsys.readouterr()
    for text in (caplog.text, captured.out, captured.err, plan, json.dumps(summary)):
        assert KEY not in text


def commits(lake) -> dict[str, str]:
    """{commit file: its text} of every table of the lake."""
    return {str(f): f.read_text() for f in sorted(Path(lake).glob("*/_delta_log/*.json"))}


def test_a_findings_pseudonymized_addresses_are_sorted_as_its_contract_says(spark, tmp_path, monkeypatch):
    # SSH accepted from two public sources: 203.0.113.7 before 203.0.113.8, but their pseudonyms the other way
    # round (46e83df9... after 2fc25a7b...). The addresses column lists them sorted, as pseudonyms: sorted by the
    # addresses, the order would tell which pseudonym is the lower address.
    lake = str(tmp_path / "lake")
    sources = (PERSON, "203.0.113.8")
    records = [record("eni-bastion", source, "10.0.0.5", 50000, 22) for source in sources]
    append(frame(spark, "flow_logs", records), lake, "flow_logs")
    monkeypatch.setenv("FLOWLAKE_PSEUDONYM_KEY", KEY)

    run_aggregate(spark, lake, Window(D, D + timedelta(hours=1)), tables=("security_findings",))

    pseudonyms = [f"anon:{hexdigest(source)}" for source in sources]
    assert pseudonyms != sorted(pseudonyms)
    assert rows(read(spark, lake, "security_findings"), "finding_type", "srcaddr", "addresses") == [
        ("exposed_admin_port", None, sorted(pseudonyms))
    ]


def test_retention_keeps_recent_raw_days_and_longer_aggregates_and_erase_removes_an_address(spark, tmp_path, capsys):
    lake = tmp_path / "lake"
    old = D - timedelta(days=3)
    append(
        frame(
            spark,
            "flow_logs",
            [
                record("eni-a", "10.0.0.1", "10.0.0.2", 50000, 443, day=old),
                record("eni-a", PERSON, "10.0.0.5", 50001, 443),
                record("eni-a", "10.0.0.5", PERSON, 443, 50001),
                record("eni-a", "10.0.0.1", "10.0.0.2", 50002, 443),
            ],
        ),
        lake,
        "flow_logs",
    )
    append(
        frame(
            spark,
            "flow_logs_quarantine",
            [
                {"source_file": "s3://old", "raw_line": f"2 {ACCOUNT} eni-a {PERSON} x", "object_time": old},
                {"source_file": "s3://a", "raw_line": f"2 {ACCOUNT} eni-a {PERSON} 10.0.0.5 x", "object_time": D},
                {"source_file": "s3://b", "raw_line": f"2 {ACCOUNT} eni-a 10.0.0.5 {PERSON}0 x", "object_time": D},
                {"source_file": "s3://c", "raw_line": f"2\t{ACCOUNT}\teni-a\t{PERSON}\tx", "object_time": D},
                # A whole object quarantined: no line, a reason quoting its first one.
                {
                    "source_file": "s3://d",
                    "reason": f"first line is not a flow-log header: '2 {ACCOUNT} eni-a {PERSON} 10.0.0.5 443'",
                    "object_time": D,
                },
            ],
        ),
        lake,
        "flow_logs_quarantine",
    )
    hourly = {"account_id": ACCOUNT, "region": REGION, "records": 1, "packets": 1, "bytes": 100}
    append(
        frame(
            spark,
            "traffic_hourly",
            [{**hourly, "hour": day, "event_date": day.date()} for day in (D - timedelta(days=10), D)],
        ),
        lake,
        "traffic_hourly",
    )
    talkers = {**hourly, "hour": D, "event_date": D.date(), "direction": "source"}
    append(
        frame(
            spark,
            "top_talkers_hourly",
            [{**talkers, "rank": 1, "address": PERSON}, {**talkers, "rank": 2, "address": "10.0.0.1"}],
        ),
        lake,
        "top_talkers_hourly",
    )
    finding = {"hour": D, "finding_id": "f1", "finding_type": "exposed_admin_port", "event_date": D.date()}
    append(
        frame(spark, "security_findings", [{**finding, "srcaddr": PERSON, "addresses": ["10.0.0.5", PERSON]}]),
        lake,
        "security_findings",
    )

    kept = retention.main(
        [
            "--lake",
            str(lake),
            "--days",
            "2",
            "--aggregate-days",
            "5",
            "--as-of",
            (D + timedelta(days=1)).date().isoformat(),
        ],
        spark,
    )
    assert json.loads(capsys.readouterr().out) == kept
    assert kept == {
        "as_of": "2026-11-10",
        "raw_kept_from": "2026-11-08",
        "aggregates_kept_from": "2026-11-05",
        "records_removed_before": "2026-11-08",
        "deleted_rows": {
            "flow_logs": 1,
            "flow_logs_quarantine": 1,
            "traffic_hourly": 1,
            "top_talkers_hourly": 0,
            "security_findings": 0,
        },
        "vacuumed": ["flow_logs", "flow_logs_quarantine", "traffic_hourly"],
        "vacuum_retention_hours": 168,
    }
    assert rows(read(spark, lake, "traffic_hourly"), "event_date") == [(D.date(),)]

    before = commits(lake)
    erased = retention.main_erase(["--lake", str(lake), "--address", PERSON], spark)
    # The erase's own commits do not write the address down (in the conditions they record, say).
    written = {name: text for name, text in commits(lake).items() if name not in before}
    assert len(written) == 4
    assert [name for name, text in written.items() if PERSON in text] == []
    assert {k: v for k, v in erased.items() if k != "note"} == {
        "address": PERSON,
        "tables": {
            "flow_logs": {"rows_deleted": 2},
            "flow_logs_quarantine": {"rows_deleted": 3},
            "top_talkers_hourly": {"rows_updated": 1},
            "security_findings": {"rows_updated": 1},
        },
        "port_scans_given_new_ids": 0,
        "hours_touched": ["2026-11-09T10:00:00Z"],
        "vacuumed": ["flow_logs", "flow_logs_quarantine", "top_talkers_hourly", "security_findings"],
        "vacuum_retention_hours": 168,
    }
    assert rows(read(spark, lake, "flow_logs"), "srcaddr", "dstaddr") == [("10.0.0.1", "10.0.0.2")]
    assert rows(read(spark, lake, "flow_logs_quarantine"), "source_file") == [("s3://b",)]  # 203.0.113.70 stays
    assert rows(read(spark, lake, "top_talkers_hourly"), "rank", "address") == [(1, None), (2, "10.0.0.1")]
    assert rows(read(spark, lake, "security_findings"), "srcaddr", "addresses") == [(None, ["10.0.0.5"])]


def test_erase_finds_the_address_in_every_form_the_tables_hold_and_gives_its_scans_new_ids(
    spark, tmp_path, monkeypatch
):
    lake = str(tmp_path / "lake")
    anon, network = f"anon:{hexdigest(PERSON)}", f"203.0.113.0/24:{hexdigest(PERSON)}"
    talkers = {"account_id": ACCOUNT, "region": REGION, "hour": D, "event_date": D.date(), "direction": "source"}
    # Aggregated before a key was set, then with it, then with the network kept.
    append(
        frame(
            spark,
            "top_talkers_hourly",
            [
                {**talkers, "rank": 1, "address": PERSON},
                {**talkers, "rank": 2, "address": anon},
                {**talkers, "rank": 3, "address": network},
                {**talkers, "rank": 4, "address": f"anon:{hexdigest('10.0.0.1')}"},
            ],
        ),
        lake,
        "top_talkers_hourly",
    )
    scan_id = hashlib.sha256(f"port_scan|{int(D.timestamp())}|{ACCOUNT}|{REGION}|{anon}".encode()).hexdigest()
    scan = {"hour": D, "finding_type": "port_scan", "account_id": ACCOUNT, "region": REGION, "event_date": D.date()}
    append(
        frame(spark, "security_findings", [{**scan, "finding_id": scan_id, "srcaddr": anon}]), lake, "security_findings"
    )
    alert = {"finding_id": scan_id, "target": "webhook", "hour": D, "finding_type": "port_scan", "event_date": D.date()}
    append(frame(spark, "security_alerts", [alert]), lake, "security_alerts")
    monkeypatch.setenv("FLOWLAKE_PSEUDONYM_KEY", KEY)
    before = commits(lake)

    erased = retention.main_erase(["--lake", lake, "--address", PERSON], spark)

    written = {name: text for name, text in commits(lake).items() if name not in before}
    assert len(written) == 4
    assert [name for name, text in written.items() if any(v in text for v in (PERSON, anon, network))] == []

    assert rows(read(spark, lake, "top_talkers_hourly"), "rank", "address") == [
        (1, None),
        (2, None),
        (3, None),
        (4, f"anon:{hexdigest('10.0.0.1')}"),
    ]
    assert (erased["tables"]["top_talkers_hourly"], erased["port_scans_given_new_ids"]) == ({"rows_updated": 3}, 1)
    [(new_id, srcaddr)] = rows(read(spark, lake, "security_findings"), "finding_id", "srcaddr")
    assert srcaddr is None and new_id != scan_id and len(new_id) == 64
    assert rows(read(spark, lake, "security_alerts"), "finding_id", "target") == [(new_id, "webhook")]


def test_erase_without_the_key_refuses_a_lake_of_pseudonyms_before_erasing_anything(spark, tmp_path, capsys):
    lake = str(tmp_path / "lake")
    append(frame(spark, "flow_logs", [record("eni-a", PERSON, "10.0.0.5", 50001, 443)]), lake, "flow_logs")
    talkers = {"account_id": ACCOUNT, "region": REGION, "hour": D, "event_date": D.date(), "direction": "source"}
    append(
        frame(spark, "top_talkers_hourly", [{**talkers, "rank": 1, "address": f"anon:{hexdigest(PERSON)}"}]),
        lake,
        "top_talkers_hourly",
    )

    with pytest.raises(SystemExit) as exited:
        retention.main_erase(["--lake", lake, "--address", PERSON], spark)

    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "flowlake erase: top_talkers_hourly holds pseudonymized addresses and no pseudonymization key is "
        "configured, so the address's pseudonym cannot be found: set FLOWLAKE_PSEUDONYM_KEY (or the Airflow "
        "connection flowlake_pseudonym_key) to the key the tables were written with, and erase again; nothing "
        "was erased\n"
    )
    assert rows(read(spark, lake, "flow_logs"), "srcaddr") == [(PERSON,)]
    assert rows(read(spark, lake, "top_talkers_hourly"), "address") == [(f"anon:{hexdigest(PERSON)}",)]

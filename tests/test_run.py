"""flowlake run end to end: gzip objects -> ingest -> every touched hour aggregated, figures checked exactly."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.testing import assertDataFrameEqual

from flowlake import run
from flowlake.layout import object_key
from flowlake.run import aggregate_windows, run_pipeline
from flowlake.window import Window
from tests.flowlog_objects import ACCOUNT, DEFAULT_FORMAT, REGION, write_object, write_raw
from tests.frames import append, frame, read, rows

H10 = datetime(2026, 11, 1, 10, tzinfo=UTC)
H11 = H10 + timedelta(hours=1)
H12 = H10 + timedelta(hours=2)
CUSTOM_FORMAT = DEFAULT_FORMAT + " vpc-id flow-direction pkt-src-aws-service pkt-dst-aws-service reject-reason"
NAT_INVENTORY = "nat_gateway_id,interface_id,private_ip\nnat-0e2e,eni-nat,10.0.0.220\n"


def t(hour: datetime, minute: int) -> int:
    return int((hour + timedelta(minutes=minute)).timestamp())


def put_object(source, flow_log_id: str, object_time: datetime, header: str, lines: list[str]) -> None:
    write_object(source, object_time, lines, header=header, flow_log_id=flow_log_id, object_hash="a1b2c3d4")


def write_source(source: Path) -> Path:
    put_object(
        source,
        "fl-0aaa",
        H10 + timedelta(minutes=30),
        DEFAULT_FORMAT,
        [
            f"2 {ACCOUNT} eni-app 10.0.1.5 172.31.16.21 20641 22 6 10 840 {t(H10, 10)} {t(H10, 11)} ACCEPT OK",
            f"2 {ACCOUNT} eni-app 10.0.1.5 172.31.16.21 20642 22 6 5 400 {t(H10, 20)} {t(H10, 21)} ACCEPT OK",
            f"2 {ACCOUNT} eni-app - - - - - - - {t(H10, 20)} {t(H10, 29)} - NODATA",
        ],
    )
    # Named 11:05, it carries a record that started at 10:58: hour 10, already aggregated by then.
    put_object(
        source,
        "fl-0bbb",
        H11 + timedelta(minutes=5),
        CUSTOM_FORMAT,
        [
            f"8 {ACCOUNT} eni-app 10.0.1.5 52.216.1.1 40000 443 6 4 4000 {t(H10, 58)} {t(H11, 4)} ACCEPT OK vpc-1 egress - S3 -",
            # The AWS NAT gateway example: of these four records only the 1st and 3rd enter the gateway.
            f"8 {ACCOUNT} eni-nat 10.0.1.5 10.0.0.220 40001 443 6 10 1000 {t(H11, 1)} {t(H11, 2)} ACCEPT OK vpc-1 ingress - S3 -",
            f"8 {ACCOUNT} eni-nat 10.0.0.220 52.216.1.1 40001 443 6 10 1000 {t(H11, 1)} {t(H11, 2)} ACCEPT OK vpc-1 egress - S3 -",
            f"8 {ACCOUNT} eni-nat 52.216.1.1 10.0.0.220 443 40001 6 20 30000 {t(H11, 1)} {t(H11, 2)} ACCEPT OK vpc-1 ingress S3 - -",
            f"8 {ACCOUNT} eni-nat 10.0.0.220 10.0.1.5 443 40001 6 20 30000 {t(H11, 1)} {t(H11, 2)} ACCEPT OK vpc-1 egress S3 - -",
            f"8 {ACCOUNT} eni-app 198.51.100.7 10.0.1.5 50000 22 6 2 120 {t(H11, 2)} {t(H11, 3)} REJECT OK vpc-1 ingress - - BPA",
        ],
    )
    put_object(
        source,
        "fl-0bbb",
        H11 + timedelta(minutes=30),
        CUSTOM_FORMAT,
        [
            f"8 {ACCOUNT} eni-app - - - - - - - {t(H11, 20)} {t(H11, 30)} - SKIPDATA - - - - -",
        ],
    )
    # Named 12:05: outside the windows run below.
    put_object(
        source,
        "fl-0bbb",
        H12 + timedelta(minutes=5),
        CUSTOM_FORMAT,
        [
            f"8 {ACCOUNT} eni-app 10.0.1.5 52.216.1.1 40000 443 6 1 99 {t(H12, 0)} {t(H12, 1)} ACCEPT OK vpc-1 egress - - -",
        ],
    )
    return source


@pytest.fixture
def source(tmp_path):
    return write_source(tmp_path / "source")


@pytest.fixture(scope="module")
def run_of_both_hours(spark, tmp_path_factory) -> Path:
    """A folder of the source, the NAT inventory (nat.csv) and the lake of one run of hours 10 and 11."""
    root = tmp_path_factory.mktemp("both_hours")
    source = write_source(root / "source")
    (root / "nat.csv").write_text(NAT_INVENTORY)
    run_pipeline(spark, str(source), str(root / "lake"), Window(H10, H12), str(root / "nat.csv"), ingested_at=H12)
    return root


@pytest.fixture
def both_hours(run_of_both_hours, tmp_path) -> Path:
    """A copy of run_of_both_hours' folder, the test's own."""
    return Path(shutil.copytree(run_of_both_hours, tmp_path / "both_hours"))


def expected(spark, table: str, rows: list[dict]):
    return frame(
        spark, table, [{"account_id": ACCOUNT, "region": REGION, "event_date": r["hour"].date(), **r} for r in rows]
    )


def test_aggregate_windows_cover_the_window_and_touched_hours_merging_neighbours():
    window = Window(H11 + timedelta(minutes=5), H12 + timedelta(minutes=10))
    touched = [H10.isoformat(), H11.isoformat(), (H10 - timedelta(hours=5)).isoformat()]

    assert aggregate_windows(window, touched) == [
        Window(H10 - timedelta(hours=5), H10 - timedelta(hours=4)),
        Window(H10, H12 + timedelta(hours=1)),
    ]


@pytest.mark.slow
def test_run_ingests_then_aggregates_every_touched_hour_with_exact_figures(spark, tmp_path, source):
    lake = str(tmp_path / "lake")
    inventory = tmp_path / "nat.csv"
    inventory.write_text(NAT_INVENTORY)

    first = run_pipeline(
        spark,
        str(source),
        lake,
        Window(H10, H11),
        str(inventory),
        ingested_at=datetime(2026, 11, 1, 11, 15, tzinfo=UTC),
    )
    hour_10_before = read(spark, lake, "traffic_hourly").count()
    second = run.main(
        [
            "--source",
            str(source),
            "--lake",
            lake,
            "--start",
            H11.isoformat(),
            "--end",
            H12.isoformat(),
            "--nat-inventory",
            str(inventory),
        ],
        spark=spark,
    )

    assert [a["window_start"] for a in first["aggregate"]] == [H10.isoformat()]
    assert hour_10_before == 1
    assert second["ingest"]["hours_touched"] == [H10.isoformat(), H11.isoformat()]
    assert [(a["window_start"], a["window_end"]) for a in second["aggregate"]] == [(H10.isoformat(), H12.isoformat())]
    # top_talkers_hourly: hour 10 has 1 source and 2 destinations, hour 11 has 4 sources and 3 destinations.
    # port_traffic_hourly: hour 10 eni-app port 22 (no vpc-id) and 443 (vpc-1); hour 11 eni-nat 443, eni-app 22
    # (the NAT gateway's two replies go to port 40001, above their source port: not service side).
    # security_findings: no scan, no spike, and the only public source to port 22 was rejected.
    assert second["aggregate"][0]["rows"] == {
        "traffic_hourly": 5,
        "rejects_hourly": 1,
        "nat_gateway_hourly": 1,
        "log_status_hourly": 5,
        "top_talkers_hourly": 10,
        "port_traffic_hourly": 4,
        "transit_gateway_hourly": 0,
        "security_findings": 0,
    }
    app, nat = {"interface_id": "eni-app"}, {"interface_id": "eni-nat", "vpc_id": "vpc-1"}
    assertDataFrameEqual(
        read(spark, lake, "traffic_hourly"),
        expected(
            spark,
            "traffic_hourly",
            [
                dict(hour=H10, **app, action="ACCEPT", protocol=6, records=2, packets=15, bytes=1240),
                dict(
                    hour=H10,
                    **app,
                    vpc_id="vpc-1",
                    action="ACCEPT",
                    protocol=6,
                    flow_direction="egress",
                    records=1,
                    packets=4,
                    bytes=4000,
                ),
                dict(
                    hour=H11,
                    **nat,
                    action="ACCEPT",
                    protocol=6,
                    flow_direction="ingress",
                    records=2,
                    packets=30,
                    bytes=31000,
                ),
                dict(
                    hour=H11,
                    **nat,
                    action="ACCEPT",
                    protocol=6,
                    flow_direction="egress",
                    records=2,
                    packets=30,
                    bytes=31000,
                ),
                dict(
                    hour=H11,
                    **app,
                    vpc_id="vpc-1",
                    action="REJECT",
                    protocol=6,
                    flow_direction="ingress",
                    records=1,
                    packets=2,
                    bytes=120,
                ),
            ],
        ),
    )
    assertDataFrameEqual(
        read(spark, lake, "rejects_hourly"),
        expected(
            spark,
            "rejects_hourly",
            [
                dict(
                    hour=H11,
                    **app,
                    vpc_id="vpc-1",
                    dstport=22,
                    protocol=6,
                    reject_reason="BPA",
                    records=1,
                    packets=2,
                    bytes=120,
                    distinct_sources=1,
                ),
            ],
        ),
    )
    assertDataFrameEqual(
        read(spark, lake, "nat_gateway_hourly"),
        expected(
            spark,
            "nat_gateway_hourly",
            [
                dict(
                    hour=H11,
                    nat_gateway_id="nat-0e2e",
                    interface_id="eni-nat",
                    bytes_in_from_source=1000,
                    bytes_in_from_destination=30000,
                    packets_in_from_source=10,
                    packets_in_from_destination=20,
                    records=2,
                    distinct_sources=2,
                    top_destination_aws_services=["S3"],
                    estimated_cost_usd=31000 / 1e9 * 0.045,
                ),
            ],
        ),
    )
    assertDataFrameEqual(
        read(spark, lake, "log_status_hourly"),
        expected(
            spark,
            "log_status_hourly",
            [
                dict(hour=H10, **app, log_status="OK", records=3, window_seconds=60 + 60 + 360),
                dict(hour=H10, **app, log_status="NODATA", records=1, window_seconds=540),
                dict(hour=H11, interface_id="eni-nat", log_status="OK", records=4, window_seconds=240),
                dict(hour=H11, **app, log_status="OK", records=1, window_seconds=60),
                dict(hour=H11, **app, log_status="SKIPDATA", records=1, window_seconds=600),
            ],
        ),
    )


def test_after_an_outage_the_hourly_job_ingests_every_hour_since_the_last_successful_run():
    from flowlake.hourly import ingest_window

    hour = Window(datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 11, tzinfo=UTC))
    assert ingest_window(hour, 2) == Window(datetime(2026, 11, 1, 8, tzinfo=UTC), hour.end)
    # The last run that succeeded ended at 04:00: hours 04 to 10 are ingested, with the lookback before them.
    outage = ingest_window(hour, 2, datetime(2026, 11, 1, 4, tzinfo=UTC), max_catch_up_hours=168)
    assert outage == Window(datetime(2026, 11, 1, 2, tzinfo=UTC), hour.end)
    # No further back than the cap.
    capped = ingest_window(hour, 2, datetime(2026, 10, 1, tzinfo=UTC), max_catch_up_hours=24)
    assert capped == Window(datetime(2026, 10, 31, 8, tzinfo=UTC), hour.end)


@pytest.mark.parametrize("option", ["--lookback-hours", "--max-catch-up-hours"])
def test_the_hourly_job_refuses_a_negative_count_of_hours_before_it_starts_spark(tmp_path, capsys, option):
    from flowlake import hourly

    window = ["--source", str(tmp_path), "--lake", str(tmp_path), "--start", "2026-11-01T10:00:00Z"]
    with pytest.raises(SystemExit) as stopped:
        hourly.main([*window, "--end", "2026-11-01T11:00:00Z", "--catch-up-from", "2026-11-01T09:00:00Z", option, "-1"])
    assert stopped.value.code == 2
    assert f"{option} must not be negative" in capsys.readouterr().err


@pytest.mark.slow
def test_an_hourly_run_after_an_outage_aggregates_its_hour_and_the_touched_ones_only(spark, tmp_path, source, capsys):
    from flowlake import hourly
    from flowlake.lake import write_table_slice
    from flowlake.window import slice_predicate

    lake = str(tmp_path / "lake")
    # Hour 05 of the outage: its records are gone (retention), its figures are all that is left of it.
    h05 = H10 - timedelta(hours=5)
    figures = expected(
        spark,
        "traffic_hourly",
        [dict(hour=h05, interface_id="eni-old", action="ACCEPT", protocol=6, records=3, packets=30, bytes=3000)],
    )
    write_table_slice(figures, lake, "traffic_hourly", slice_predicate(Window(h05, h05 + timedelta(hours=1)), "hour"))
    # Delivered late, and not gzip: read by this run, so validated by it.
    key = object_key(ACCOUNT, REGION, "fl-0bbb", H11 + timedelta(minutes=50), "c0ffee00")
    write_raw(source, key, b"not a flow-log object")
    # The run of 09:00 caught up from 04:00 too, validated hours 04 to 09 and failed: the last successful run
    # still ended at 04:00.
    append(frame(spark, "dq_results", validation("scheduled__09", H10 - timedelta(hours=6), H10)), lake, "dq_results")

    arguments = ["--source", str(source), "--lake", lake, "--start", H12.isoformat()]
    arguments += ["--end", (H12 + timedelta(hours=1)).isoformat(), "--run-id", "scheduled__outage"]
    hourly.main([*arguments, "--catch-up-from", (H10 - timedelta(hours=6)).isoformat()], spark=spark)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    # Ingested from 02:00 (the catch-up and its lookback); the objects touched hours 10 to 12, the run's own.
    assert (summary["ingest"]["window_start"], summary["ingest"]["hours_touched"]) == (
        (H10 - timedelta(hours=8)).isoformat(),
        [H10.isoformat(), H11.isoformat(), H12.isoformat()],
    )
    assert [(a["window_start"], a["window_end"]) for a in summary["aggregate"]] == [
        (H10.isoformat(), (H12 + timedelta(hours=1)).isoformat())
    ]
    assertDataFrameEqual(read(spark, lake, "traffic_hourly").where(f"hour = '{h05.isoformat()}'"), figures)
    # Validated from hour 10, the first caught up that no run validated, to its own hour's end: hour 11 too, the
    # corrupt object's.
    assert (summary["validate"]["window_start"], summary["validate"]["window_end"]) == (
        H10.isoformat(),
        (H12 + timedelta(hours=1)).isoformat(),
    )
    corrupt = [name for name in summary["validate"]["failed_critical"] if "(status)" in name]
    assert len(corrupt) == 1, summary["validate"]["failed_critical"]
    # What the run owed (the touched hours, the corrupt object's hour) it paid.
    assert pending_notes(lake) == {}


@pytest.mark.slow
def test_removing_an_object_re_aggregates_its_hour_with_the_inventory_the_hourly_runs_use(spark, both_hours):
    from flowlake import remove

    lake, inventory = str(both_hours / "lake"), both_hours / "nat.csv"
    nat_before = read(spark, lake, "nat_gateway_hourly")
    skipdata = next((both_hours / "source").rglob("*T1130Z*")).name

    arguments = ["--lake", lake, "--start", H11.isoformat(), "--end", H12.isoformat(), "--object", skipdata]
    summary = remove.main([*arguments, "--reason", "sent twice", "--nat-inventory", str(inventory)], spark=spark)

    assert summary["hours_reaggregated"] == [H11.isoformat()]
    # The hour was aggregated again (its SKIPDATA record is gone) and kept its NAT figures.
    statuses = read(spark, lake, "log_status_hourly").where(f"hour = '{H11.isoformat()}'")
    assert sorted(row["log_status"] for row in statuses.collect()) == ["OK", "OK"]
    assert [row["bytes_in_from_source"] for row in nat_before.collect()] == [1000]
    assertDataFrameEqual(read(spark, lake, "nat_gateway_hourly"), nat_before)


@pytest.mark.slow
def test_an_object_removed_on_purpose_stays_out_when_a_later_run_lists_it_again(spark, both_hours):
    from flowlake import remove
    from flowlake.ingest import run_ingest

    source, lake = both_hours / "source", str(both_hours / "lake")
    skipdata = next(source.rglob("*T1130Z*"))
    arguments = ["--lake", lake, "--start", H11.isoformat(), "--end", H12.isoformat(), "--object", skipdata.name]
    remove.main([*arguments, "--reason", "sent twice"], spark=spark)
    removed = {table: rows(read(spark, lake, table)) for table in ("flow_logs", "source_objects")}

    # The hourly run of 12:00 looks back over hours 10 and 11, and the object is still in the source.
    again = run_ingest(spark, str(source), lake, Window(H10, H12), ingested_at=H12 + timedelta(hours=1))

    for table, rows_after_removal in removed.items():
        assert rows(read(spark, lake, table)) == rows_after_removal, table
    assert (again["objects_read"], again["objects_removed_on_purpose"]) == (0, 1)


def pending_notes(lake: str) -> dict[str, list[str]]:
    """{step: the hours its notes in the lake name}."""
    notes = {}
    for path in sorted(Path(lake, "_flowlake_pending").glob("*/*.json")):
        notes.setdefault(path.parent.name, []).extend(json.loads(path.read_text())["hours"])
    return notes


@pytest.mark.slow
def test_a_run_that_failed_after_its_ingest_leaves_its_hours_to_the_retry(spark, tmp_path, source, monkeypatch):
    # Delivered late into hour 11 and not gzip: its hour is owed a validation.
    write_raw(source, object_key(ACCOUNT, REGION, "fl-0bbb", H11 + timedelta(minutes=50), "c0ffee00"), b"not gzip")
    whole = str(tmp_path / "whole")
    run_pipeline(spark, str(source), whole, Window(H11, H12), ingested_at=H12)

    lake = str(tmp_path / "lake")

    def lost_executor(*args, **kwargs):
        raise RuntimeError("executor lost while aggregating")

    with monkeypatch.context() as patched:
        patched.setattr(run, "run_aggregate", lost_executor)
        with pytest.raises(RuntimeError, match="executor lost"):
            run_pipeline(spark, str(source), lake, Window(H11, H12), ingested_at=H12)
    assert pending_notes(lake) == {"aggregate": [H10.isoformat(), H11.isoformat()], "validate": [H11.isoformat()]}

    # The retry reads no object again (the ingest recorded them), and aggregates hour 10 all the same.
    retry = run_pipeline(spark, str(source), lake, Window(H11, H12), ingested_at=H12 + timedelta(minutes=5))
    assert retry["ingest"]["objects_read"] == 0
    assert [(a["window_start"], a["window_end"]) for a in retry["aggregate"]] == [(H10.isoformat(), H12.isoformat())]
    for table in ("traffic_hourly", "top_talkers_hourly", "log_status_hourly", "security_findings"):
        assertDataFrameEqual(read(spark, lake, table), read(spark, whole, table))
    # flowlake run does not validate: the hour stays owed to the next run that does (flowlake hourly).
    assert pending_notes(lake) == {"validate": [H11.isoformat()]}


def test_an_hourly_run_validates_from_the_first_hour_owed_a_validation():
    from flowlake.hourly import validated_window

    hour = Window(H12, H12 + timedelta(hours=1))
    ingested = {"corrupt_object_hours": [H11.isoformat()]}
    assert validated_window(hour, {"corrupt_object_hours": []}, []) == hour
    assert validated_window(hour, ingested, []) == Window(H11, hour.end)
    # A run before read a corrupt object of hour 10 and failed before validating it.
    assert validated_window(hour, ingested, [H10]) == Window(H10, hour.end)
    assert validated_window(hour, {"corrupt_object_hours": []}, [H10, H11]) == Window(H10, hour.end)


def test_the_first_hour_caught_up_that_no_run_validated():
    from flowlake.hourly import catch_up_hours, first_unvalidated_hour

    hour = Window(H10, H11)
    h03, h05, h06, h07, h08, h09 = (H10 - timedelta(hours=n) for n in (7, 5, 4, 3, 2, 1))
    # Airflow down from 05:00: the 10:00 run catches up hours 05 to 09, 3 of them at most.
    assert catch_up_hours(hour, h05, max_catch_up_hours=168) == [h05, h06, h07, h08, h09]
    assert catch_up_hours(hour, h05, max_catch_up_hours=3) == [h07, h08, h09]
    caught_up = [h05, h06, h07, h08, h09]
    assert first_unvalidated_hour(caught_up, []) == h05
    assert first_unvalidated_hour(caught_up, [Window(h05, H11)]) is None
    assert first_unvalidated_hour(caught_up, [Window(h, h + timedelta(hours=1)) for h in caught_up]) is None
    assert first_unvalidated_hour(caught_up, [Window(h05, h07), Window(h08, H11)]) == h07
    # Windows reaching into the hours partly, and over each other: 05 to 07 validated, 08 not.
    assert first_unvalidated_hour(caught_up, [Window(h03, h06), Window(h05, h08), Window(h09, H12)]) == h08
    # A run after a successful one catches up nothing.
    assert catch_up_hours(hour, H10, max_catch_up_hours=168) == []
    assert catch_up_hours(hour, None, max_catch_up_hours=168) == []
    assert first_unvalidated_hour([], [Window(h05, h06)]) is None


def validation(run_id: str, start: datetime, end: datetime, success: bool = True) -> list[dict]:
    """dq_results' rows of a validate run of [start, end): two critical expectations, the second failed unless success."""
    run = dict(run_id=run_id, validated_at=end, window_start=start, window_end=end, suite="flow_logs")
    return [
        dict(**run, expectation="expect_table_columns_to_match_set", severity="critical", success=True),
        dict(**run, expectation="expect_column_values_to_not_be_null", severity="critical", success=success),
    ]


def test_an_hourly_run_validates_the_hours_it_caught_up_once(spark, tmp_path, monkeypatch):
    from flowlake import hourly
    from flowlake.hourly import first_unvalidated_catch_up_hour, validated_window

    lake, no_corrupt = str(tmp_path / "lake"), {"corrupt_object_hours": []}
    h04, h05 = H10 - timedelta(hours=6), H10 - timedelta(hours=5)
    # Airflow down from 05:00 to 10:00: the 10:00 run catches up from 05:00, the end of the last successful run.
    first = Window(H10, H11)
    assert first_unvalidated_catch_up_hour(spark, lake, first, h05, 168) == h05  # no dq_results: none validated
    before = validation("scheduled__03", h04 - timedelta(hours=1), h04) + validation("scheduled__04", h04, h05)
    append(frame(spark, "dq_results", before), lake, "dq_results")
    unvalidated = first_unvalidated_catch_up_hour(spark, lake, first, h05, 168)
    assert validated_window(first, no_corrupt, [], unvalidated) == Window(h05, H11)

    # It failed a critical expectation: the 11:00 run catches up from 05:00 again, and validates its own hour.
    append(frame(spark, "dq_results", validation("scheduled__10", h05, H11, success=False)), lake, "dq_results")
    second = Window(H11, H12)
    unvalidated = first_unvalidated_catch_up_hour(spark, lake, second, h05, 168)
    assert (unvalidated, validated_window(second, no_corrupt, [], unvalidated)) == (None, second)

    # A run after a successful one does not read dq_results.
    def refused(*args):
        raise AssertionError("dq_results read with nothing caught up")

    monkeypatch.setattr(hourly, "read_pinned", refused)
    assert first_unvalidated_catch_up_hour(spark, lake, second, H11, 168) is None
    assert first_unvalidated_catch_up_hour(spark, lake, second, None, 168) is None

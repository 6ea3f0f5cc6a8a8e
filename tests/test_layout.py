"""Object keys and names: what AWS writes, and what the listing accepts and prunes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowlake.layout import list_window, local_path, normalize_uri, object_key, parse_object_name
from flowlake.window import parse_utc
from tests.flowlog_objects import write_object


def test_aws_documented_name_parses():
    assert parse_object_name("123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz") == {
        "account_id": "123456789012",
        "region": "us-east-1",
        "flow_log_id": "fl-1234abcd",
        "object_time": datetime(2018, 6, 20, 16, 20, tzinfo=UTC),
        "file_format": "text",
    }


@pytest.mark.parametrize(
    "name",
    [
        "123456789012_CloudTrail_us-east-1_20180620T1620Z_fe123456.json.gz",
        "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log",
        "notes.txt",
        "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_2018-06-20_fe123456.log.gz",
    ],
)
def test_other_names_are_not_flow_log_objects(name):
    assert parse_object_name(name) is None


def test_keys_in_both_layouts_and_partitionings():
    t = datetime(2026, 11, 1, 9, 5, tzinfo=UTC)
    assert object_key("123456789012", "eu-west-1", "fl-1", t, "ab12") == (
        "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/11/01/"
        "123456789012_vpcflowlogs_eu-west-1_fl-1_20261101T0905Z_ab12.log.gz"
    )
    assert object_key(
        "123456789012", "eu-west-1", "fl-1", t, "ab12", prefix="/p/q/", hive=True, hourly=True, parquet=True
    ) == (
        "p/q/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/"
        "year=2026/month=11/day=01/hour=09/123456789012_vpcflowlogs_eu-west-1_fl-1_20261101T0905Z_ab12.log.parquet"
    )


def test_locations_and_instants():
    assert normalize_uri("s3://bucket/prefix/") == "s3a://bucket/prefix"
    assert normalize_uri("/tmp/x/") == "file:///tmp/x"
    # A local folder's name as it is, as Hadoop takes it: no fragment, no query, no escapes.
    assert local_path(normalize_uri("/tmp/flow logs #2 ?v=1 %41/lake")) == "/tmp/flow logs #2 ?v=1 %41/lake"
    assert local_path("file:/tmp/a#b") == "/tmp/a#b"
    assert local_path("file://localhost/tmp/a") == "/tmp/a"
    with pytest.raises(ValueError, match="another host"):
        local_path("file://fileserver/share/lake")
    assert parse_utc("2026-11-01T10:00:00Z") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert parse_utc("2026-11-01T12:00:00+02:00") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert parse_utc("2026-11-01T10:00") == datetime(2026, 11, 1, 10, tzinfo=UTC)


def test_listing_keeps_the_window_and_descends_only_into_nearby_date_folders(spark, tmp_path):
    for day, hour, minute, hive in (
        (1, 9, 55, False),
        (1, 10, 0, True),
        (1, 10, 55, False),
        (1, 11, 0, False),
        (3, 10, 5, True),
    ):
        write_object(
            tmp_path,
            datetime(2026, 11, day, hour, minute, tzinfo=UTC),
            [],
            object_hash=f"{day}{hour}{minute}",
            hive=hive,
            hourly=hive,
        )
    # A folder far outside the window is never entered, so what is in it is not even seen.
    (tmp_path / "AWSLogs/123456789010/vpcflowlogs/us-east-1/2026/12/01").mkdir(parents=True)
    (tmp_path / "AWSLogs/123456789010/vpcflowlogs/us-east-1/2026/12/01/stray.txt").write_text("x")
    (tmp_path / "AWSLogs/123456789010/vpcflowlogs/us-east-1/2026/11/01/stray.txt").write_text("x")

    listing = list_window(
        spark, str(tmp_path), datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 11, tzinfo=UTC)
    )

    assert [(o.object_time.hour, o.object_time.minute) for o in listing.objects] == [(10, 0), (10, 55)]
    assert [s.split("/")[-4:] for s in listing.skipped] == [["2026", "11", "01", "stray.txt"]]
    assert listing.objects[0].key.startswith("AWSLogs/aws-account-id=123456789010/")


def test_a_prefix_with_folders_named_like_dates_hides_no_object(spark, tmp_path):
    # The date folders are those below AWSLogs/: a prefix's own "2024" or "year=2025" is not the objects' year.
    times = {
        "exports/2024": datetime(2026, 11, 1, 10, 5, tzinfo=UTC),
        "archive/year=2025": datetime(2026, 11, 1, 10, 10, tzinfo=UTC),
    }
    for prefix, object_time in times.items():
        write_object(tmp_path / prefix, object_time, [], object_hash=f"{object_time.minute}", hive="=" in prefix)
    # Below AWSLogs/, a date folder far outside the window is still never entered.
    far = tmp_path / "exports/2024/AWSLogs/123456789010/vpcflowlogs/us-east-1/2026/12/01"
    far.mkdir(parents=True)
    (far / "stray.txt").write_text("x")

    listing = list_window(
        spark, str(tmp_path), datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 11, tzinfo=UTC)
    )

    assert sorted((o.key.split("/AWSLogs/")[0], o.object_time) for o in listing.objects) == sorted(times.items())
    assert listing.skipped == []

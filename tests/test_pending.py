"""The hours a run owes the lake: noted, read back and deleted once paid, in a local folder and on S3; a note
written meanwhile or a block that fails keeps them; a note cut short by a crash is dropped."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from flowlake import pending

H10 = datetime(2026, 11, 1, 10, tzinfo=UTC)
H11 = H10 + timedelta(hours=1)
H12 = H10 + timedelta(hours=2)
BUCKET = "flowlake-pending"


@pytest.fixture(scope="module", params=["folder", "s3"])
def lake(request, tmp_path_factory):
    if request.param == "folder":
        return str(tmp_path_factory.mktemp("pending") / "lake")
    request.getfixturevalue("s3_client").create_bucket(Bucket=BUCKET)
    request.getfixturevalue("spark_s3")
    return f"s3a://{BUCKET}/lake"


def paid(spark, lake: str, step: str) -> list[datetime]:
    with pending.paying(spark, lake, step) as hours:
        return hours


def test_noted_hours_are_paid_once_and_a_note_written_meanwhile_stays(spark, lake):
    pending.note(spark, lake, {pending.AGGREGATE: [H11, H10], pending.VALIDATE: [H11]}, H12)
    pending.note(spark, lake, {pending.AGGREGATE: [H11], pending.VALIDATE: []}, H12 + timedelta(minutes=5))

    with pending.paying(spark, lake, pending.AGGREGATE) as hours:
        assert hours == [H10, H11]
        pending.note(spark, lake, {pending.AGGREGATE: [H12]}, H12 + timedelta(minutes=10))
    assert paid(spark, lake, pending.AGGREGATE) == [H12]
    assert paid(spark, lake, pending.AGGREGATE) == []
    assert paid(spark, lake, pending.VALIDATE) == [H11]
    assert paid(spark, lake, pending.VALIDATE) == []


def test_a_run_paying_the_hours_before_its_end_leaves_the_later_ones_noted(spark, lake):
    # A backfill of hour 10 while a validation of hour 12 is owed: hour 12 is a later run's.
    pending.note(spark, lake, {pending.VALIDATE: [H10, H12]}, H12)
    pending.note(spark, lake, {pending.VALIDATE: [H12]}, H12 + timedelta(minutes=5))
    with pending.paying(spark, lake, pending.VALIDATE, before=H11) as hours:
        assert hours == [H10]
    with pending.paying(spark, lake, pending.VALIDATE, before=H11) as hours:
        assert hours == []
    assert paid(spark, lake, pending.VALIDATE) == [H12]
    assert paid(spark, lake, pending.VALIDATE) == []


def test_hours_of_a_block_that_fails_stay_noted(spark, lake):
    pending.note(spark, lake, {pending.AGGREGATE: [H10]}, H12)
    with pytest.raises(RuntimeError), pending.paying(spark, lake, pending.AGGREGATE) as hours:
        assert hours == [H10]
        raise RuntimeError("aggregation failed")
    assert paid(spark, lake, pending.AGGREGATE) == [H10]


def test_a_note_cut_short_is_dropped(spark, tmp_path, caplog):
    lake = tmp_path / "lake"
    pending.note(spark, str(lake), {pending.AGGREGATE: [H10]}, H12)
    cut = lake / "_flowlake_pending" / "aggregate" / "20261101T120500000000Z-cut.json"
    cut.write_text(json.dumps({"noted_at": H12.isoformat(), "hours": [H11.isoformat()]})[:20])
    with caplog.at_level(logging.WARNING, logger="flowlake.pending"):
        assert paid(spark, str(lake), pending.AGGREGATE) == [H10]
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        f"pending aggregate note {cut.name} dropped, cut short by a crash"
    ]
    assert sorted(path.name for path in lake.rglob("*.json")) == []

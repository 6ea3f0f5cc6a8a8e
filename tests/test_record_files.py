"""The parse's own flow_logs files (no Spark): one file per event_date a task has records of, with the
statistics Delta's log needs, and every object's summary."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from flowlake import parse, record_files, spark_session

URI = "file:/s/123456789010_vpcflowlogs_us-east-1_fl-1_20261101T2355Z_aa.log.gz"
HEADER = "interface-id srcaddr start end action log-status"
# Two records before midnight (out of time order), one after it, and a NODATA record without addresses.
LINES = [
    "eni-b 10.0.0.2 1793577590 1793577600 REJECT OK",
    "eni-a 10.0.0.1 1793577550 1793577560 ACCEPT OK",
    "eni-a 10.0.0.9 1793577610 1793577620 ACCEPT OK",
    "eni-c - 1793577595 1793577599 - NODATA",
]
STATS_COLUMNS = ["event_time", "start", "interface_id", "srcaddr", "vpc_id", "action"]
INPUT_SCHEMA = pa.schema([("path", pa.string()), ("length", pa.int64()), ("content", pa.binary())])


def written(tmp_path, lines: list[str]) -> list[dict]:
    content = gzip.compress(("\n".join([HEADER, *lines]) + "\n").encode())
    batch = pa.RecordBatch.from_pylist([{"path": URI, "length": len(content), "content": content}], INPUT_SCHEMA)
    omitted = parse.omitted_columns([HEADER.split()])
    output = record_files.write_record_files(
        [batch],
        storage=record_files.TableStorage(str(tmp_path)),
        stats_columns=STATS_COLUMNS,
        delta_encoded=frozenset({"start", "end", "event_time", "line_number"}),
        omitted=omitted,
    )
    return pa.Table.from_batches(list(output), record_files.OUTPUT_SCHEMA).to_pylist()


def test_each_event_date_gets_a_file_with_its_records_in_time_order_and_delta_statistics(tmp_path):
    rows = written(tmp_path, LINES)
    (summary,) = [row for row in rows if row["row_kind"] == parse.ROW_OBJECT]
    assert (summary["source_file"], summary["lines_read"], summary["records_written"], summary["status"]) == (
        URI,
        4,
        4,
        parse.STATUS_OK,
    )
    files = {row["event_date"]: row for row in rows if row["row_kind"] == record_files.ROW_FILE}
    assert sorted(files) == ["2026-11-01", "2026-11-02"]
    before, after = files["2026-11-01"], files["2026-11-02"]
    assert before["file_path"].startswith("event_date=2026-11-01/part-") and before["file_path"].endswith(".parquet")

    records = pq.read_table(tmp_path / before["file_path"]).to_pylist()
    assert [(r["interface_id"], r["srcaddr"], r["start"], r["line_number"]) for r in records] == [
        ("eni-a", "10.0.0.1", 1793577550, 3),
        ("eni-b", "10.0.0.2", 1793577590, 2),
        ("eni-c", None, 1793577595, 5),
    ]
    assert {r["event_date"] for r in records} == {datetime(2026, 11, 1).date()}
    assert before["records"] == 3 and before["file_bytes"] == (tmp_path / before["file_path"]).stat().st_size
    assert before["hours"] == [1793574000]  # 2026-11-01T23:00Z
    assert json.loads(before["stats"]) == {
        "numRecords": 3,
        "minValues": {
            "event_time": "2026-11-01T23:59:10.000Z",
            "start": 1793577550,
            "interface_id": "eni-a",
            "srcaddr": "10.0.0.1",
            "action": "ACCEPT",
        },
        "maxValues": {
            "event_time": "2026-11-01T23:59:55.000Z",
            "start": 1793577595,
            "interface_id": "eni-c",
            "srcaddr": "10.0.0.2",
            "action": "REJECT",
        },
        # vpc_id is in no file of this format: every record's is NULL.
        "nullCount": {"event_time": 0, "start": 0, "interface_id": 0, "srcaddr": 1, "vpc_id": 3, "action": 1},
    }
    assert after["records"] == 1 and after["hours"] == [1793577600]
    assert [r["line_number"] for r in pq.read_table(tmp_path / after["file_path"]).to_pylist()] == [4]


def test_statistics_bound_every_value_or_are_left_out():
    strings = record_files._Bounds()
    strings.add(pa.array(["10.0.0.1", None]))
    strings.add(pa.array(["2001:db8:1234:a100:8d6e:3477:df66:f105"]))
    # Delta keeps 32 characters of a string; a longer value gets no bounds rather than a cut one.
    assert strings.bounds() is None and strings.nulls == 1
    times = record_files._Bounds()
    times.add(pa.array([datetime(2026, 11, 1, 10, 0, 0, 1500, tzinfo=UTC)], pa.timestamp("us", tz="UTC")))
    times.add(pa.array([datetime(2026, 11, 1, 10, 0, 59, 999001, tzinfo=UTC)], pa.timestamp("us", tz="UTC")))
    # Milliseconds, rounded outward: the low bound down, the high one up (into the next minute).
    assert times.bounds() == ("2026-11-01T10:00:00.001Z", "2026-11-01T10:01:00.000Z")
    numbers = record_files._Bounds()
    numbers.add(pa.array([None, None], pa.int64()))
    assert numbers.bounds() is None and numbers.nulls == 2
    numbers.add(pa.array([7, -3], pa.int64()))
    assert numbers.bounds() == (-3, 7)


def test_a_task_without_records_writes_no_file(tmp_path):
    rows = written(tmp_path, ["eni-a not-a-line"])
    assert [(row["row_kind"], row["records_written"], row["lines_quarantined"]) for row in rows] == [
        (parse.ROW_OBJECT, 0, 1)
    ]
    assert not list(tmp_path.rglob("*.parquet"))


def test_an_s3_table_is_reached_as_s3a_is_set_up_its_buckets_own_settings_first():
    hadoop = {
        "fs.s3a.endpoint": "http://127.0.0.1:9000",
        "fs.s3a.bucket.lake.endpoint": "https://127.0.0.1:9443",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.endpoint.region": "eu-west-1",
        "fs.s3a.access.key": "key",
        "fs.s3a.secret.key": "secret",
        "fs.s3a.attempts.maximum": "7",
    }
    storage = record_files.table_storage("s3a://lake/prod/flow_logs", hadoop.get)
    assert storage.folder == "lake/prod/flow_logs"
    assert storage.s3 == {
        "attempts": 7,
        "endpoint_override": "127.0.0.1:9443",
        "scheme": "https",
        "force_virtual_addressing": False,
        "region": "eu-west-1",
        "access_key": "key",
        "secret_key": "secret",
    }
    assert "secret" not in repr(storage)
    # Without an endpoint or keys: AWS itself, and the SDK's own credential chain.
    plain = record_files.table_storage("s3a://other/flow_logs", {"fs.s3a.endpoint.region": "us-east-2"}.get)
    assert plain.s3 == {"attempts": 5, "region": "us-east-2"}
    # A local path's text as it is, as Hadoop takes it (flowlake.layout.normalize_uri): "%41" names no "A".
    assert record_files.table_storage("file:///tmp/my lake %41/flow_logs", hadoop.get) == record_files.TableStorage(
        "/tmp/my lake %41/flow_logs"
    )
    # Nor is a '#' or a '?' a fragment or a query, in a folder's name or in a key.
    assert (
        record_files.table_storage("file:///tmp/lake #2 ?v/flow_logs", hadoop.get).folder == "/tmp/lake #2 ?v/flow_logs"
    )
    assert record_files.table_storage("s3a://lake/team #2/flow_logs", hadoop.get).folder == "lake/team #2/flow_logs"


def test_temporary_credentials_of_the_environment_reach_s3a_and_the_workers(monkeypatch):
    """Keys of an assumed role or SSO (AWS_SESSION_TOKEN beside them) are refused by S3 without their token."""
    monkeypatch.setenv("FLOWLAKE_S3_ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    s3a = spark_session.s3a_settings()
    assert s3a == {
        "fs.s3a.endpoint": "http://127.0.0.1:9000",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.endpoint.region": "eu-west-1",
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
        "fs.s3a.access.key": "ASIAKEY",
        "fs.s3a.secret.key": "secret",
        "fs.s3a.session.token": "token",
    }
    assert record_files.table_storage("s3a://lake/flow_logs", s3a.get).s3 == {
        "attempts": 5,
        "endpoint_override": "127.0.0.1:9000",
        "scheme": "http",
        "force_virtual_addressing": False,
        "region": "eu-west-1",
        "access_key": "ASIAKEY",
        "secret_key": "secret",
        "session_token": "token",
    }


def test_columns_without_values_are_those_every_file_lacks_or_counts_as_many_nulls_as_rows_for(tmp_path):
    """By the footers alone: vpc_id is absent from one file and NULL in the others' every row group; action
    has a value in the second row group only; tgw_id is NULL in every file that has it; srcaddr is NULL too,
    but in a file written without its statistics, whose footer cannot vouch for that."""
    strings = pa.string()
    pq.write_table(
        pa.table({"action": pa.array([None, None, "ACCEPT"], strings), "tgw_id": pa.array([None] * 3, strings)}),
        tmp_path / "a.parquet",
        row_group_size=2,
    )
    pq.write_table(
        pa.table({"vpc_id": pa.array([None] * 3, strings), "tgw_id": pa.array([None] * 3, strings)}),
        tmp_path / "b.parquet",
        row_group_size=2,
    )
    pq.write_table(
        pa.table({"srcaddr": pa.array([None, None], strings), "vpc_id": pa.array([None, None], strings)}),
        tmp_path / "c.parquet",
        write_statistics=["vpc_id"],
    )
    files = [f"file:{tmp_path}/{name}.parquet" for name in ("a", "b", "c")]
    columns = ("srcaddr", "vpc_id", "action", "tgw_id", "reject_reason")

    without = record_files.columns_without_values(files, columns, record_files.TableStorage(str(tmp_path)))

    assert without == ("vpc_id", "tgw_id", "reject_reason")
    assert record_files.columns_without_values(files[:1], columns, record_files.TableStorage(str(tmp_path))) == (
        "srcaddr",
        "vpc_id",
        "tgw_id",
        "reject_reason",
    )


def test_a_file_whose_footer_cannot_be_read_vouches_for_no_column_and_is_named(tmp_path, caplog):
    pq.write_table(pa.table({"vpc_id": pa.array([None], pa.string())}), tmp_path / "empty.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    files = [f"file:{tmp_path}/empty.parquet", f"file:{tmp_path}/broken.parquet"]

    without = record_files.columns_without_values(files, ("vpc_id", "tgw_id"), record_files.TableStorage(str(tmp_path)))

    assert without == ()
    assert f"could not read the footer of {tmp_path}/broken.parquet" in caplog.text


def test_a_lake_on_s3_that_s3a_encrypts_acls_or_writes_as_a_role_is_written_through_spark():
    lake = "s3a://lake-bucket/lake/flow_logs"
    assert record_files.writes_files_itself("file:///data/lake/flow_logs", {}.get)
    assert record_files.writes_files_itself(lake, {}.get)
    assert record_files.writes_files_itself(lake, {"fs.s3a.bucket.other-bucket.encryption.algorithm": "SSE-KMS"}.get)
    for name in ("encryption.algorithm", "server-side-encryption-algorithm", "acl.default", "assumed.role.arn"):
        for key in (f"fs.s3a.{name}", f"fs.s3a.bucket.lake-bucket.{name}"):
            assert not record_files.writes_files_itself(lake, {key: "SSE-KMS"}.get), key
    assert not record_files.writes_files_itself("abfss://lake@account.dfs.core.windows.net/lake/flow_logs", {}.get)

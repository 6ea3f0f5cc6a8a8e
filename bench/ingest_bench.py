"""flowlake's ingest plus hourly aggregation against DuckDB, over the same day of raw objects.

    make bench [BENCH_ARGS="--records 5000000 --out-dir bench/results --keep"]
    python -m bench.ingest_bench --records 5000000

Generates a day of default-format gzip objects (4 flow logs, 288 five-minute
objects each) into a temporary folder, then:
  flowlake: starts a SparkSession (timed apart), runs flowlake.ingest over the day
            and flowlake.aggregate over the hours it touched;
  DuckDB:   computes the hourly traffic figures (per hour of start, account,
            interface, action, protocol: records, packets, bytes of OK records)
            straight from the raw .log.gz objects.
Both must give exactly the same figures, or the run fails. It prints the times,
their ratio, records per second, the Delta flow_logs size against the gzip
input, the peak memory of the Spark driver (the JVM) and of Python, and where
flowlake's time goes; the same goes to OUT_DIR/ingest_bench_<UTC time>.json and
OUT_DIR/latest.json. Spark's driver heap is FLOWLAKE_DRIVER_MEMORY (default 2g).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

GIB = 1024**3
GOAL_RATIO = 2.0
BENCH_START = datetime(2026, 11, 1, tzinfo=UTC)
GROUP_KEYS = ("hour", "account_id", "interface_id", "action", "protocol")
FIGURES = ("records", "packets", "bytes")
FALLBACK_TABLE = "bench_traffic_hourly"

DUCKDB_HOURLY = """
SELECT "start" - "start" % 3600 AS hour, "account-id" AS account_id, "interface-id" AS interface_id,
       action, protocol, count(*) AS records, sum(packets) AS packets, sum(bytes) AS bytes
FROM read_csv(?, delim = ' ', header = true, nullstr = '-', compression = 'gzip', auto_detect = false,
              columns = {
                  'version': 'INTEGER', 'account-id': 'VARCHAR', 'interface-id': 'VARCHAR',
                  'srcaddr': 'VARCHAR', 'dstaddr': 'VARCHAR', 'srcport': 'INTEGER', 'dstport': 'INTEGER',
                  'protocol': 'INTEGER', 'packets': 'BIGINT', 'bytes': 'BIGINT', 'start': 'BIGINT',
                  'end': 'BIGINT', 'action': 'VARCHAR', 'log-status': 'VARCHAR'})
WHERE "log-status" = 'OK'
GROUP BY ALL
"""


# ---------------------------------------------------------------- measuring


class LogTimes(logging.Handler):
    """Collects the durations the ingest and aggregate jobs log, by step, and when each step ended."""

    PATTERNS = (
        (re.compile(r"listed in ([0-9.]+)s$"), lambda m: ("listing", float(m.group(1)))),
        (re.compile(r"^wrote ([a-z_]+) in ([0-9.]+)s$"), lambda m: (f"write {m.group(1)}", float(m.group(2)))),
        (
            re.compile(r"^wrote \d+ rows of ([a-z_]+) in ([0-9.]+)s$"),
            lambda m: (f"aggregate {m.group(1)}", float(m.group(2))),
        ),
    )

    def __init__(self):
        super().__init__(logging.INFO)
        self.seconds: dict[str, float] = {}
        self.ended_at: dict[str, float] = {}  # wall-clock time of the step's log line

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for pattern, step in self.PATTERNS:
            match = pattern.search(message)
            if match:
                name, seconds = step(match)
                self.seconds[name] = self.seconds.get(name, 0.0) + seconds
                self.ended_at[name] = record.created


def _proc_kib(pid: int, file: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parent = int(text.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and parentheses
        children.setdefault(parent, []).append(int(stat.parent.name))
    return children


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, pending = [], list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(children.get(child, []))
    return found


def spark_driver_pid() -> int:
    """The JVM that py4j launched for this process's SparkSession (local mode: the driver)."""
    for child in _descendants(os.getpid(), _children()):
        if Path(f"/proc/{child}/comm").read_text().strip() == "java":
            return child
    raise RuntimeError("no Spark driver JVM among this process's children")


class PeakMemory:
    """Samples resident memory of Python, the driver JVM and the JVM's Python workers until stopped."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.peaks_kib = {"python": 0, "jvm": 0, "python_workers": 0, "total": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.jvm_pid: int | None = None

    def start(self, jvm_pid: int) -> PeakMemory:
        self.jvm_pid = jvm_pid
        self._thread.start()
        return self

    def _sample(self) -> None:
        workers = _descendants(self.jvm_pid, _children())
        now = {
            "python": _proc_kib(os.getpid(), "status", "VmRSS"),
            "jvm": _proc_kib(self.jvm_pid, "status", "VmRSS"),
            # Workers are forked from one daemon and share pages: PSS counts each shared page once.
            "python_workers": sum(_proc_kib(pid, "smaps_rollup", "Pss") for pid in workers),
        }
        now["total"] = sum(now.values())
        for name, kib in now.items():
            self.peaks_kib[name] = max(self.peaks_kib[name], kib)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def stop(self) -> dict:
        self._sample()
        self._stop.set()
        self._thread.join()
        return {
            # VmHWM is the kernel's own high-water mark: it sees peaks between samples.
            "jvm_driver_peak_rss_bytes": _proc_kib(self.jvm_pid, "status", "VmHWM") * 1024,
            "python_peak_rss_bytes": self.peaks_kib["python"] * 1024,
            "python_workers_peak_pss_bytes": self.peaks_kib["python_workers"] * 1024,
            "process_tree_peak_bytes": self.peaks_kib["total"] * 1024,
        }


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed(function, *args, **kwargs):
    started = time.monotonic()
    result = function(*args, **kwargs)
    return result, time.monotonic() - started


# ---------------------------------------------------------------- the two engines


def duckdb_hourly(source: Path) -> dict[tuple, tuple]:
    """The hourly traffic figures computed by DuckDB from the raw objects, keyed like GROUP_KEYS."""
    import duckdb

    with duckdb.connect() as connection:
        rows = connection.execute(DUCKDB_HOURLY, [str(source / "AWSLogs" / "**" / "*.log.gz")]).fetchall()
    return {tuple(row[:5]): tuple(int(v) for v in row[5:]) for row in rows}


def fallback_aggregate(spark, lake: str, window) -> None:
    """Without flowlake.aggregate: the same hourly traffic figures as a Delta table, the way a job would write them."""
    from pyspark.sql import functions as F

    from flowlake.ingest import FLOW_LOGS
    from flowlake.lake import replace_where, table_path

    flow_logs = spark.read.format("delta").load(table_path(lake, FLOW_LOGS)).where(window.predicate("event_time"))
    hourly = (
        flow_logs.where(F.col("log_status") == "OK")
        .groupBy(F.date_trunc("hour", "event_time").alias("hour"), *GROUP_KEYS[1:])
        .agg(F.count(F.lit(1)).alias("records"), F.sum("packets").alias("packets"), F.sum("bytes").alias("bytes"))
    )
    replace_where(hourly, table_path(lake, FALLBACK_TABLE), window.predicate("hour"))


def flowlake_hourly(spark, lake: str, table: str, window) -> dict[tuple, tuple]:
    """The hourly traffic table's figures for the window, regrouped to GROUP_KEYS."""
    from pyspark.sql import functions as F

    from flowlake.lake import table_path

    rows = (
        spark.read.format("delta")
        .load(table_path(lake, table))
        .where(window.predicate("hour"))
        .groupBy(F.unix_timestamp("hour").alias("hour"), *GROUP_KEYS[1:])
        .agg(*(F.sum(figure).alias(figure) for figure in FIGURES))
        .collect()
    )
    return {tuple(row[:5]): tuple(int(v) for v in row[5:]) for row in rows}


def per_hour(figures: dict[tuple, tuple]) -> dict[int, tuple]:
    totals: dict[int, list[int]] = {}
    for key, values in figures.items():
        hour_totals = totals.setdefault(key[0], [0, 0, 0])
        for i, value in enumerate(values):
            hour_totals[i] += value
    return {hour: tuple(values) for hour, values in sorted(totals.items())}


def compare(flowlake: dict[tuple, tuple], duckdb: dict[tuple, tuple]) -> dict:
    """Per-hour totals of both engines; raises when any group differs."""
    flowlake_hours, duckdb_hours = per_hour(flowlake), per_hour(duckdb)
    hours = [
        {
            "hour": datetime.fromtimestamp(hour, UTC).isoformat(),
            **{f"flowlake_{name}": flowlake_hours.get(hour, (None,) * 3)[i] for i, name in enumerate(FIGURES)},
            **{f"duckdb_{name}": duckdb_hours.get(hour, (None,) * 3)[i] for i, name in enumerate(FIGURES)},
        }
        for hour in sorted(set(flowlake_hours) | set(duckdb_hours))
    ]
    differing = sorted(k for k in set(flowlake) | set(duckdb) if flowlake.get(k) != duckdb.get(k))
    if differing:
        for row in hours:
            print(json.dumps(row), file=sys.stderr)
        raise SystemExit(
            f"MISMATCH: flowlake and DuckDB disagree on {len(differing)} of {len(set(flowlake) | set(duckdb))} "
            f"hourly groups, e.g. {differing[0]}: flowlake {flowlake.get(differing[0])}, DuckDB {duckdb.get(differing[0])}"
        )
    return {"agree": True, "groups": len(duckdb), "hours": hours}


# ---------------------------------------------------------------- the run


def run_flowlake(source: Path, lake: Path, nat_inventory: str) -> dict:
    """Session start, ingest and aggregation, timed apart; the hourly figures; memory peaks."""
    from flowlake.ingest import Window, run_ingest
    from flowlake.spark_session import get_spark

    try:
        from flowlake.aggregate import run_aggregate
    except ImportError:
        run_aggregate = None

    log_times = LogTimes()
    flowlake_log = logging.getLogger("flowlake")
    flowlake_log.setLevel(logging.INFO)
    flowlake_log.addHandler(log_times)
    os.environ.setdefault("FLOWLAKE_DRIVER_MEMORY", "2g")
    spark, session_seconds = timed(get_spark, "flowlake-bench", {"spark.ui.enabled": "false"})
    memory = PeakMemory().start(spark_driver_pid())
    try:
        day = Window(BENCH_START, BENCH_START + timedelta(days=1))
        ingest, ingest_seconds = timed(run_ingest, spark, str(source), str(lake), day, datetime.now(UTC))
        ingest_ended_at = time.time()
        hours = [datetime.fromisoformat(h) for h in ingest["hours_touched"]]
        touched = Window(hours[0], hours[-1] + timedelta(hours=1))
        if run_aggregate is not None:
            aggregation = "flowlake.aggregate.run_aggregate (every registered hourly table), compared on traffic_hourly"
            _, aggregate_seconds = timed(run_aggregate, spark, str(lake), touched, nat_inventory)
            table = "traffic_hourly"
        else:
            aggregation = f"flowlake.aggregate not importable: the bench's own Spark hourly traffic aggregation ({FALLBACK_TABLE})"
            _, aggregate_seconds = timed(fallback_aggregate, spark, str(lake), touched)
            table = FALLBACK_TABLE
        figures = flowlake_hourly(spark, str(lake), table, touched)
        heap_max = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
        spark_version = spark.version
    finally:
        peaks = memory.stop()
        flowlake_log.removeHandler(log_times)
        spark.stop()
    steps, ended_at = log_times.seconds, log_times.ended_at
    flow_logs_started_at = ended_at["write flow_logs"] - steps["write flow_logs"]
    breakdown = {
        "listing": steps["listing"],
        # Between the listing and the first write: Spark's own file index over the listed objects, and planning.
        "file_index_and_planning": round(flow_logs_started_at - ended_at["listing"], 2),
        # Each of the two writes below reads and parses the objects: flow_logs takes the records,
        # the quarantine the outcome rows (kept in a cache for source_objects).
        "read_parse_and_write_flow_logs": steps["write flow_logs"],
        "read_parse_and_write_flow_logs_quarantine": steps["write flow_logs_quarantine"],
        "write_source_objects": steps["write source_objects"],
        "ingest_closing_queries": round(ingest_ended_at - ended_at["write source_objects"], 2),
        "aggregation": round(aggregate_seconds, 2),
        "aggregation_tables": {name.split(" ", 1)[1]: s for name, s in steps.items() if name.startswith("aggregate ")},
    }
    return {
        "spark_version": spark_version,
        "session_start_seconds": round(session_seconds, 2),
        "ingest_seconds": round(ingest_seconds, 2),
        "aggregate_seconds": round(aggregate_seconds, 2),
        "seconds": round(ingest_seconds + aggregate_seconds, 2),
        "aggregation": aggregation,
        "ingest_summary": ingest,
        "breakdown_seconds": breakdown,
        "figures": figures,
        "memory": {
            "driver_memory_setting": os.environ["FLOWLAKE_DRIVER_MEMORY"],
            "jvm_heap_max_bytes": heap_max,
            **peaks,
        },
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5_000_000, help="records in the day (default 5,000,000)")
    parser.add_argument("--out-dir", default="bench/results", help="where the JSON results go (default bench/results)")
    parser.add_argument("--keep", action="store_true", help="keep the generated objects and the lake, and say where")
    parser.add_argument("--processes", type=int, default=2, help="processes generating the objects (default 2)")
    return parser


def _gib(value: int) -> str:
    return f"{value / GIB:.2f} GiB"


def main(argv: list[str] | None = None) -> dict:
    from flowlake.generate import write_benchmark_day

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    work = Path(tempfile.mkdtemp(prefix="flowlake-bench-"))
    source, lake = work / "source", work / "lake"
    try:
        print(f"bench: generating {args.records:,} records into {source}", flush=True)
        generated, generate_seconds = timed(
            write_benchmark_day, str(source), BENCH_START, args.records, processes=args.processes
        )
        print("bench: flowlake ingest + hourly aggregation", flush=True)
        flowlake = run_flowlake(source, lake, generated["nat_inventory"])
        print("bench: DuckDB hourly traffic from the raw objects", flush=True)
        duckdb_figures, duckdb_seconds = timed(duckdb_hourly, source)
        check = compare(flowlake.pop("figures"), duckdb_figures)
        gzip_bytes = generated["bytes"]
        flow_logs_bytes = folder_bytes(lake / "flow_logs")
        import duckdb

        result = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__},
            "input": {
                "records": generated["records"],
                "objects": generated["objects"],
                "flow_logs": len(generated["flow_logs"]),
                "gzip_bytes": gzip_bytes,
                "generate_seconds": round(generate_seconds, 2),
            },
            "flowlake": {
                **flowlake,
                "records_per_second": round(generated["records"] / flowlake["seconds"]),
                "delta_flow_logs_bytes": flow_logs_bytes,
                "delta_flow_logs_to_gzip": round(flow_logs_bytes / gzip_bytes, 3),
            },
            "duckdb": {
                "seconds": round(duckdb_seconds, 2),
                "records_per_second": round(generated["records"] / duckdb_seconds),
            },
            "ratio_flowlake_to_duckdb": round(flowlake["seconds"] / duckdb_seconds, 2),
            "ratio_with_session_start": round(
                (flowlake["seconds"] + flowlake["session_start_seconds"]) / duckdb_seconds, 2
            ),
            "python_peak_rss_bytes_whole_run": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "check": check,
        }
        memory = flowlake["memory"]
        result["goals"] = {
            "within_2x_of_duckdb": result["ratio_flowlake_to_duckdb"] <= GOAL_RATIO,
            "driver_under_4_gib": memory["jvm_driver_peak_rss_bytes"] < 4 * GIB,
        }
        report(result)
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        text = json.dumps(result, indent=2)
        (out_dir / f"ingest_bench_{stamp}.json").write_text(text)
        (out_dir / "latest.json").write_text(text)
        print(f"bench: results in {out_dir / f'ingest_bench_{stamp}.json'} and {out_dir / 'latest.json'}")
        return result
    finally:
        if args.keep:
            print(f"bench: kept the objects in {source} and the lake in {lake}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(result: dict) -> None:
    fl, dd, memory = result["flowlake"], result["duckdb"], result["flowlake"]["memory"]
    records = result["input"]["records"]
    lines = [
        f"records {records:,} in {result['input']['objects']} objects, {result['input']['gzip_bytes'] / 1e6:.1f} MB gzip",
        f"flowlake  {fl['seconds']:8.1f} s  ({fl['records_per_second']:,} records/s)  ingest {fl['ingest_seconds']:.1f} s"
        f" + aggregation {fl['aggregate_seconds']:.1f} s; session start {fl['session_start_seconds']:.1f} s apart",
        f"duckdb    {dd['seconds']:8.1f} s  ({dd['records_per_second']:,} records/s)",
        f"ratio flowlake/duckdb {result['ratio_flowlake_to_duckdb']:.2f} (goal <= {GOAL_RATIO}),"
        f" {result['ratio_with_session_start']:.2f} with session start",
        f"aggregation: {fl['aggregation']}",
        "where flowlake's time goes: "
        + ", ".join(
            f"{name} {seconds:.1f} s"
            for name, seconds in fl["breakdown_seconds"].items()
            if not isinstance(seconds, dict)
        ),
        "  aggregation tables: "
        + ", ".join(f"{n} {s:.1f} s" for n, s in fl["breakdown_seconds"]["aggregation_tables"].items()),
        f"Delta flow_logs {fl['delta_flow_logs_bytes'] / 1e6:.1f} MB = {fl['delta_flow_logs_to_gzip']:.2f} x the gzip input",
        f"memory: JVM driver peak RSS {_gib(memory['jvm_driver_peak_rss_bytes'])} (heap max {_gib(memory['jvm_heap_max_bytes'])},"
        f" FLOWLAKE_DRIVER_MEMORY={memory['driver_memory_setting']}), Python {_gib(memory['python_peak_rss_bytes'])},"
        f" Python workers (PSS) {_gib(memory['python_workers_peak_pss_bytes'])}, all {_gib(memory['process_tree_peak_bytes'])}",
        f"check: {result['check']['groups']:,} hourly groups over {len(result['check']['hours'])} hours agree exactly",
    ]
    print("\n".join("bench: " + line for line in lines), flush=True)


if __name__ == "__main__":
    main()

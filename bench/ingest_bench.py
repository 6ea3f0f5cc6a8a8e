"""flowlake's ingest + aggregate beside its peers, each step its own process as Airflow runs them.

    make bench [BENCH_ARGS="--records 5000000 --shapes random,day --out-dir bench/results --keep"]
    python -m bench.ingest_bench --records 5000000

For each shape of data (bench.data: a few big objects of random traffic; a
realistic day of 1,152 five-minute objects), in the same run:
  flowlake: `flowlake ingest` of the day, then `flowlake aggregate` of the hours it touched,
            then `flowlake validate` of them (timed apart: the plain job has no checks);
  plain:    the plain PySpark job a data engineer would write (bench.plain_job): Spark's
            CSV reader into Delta partitioned by day, then five group-bys from Delta;
  DuckDB:   the same five figures straight from the raw objects (bench.duckdb_job).
The hourly traffic figures of all three must agree group by group, or the run
fails. Then DuckDB queries flow_logs' Parquet files and the raw objects (a whole
day, and one interface in one hour) to compare reading the lake with reading
the logs, and the parse's peak memory for the largest object is measured against
its text (bench.parse_memory). Every Spark process gets a 2 GiB driver heap. Results are printed as
ratios and written to OUT_DIR/ingest_bench_<UTC time>.json and OUT_DIR/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.data import SHAPES, write_shape
from bench.parse_memory import measured as parse_memory

GIB = 1024**3
BENCH_START = datetime(2026, 11, 1, tzinfo=UTC)
DRIVER_MEMORY = "2g"
GROUP_KEYS = ("hour", "account_id", "interface_id", "action", "protocol")
FIGURES = ("records", "packets", "bytes")
BIN = Path(sys.executable).parent


# ---------------------------------------------------------------- measuring a process


def _proc_kib(pid: int, file: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _stat_fields(stat: Path) -> list[str] | None:
    """The fields of a process's or thread's /proc stat after its name (which may hold spaces and parentheses):
    the state first, the parent second, user and system CPU ticks 12th and 13th; None once it is gone."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(stat)
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(children.get(child, []))
    return found


def _is_java(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "java"
    except (FileNotFoundError, ProcessLookupError):
        return False


# What a thread of a Spark driver's JVM does, by the start of its name (Linux keeps a name's first 15
# characters): Spark's task threads, the JIT compilers, the garbage collector. The rest of the JVM's CPU is
# the driver's own work (planning, Delta's logs, py4j's calls) and Spark's services.
JVM_THREAD_KINDS = (("Executor task", "tasks"), ("C1 CompilerThre", "jit"), ("C2 CompilerThre", "jit"),
                    ("GC Thread", "gc"), ("VM Thread", "gc"))  # fmt: skip
CPU_KINDS = ("tasks", "jit", "gc", "jvm_other", "python")


def jvm_thread_kind(name: str) -> str:
    return next((kind for prefix, kind in JVM_THREAD_KINDS if name.startswith(prefix)), "jvm_other")


def _cpu_ticks(stat: Path) -> int | None:
    """User plus system CPU of a process or thread, in clock ticks (a process's includes its ended threads)."""
    fields = _stat_fields(stat)
    return None if fields is None else int(fields[11]) + int(fields[12])


def cpu_by_kind(processes: dict[int, tuple[bool, int]], jvm_threads: dict[tuple[int, int], tuple[str, int]]) -> dict:
    """CPU-seconds of a process tree by CPU_KINDS, from the last ticks seen of each process (is it a JVM, its
    ticks) and of each JVM thread (its kind, its ticks): a JVM's ticks its threads of no kind did not take
    (ended threads included) are jvm_other; every other process is Python (the driver and its workers)."""
    ticks = dict.fromkeys(CPU_KINDS, 0)
    for pid, (is_java, total) in processes.items():
        if not is_java:
            ticks["python"] += total
            continue
        known = 0
        for (thread_pid, _), (kind, thread_ticks) in jvm_threads.items():
            if thread_pid == pid and kind != "jvm_other":
                ticks[kind] += thread_ticks
                known += thread_ticks
        ticks["jvm_other"] += max(total - known, 0)
    per_second = os.sysconf("SC_CLK_TCK")
    return {kind: round(value / per_second, 1) for kind, value in ticks.items()}


def run_process(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Runs command to its end, sampling it every half second: wall seconds, peak PSS of its process tree, the
    JVM's peak RSS, and the tree's CPU-seconds by kind (cpu_by_kind; what a process or a JVM thread spends in
    its last half second alive is missed)."""
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=output, text=True)
    peaks = {"tree_kib": 0, "jvm_hwm_kib": 0}
    processes: dict[int, tuple[bool, int]] = {}
    jvm_threads: dict[tuple[int, int], tuple[str, int]] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            tree = [process.pid, *_descendants(process.pid)]
            # PSS counts pages shared between forked Python workers once.
            peaks["tree_kib"] = max(peaks["tree_kib"], sum(_proc_kib(pid, "smaps_rollup", "Pss") for pid in tree))
            for pid in tree:
                is_java = _is_java(pid)
                total = _cpu_ticks(Path(f"/proc/{pid}/stat"))
                if total is not None:
                    processes[pid] = (is_java, total)
                if is_java:
                    # VmHWM is the kernel's own high-water mark: it sees peaks between samples.
                    peaks["jvm_hwm_kib"] = max(peaks["jvm_hwm_kib"], _proc_kib(pid, "status", "VmHWM"))
                    for thread in Path(f"/proc/{pid}/task").glob("[0-9]*"):
                        try:
                            name = (thread / "comm").read_text().strip()
                        except (FileNotFoundError, ProcessLookupError):
                            continue
                        ticks = _cpu_ticks(thread / "stat")
                        if ticks is not None:
                            jvm_threads[(pid, int(thread.name))] = (jvm_thread_kind(name), ticks)
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}); see {log}:\n{log.read_text()[-3000:]}")
    summaries = [line for line in stdout.splitlines() if line.startswith(("{", "["))]
    return {
        "seconds": round(seconds, 2),
        "process_tree_peak_bytes": peaks["tree_kib"] * 1024,
        "jvm_peak_rss_bytes": peaks["jvm_hwm_kib"] * 1024,
        "cpu_seconds": cpu_by_kind(processes, jvm_threads),
        "summary": json.loads(summaries[-1]) if summaries else None,
    }


def spark_env() -> dict[str, str]:
    return {**os.environ, "FLOWLAKE_DRIVER_MEMORY": DRIVER_MEMORY, "FLOWLAKE_SPARK_LOG_LEVEL": "ERROR"}


# ---------------------------------------------------------------- figures and queries


def delta_files(table: Path) -> list[str]:
    """The Parquet files of the table's current version (a plain glob would also find removed ones)."""
    from deltalake import DeltaTable

    return DeltaTable(str(table)).file_uris()


def flowlake_traffic(lake: Path) -> dict[tuple, tuple]:
    import duckdb

    rows = duckdb.sql(
        f"""SELECT epoch(hour)::BIGINT, account_id, interface_id, action, protocol,
                   sum(records), sum(packets), sum(bytes)
            FROM read_parquet({delta_files(lake / "traffic_hourly")!r}) GROUP BY ALL"""
    ).fetchall()
    return {tuple(row[:5]): tuple(int(v) for v in row[5:]) for row in rows}


def plain_traffic(lake: Path) -> dict[tuple, tuple]:
    import duckdb

    rows = duckdb.sql(
        f"""SELECT epoch(hour)::BIGINT, account_id, interface_id, action, protocol, records, packets, bytes
            FROM read_parquet({delta_files(lake / "traffic")!r})"""
    ).fetchall()
    return {tuple(row[:5]): tuple(int(v) for v in row[5:]) for row in rows}


def duckdb_traffic(path: Path) -> dict[tuple, tuple]:
    return {tuple(row[:5]): tuple(int(v) for v in row[5:]) for row in json.loads(path.read_text())}


def compare(name: str, figures: dict[tuple, tuple], reference: dict[tuple, tuple]) -> int:
    differing = sorted((k for k in set(figures) | set(reference) if figures.get(k) != reference.get(k)), key=repr)
    if differing:
        key = differing[0]
        raise SystemExit(
            f"MISMATCH: {name} and DuckDB disagree on {len(differing)} of {len(set(figures) | set(reference))} "
            f"hourly traffic groups, e.g. {key}: {figures.get(key)} against {reference.get(key)}"
        )
    return len(reference)


def timed_query(sql: str, repeat: int = 3) -> float:
    """The best of `repeat` runs, in seconds: the first run warms the page cache for both sides alike."""
    import duckdb

    best = float("inf")
    for _ in range(repeat):
        with duckdb.connect() as connection:
            started = time.monotonic()
            connection.execute(sql).fetchall()
            best = min(best, time.monotonic() - started)
    return best


def query_speed(source: Path, lake: Path) -> dict:
    """DuckDB over flow_logs' Parquet files against DuckDB over the raw gzip objects."""
    from bench.duckdb_job import COLUMNS

    raw = (
        f"read_csv('{source}/AWSLogs/**/*.log.gz', delim = ' ', header = true, nullstr = '-', "
        f"compression = 'gzip', auto_detect = false, "
        f"columns = {{{', '.join(f'{chr(39)}{n}{chr(39)}: {chr(39)}{t}{chr(39)}' for n, t in COLUMNS.items())}}})"
    )
    # A file holds the columns its records' formats have: files of other formats may hold others.
    lake_files = f"read_parquet({delta_files(lake / 'flow_logs')!r}, union_by_name = true)"
    import duckdb

    ((interface, hour),) = duckdb.sql(
        f"""SELECT "interface-id", "start" - "start" % 3600 FROM {raw}
            WHERE "log-status" = 'OK' GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"""
    ).fetchall()
    queries = {
        "whole_day": (
            f'SELECT "start" - "start" % 3600 AS h, sum(bytes) FROM {raw} GROUP BY h',
            f'SELECT "start" - "start" % 3600 AS h, sum(bytes) FROM {lake_files} GROUP BY h',
        ),
        "one_interface_one_hour": (
            f"""SELECT sum(bytes), count(*) FROM {raw}
                WHERE "interface-id" = '{interface}' AND "start" >= {hour} AND "start" < {hour + 3600}""",
            f"""SELECT sum(bytes), count(*) FROM {lake_files}
                WHERE interface_id = '{interface}' AND "start" >= {hour} AND "start" < {hour + 3600}""",
        ),
    }
    speed = {}
    for name, (on_raw, on_lake) in queries.items():
        raw_seconds, lake_seconds = timed_query(on_raw), timed_query(on_lake)
        speed[name] = {
            "raw_seconds": round(raw_seconds, 4),
            "flow_logs_seconds": round(lake_seconds, 4),
            "speedup": round(raw_seconds / lake_seconds, 1),
        }
    return speed


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---------------------------------------------------------------- one shape


def bench_shape(shape: str, records: int, work: Path, processes: int) -> dict:
    source = work / shape / "source"
    logs = work / shape / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"bench [{shape}]: generating {records:,} records", flush=True)
    generated = write_shape(shape, str(source), BENCH_START, records, processes=processes)
    day = ["--start", BENCH_START.isoformat(), "--end", (BENCH_START + timedelta(days=1)).isoformat()]
    flowlake_lake, plain_lake = work / shape / "flowlake_lake", work / shape / "plain_lake"
    env = spark_env()
    steps = {}

    print(f"bench [{shape}]: flowlake ingest", flush=True)
    steps["flowlake_ingest"] = run_process(
        [str(BIN / "flowlake"), "ingest", "--source", str(source), "--lake", str(flowlake_lake), *day],
        env,
        logs / "flowlake_ingest.log",
    )
    hours = [datetime.fromisoformat(h) for h in steps["flowlake_ingest"]["summary"]["hours_touched"]]
    touched = ["--start", hours[0].isoformat(), "--end", (hours[-1] + timedelta(hours=1)).isoformat()]
    # Validation takes the same options as the aggregate of the same hours.
    for step in ("aggregate", "validate"):
        print(f"bench [{shape}]: flowlake {step}", flush=True)
        steps[f"flowlake_{step}"] = run_process(
            [str(BIN / "flowlake"), step, "--lake", str(flowlake_lake), *touched,
             "--nat-inventory", generated["nat_inventory"]],
            env,
            logs / f"flowlake_{step}.log",
        )  # fmt: skip
    print(f"bench [{shape}]: plain Spark job", flush=True)
    plain = [sys.executable, "-m", "bench.plain_job"]
    steps["plain_ingest"] = run_process(
        [*plain, "ingest", "--source", str(source), "--lake", str(plain_lake)], env, logs / "plain_ingest.log"
    )
    steps["plain_aggregate"] = run_process(
        [*plain, "aggregate", "--lake", str(plain_lake), "--nat-inventory", generated["nat_inventory"]],
        env,
        logs / "plain_aggregate.log",
    )
    print(f"bench [{shape}]: DuckDB", flush=True)
    duckdb_out = work / shape / "duckdb_traffic.json"
    steps["duckdb"] = run_process(
        [sys.executable, "-m", "bench.duckdb_job", "--source", str(source),
         "--nat-inventory", generated["nat_inventory"], "--out", str(duckdb_out)],
        env,
        logs / "duckdb.log",
    )  # fmt: skip

    print(f"bench [{shape}]: the parse's memory for the largest object", flush=True)
    largest = parse_memory(max(source.rglob("*.log.gz"), key=lambda path: path.stat().st_size))
    reference = duckdb_traffic(duckdb_out)
    groups = compare("flowlake", flowlake_traffic(flowlake_lake), reference)
    compare("the plain job", plain_traffic(plain_lake), reference)
    print(f"bench [{shape}]: DuckDB queries on flow_logs and on the raw objects", flush=True)
    flowlake_seconds = steps["flowlake_ingest"]["seconds"] + steps["flowlake_aggregate"]["seconds"]
    plain_seconds = steps["plain_ingest"]["seconds"] + steps["plain_aggregate"]["seconds"]
    flow_logs_bytes = folder_bytes(flowlake_lake / "flow_logs")
    return {
        "input": {"records": records, "objects": generated["objects"], "gzip_bytes": generated["bytes"]},
        "steps": steps,
        "flowlake_seconds": round(flowlake_seconds, 2),
        "plain_seconds": round(plain_seconds, 2),
        "duckdb_seconds": steps["duckdb"]["seconds"],
        "ratio_flowlake_to_plain": round(flowlake_seconds / plain_seconds, 2),
        "ratio_flowlake_to_duckdb": round(flowlake_seconds / steps["duckdb"]["seconds"], 1),
        "flow_logs_bytes": flow_logs_bytes,
        "flow_logs_to_gzip": round(flow_logs_bytes / generated["bytes"], 3),
        "queries": query_speed(source, flowlake_lake),
        "parse_memory": largest,
        "traffic_groups_agreeing": groups,
    }


def report(results: dict) -> None:
    lines = []
    for shape, r in results["shapes"].items():
        s = r["steps"]
        lines += [
            f"[{shape}] {r['input']['records']:,} records in {r['input']['objects']} objects, "
            f"{r['input']['gzip_bytes'] / 1e6:.1f} MB gzip",
            f"[{shape}] flowlake {s['flowlake_ingest']['seconds']:.1f} + {s['flowlake_aggregate']['seconds']:.1f}"
            f" = {r['flowlake_seconds']:.1f} s | plain {s['plain_ingest']['seconds']:.1f} + "
            f"{s['plain_aggregate']['seconds']:.1f} = {r['plain_seconds']:.1f} s | DuckDB {r['duckdb_seconds']:.1f} s",
            f"[{shape}] flowlake/plain {r['ratio_flowlake_to_plain']:.2f}, flowlake/DuckDB {r['ratio_flowlake_to_duckdb']:.1f}",
            f"[{shape}] flow_logs {r['flow_logs_to_gzip']:.2f} x the gzip input; DuckDB on flow_logs vs raw: "
            + ", ".join(f"{name} {q['speedup']:.0f}x" for name, q in r["queries"].items()),
            f"[{shape}] driver JVM peak RSS: ingest {s['flowlake_ingest']['jvm_peak_rss_bytes'] / GIB:.2f} GiB, "
            f"aggregate {s['flowlake_aggregate']['jvm_peak_rss_bytes'] / GIB:.2f} GiB, "
            f"validate {s['flowlake_validate']['jvm_peak_rss_bytes'] / GIB:.2f} GiB (heap {DRIVER_MEMORY})",
            f"[{shape}] the parse's peak memory for the largest object ({r['parse_memory']['records']:,} records): "
            f"{r['parse_memory']['peak_bytes'] / 2**20:.0f} MiB, {r['parse_memory']['peak_to_text']:.2f} x its text",
            f"[{shape}] flowlake validate of the same hours {s['flowlake_validate']['seconds']:.1f} s, "
            f"{len(s['flowlake_validate']['summary']['failed_critical'])} critical expectations failed",
            f"[{shape}] CPU-seconds, tasks / JIT / GC / rest of the JVM / Python: "
            + "; ".join(
                f"{step.replace('_', ' ')} " + " / ".join(f"{s[step]['cpu_seconds'][kind]:.1f}" for kind in CPU_KINDS)
                for step in ("flowlake_ingest", "plain_ingest", "flowlake_aggregate", "plain_aggregate")
            ),
            f"[{shape}] {r['traffic_groups_agreeing']:,} hourly traffic groups agree across the three",
        ]
    print("\n".join("bench: " + line for line in lines), flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5_000_000, help="records per shape (default 5,000,000)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of {', '.join(SHAPES)}")
    parser.add_argument("--out-dir", default="bench/results", help="where the JSON results go (default bench/results)")
    parser.add_argument("--keep", action="store_true", help="keep the generated objects and the lakes, and say where")
    parser.add_argument("--processes", type=int, default=2, help="processes generating the objects (default 2)")
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    shapes = [shape for shape in args.shapes.split(",") if shape]
    unknown = set(shapes) - set(SHAPES)
    if unknown:
        raise SystemExit(f"unknown shape(s) {', '.join(sorted(unknown))}; known: {', '.join(SHAPES)}")
    work = Path(tempfile.mkdtemp(prefix="flowlake-bench-"))
    try:
        results = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "driver_memory": DRIVER_MEMORY,
            "shapes": {shape: bench_shape(shape, args.records, work, args.processes) for shape in shapes},
        }
        report(results)
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        text = json.dumps(results, indent=2)
        (out_dir / f"ingest_bench_{stamp}.json").write_text(text)
        (out_dir / "latest.json").write_text(text)
        print(f"bench: results in {out_dir / f'ingest_bench_{stamp}.json'} and {out_dir / 'latest.json'}")
        return results
    finally:
        if args.keep:
            print(f"bench: kept the objects and the lakes in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The one-command demo: generate sample flow logs, run the whole pipeline on them, print a report.

    flowlake demo [--source sample/source] [--lake sample/lake] [--start 2026-11-01T00:00:00Z] [--hours 24]

Everything after generation runs in one Spark session. Generation is skipped
when the source already holds the sample of the same window (it is deterministic;
SAMPLE_RECORD in the source says which window it holds), so a re-run only re-runs
the pipeline: every step is idempotent. The sample of another window is replaced.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

from flowlake import capacity, chart, generate, report, run, validate
from flowlake.window import Window, configure_logging, parse_utc

# What the demo generated in its source: the window, so that another window's sample is not taken for it.
SAMPLE_RECORD = ".flowlake-demo-sample.json"


def prepare_sample(source: Path, start: datetime, hours: int) -> bool:
    """Generates the sample of [start, start + hours) in source unless it holds it already; True when generated.
    A source holding the demo's sample of another window (its SAMPLE_RECORD says so) is emptied first: its
    objects near its end (late deliveries) would be read as objects of this window."""
    record = source / SAMPLE_RECORD
    wanted = {"start": start.isoformat(), "hours": hours}
    if record.exists():
        if json.loads(record.read_text()) == wanted:
            return False
        shutil.rmtree(source)
    generate.main(["--out", str(source), "--start", start.isoformat(), "--hours", str(hours)])
    record.write_text(json.dumps(wanted))
    return True


def _step(number: int, total: int, text: str) -> float:
    print(f"\n[{number}/{total}] {text}", flush=True)
    return time.monotonic()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowlake demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="sample/source")
    parser.add_argument("--lake", default="sample/lake")
    parser.add_argument("--start", default="2026-11-01T00:00:00Z", type=parse_utc)
    parser.add_argument("--hours", default=24, type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    from flowlake.spark_session import get_spark

    args = build_parser().parse_args(argv)
    configure_logging()
    began = time.monotonic()
    start, end = args.start, args.start + timedelta(hours=args.hours)
    window = ["--start", start.isoformat(), "--end", end.isoformat()]
    nat_inventory = str(Path(args.source) / generate.NAT_INVENTORY_NAME)
    data_docs = str(Path(args.lake).resolve().parent / "data_docs")

    step = _step(1, 6, f"Sample data: {args.hours} hours of flow logs from {start.isoformat()} in {args.source}")
    if not prepare_sample(Path(args.source), start, args.hours):
        print("  already there (generation is deterministic): kept")
    print(f"  {time.monotonic() - step:.0f}s")

    step = _step(2, 6, "Starting Spark (local mode)")
    spark = get_spark("flowlake-demo")
    print(f"  Spark {spark.version}, {time.monotonic() - step:.0f}s")

    step = _step(3, 6, "Ingest and hourly aggregates (flowlake run)")
    # The sample's bastions let in the office's address on port 22 on purpose: its findings are low.
    security_config = Path(args.lake).resolve().parent / "security_findings.yaml"
    security_config.parent.mkdir(parents=True, exist_ok=True)
    security_config.write_text(f"trusted_source_cidrs: ['{generate.OFFICE}/32']\n")
    print(f"  security settings: {security_config} (the sample office {generate.OFFICE} is trusted)")
    run.main(
        [
            "--source",
            args.source,
            "--lake",
            args.lake,
            *window,
            "--nat-inventory",
            nat_inventory,
            "--security-config",
            str(security_config),
        ],
        spark=spark,
    )
    print(f"  {time.monotonic() - step:.0f}s")

    step = _step(4, 6, "Capacity per day and a chart of each day's hourly traffic per VPC")
    first_day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [first_day + timedelta(days=n) for n in range((end - first_day + timedelta(days=1, microseconds=-1)).days)]
    capacity.run_capacity(spark, args.lake, Window(days[0], days[-1] + timedelta(days=1)))
    for day in days:
        page = Path(args.lake).resolve().parent / f"traffic_{day:%Y-%m-%d}.html"
        chart.write_day_chart(spark, args.lake, day.date(), page)
        print(f"  chart: {page}")
    print(f"  {time.monotonic() - step:.0f}s")

    step = _step(5, 6, "Data quality (flowlake validate)")
    verdict = validate.main(
        ["--lake", args.lake, *window, "--data-docs", data_docs, "--nat-inventory", nat_inventory], spark=spark
    )
    print(f"  {'passed' if verdict == 0 else 'FAILED (see the report)'}, {time.monotonic() - step:.0f}s")

    _step(6, 6, "Report")
    print(report.build_report(spark, args.lake, Window(start, end), data_docs))
    print(f"\nDemo finished in {time.monotonic() - began:.0f}s")
    return verdict


if __name__ == "__main__":
    raise SystemExit(main())

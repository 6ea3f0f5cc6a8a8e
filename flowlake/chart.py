"""A day's hourly traffic per VPC as one self-contained HTML page: inline SVG, no script, no external
asset, nothing fetched from a network. `make demo` writes one beside the lake.

    day_chart_html(day, {"vpc-0a...": [bytes at 00:00, ..., bytes at 23:00], ...}) -> str
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from flowlake.lake import table_path

WIDTH, HEIGHT = 860, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 220, 40, 50
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
UNITS = ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1, "B"))


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least value (1 for 0)."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10.0 * power


def _bytes_label(value: float) -> str:
    for size, unit in UNITS:
        if value >= size:
            return f"{value / size:g} {unit}"
    return "0"


def day_chart_html(day: date, series: dict[str, list[float]]) -> str:
    """A line per series over the 24 UTC hours of the day; series values are bytes per hour."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_ceiling(max((v for values in series.values() for v in values), default=0))

    def x(hour: int) -> float:
        return LEFT + plot_width * hour / 23

    def y(value: float) -> float:
        return TOP + plot_height * (1 - value / top)

    parts = [
        f'<svg width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Hourly bytes per VPC on {day}">',
        f'<text x="{LEFT}" y="24" font-size="16">Hourly bytes per VPC, {day} (UTC)</text>',
    ]
    for k in range(5):
        value = top * k / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{LEFT + plot_width}" y2="{y(value):.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end">{_bytes_label(value)}</text>'
        )
    for hour in range(0, 24, 3):
        parts.append(
            f'<text x="{x(hour):.1f}" y="{TOP + plot_height + 18}" font-size="11" text-anchor="middle">{hour:02d}:00</text>'
        )
    for index, (name, values) in enumerate(sorted(series.items())):
        color = COLORS[index % len(COLORS)]
        points = " ".join(f"{x(hour):.1f},{y(value):.1f}" for hour, value in enumerate(values))
        label = html.escape(name)
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"><title>{label}</title></polyline>'
            f'<rect x="{LEFT + plot_width + 16}" y="{TOP + 18 * index}" width="12" height="12" fill="{color}"/>'
            f'<text x="{LEFT + plot_width + 34}" y="{TOP + 18 * index + 11}" font-size="12">{label}</text>'
        )
    parts.append("</svg>")
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>flowlake: hourly traffic per VPC, {day}</title></head>\n'
        f'<body style="font-family: sans-serif">\n{body}\n</body></html>\n'
    )


def day_series(spark: SparkSession, lake: str, day: date) -> dict[str, list[float]]:
    """Bytes per UTC hour of the day per VPC, from traffic_hourly; a format without vpc-id is named by
    its account and region."""
    label = F.coalesce(F.col("vpc_id"), F.concat_ws(" ", F.col("account_id"), F.col("region"), F.lit("(no vpc-id)")))
    hourly = (
        spark.read.format("delta")
        .load(table_path(lake, "traffic_hourly"))
        .where(F.col("event_date") == F.lit(day))
        .groupBy(label.alias("vpc"), F.hour("hour").alias("hour_of_day"))
        .agg(F.sum("bytes").alias("bytes"))
        .collect()
    )
    series: dict[str, list[float]] = {}
    for row in hourly:
        series.setdefault(row.vpc, [0.0] * 24)[row.hour_of_day] = float(row.bytes or 0)
    return series


def write_day_chart(spark: SparkSession, lake: str, day: date, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(day_chart_html(day, day_series(spark, lake, day)))
    return path

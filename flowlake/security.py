"""What security_findings needs around its pure transform: its settings, the history it compares an
hour with, and the alerts for its findings, each sent once.

- SecurityConfig: settings/security_findings.yaml, overridden by a YAML file of the same keys
  (--security-config FILE, else FLOWLAKE_SECURITY_CONFIG).
- read_port_history: the port_traffic_hourly rows of the hours before a window that a traffic-spike
  baseline can use (the previous weeks), and of the later hours whose baselines can use the window's,
  read from the lake; replaced_findings: what of security_findings a run of the window replaces.
- alert_new_findings: findings at or above alert_min_severity go to each configured alert target
  (flowlake/alerts.py: webhook, email) once. The security_alerts table records what was sent to
  which target; a finding already recorded for a target is never sent to it again, so re-running an
  hour sends nothing twice, and a target that failed gets the findings on a later run.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake import alerts
from flowlake.contracts import contract_file, table_schema
from flowlake.lake import read_pinned, table_path
from flowlake.window import Window, slice_predicate, timestamps_as_text
from flowlake.writers import table_writer

log = logging.getLogger("flowlake.security")

FINDINGS = "security_findings"
PORT_TRAFFIC = "port_traffic_hourly"
SECURITY_ALERTS = "security_alerts"
SEVERITIES = ("low", "medium", "high", "critical")
CONFIG_VARIABLE = "FLOWLAKE_SECURITY_CONFIG"


@dataclass(frozen=True)
class SecurityConfig:
    """The thresholds of security_findings and its alerts; see settings/security_findings.yaml."""

    port_scan_min_distinct_ports: int
    port_scan_min_distinct_addresses: int
    port_scan_min_rejected_share: float
    spike_min_factor: float
    spike_min_bytes: int
    spike_min_records: int
    spike_high_factor: float
    baseline_weeks: int
    baseline_days: int
    baseline_recent_hours: int
    trusted_source_cidrs: tuple[str, ...]
    exposed_admin_port_severity: str
    packet_loss_min_share: float
    packet_loss_high_share: float
    packet_loss_min_packets: int
    alert_min_severity: str
    alert_lookback_hours: int
    max_listed: int

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: dict | None = None) -> SecurityConfig:
        """The package's defaults, then the file (path, else $FLOWLAKE_SECURITY_CONFIG), then overrides."""
        values = yaml.safe_load(contract_file("settings", "security_findings.yaml").read_text())
        path = path or os.environ.get(CONFIG_VARIABLE)
        if path:
            values.update(yaml.safe_load(Path(path).read_text()) or {})
        values.update(overrides or {})
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown security setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
        missing = sorted(set(known) - set(values))
        if missing:
            raise ValueError(f"missing security setting(s) {', '.join(missing)}")
        converted = {}
        for name, kind in known.items():
            value = values[name]
            if kind == "int":
                converted[name] = int(value)
            elif kind == "float":
                converted[name] = float(value)
            elif kind == "str":
                converted[name] = str(value)
            else:
                converted[name] = tuple(str(v) for v in (value or ()))
        config = cls(**converted)
        config.check()
        return config

    def check(self) -> None:
        for name in ("exposed_admin_port_severity", "alert_min_severity"):
            if getattr(self, name) not in SEVERITIES:
                raise ValueError(f"{name} {getattr(self, name)!r} is not one of {', '.join(SEVERITIES)}")
        for cidr in self.trusted_source_cidrs:
            if not isinstance(ipaddress.ip_network(cidr, strict=False), ipaddress.IPv4Network):
                raise ValueError(f"trusted source {cidr}: only IPv4 CIDR blocks are supported")

    def trusted_ranges(self) -> list[tuple[int, int]]:
        """(first, last) address numbers of each trusted block."""
        networks = [ipaddress.IPv4Network(cidr, strict=False) for cidr in self.trusted_source_cidrs]
        return [(int(n.network_address), int(n.broadcast_address)) for n in networks]

    def baseline_offsets(self) -> list[tuple[int, int]]:
        """(level, hours back) of every hour a baseline may use: 1 same hour of the week, 2 same hour of
        previous days, 3 preceding hours. The lowest level with history wins."""
        return (
            [(1, 24 * 7 * week) for week in range(1, self.baseline_weeks + 1)]
            + [(2, 24 * day) for day in range(1, self.baseline_days + 1)]
            + [(3, hour) for hour in range(1, self.baseline_recent_hours + 1)]
        )

    def history_hours(self) -> int:
        return max((hours for _, hours in self.baseline_offsets()), default=0)


def severity_rank(severity) -> F.Column:
    """0 for low ... 3 for critical, as a Column of a severity column or name."""
    column = F.col(severity) if isinstance(severity, str) else severity
    return F.array_position(F.array(*[F.lit(s) for s in SEVERITIES]), column) - 1


def add_security_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--security-config",
        help=f"YAML file overriding thresholds of settings/security_findings.yaml (default: ${CONFIG_VARIABLE})",
    )


def config_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> SecurityConfig:
    """The run's security settings; a bad file (not YAML, or not the settings) is a usage error."""
    try:
        return SecurityConfig.load(args.security_config)
    except (OSError, ValueError, TypeError, yaml.YAMLError) as error:
        parser.error(f"security settings: {error}")


class PortHistory(NamedTuple):
    before: DataFrame  # the hours before the window that its baselines can reach
    after: DataFrame  # the later hours whose baselines can reach into the window


def later_hours(window: Window, config: SecurityConfig) -> Window:
    """The hours after the window whose traffic spikes' baselines can use the window's figures."""
    return Window(window.end, window.end + timedelta(hours=config.history_hours()))


def replaced_findings(window: Window, config: SecurityConfig) -> str:
    """The security_findings (or security_alerts) rows of a run of the window: every finding of its hours, and
    the traffic spikes of the later hours, which a run computes again from the lake's port figures so that
    hours aggregated in any order (a backfill after the hours that follow it) give the same spikes. With every
    baseline level off, no later hour's spikes depend on the window."""
    own = slice_predicate(window, "hour")
    if not config.history_hours():
        return own
    later = slice_predicate(later_hours(window, config), "hour")
    return f"({own}) OR ({later} AND finding_type = 'traffic_spike')"


def read_port_history(spark: SparkSession, lake: str, window: Window, config: SecurityConfig) -> PortHistory | None:
    """port_traffic_hourly in the hours around the window that baselines connect it with; None when there are
    none."""
    hours = config.history_hours()
    history = read_pinned(spark, table_path(lake, PORT_TRAFFIC)) if hours else None
    if history is None:
        return None
    return PortHistory(
        history.where(slice_predicate(Window(window.start - timedelta(hours=hours), window.start), "hour")),
        history.where(slice_predicate(later_hours(window, config), "hour")),
    )


# ---------------------------------------------------------------- alerts


def configured_targets() -> list[tuple[str, object, Callable]]:
    """(name, destination, send) of every alert target configured (environment or Airflow connection)."""
    targets = []
    for name, destination, send in (
        ("webhook", alerts.webhook_url, alerts.post_webhook),
        ("email", alerts.smtp_target, alerts.send_email),
    ):
        try:
            found = destination()
        except Exception as error:  # a target whose settings cannot be read is reported, not fatal
            log.error("alert target %s: settings not readable: %s", name, error)
            continue
        if found is not None:
            targets.append((name, found, send))
    return targets


def _text(value) -> str:
    return "*" if value is None else str(value)


def alert_message(findings: list, window: Window, min_severity: str) -> tuple[str, list[str]]:
    subject = (
        f"flowlake security: {len(findings)} finding(s) at or above {min_severity} "
        f"for {window.start:%Y-%m-%dT%H:%MZ} to {window.end:%Y-%m-%dT%H:%MZ}"
    )
    lines = [
        f"[{f.severity}] {f.finding_type} {f.hour} {f.account_id} {f.region} "
        f"{f.interface_id or f.resource_id or '-'}: {_text(f.srcaddr)} -> {_text(f.dstaddr)}:{_text(f.dstport)} "
        f"- {f.description} (finding {f.finding_id})"
        for f in findings
    ]
    return subject, lines


def _record(spark: SparkSession, lake: str, rows: list[tuple]) -> None:
    """Appends (finding_id, target, hour, finding_type, severity, alerted_at, event_date) rows to security_alerts.

    The rows are the ones not there when the run read the table (Delta writers of a lake are
    serialized: the DAGs' one-slot pool), so an append is enough and cheaper than a MERGE.
    """
    schema = table_schema(SECURITY_ALERTS).struct()
    path = table_path(lake, SECURITY_ALERTS)
    with table_writer(spark, path):
        spark.createDataFrame(rows, schema).write.format("delta").mode("append").save(path)


def alert_new_findings(
    spark: SparkSession, lake: str, window: Window, config: SecurityConfig, now: datetime | None = None
) -> dict:
    """Sends the findings the run of the window wrote (replaced_findings), and those of the alert_lookback_hours
    before its end, at or above alert_min_severity that a target has not had yet; returns {"targets", "sent":
    {target: count}, "failed"}."""
    summary = {"targets": [], "sent": {}, "failed": []}
    targets = configured_targets()
    summary["targets"] = [name for name, _, _ in targets]
    findings = read_pinned(spark, table_path(lake, FINDINGS)) if targets else None
    if findings is None:
        return summary
    since = min(window.start, window.end - timedelta(hours=config.alert_lookback_hours))
    scope = f"({slice_predicate(Window(since, window.end), 'hour')}) OR ({replaced_findings(window, config)})"
    due = findings.where(scope).where(severity_rank("severity") >= SEVERITIES.index(config.alert_min_severity))
    listed = timestamps_as_text(
        due.select(
            "finding_id",
            "hour",
            "finding_type",
            "severity",
            "account_id",
            "region",
            "interface_id",
            "resource_id",
            "srcaddr",
            "dstaddr",
            "dstport",
            "description",
            severity_rank("severity").alias("rank"),
            F.unix_seconds("hour").alias("epoch"),
        ),
        "yyyy-MM-dd'T'HH:mmXXX",
    )
    rows = listed.orderBy(F.desc("rank"), "hour", "finding_type", "finding_id").collect()
    if not rows:
        return summary
    sent = read_pinned(spark, table_path(lake, SECURITY_ALERTS))
    already = set()
    if sent is not None:
        already = {(r.finding_id, r.target) for r in sent.where(scope).select("finding_id", "target").collect()}
    alerted_at = now or datetime.now(UTC)
    accepted = []
    for name, destination, send in targets:
        pending = [r for r in rows if (r.finding_id, name) not in already]
        if not pending:
            continue
        try:
            hours = Window(since, max(window.end, _hour(max(r.epoch for r in pending) + 3600)))
            send(destination, *alert_message(pending, hours, config.alert_min_severity))
        except Exception as error:  # the others still get theirs; this one is retried on a later run
            log.error("security alert to %s failed: %s", name, error)
            summary["failed"].append(f"{name}: {error}")
            continue
        accepted += [
            (r.finding_id, name, _hour(r.epoch), r.finding_type, r.severity, alerted_at, _hour(r.epoch).date())
            for r in pending
        ]
        summary["sent"][name] = len(pending)
        log.info("%d security finding(s) sent to %s", len(pending), name)
    if accepted:
        _record(spark, lake, accepted)
    return summary


def _hour(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)

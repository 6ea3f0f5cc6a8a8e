"""security_findings: port scans, traffic spikes, exposed administrative ports and transit gateway packet loss,
per hour.

A pure transform of the window's records plus, for spikes, port_traffic_hourly's rows of the window
(computed from the records unless aggregate passes the ones it writes), of the previous weeks and of the
later hours whose baselines reach into the window (flowlake.security.read_port_history reads both;
aggregate passes them as port_history). The spikes of those later hours are computed again and replace
theirs (replaced_slice), so that the hours' order of aggregation does not matter.
Thresholds come from flowlake.security.SecurityConfig. How each finding is computed:
schemas/security_findings/README.md.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake.aggregates import port_traffic_hourly as port_traffic
from flowlake.aggregates import transit_gateway_hourly
from flowlake.aggregates.hourly import HOUR_KEYS, hourly_traffic
from flowlake.aggregates.nat_gateway_hourly import ipv4_number
from flowlake.aggregates.transit_gateway_hourly import LOSS_REASONS
from flowlake.contracts import conform
from flowlake.rules import ADMIN_PORTS, is_admin_exposure
from flowlake.security import PortHistory, SecurityConfig, alert_new_findings, read_port_history, replaced_findings
from flowlake.window import Window as TimeWindow

TABLE = "security_findings"
PORT_NAMES = {
    22: "SSH",
    3389: "RDP",
    1433: "SQL Server",
    3306: "MySQL",
    5432: "PostgreSQL",
    1521: "Oracle",
    27017: "MongoDB",
    6379: "Redis",
}
assert set(PORT_NAMES) == set(ADMIN_PORTS)
BASELINE_NAMES = {1: "same hour of the week", 2: "same hour of previous days", 3: "preceding hours"}
# Hourly tables of the window whose rows this one is computed from (spikes compare port_traffic_hourly's
# figures with its history): `flowlake aggregate` computes them once for both and passes them by name.
FROM_TABLES = ("port_traffic_hourly",)
# What a traffic spike is one of: its figures are this key's, whatever VPC its rows give.
_SPIKE_KEY = ("interface_id", "dstport", "protocol")
# What identifies a finding across re-runs, besides its type and hour. An interface's findings are grouped by
# these too, not by its VPC: its flow logs may differ in having a vpc-id (NULL in one), and one finding per
# interface, port and protocol names the VPC either gives.
_IDENTITY = {
    "port_scan": ("account_id", "region", "srcaddr"),
    "other": ("account_id", "region", "interface_id", "resource_id", "peer_resource_id", "dstport", "protocol"),
}


def _single(values: Column) -> Column:
    """The one element of a set, NULL when it has none or several."""
    return F.when(F.size(values) == 1, values[0])


def _listed(values: Column, config: SecurityConfig) -> Column:
    return F.slice(F.array_sort(values), 1, config.max_listed)


def _finding(
    df: DataFrame,
    finding_type: str,
    severity: Column,
    *,
    metric: Column,
    observed: Column,
    description: Column,
    baseline: Column | None = None,
    factor: Column | None = None,
    vpc_id: Column | None = None,
    interface_id: Column | None = None,
    resource_id: Column | None = None,
    peer_resource_id: Column | None = None,
    srcaddr: Column | None = None,
    dstaddr: Column | None = None,
    dstport: Column | None = None,
    protocol: Column | None = None,
    addresses: Column | None = None,
    ports: Column | None = None,
) -> DataFrame:
    """The findings of one type in the table's columns (finding_id added later)."""
    null = F.lit(None)
    return df.select(
        *HOUR_KEYS,
        F.lit(finding_type).alias("finding_type"),
        severity.alias("severity"),
        "account_id",
        "region",
        (vpc_id if vpc_id is not None else null.cast("string")).alias("vpc_id"),
        (interface_id if interface_id is not None else null.cast("string")).alias("interface_id"),
        (resource_id if resource_id is not None else null.cast("string")).alias("resource_id"),
        (peer_resource_id if peer_resource_id is not None else null.cast("string")).alias("peer_resource_id"),
        (srcaddr if srcaddr is not None else null.cast("string")).alias("srcaddr"),
        (dstaddr if dstaddr is not None else null.cast("string")).alias("dstaddr"),
        (dstport if dstport is not None else null.cast("int")).alias("dstport"),
        (protocol if protocol is not None else null.cast("int")).alias("protocol"),
        (addresses if addresses is not None else F.array().cast("array<string>")).alias("addresses"),
        (ports if ports is not None else F.array().cast("array<int>")).alias("ports"),
        metric.alias("metric"),
        observed.cast("double").alias("observed_value"),
        (baseline if baseline is not None else null).cast("double").alias("baseline"),
        (factor if factor is not None else null).cast("double").alias("factor"),
        description.alias("description"),
    )


_SOURCE_KEYS = (*HOUR_KEYS, "account_id", "region", "srcaddr")


def _sources(traffic: DataFrame) -> DataFrame:
    return traffic.where(F.col("srcaddr").isNotNull())


def port_scan_candidates(traffic: DataFrame, config: SecurityConfig) -> DataFrame:
    """The sources of an hour that may be scans, with their records and rejected records.

    Sets cost far more to collect than counts. Only a source that is mostly rejected, with at least as
    many records as the distinct ports or addresses a scan needs, can be a scan: sets are collected
    for those sources alone.
    """
    fewest_records = min(config.port_scan_min_distinct_ports, config.port_scan_min_distinct_addresses)
    return (
        _sources(traffic)
        .groupBy(*_SOURCE_KEYS)
        .agg(F.count(F.lit(1)).alias("records"), F.count(F.when(F.col("action") == "REJECT", 1)).alias("rejected"))
        .where(
            # As a ratio: the records times the setting can round past a count that meets it exactly (100 * 0.55
            # is 55.00000000000001); the ratio of two counts cannot.
            (F.col("rejected") / F.col("records") >= config.port_scan_min_rejected_share)
            & (F.col("records") >= fewest_records)
        )
    )


def port_scans(traffic: DataFrame, config: SecurityConfig, candidates: DataFrame | None = None) -> DataFrame:
    """One source touching many ports or addresses of one account and region in an hour, mostly rejected.

    candidates: port_scan_candidates of the same traffic, computed already (None: computed here)."""
    keys = list(_SOURCE_KEYS)
    sources = _sources(traffic)
    if candidates is None:
        candidates = port_scan_candidates(traffic, config)
    same_source = [F.col(f"source.{k}").eqNullSafe(F.col(f"candidate.{k}")) for k in keys]
    grouped = (
        sources.alias("source")
        .join(candidates.alias("candidate"), on=same_source, how="inner")
        .select("source.*", "candidate.records", "candidate.rejected")
        .groupBy(*keys, "records", "rejected")
        .agg(
            F.collect_set("dstport").alias("port_set"),
            F.collect_set("dstaddr").alias("address_set"),
            F.collect_set("vpc_id").alias("vpcs"),
            F.collect_set("interface_id").alias("interfaces"),
            F.collect_set("protocol").alias("protocols"),
        )
    )
    ports, addresses = F.size("port_set"), F.size("address_set")
    vertical = ports >= config.port_scan_min_distinct_ports
    horizontal = addresses >= config.port_scan_min_distinct_addresses
    scans = grouped.where(vertical | horizontal)
    return _finding(
        scans,
        "port_scan",
        # Probes that got through make a scan worse than one the security groups turned away.
        F.when(F.col("rejected") < F.col("records"), "high").otherwise("medium"),
        metric=F.when(vertical, "distinct_ports").otherwise("distinct_addresses"),
        observed=F.when(vertical, ports).otherwise(addresses),
        description=F.format_string(
            "one source probed %d port(s) on %d address(es): %d of %d records rejected",
            ports,
            addresses,
            F.col("rejected"),
            F.col("records"),
        ),
        vpc_id=_single(F.col("vpcs")),
        interface_id=_single(F.col("interfaces")),
        resource_id=_single(F.col("interfaces")),
        srcaddr=F.col("srcaddr"),
        dstaddr=_single(F.col("address_set")),
        dstport=_single(F.col("port_set")),
        protocol=_single(F.col("protocols")),
        addresses=_listed(F.col("address_set"), config),
        ports=_listed(F.col("port_set"), config),
    )


def _trusted(address: Column, config: SecurityConfig) -> Column:
    """The address lies in one of the trusted IPv4 blocks (never for IPv6 or a malformed address)."""
    ranges = config.trusted_ranges()
    if not ranges:
        return F.lit(False)
    number = ipv4_number(address)
    inside = [number.between(low, high) for low, high in ranges]
    return F.coalesce(reduce(lambda a, b: a | b, inside), F.lit(False))


def admin_exposures(traffic: DataFrame, config: SecurityConfig) -> DataFrame:
    """Accepted traffic from public addresses to an administrative or database port, per interface and port."""
    keys = ("account_id", "region", "interface_id", "dstport", "protocol")
    exposed = (
        traffic.where(is_admin_exposure())
        .groupBy(*HOUR_KEYS, *keys)
        .agg(
            F.max("vpc_id").alias("vpc_id"),
            F.count(F.lit(1)).alias("records"),
            F.coalesce(F.sum("bytes"), F.lit(0)).alias("bytes"),
            F.collect_set("srcaddr").alias("sources"),
            F.collect_set("dstaddr").alias("destinations"),
        )
    )
    names = F.create_map(*[item for port, name in PORT_NAMES.items() for item in (F.lit(port), F.lit(name))])
    all_trusted = F.forall("sources", lambda source: _trusted(source, config))
    return _finding(
        exposed,
        "exposed_admin_port",
        F.when(all_trusted, "low").otherwise(config.exposed_admin_port_severity),
        metric=F.lit("records"),
        observed=F.col("records"),
        description=F.format_string(
            "%s (port %d) accepted from %d public source(s): %d records, %d bytes",
            F.element_at(names, F.col("dstport")),
            F.col("dstport"),
            F.size("sources"),
            F.col("records"),
            F.col("bytes"),
        ),
        vpc_id=F.col("vpc_id"),
        interface_id=F.col("interface_id"),
        resource_id=F.col("interface_id"),
        srcaddr=_single(F.col("sources")),
        dstaddr=_single(F.col("destinations")),
        dstport=F.col("dstport"),
        protocol=F.col("protocol"),
        addresses=_listed(F.col("sources"), config),
    )


def _level_hours(config: SecurityConfig, level: int, hour: Column, reported: Column) -> Column:
    """The baseline hours of one level (epoch seconds) in which the interface reported."""
    offsets = [hours * 3600 for lvl, hours in config.baseline_offsets() if lvl == level]
    if not offsets:
        return F.array().cast("array<bigint>")
    candidates = F.transform(F.array(*[F.lit(o).cast("bigint") for o in offsets]), lambda offset: hour - offset)
    return F.filter(candidates, lambda candidate: F.array_contains(reported, candidate))


def _chosen_sum(metric: str) -> Column:
    """The key's figure summed over the chosen baseline hours, 0 for an hour in which it has none."""
    return F.aggregate(
        "chosen",
        F.lit(0).cast("bigint"),
        lambda total, hour: total + F.coalesce(F.col("past")[hour][metric], F.lit(0)),
    )


def _port_figures(port_traffic: DataFrame) -> DataFrame:
    """port_traffic_hourly rows (of the window or of its history) as the figures spikes compare: with a
    protocol, records and bytes (0 for none) as bigint, the hour also in epoch seconds."""
    return port_traffic.where(F.col("protocol").isNotNull()).select(
        *HOUR_KEYS,
        "account_id",
        "region",
        "vpc_id",
        "interface_id",
        "dstport",
        "protocol",
        F.col("records").cast("bigint").alias("records"),
        F.coalesce(F.col("bytes"), F.lit(0)).cast("bigint").alias("bytes"),
        F.unix_seconds("hour").alias("epoch_hour"),
    )


def _summed(figures: DataFrame, *also: Column) -> DataFrame:
    """Each key's records and bytes of an hour, summed over its rows, beside the aggregates also asked for."""
    return figures.groupBy(*_SPIKE_KEY, "epoch_hour").agg(
        *also, F.sum("records").alias("records"), F.sum("bytes").alias("bytes")
    )


def spike_rows(port_traffic: DataFrame, history: PortHistory | None) -> DataFrame:
    """The port figures in which spikes are found: the window's and the later hours' (whose baselines can reach
    into the window)."""
    return _port_figures(port_traffic if history is None else port_traffic.unionByName(history.after))


def interface_hours_of_several_logs(spike_rows: DataFrame) -> DataFrame:
    """(interface_id, epoch_hour) in which an interface's rows come from flow logs that differ in account,
    region or VPC (a vpc-id in one, NULL in another): there a key can have more than one row.

    An aggregation by interface and hour, which map-side partial aggregation shrinks to a few rows; the flow
    logs are told apart by a 64-bit hash of the three, since a min and max of text would sort every row.
    """
    log = F.xxhash64("account_id", "region", "vpc_id")
    return (
        spike_rows.groupBy("interface_id", "epoch_hour")
        .agg(F.min(log).alias("first"), F.max(log).alias("last"))
        .where(F.col("first") != F.col("last"))
        .select("interface_id", "epoch_hour")
    )


def spike_candidates(spike_rows: DataFrame, of_several_logs: DataFrame, config: SecurityConfig) -> DataFrame:
    """The keys' figures of the hours in which they reach a spike's floor of bytes or records, whatever their
    baseline: only these few get a baseline, not the millions of keys of a busy window.

    A key's figures of an hour are summed over its rows of every flow log of its interface: one spike per
    interface, port and protocol, naming the account, region and VPC its rows give (a VPC over NULL). Only
    the rows of the interface hours of several logs are summed; elsewhere a key's one row is its figure, and
    the window's millions of rows are filtered, not shuffled.
    """
    interface_hour = ["interface_id", "epoch_hour"]
    named = (*HOUR_KEYS, "account_id", "region", "vpc_id")
    columns = (*named, *_SPIKE_KEY, "epoch_hour", "records", "bytes")
    of_one_log = spike_rows.join(of_several_logs, interface_hour, how="left_anti").select(*columns)
    summed = _summed(
        spike_rows.join(of_several_logs, interface_hour, how="left_semi"),
        *[F.max(column).alias(column) for column in named],
    ).select(*columns)
    return of_one_log.unionByName(summed).where(
        (F.col("bytes") >= config.spike_min_bytes) | (F.col("records") >= config.spike_min_records)
    )


def traffic_spikes(
    port_traffic: DataFrame,
    history: PortHistory | None,
    config: SecurityConfig,
    candidates: DataFrame | None = None,
) -> DataFrame:
    """Per (hour, interface, service port, protocol): bytes or records far above the key's baseline.

    port_traffic: port_traffic_hourly rows of the window; history: its rows of the hours before the window,
    and of the later hours, whose spikes are found too; candidates: spike_candidates of those (None: computed
    here).
    The baseline of an hour is the mean of the key's figures over the baseline hours of the lowest level
    (same hour of the week, same hour of previous days, preceding hours) in which the interface has any
    row, counting 0 for hours in which the key has none. An interface with no history at all has no
    baseline and so no spike.
    """
    rows = spike_rows(port_traffic, history)
    if candidates is None:
        candidates = spike_candidates(rows, interface_hours_of_several_logs(rows), config)
    key = list(_SPIKE_KEY)
    figures = rows.select(*key, "epoch_hour", "records", "bytes")
    if history is not None:
        figures = figures.unionByName(_port_figures(history.before).select(*key, "epoch_hour", "records", "bytes"))
    # Each key's figures by hour, in a map a baseline hour is looked up in.
    past = (
        _summed(figures.join(candidates.select(*key).distinct(), key, how="left_semi"))
        .groupBy(*key)
        .agg(F.map_from_entries(F.collect_list(F.struct("epoch_hour", F.struct("records", "bytes")))).alias("past"))
    )
    # The baseline hours depend on the interface and the hour alone: chosen once per interface and hour,
    # not once per port of the interface, from the hours in which the interface reported anything.
    reported = (
        figures.join(candidates.select("interface_id").distinct(), "interface_id", how="left_semi")
        .groupBy("interface_id")
        .agg(F.collect_set("epoch_hour").alias("reported"))
    )
    hour = F.col("epoch_hour")
    levels = [(level, _level_hours(config, level, hour, F.col("reported"))) for level in (1, 2, 3)]
    baselines = (
        candidates.select("interface_id", "epoch_hour")
        .distinct()
        .join(reported, "interface_id", how="inner")
        .select(
            "interface_id",
            "epoch_hour",
            F.coalesce(*[F.when(F.size(hours) > 0, hours) for _, hours in levels]).alias("chosen"),
            F.coalesce(*[F.when(F.size(hours) > 0, F.lit(level)) for level, hours in levels]).alias("level"),
        )
        .where(F.col("chosen").isNotNull())
    )
    with_baseline = (
        candidates.join(baselines, ["interface_id", "epoch_hour"], how="inner")
        .join(past, key, how="inner")
        .withColumn("baseline_hours", F.size("chosen"))
    )
    for metric in ("records", "bytes"):
        with_baseline = with_baseline.withColumn(f"baseline_{metric}", _chosen_sum(metric) / F.col("baseline_hours"))

    def spike(metric: str, floor: int) -> Column:
        observed, baseline = F.col(metric), F.col(f"baseline_{metric}")
        return (observed >= floor) & (observed >= baseline * config.spike_min_factor)

    bytes_spike = spike("bytes", config.spike_min_bytes)
    spikes = with_baseline.where(bytes_spike | spike("records", config.spike_min_records)).withColumn(
        "metric", F.when(bytes_spike, "bytes").otherwise("records")
    )
    observed = F.when(F.col("metric") == "bytes", F.col("bytes")).otherwise(F.col("records"))
    baseline = F.when(F.col("metric") == "bytes", F.col("baseline_bytes")).otherwise(F.col("baseline_records"))
    factor = F.try_divide(observed.cast("double"), F.when(baseline > 0, baseline))
    level_names = F.create_map(
        *[item for level, name in BASELINE_NAMES.items() for item in (F.lit(level), F.lit(name))]
    )
    return _finding(
        spikes,
        "traffic_spike",
        F.when(factor.isNull() | (factor >= config.spike_high_factor), "high").otherwise("medium"),
        metric=F.col("metric"),
        observed=observed,
        baseline=baseline,
        factor=factor,
        description=F.format_string(
            "%s to port %d/%d: %d, %s baseline %.1f (%s, %d hours)",
            F.col("metric"),
            F.col("dstport"),
            F.col("protocol"),
            observed,
            F.when(factor.isNull(), F.lit("nothing in the")).otherwise(F.format_string("%.1fx the", factor)),
            baseline,
            F.element_at(level_names, F.col("level")),
            F.col("baseline_hours"),
        ),
        vpc_id=F.col("vpc_id"),
        interface_id=F.col("interface_id"),
        resource_id=F.col("interface_id"),
        dstport=F.col("dstport"),
        protocol=F.col("protocol"),
    )


def packet_losses(transit: DataFrame, config: SecurityConfig) -> DataFrame:
    """Transit gateway attachment pairs that dropped a large share of their packets (transit_gateway_hourly rows)."""
    offered = F.col("packets") + F.col("packets_lost")
    lossy = transit.where(
        (offered >= config.packet_loss_min_packets) & (F.col("loss_share") >= config.packet_loss_min_share)
    )
    return _finding(
        lossy,
        "packet_loss",
        F.when(F.col("loss_share") >= config.packet_loss_high_share, "high").otherwise("medium"),
        metric=F.lit("loss_share"),
        observed=F.col("loss_share"),
        description=F.format_string(
            "transit gateway %s lost %d of %d packets (no route %d, blackhole %d, MTU exceeded %d, TTL expired %d)",
            F.col("tgw_id"),
            F.col("packets_lost"),
            offered,
            *[F.col(f"packets_lost_{reason}") for reason in LOSS_REASONS],
        ),
        resource_id=F.col("tgw_attachment_id"),
        peer_resource_id=F.col("tgw_pair_attachment_id"),
    )


def with_finding_ids(findings: DataFrame) -> DataFrame:
    """finding_id: SHA-256 of the type, the hour (epoch seconds, whatever the session's zone) and the identity."""

    def identity(columns: tuple[str, ...]) -> Column:
        return F.concat_ws("|", *[F.coalesce(F.col(c).cast("string"), F.lit("")) for c in columns])

    key = F.concat_ws(
        "|",
        F.col("finding_type"),
        F.unix_seconds("hour").cast("string"),
        F.when(F.col("finding_type") == "port_scan", identity(_IDENTITY["port_scan"])).otherwise(
            identity(_IDENTITY["other"])
        ),
    )
    return findings.withColumn("finding_id", F.sha2(key, 256))


def intermediates(
    flow_logs: DataFrame,
    security: SecurityConfig | None = None,
    port_history: PortHistory | None = None,
    port_traffic_hourly: DataFrame | None = None,
    **options,
) -> dict[str, DataFrame]:
    """What `flowlake aggregate` computes and counts before the transform is planned, in this order, passed to
    it by name.

    Each is planned with the real size of those before it, and the transform with all of theirs: a join with
    a few rows broadcasts them (the port scan candidates of an hour of the realistic day: none) instead of
    shuffling every record or port row to meet them; a flood of them, too many to broadcast, still meets the
    others in a shuffle.
    """
    config = security or SecurityConfig.load()
    if port_traffic_hourly is None:
        port_traffic_hourly = port_traffic.transform(flow_logs)
    rows = spike_rows(port_traffic_hourly, port_history)
    of_several_logs = interface_hours_of_several_logs(rows)
    return {
        "port_scan_candidates": port_scan_candidates(hourly_traffic(flow_logs), config),
        "interface_hours_of_several_logs": of_several_logs,
        "spike_candidates": spike_candidates(rows, of_several_logs, config),
    }


def transform(
    flow_logs: DataFrame,
    port_history: PortHistory | None = None,
    security: SecurityConfig | None = None,
    port_traffic_hourly: DataFrame | None = None,
    port_scan_candidates: DataFrame | None = None,
    spike_candidates: DataFrame | None = None,
    **options,
) -> DataFrame:
    """port_history: port_traffic_hourly rows of the hours before and after the window (None: none);
    port_traffic_hourly: its rows of the window (None: computed from flow_logs); port_scan_candidates,
    spike_candidates: the window's, from intermediates (None: computed here)."""
    config = security or SecurityConfig.load()
    traffic = hourly_traffic(flow_logs)
    if port_traffic_hourly is None:
        port_traffic_hourly = port_traffic.transform(flow_logs)
    findings = (
        port_scans(traffic, config, port_scan_candidates)
        .unionByName(admin_exposures(traffic, config))
        .unionByName(traffic_spikes(port_traffic_hourly, port_history, config, spike_candidates))
        .unionByName(packet_losses(transit_gateway_hourly.transform(flow_logs), config))
    )
    return conform(with_finding_ids(findings), TABLE)


def read_inputs(spark: SparkSession, lake: str, window: TimeWindow, security: SecurityConfig, **options) -> dict:
    """What the transform needs beyond the window's records: the port history around the window."""
    return {"port_history": read_port_history(spark, lake, window, security)}


def replaced_slice(window: TimeWindow, security: SecurityConfig, **options) -> str:
    """The rows a run of the window replaces: its hours' findings and the later hours' spikes."""
    return replaced_findings(window, security)


def after_write(spark: SparkSession, lake: str, window: TimeWindow, security: SecurityConfig, **options) -> dict:
    """Alerts on the findings just written that no target has had yet."""
    return alert_new_findings(spark, lake, window, security)

"""Hourly aggregate tables built from flow_logs: one module per table, registered here.

Each module `flowlake.aggregates.<table>` defines TABLE (its name) and a pure
`transform(flow_logs: DataFrame, **options) -> DataFrame` whose rows carry an
`hour` TIMESTAMP column; its schema and documentation live in schemas/<table>/.
A table that needs more than the window's records defines
`read_inputs(spark, lake, window, **options) -> dict`: what it reads from the lake,
passed to its transform as keyword arguments (security_findings: the previous
weeks' port figures). A table computed from other hourly tables' rows of the window
names them in FROM_TABLES: aggregate computes each of those once, keeps it for both,
and passes it to the transform as a keyword argument named after the table
(security_findings: port_traffic_hourly). A table whose transform joins the records with frames computed
from them defines `intermediates(flow_logs, **options) -> dict`: aggregate computes, keeps and counts those
before the transform is planned, so that Spark plans the joins by their real size, and passes them by name
(security_findings: the port scans' candidate sources; top_talkers_hourly: the numbered groups it ranks
in). A table that acts once written (alerts) defines `after_write(spark, lake, window, **options) -> dict`,
whose result joins the run's summary.
Registering a table here puts it into `flowlake aggregate`, `flowlake run`,
the hourly DAG (as a task's Asset outlet) and the data-quality reconciliation.
"""

from __future__ import annotations

import importlib

HOURLY_TABLES: tuple[str, ...] = (
    "traffic_hourly",
    "rejects_hourly",
    "nat_gateway_hourly",
    "log_status_hourly",
    "top_talkers_hourly",
    "port_traffic_hourly",
    "transit_gateway_hourly",
    "security_findings",
)


# The flow_logs columns the hourly tables read: aggregation reads them once per window, kept in
# memory for every table. A table that needs another column adds it here (its test fails until then).
RECORD_COLUMNS: tuple[str, ...] = (
    "event_time",
    "event_date",
    "account_id",
    "region",
    "vpc_id",
    "interface_id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log_status",
    "flow_direction",
    "reject_reason",
    "pkt_src_aws_service",
    "pkt_dst_aws_service",
    "resource_type",
    "tgw_id",
    "tgw_attachment_id",
    "tgw_pair_attachment_id",
    "packets_lost_no_route",
    "packets_lost_blackhole",
    "packets_lost_mtu_exceeded",
    "packets_lost_ttl_expired",
)


def module_for(table: str):
    if table not in HOURLY_TABLES:
        raise KeyError(f"{table} is not a registered hourly table: {', '.join(HOURLY_TABLES)}")
    return importlib.import_module(f"flowlake.aggregates.{table}")

"""The Delta tables flowlake writes, as Airflow Assets that downstream DAGs can be scheduled on.

A table's Asset is named after the table, not its location: the lake is a
setting read at run time, and a DAG scheduled on `flowlake.traffic_hourly`
should not change when the lake moves.
"""

from __future__ import annotations

from airflow.sdk import Asset

from flowlake.aggregates import HOURLY_TABLES

# What `flowlake ingest` writes (tests check these against flowlake.ingest).
INGEST_TABLES = ("flow_logs", "flow_logs_quarantine", "source_objects")
# What `flowlake validate` writes (tests check it against flowlake.validate).
DQ_RESULTS_TABLE = "dq_results"
# What `flowlake nat-inventory` writes (tests check it against flowlake.nat_inventory).
NAT_GATEWAYS_TABLE = "nat_gateways"
# What `flowlake capacity` writes (tests check it against flowlake.capacity).
CAPACITY_TABLE = "capacity_daily"


def table_asset(table: str) -> Asset:
    return Asset(name=f"flowlake.{table}", group="flowlake")


def table_assets(tables) -> list[Asset]:
    return [table_asset(table) for table in tables]


INGEST_ASSETS = table_assets(INGEST_TABLES)
HOURLY_ASSETS = table_assets(HOURLY_TABLES)
DQ_RESULTS_ASSET = table_asset(DQ_RESULTS_TABLE)
NAT_GATEWAYS_ASSET = table_asset(NAT_GATEWAYS_TABLE)
CAPACITY_ASSET = table_asset(CAPACITY_TABLE)

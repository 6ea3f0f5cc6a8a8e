"""Which records are which: each rule defined once, for transforms, data-quality suites and named queries.

Transforms use the Column functions; the suites' reconciliation conditions and the
named queries in queries/ call the same rules as Spark SQL functions, which every
flowlake session registers (register_sql_functions).
"""

from __future__ import annotations

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

# A record carries traffic when its log status is OK. A format without
# log-status has nothing but traffic records, so a NULL status is traffic too.
TRAFFIC = "coalesce(log_status, 'OK') = 'OK'"
# Transit gateway flow logs (resource-type TransitGateway or TransitGatewayAttachment) record
# attachments, not interfaces, and may repeat what the VPCs' own flow logs record: the interface
# tables count the other records only, transit_gateway_hourly these.
VPC_RECORD = "resource_type IS NULL"
VPC_TRAFFIC = f"{TRAFFIC} AND {VPC_RECORD}"
TRANSIT_GATEWAY_TRAFFIC = f"{TRAFFIC} AND resource_type IS NOT NULL"

# An address outside the private, shared, loopback and link-local blocks (RFC 1918, RFC 6598, RFC 3927,
# RFC 4193, RFC 4291): one the internet can use. Regular expressions on the text, so a query engine needs
# no address type; a NULL or malformed address is not public. `[.]` rather than `\.`: the same text is a
# Python string and a Spark SQL literal.
_PRIVATE_IPV4 = (
    r"^(10|127|0)[.]"
    r"|^172[.](1[6-9]|2[0-9]|3[01])[.]"
    r"|^192[.]168[.]"
    r"|^169[.]254[.]"
    r"|^100[.](6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])[.]"
)
_PRIVATE_IPV6 = r"^(f[cd]|fe[89ab])|^::1?$"
PUBLIC_ADDRESS = (
    "coalesce(CASE"
    " WHEN addr RLIKE '^[0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}$'"
    f" THEN NOT addr RLIKE '{_PRIVATE_IPV4}'"
    f" WHEN addr LIKE '%:%' THEN NOT lower(addr) RLIKE '{_PRIVATE_IPV6}'"
    " ELSE false END, false)"
)

# Administrative and database ports nobody should reach from the internet: SSH, RDP, SQL Server,
# MySQL, PostgreSQL, Oracle, MongoDB, Redis.
ADMIN_PORTS = (22, 3389, 1433, 3306, 5432, 1521, 27017, 6379)
# A record travels towards the service side of a conversation when its destination port is not above its
# source port: requests and probes (ephemeral port -> 443), not the replies (443 -> ephemeral port), whose
# destination ports would each be a key of their own.
SERVICE_SIDE = "dstport IS NOT NULL AND dstport <= coalesce(srcport, dstport)"

# Accepted traffic from a public address to one of them, into the interface, towards the service side (records
# of formats without flow-direction count when their source is public: such a record can only be inbound). A
# reply is no exposure: a NAT gateway translates to ports 1024-65535, so a public server's answer (443 -> 3306)
# reaches an admin port number on its interface every hour.
ADMIN_EXPOSURE = (
    f"{TRAFFIC} AND action = 'ACCEPT' AND dstport IN ({', '.join(map(str, ADMIN_PORTS))})"
    " AND coalesce(flow_direction, 'ingress') = 'ingress'"
    f" AND {PUBLIC_ADDRESS.replace('addr', 'srcaddr')} AND {SERVICE_SIDE}"
)

# name -> (parameters, Boolean SQL expression over them)
SQL_FUNCTIONS = {
    "is_traffic": ("log_status STRING", TRAFFIC),
    "is_vpc_traffic": ("log_status STRING, resource_type STRING", VPC_TRAFFIC),
    "is_transit_gateway_traffic": ("log_status STRING, resource_type STRING", TRANSIT_GATEWAY_TRAFFIC),
    "is_public_address": ("addr STRING", PUBLIC_ADDRESS),
    "is_admin_exposure": (
        "log_status STRING, action STRING, srcport INT, dstport INT, flow_direction STRING, srcaddr STRING",
        ADMIN_EXPOSURE,
    ),
    "is_service_side": ("srcport INT, dstport INT", SERVICE_SIDE),
}


def is_traffic() -> Column:
    return F.expr(TRAFFIC)


def is_vpc_traffic() -> Column:
    """Traffic records of VPC flow logs (network interfaces): what the interface tables count."""
    return F.expr(VPC_TRAFFIC)


def is_transit_gateway_traffic() -> Column:
    return F.expr(TRANSIT_GATEWAY_TRAFFIC)


def is_public_address(address: str) -> Column:
    """address: a column name."""
    return F.expr(PUBLIC_ADDRESS.replace("addr", f"`{address}`"))


def is_admin_exposure() -> Column:
    return F.expr(ADMIN_EXPOSURE)


def is_service_side() -> Column:
    return F.expr(SERVICE_SIDE)


def register_sql_functions(spark: SparkSession) -> None:
    for name, (parameters, expression) in SQL_FUNCTIONS.items():
        spark.sql(f"CREATE OR REPLACE TEMPORARY FUNCTION {name}({parameters}) RETURNS BOOLEAN RETURN {expression}")

"""Keyed pseudonymization of the addresses in the tables analysts' BI tools read.

With a key (FLOWLAKE_PSEUDONYM_KEY, else the password of the Airflow connection
`flowlake_pseudonym_key`), `flowlake aggregate` writes, instead of each address of
the PSEUDONYMIZED columns, HMAC-SHA256(key, address) as hex: `anon:<64 hex>`, or, with
FLOWLAKE_PSEUDONYM_KEEP_NETWORK=true, `<network>:<64 hex>` with the IPv4 /24 or IPv6 /48
kept (`10.0.1.0/24:...`, `2001:db8:85a3::/48:...`) so that analysts still see which
network traffic came from. The same address gives the same pseudonym in every table
and every run with the same key, so tables still join on addresses. flow_logs, the
raw records, keeps real addresses (its access is the data owner's).

The key is never logged, printed, or put into a Spark plan: Spark has no HMAC, and
building one from sha2 would put the key's pads into the plan as literals (the Spark
UI and event logs show plans), so a vectorized Arrow UDF computes it, the key held
in its closure.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from flowlake.connections import PSEUDONYM_KEY_CONNECTION, airflow_connection

log = logging.getLogger("flowlake.privacy")

KEY_VARIABLE = "FLOWLAKE_PSEUDONYM_KEY"
KEEP_NETWORK_VARIABLE = "FLOWLAKE_PSEUDONYM_KEEP_NETWORK"
# The address columns of each table analysts read: string columns, or arrays of strings.
PSEUDONYMIZED = {
    "top_talkers_hourly": ("address",),
    "security_findings": ("srcaddr", "dstaddr", "addresses"),
}


# What a pseudonym looks like in a table: `anon:` or a network, then the 64 hex of its HMAC.
PSEUDONYM_PATTERN = r"^[0-9a-f:./]+:[0-9a-f]{64}$|^anon:[0-9a-f]{64}$"


@dataclass(frozen=True)
class Pseudonymizer:
    key: bytes
    keep_network: bool = False

    def __repr__(self) -> str:  # never the key, whoever prints this
        return f"Pseudonymizer(keep_network={self.keep_network})"

    __str__ = __repr__

    def pseudonym(self, address: str | None) -> str | None:
        return pseudonym(self.key, address, self.keep_network)

    def column(self, column: Column, is_array: bool = False) -> Column:
        """The pseudonyms of a string column, or of every element of an array column (NULL stays NULL)."""
        key, keep_network = self.key, self.keep_network

        def mapped(values: pa.Array) -> pa.Array:
            return pa.array([pseudonym(key, v, keep_network) for v in values.to_pylist()], pa.string())

        if not is_array:
            return F.arrow_udf(mapped, "string")(column)

        def mapped_lists(lists: pa.Array) -> pa.Array:
            # The same offsets and validity around the mapped elements: order and NULLs are kept.
            return pa.ListArray.from_arrays(lists.offsets, mapped(lists.values), mask=lists.is_null())

        return F.arrow_udf(mapped_lists, "array<string>")(column)

    def apply(self, df: DataFrame, columns: tuple[str, ...]) -> DataFrame:
        """df with every address of these columns (strings or arrays of strings) pseudonymized."""
        return df.withColumns({name: self.column(F.col(name), is_array_column(df, name)) for name in columns})


def is_array_column(df: DataFrame, name: str) -> bool:
    """Whether a PSEUDONYMIZED column holds arrays of addresses, not one address."""
    return df.schema[name].dataType.simpleString().startswith("array")


def pseudonym(key: bytes, address: str | None, keep_network: bool = False) -> str | None:
    """HMAC-SHA256 of the address text under the key, as hex; prefixed with its /24 or /48 network, or anon."""
    if address is None:
        return None
    digest = hmac.new(key, address.encode(), hashlib.sha256).hexdigest()
    prefix = "anon"
    if keep_network:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            parsed = None
        if parsed is not None:
            length = 24 if parsed.version == 4 else 48
            prefix = str(ipaddress.ip_network(f"{address}/{length}", strict=False))
    return f"{prefix}:{digest}"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def configured() -> Pseudonymizer | None:
    """The pseudonymizer of the environment (or Airflow connection); None when no key is set."""
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        connection = airflow_connection(PSEUDONYM_KEY_CONNECTION)
        key = connection.password if connection is not None else None
    if not key:
        return None
    return Pseudonymizer(key.encode(), _flag(os.environ.get(KEEP_NETWORK_VARIABLE)))


def pseudonymize_table(table: str, df: DataFrame, pseudonymizer: Pseudonymizer | None) -> DataFrame:
    """The table's rows as analysts get them: addresses pseudonymized when there is a key."""
    if pseudonymizer is None or table not in PSEUDONYMIZED:
        return df
    result = pseudonymizer.apply(df, PSEUDONYMIZED[table])
    if table == "security_findings":
        # The addresses are listed sorted (the contract): sorted again as pseudonyms, whose order would otherwise
        # be the addresses' and tell which pseudonym stands for the lower address.
        result = result.withColumn("addresses", F.array_sort("addresses"))
        # A scan's identity holds its source: the ID is taken over the pseudonym, never the address.
        from flowlake.aggregates.security_findings import with_finding_ids

        result = with_finding_ids(result.drop("finding_id")).select(df.columns)
    return result

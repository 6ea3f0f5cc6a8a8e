"""DuckDB's peer of ingest + aggregate: the same five hourly figures straight from the raw objects, in one process.

    python -m bench.duckdb_job --source SOURCE --nat-inventory FILE --out TRAFFIC.json

Reads every default-format object once into a table (space-separated, header,
'-' as NULL, explicit types), then computes traffic, rejects, NAT gateway,
log-status and top-talker figures per hour. Writes the traffic figures, which
the benchmark compares with flowlake's and the plain job's group by group.
"""

from __future__ import annotations

import argparse
import json
import time

import duckdb

from flowlake.rules import TRAFFIC

COLUMNS = {
    "version": "INTEGER",
    "account-id": "VARCHAR",
    "interface-id": "VARCHAR",
    "srcaddr": "VARCHAR",
    "dstaddr": "VARCHAR",
    "srcport": "INTEGER",
    "dstport": "INTEGER",
    "protocol": "INTEGER",
    "packets": "BIGINT",
    "bytes": "BIGINT",
    "start": "BIGINT",
    "end": "BIGINT",
    "action": "VARCHAR",
    "log-status": "VARCHAR",
}
LOAD = f"""
CREATE TABLE records AS
SELECT version, "account-id" AS account_id, "interface-id" AS interface_id, srcaddr, dstaddr, srcport, dstport,
       protocol, packets, bytes, "start", "end", action, "log-status" AS log_status,
       "start" - "start" % 3600 AS hour
FROM read_csv(?, delim = ' ', header = true, nullstr = '-', compression = 'gzip', auto_detect = false,
              columns = {{{", ".join(f"'{name}': '{type_}'" for name, type_ in COLUMNS.items())}}})
"""
# The same rule as flowlake's (flowlake.rules.TRAFFIC), in SQL both engines read.
FIGURES = {
    "traffic": f"""SELECT hour, account_id, interface_id, action, protocol, count(*) AS records,
                          sum(packets) AS packets, sum(bytes) AS bytes
                   FROM records WHERE {TRAFFIC} GROUP BY ALL""",
    "rejects": f"""SELECT hour, interface_id, dstport, protocol, count(*) AS records, sum(bytes) AS bytes,
                          count(DISTINCT srcaddr) AS sources
                   FROM records WHERE {TRAFFIC} AND action = 'REJECT' GROUP BY ALL""",
    "nat": f"""SELECT hour, nat_gateway_id, sum(bytes) AS bytes, sum(packets) AS packets
               FROM records JOIN nat ON records.interface_id = nat.interface_id AND records.dstaddr = nat.private_ip
               WHERE {TRAFFIC} GROUP BY ALL""",
    "log_status": """SELECT hour, interface_id, log_status, count(*) AS records, sum("end" - "start") AS seconds
                     FROM records GROUP BY ALL""",
    "top_talkers": f"""SELECT * FROM (
                           SELECT hour, account_id, srcaddr, sum(bytes) AS bytes,
                                  row_number() OVER (PARTITION BY hour, account_id ORDER BY sum(bytes) DESC) AS rank
                           FROM records WHERE {TRAFFIC} GROUP BY hour, account_id, srcaddr)
                       WHERE rank <= 10""",
}


def run(source: str, nat_inventory: str) -> dict[str, list[tuple]]:
    with duckdb.connect() as connection:
        connection.execute(LOAD, [f"{source}/AWSLogs/**/*.log.gz"])
        connection.execute(
            "CREATE TABLE nat AS SELECT * FROM read_csv(?, header = true, all_varchar = true)", [nat_inventory]
        )
        return {name: connection.execute(query).fetchall() for name, query in FIGURES.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.duckdb_job", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--nat-inventory", required=True)
    parser.add_argument("--out", required=True, help="where the traffic figures go (JSON)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    figures = run(args.source, args.nat_inventory)
    seconds = time.monotonic() - started
    with open(args.out, "w") as out:
        json.dump([list(row) for row in figures["traffic"]], out)
    print(json.dumps({"seconds": round(seconds, 2), "rows": {name: len(rows) for name, rows in figures.items()}}))


if __name__ == "__main__":
    main()

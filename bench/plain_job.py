"""The plain PySpark job a data engineer would write by hand for the same figures: flowlake's peer in `make bench`.

    python -m bench.plain_job ingest --source SOURCE --lake LAKE
    python -m bench.plain_job aggregate --lake LAKE --nat-inventory FILE

ingest: Spark's CSV reader with the default format's fixed schema over every
object, into one Delta table partitioned by day. aggregate: five group-bys from
that table into Delta tables (traffic, rejects, NAT gateways, log status, top
talkers). It knows one format, has no quarantine, no bookkeeping and no
exactly-once: what flowlake does on top of it is what the benchmark prices.
The session is flowlake's own (same jars, memory and partitions), so only the
work differs.
"""

from __future__ import annotations

import argparse
import json
import time

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from flowlake.spark_session import get_spark

DEFAULT_FORMAT_SCHEMA = (
    "version int, account_id string, interface_id string, srcaddr string, dstaddr string, srcport int, "
    "dstport int, protocol int, packets bigint, bytes bigint, start bigint, `end` bigint, action string, "
    "log_status string"
)
# AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/{name}.log.gz
OBJECTS = "AWSLogs/*/vpcflowlogs/*/*/*/*/*.log.gz"
TOP = 10


def ingest(spark: SparkSession, source: str, lake: str) -> None:
    records = spark.read.csv(
        f"{source}/{OBJECTS}", sep=" ", header=True, schema=DEFAULT_FORMAT_SCHEMA, nullValue="-", mode="PERMISSIVE"
    )
    (
        records.withColumn("event_date", F.to_date(F.timestamp_seconds("start")))
        .write.format("delta")
        .mode("overwrite")
        .partitionBy("event_date")
        .save(f"{lake}/flow_logs")
    )


def hourly_tables(flow_logs: DataFrame, nat_gateways: DataFrame) -> dict[str, DataFrame]:
    records = flow_logs.withColumn("hour", F.date_trunc("hour", F.timestamp_seconds("start")))
    ok = records.where(F.col("log_status") == "OK")
    talkers = ok.groupBy("hour", "account_id", "srcaddr").agg(F.sum("bytes").alias("bytes"))
    return {
        "traffic": ok.groupBy("hour", "account_id", "interface_id", "action", "protocol").agg(
            F.count(F.lit(1)).alias("records"), F.sum("packets").alias("packets"), F.sum("bytes").alias("bytes")
        ),
        "rejects": ok.where(F.col("action") == "REJECT")
        .groupBy("hour", "interface_id", "dstport", "protocol")
        .agg(
            F.count(F.lit(1)).alias("records"),
            F.sum("bytes").alias("bytes"),
            F.count_distinct("srcaddr").alias("sources"),
        ),
        "nat": ok.join(
            nat_gateways.select("nat_gateway_id", "interface_id", F.col("private_ip").alias("dstaddr")),
            on=["interface_id", "dstaddr"],
            how="inner",
        )
        .groupBy("hour", "nat_gateway_id")
        .agg(F.sum("bytes").alias("bytes"), F.sum("packets").alias("packets")),
        "log_status": records.groupBy("hour", "interface_id", "log_status").agg(
            F.count(F.lit(1)).alias("records"), F.sum(F.col("end") - F.col("start")).alias("seconds")
        ),
        "top_talkers": talkers.withColumn(
            "rank", F.row_number().over(Window.partitionBy("hour", "account_id").orderBy(F.desc("bytes")))
        ).where(F.col("rank") <= TOP),
    }


def aggregate(spark: SparkSession, lake: str, nat_inventory: str) -> None:
    flow_logs = spark.read.format("delta").load(f"{lake}/flow_logs")
    nat_gateways = spark.read.csv(nat_inventory, header=True)
    for name, table in hourly_tables(flow_logs, nat_gateways).items():
        table.write.format("delta").mode("overwrite").save(f"{lake}/{name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plain_job", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("ingest", "aggregate"))
    parser.add_argument("--source")
    parser.add_argument("--lake", required=True)
    parser.add_argument("--nat-inventory")
    args = parser.parse_args(argv)
    started = time.monotonic()
    spark = get_spark(f"plain-{args.step}")
    if args.step == "ingest":
        ingest(spark, args.source, args.lake)
    else:
        aggregate(spark, args.lake, args.nat_inventory)
    print(json.dumps({"step": args.step, "seconds": round(time.monotonic() - started, 2)}))


if __name__ == "__main__":
    main()

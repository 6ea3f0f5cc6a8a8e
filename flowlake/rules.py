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

# name -> (parameters, Boolean SQL expression over them)
SQL_FUNCTIONS = {"is_traffic": ("log_status STRING", TRAFFIC)}


def is_traffic() -> Column:
    return F.expr(TRAFFIC)


def register_sql_functions(spark: SparkSession) -> None:
    for name, (parameters, expression) in SQL_FUNCTIONS.items():
        spark.sql(f"CREATE OR REPLACE TEMPORARY FUNCTION {name}({parameters}) RETURNS BOOLEAN RETURN {expression}")

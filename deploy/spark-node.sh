#!/usr/bin/env bash
# Runs a Spark standalone master or worker from the PySpark install of the image,
# so the cluster has exactly the Spark version the jobs were written for.
set -euo pipefail
SPARK_HOME="$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME
case "${1:?master or worker}" in
  master) exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 0.0.0.0 --port 7077 --webui-port 8080 ;;
  worker) exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker --webui-port 8081 "${SPARK_MASTER_URL:?}" ;;
  *) echo "usage: $0 master|worker" >&2; exit 2 ;;
esac

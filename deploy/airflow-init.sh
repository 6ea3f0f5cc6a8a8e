#!/usr/bin/env bash
# One-off set-up of the compose stack's Airflow: metadata database, the Delta writers' pool.
set -euo pipefail
airflow db migrate
airflow pools set flowlake_delta_writers 1 "Delta writers: one at a time (Delta on S3 without DynamoDB)"

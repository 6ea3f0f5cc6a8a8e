#!/usr/bin/env bash
# One-off set-up of the compose stack's Airflow: metadata database, the Delta writers' pool, and the
# admin's password (AIRFLOW_ADMIN_PASSWORD from .env) in the auth volume the api-server reads it from.
set -euo pipefail
airflow db migrate
airflow pools set flowlake_delta_writers 1 "Delta writers: one at a time (Delta on S3 without DynamoDB)"
# Written by Python from the environment: the password never goes on a command line.
umask 077
python - <<'PYTHON'
import json
import os

with open(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"], "w") as file:
    json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, file)
PYTHON

#!/usr/bin/env bash
# Fills the object store with the last day of sample flow logs, laid out as AWS does,
# so the hourly DAG's recent runs find their objects. Idempotent: generation is seeded.
set -euo pipefail
start="$(date -u -d "-${SEED_HOURS:-24} hours" +%Y-%m-%dT%H:00:00Z)"
flowlake generate --out "${FLOWLAKE_SOURCE:?}" --start "$start" --hours "$((${SEED_HOURS:-24} + 1))" \
  --nat-inventory "${FLOWLAKE_NAT_INVENTORY:?}"

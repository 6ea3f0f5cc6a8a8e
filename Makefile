# Everything flowlake needs, installed by the project itself: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
IVY := .cache/ivy
SOURCE ?= sample/source
LAKE ?= sample/lake
START ?= 2026-11-01T00:00:00Z
HOURS ?= 24
Q ?= SELECT hour, sum(bytes) AS bytes FROM traffic_hourly GROUP BY hour ORDER BY hour

.PHONY: setup jars browser airflow test test-fast demo sql bench compact clean

setup: $(VENV)/.installed $(IVY)/.resolved browser

# Debian chromium + chromedriver for the Airflow UI test (no-op when present).
browser:
	scripts/install_chromium.sh

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,dq,airflow]"
	touch $@

# Resolves the Delta and hadoop-aws jars from Maven Central into $(IVY) once;
# later sessions find them there and need no network.
$(IVY)/.resolved: $(VENV)/.installed jobs/spark_session.py
	$(PY) -m jobs.spark_session
	mkdir -p $(@D) && touch $@

jars: $(IVY)/.resolved

demo: setup
	$(VENV)/bin/flowlake demo --source $(SOURCE) --lake $(LAKE) --start $(START) --hours $(HOURS)

sql: setup
	$(VENV)/bin/flowlake sql --lake $(LAKE) "$(Q)"

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) -m bench.ingest_bench $(BENCH_ARGS)

airflow: setup
	$(PY) scripts/airflow_local.py --source $(SOURCE) --lake $(LAKE)

compact: setup
	$(VENV)/bin/flowlake compact --lake $(LAKE)

clean:
	rm -rf sample/lake bench/results spark-warehouse

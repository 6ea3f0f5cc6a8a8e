# Everything flowlake needs, installed by the project itself: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SOURCE ?= sample/source
LAKE ?= sample/lake
START ?= 2026-11-01T00:00:00Z
HOURS ?= 24
Q ?= SELECT hour, sum(bytes) AS bytes FROM traffic_hourly GROUP BY hour ORDER BY hour
PACKAGE_SOURCES := $(shell find flowlake -type f -not -path '*/__pycache__/*' 2>/dev/null)

.PHONY: setup jars browser data-docs-assets airflow dist lint format test test-fast demo sql bench compact clean

setup: $(VENV)/.installed $(VENV)/.worker_zips_compiled .cache/jars.resolved browser data-docs-assets

# Debian chromium + chromedriver for the Airflow UI and Data Docs tests (no-op when present).
browser:
	scripts/install_chromium.sh

# The stylesheets, scripts and fonts the Data Docs pages load, pinned in scripts/data_docs_assets/package.json,
# from npm into .cache/data_docs_assets (or FLOWLAKE_DATA_DOCS_ASSETS); no-op when installed.
data-docs-assets:
	scripts/install_data_docs_assets.sh

# uv installs the pinned packages: into a new venv, caches warm, 35 s where pip took 68 s (pip installs only uv).
# PySpark comes as a source distribution: its wheel is built once per machine into WHEEL_CACHE
# (scripts/cache_source_wheels.py), and each set-up installs it from there.
# Their bytecode is compiled once here: uv leaves it to the first import, and where PYTHONDONTWRITEBYTECODE
# is set every process compiled again what it imported (Great Expectations' import 6.5 s instead of 3.0 s).
WHEEL_CACHE ?= $(or $(FLOWLAKE_WHEEL_CACHE),$(HOME)/.cache/flowlake/wheels)

$(VENV)/.installed: pyproject.toml constraints.txt scripts/cache_source_wheels.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt uv
	$(PY) scripts/cache_source_wheels.py --cache "$(WHEEL_CACHE)" --constraints constraints.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) -c constraints.txt --find-links "$(WHEEL_CACHE)" \
		--compile-bytecode -e ".[dev,dq,airflow]"
	touch $@

# So is that of the zips Spark's Python workers import PySpark and py4j from: each worker daemon of each Spark
# application imported them from source (0.5 s, not 0.13 s). Again whenever uv installs PySpark anew.
$(VENV)/.worker_zips_compiled: $(VENV)/.installed scripts/compile_worker_zips.py
	$(PY) scripts/compile_worker_zips.py
	touch $@

# Resolves the Delta and hadoop-aws jars from Maven Central into Spark's Ivy home
# (~/.ivy2.5.2, or FLOWLAKE_IVY_CACHE) once: later runs, and spark-submit's
# --packages, find them there and need no network.
.cache/jars.resolved: $(VENV)/.installed flowlake/dist.py
	$(PY) -m flowlake.spark_session
	mkdir -p $(@D) && touch $@

jars: .cache/jars.resolved

# The zip spark-submit ships with --py-files: the package and its contracts.
dist: dist/flowlake.zip

dist/flowlake.zip: $(VENV)/.installed $(PACKAGE_SOURCES)
	$(VENV)/bin/flowlake dist --out $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: setup
	$(VENV)/bin/flowlake demo --source $(SOURCE) --lake $(LAKE) --start $(START) --hours $(HOURS)

sql: setup
	$(VENV)/bin/flowlake sql --lake $(LAKE) "$(Q)"

# Two processes, each taking whole test modules (a module's Airflow, cluster job or lake is set up once):
# the suite keeps both cores busy where one process left them idle a quarter of the time.
TEST_WORKERS ?= 2

test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) -m bench.ingest_bench $(BENCH_ARGS)

airflow: setup
	$(PY) scripts/airflow_local.py --source $(SOURCE) --lake $(LAKE)

compact: setup
	$(VENV)/bin/flowlake compact --lake $(LAKE)

clean:
	rm -rf sample/lake bench/results spark-warehouse dist

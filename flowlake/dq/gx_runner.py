"""Runs the versioned suites of expectations/ with Great Expectations on Spark frames.

The Data Docs folder holds the HTML site (index.html at its top) and, in gx/,
the file-backed Great Expectations project: each run stores there its suites as
loaded from expectations/ and its results, then adds their pages to the site.
The pages load only files of the site (flowlake.dq.data_docs), and the project
sends no analytics.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame

from flowlake.dq import suite_file
from flowlake.dq.checks import Check, in_memory, suite_columns
from flowlake.window import timestamps_as_text


def import_without_exit(module: str):
    """Imports module, turning a sys.exit() inside the import into an ImportError.

    `import great_expectations` under PySpark 4 without the Spark Connect extras
    calls sys.exit(0): the process would end silently, with success, validating
    nothing.
    """
    try:
        return importlib.import_module(module)
    except SystemExit as exit_:
        raise ImportError(
            f"importing {module} called sys.exit({exit_.code!r}); with PySpark 4, great_expectations "
            "needs pyspark[connect] installed"
        ) from exit_


gx = import_without_exit("great_expectations")
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from flowlake.dq import data_docs  # noqa: E402 (imports great_expectations, after the guard above)

# Where a check's frame is validated: in Spark, or collected into memory (pandas) first.
DATA_SOURCES = {False: "flowlake", True: "flowlake-in-memory"}
# Above this many rows a frame of records stays in Spark. In memory, Great Expectations judges
# in milliseconds what costs it a Spark job per metric; these rows take some 100 MB there.
MAX_ROWS_IN_MEMORY = 200_000
# Check frames computed at once while Great Expectations judges the earlier ones.
PREPARING_THREADS = 4
DATA_DOCS_SITE = "flowlake"
BATCH_DEFINITION = "whole frame"
# Offending rows named per expectation in results and alerts.
EXAMPLES = 5


@dataclass(frozen=True)
class Outcome:
    """One expectation's result on one check: a dq_results row without the run's columns."""

    suite: str
    batch: str
    expectation: str
    description: str | None
    column: str | None
    kwargs: str  # JSON, parameters resolved
    severity: str  # critical, warning or info
    success: bool
    observed_value: str
    unexpected_count: int | None
    element_count: int | None


def load_suite(name: str):
    raw = suite_file(name)
    suite = gx.ExpectationSuite(**raw)
    # Great Expectations logs and drops some malformed expectations instead of raising.
    if len(suite.expectations) != len(raw["expectations"]):
        raise ValueError(
            f"expectations/{name}.json: {len(raw['expectations'])} expectations, "
            f"Great Expectations accepted {len(suite.expectations)}"
        )
    return suite


def open_context(data_docs_dir: Path):
    context = gx.get_context(mode="file", project_root_dir=str(data_docs_dir))
    # Nothing about a validation leaves the machine (the project's setting outranks GX_ANALYTICS_ENABLED).
    context.variables.analytics_enabled = False
    # The progress bars would fill job logs with carriage returns.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # The site at the folder's top, not deep in the project's uncommitted/ folder.
    context.variables.data_docs_sites = {DATA_DOCS_SITE: data_docs.site_config(data_docs_dir.resolve())}
    context.variables.save()
    return context


def _data_source(context, in_memory: bool):
    name = DATA_SOURCES[in_memory]
    try:
        source = context.data_sources.get(name)
    except KeyError:
        source = None
    if in_memory:
        return source if source is not None else context.data_sources.add_pandas(name)
    # Great Expectations keeps a Spark frame it judges, deserialized, by default: a second copy of
    # the records beside the cache they are read from (a project made before flowlake said so is updated).
    if source is None or source.persist:
        source = context.data_sources.add_or_update_spark(name, persist=False)
    return source


def _batch_definition(context, asset_name: str, in_memory: bool):
    source = _data_source(context, in_memory)
    if asset_name in {asset.name for asset in source.assets}:
        asset = source.get_asset(asset_name)
    else:
        asset = source.add_dataframe_asset(asset_name)
    if BATCH_DEFINITION in {definition.name for definition in asset.batch_definitions}:
        return asset.get_batch_definition(BATCH_DEFINITION)
    return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


@dataclass(frozen=True)
class Batch:
    """A check's frame as Great Expectations judges it: collected into memory, or in Spark."""

    data: DataFrame | pd.DataFrame

    @property
    def in_memory(self) -> bool:
        return isinstance(self.data, pd.DataFrame)


def prepare(check: Check) -> Batch:
    """The check's frame computed: in memory unless it holds records, and more than MAX_ROWS_IN_MEMORY."""
    if isinstance(check.frame, pd.DataFrame):
        return Batch(check.frame[columns_checked(check)])
    frame = timestamps_as_text(check.frame.select(*columns_checked(check)))
    if not check.grows_with_records:
        return Batch(in_memory(frame))
    # Kept in Spark, each expectation is a job over the records the frame selects, which
    # window_checks has cached: a second copy of millions of them would not fit a 2 GiB driver.
    if frame.count() > MAX_ROWS_IN_MEMORY:
        return Batch(frame)
    return Batch(in_memory(frame))


def judge(
    context, check: Check, batch: Batch, parameters: dict, run_identifier: RunIdentifier
) -> tuple[list[Outcome], ValidationResultIdentifier]:
    """The outcome of each expectation on the prepared batch, and where Great Expectations stored the results."""
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=f"{check.suite} on {check.batch}",
            data=_batch_definition(context, check.batch, batch.in_memory),
            suite=context.suites.add_or_update(load_suite(check.suite)),
        )
    )
    results = definition.run(
        batch_parameters={"dataframe": batch.data},
        expectation_parameters=parameters,
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": EXAMPLES,
            "unexpected_index_column_names": list(check.index_columns),
        },
        run_id=run_identifier,
    )
    stored_as = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=check.suite),
        run_id=run_identifier,
        batch_identifier=results.batch_id,
    )
    return [_outcome(check, result) for result in results.results], stored_as


def run_check(
    context, check: Check, parameters: dict, run_identifier: RunIdentifier
) -> tuple[list[Outcome], ValidationResultIdentifier]:
    return judge(context, check, prepare(check), parameters, run_identifier)


def run_checks(
    context, checks: list[Check], parameters: dict, run_identifier: RunIdentifier
) -> Iterator[tuple[Check, list[Outcome], ValidationResultIdentifier]]:
    """run_check of each check in order, their frames computed side by side while earlier ones are judged.

    A check frame is small: computing it is mostly waiting on Spark's scheduling and Delta's
    snapshots, so several at once take little more than the slowest.
    """
    with ThreadPoolExecutor(PREPARING_THREADS, thread_name_prefix="check-frames") as pool:
        batches = [pool.submit(prepare, check) for check in checks]
        for check, batch in zip(checks, batches, strict=True):
            yield check, *judge(context, check, batch.result(), parameters, run_identifier)


def columns_checked(check: Check) -> list[str]:
    """The frame's columns that the suite's expectations or the offending rows' index name, in frame order."""
    named = set(check.index_columns) | suite_columns(check.suite)
    return [column for column in check.frame.columns if column in named]


def _outcome(check: Check, result) -> Outcome:
    config = result.expectation_config
    kwargs = {key: value for key, value in config.kwargs.items() if key != "batch_id"}
    columns = [kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs]
    details = result.result or {}
    return Outcome(
        suite=check.suite,
        batch=check.batch,
        expectation=config.type,
        description=config.description,
        column=", ".join(columns) or None,
        kwargs=json.dumps(kwargs, default=str, sort_keys=True),
        severity=str(getattr(config.severity, "value", config.severity)),
        success=bool(result.success),
        observed_value=observed_value(details, result.exception_info or {}, (*check.index_columns, *columns)),
        unexpected_count=details.get("unexpected_count"),
        element_count=details.get("element_count"),
    )


def _errors(exception_info: dict) -> list[str]:
    # One dict for the expectation, or one per metric that failed to compute.
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    return [
        info.get("exception_message") or "error"
        for info in infos
        if isinstance(info, dict) and info.get("raised_exception")
    ]


def observed_value(details: dict, exception_info: dict, columns_first: tuple[str, ...] = ()) -> str:
    """What the expectation saw, in one line: an aggregate's value, or the count and first offending rows.

    An offending row lists columns_first (its index, then the columns judged) in that order,
    whichever engine reported it: Spark and pandas order them differently.
    """
    errors = _errors(exception_info)
    if errors:
        return "error: " + "; ".join(errors)
    if "observed_value" in details:
        return json.dumps(details["observed_value"], default=str)
    unexpected = details.get("unexpected_count") or 0
    text = f"{unexpected} of {details.get('element_count') or 0} unexpected"
    examples = details.get("partial_unexpected_index_list") or details.get("partial_unexpected_list")
    if unexpected and examples:
        ordered = [_ordered(example, columns_first) for example in examples[:EXAMPLES]]
        text += ": " + json.dumps(ordered, default=str)
    return text


def _ordered(example, columns_first: tuple[str, ...]):
    if not isinstance(example, dict):
        return example
    first = list(dict.fromkeys(column for column in columns_first if column in example))
    return {column: example[column] for column in [*first, *sorted(set(example) - set(first))]}


def build_data_docs(context, results: list[ValidationResultIdentifier]) -> Path:
    """Renders this run's results and suites, and the index of all runs; returns index.html.

    Only this run's pages: rendering every stored result again would take longer each hour.
    """
    suites = {identifier.expectation_suite_identifier.name for identifier in results}
    context.build_data_docs(
        resource_identifiers=[*results, *(ExpectationSuiteIdentifier(name=name) for name in sorted(suites))]
    )
    # The folder the site was given (a URL of it would read a '#' in its name as a fragment).
    index = Path(context.variables.data_docs_sites[DATA_DOCS_SITE]["store_backend"]["base_directory"]) / "index.html"
    data_docs.copy_assets(index.parent)
    return index


def prune_results(context, kept_since: datetime) -> int:
    """Forgets the stored results of runs before kept_since; returns how many.

    The next Data Docs build drops their pages and index entries (Great
    Expectations cleans pages whose result is gone), so an hourly pipeline's
    docs stay the size of the retention. dq_results keeps the whole history.
    """
    store = context.validation_results_store
    expired = [key for key in store.list_keys() if key.run_id.run_time < kept_since]
    for key in expired:
        store.remove_key(key)
    return len(expired)


def run_identifier(run_id: str, run_time) -> RunIdentifier:
    return RunIdentifier(run_name=run_id, run_time=run_time)

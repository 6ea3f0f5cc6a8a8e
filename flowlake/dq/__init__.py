"""Data quality: the frames the suites in expectations/ run on, and running them with Great Expectations.

flowlake.dq.checks builds, with Spark, one small frame per check (a table of the
window, or counts computed from several tables); flowlake.dq.gx_runner runs the
versioned suites on them, so that every result reports through Great
Expectations and its Data Docs. flowlake.validate ties them together.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flowlake.contracts import contract_file, contract_files

# Where scripts/install_data_docs_assets.sh put the files the Data Docs pages load (see flowlake.dq.data_docs).
DATA_DOCS_ASSETS_VARIABLE = "FLOWLAKE_DATA_DOCS_ASSETS"


def suite_file(name: str) -> dict:
    """A versioned suite as stored: Great Expectations' suite JSON, flowlake's settings in meta.flowlake."""
    return json.loads(contract_file("expectations", f"{name}.json").read_text())


def suite_names() -> list[str]:
    return list(contract_files("expectations", ".json"))


def data_docs_assets() -> Path:
    """FLOWLAKE_DATA_DOCS_ASSETS, else .cache/data_docs_assets in the project flowlake is imported from: the folder
    that holds the package or, for a package imported from a zip, the working folder. spark-submit puts the zip of
    --py-files first on its driver's path too, and the README's cluster block runs it from the repository root."""
    if os.environ.get(DATA_DOCS_ASSETS_VARIABLE):
        return Path(os.environ[DATA_DOCS_ASSETS_VARIABLE])
    project = Path(__file__).resolve().parents[2]
    if not project.is_dir():  # the zip itself
        project = Path.cwd()
    return project / ".cache" / "data_docs_assets"

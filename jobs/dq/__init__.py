"""Data quality: the frames the suites in expectations/ run on, and running them with Great Expectations.

jobs.dq.checks builds, with Spark, one small frame per check (a table of the
window, or counts computed from several tables); jobs.dq.gx_runner runs the
versioned suites on them, so that every result reports through Great
Expectations and its Data Docs. jobs.validate ties them together.
"""

from __future__ import annotations

import json
from pathlib import Path

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "expectations"


def suite_file(name: str) -> dict:
    """A versioned suite as stored: Great Expectations' suite JSON, flowlake's settings in meta.flowlake."""
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text())


def suite_names() -> list[str]:
    return sorted(path.stem for path in EXPECTATIONS_DIR.glob("*.json"))

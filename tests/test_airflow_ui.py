"""The Airflow UI in headless Chromium: log in, both DAGs listed without import errors, the hourly runs.

Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.airflow_server import running_airflow
from tests.browser import chromium, needs_chromium, page_text

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DAG_IDS = ("vpc_flow_logs_hourly", "vpc_flow_logs_maintenance")

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    (root / "source").mkdir()
    # The scheduler starts a run for the current hour as soon as the DAG is unpaused; a long
    # delivery lag parks it at its deferred sensor, so the UI has a run to show and no Spark runs.
    with running_airflow(root, root / "source", root / "lake", {"FLOWLAKE_DELIVERY_LAG_MINUTES": "720"}) as airflow:
        airflow.wait_for(
            "DAGs parsed", lambda: airflow.get("/api/v2/dags?dag_id_pattern=vpc_flow_logs")["total_entries"] == 2, 300
        )
        airflow.request("PATCH", "/api/v2/dags/vpc_flow_logs_hourly", {"is_paused": False})
        airflow.wait_for(
            "a scheduled run", lambda: airflow.get("/api/v2/dags/vpc_flow_logs_hourly/dagRuns")["total_entries"], 300
        )
        yield airflow


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


@pytest.mark.slow
def test_log_in_see_both_dags_and_the_hourly_runs(airflow, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(f"{airflow.url}/")
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.NAME, "password"))
    assert "/auth/login" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(airflow.password)
    browser.find_element(By.XPATH, "//button[@type='submit']").click()

    # The home page shows a "Dag Import Errors" button when any DAG file failed to parse.
    home = page_text(browser, "Triggerer")
    browser.save_screenshot(str(ARTIFACTS / "airflow_home.png"))
    assert "Welcome" in home
    assert "Import Error" not in home

    browser.get(f"{airflow.url}/dags")
    dags = page_text(browser, DAG_IDS[1])
    browser.save_screenshot(str(ARTIFACTS / "airflow_dags.png"))
    assert all(dag_id in dags for dag_id in DAG_IDS)
    assert "2 Dags" in dags

    browser.get(f"{airflow.url}/dags/vpc_flow_logs_hourly/runs")
    runs = page_text(browser, "scheduled__")
    browser.save_screenshot(str(ARTIFACTS / "airflow_hourly_runs.png"))
    assert "1 Dag Run" in runs
    assert "Running" in runs

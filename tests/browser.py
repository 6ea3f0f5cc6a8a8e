"""Headless Chromium for the tests that look at pages as a reader does.

Debian's chromium and chromium-driver (scripts/install_chromium.sh, `make browser`),
driven by Selenium; the tests that need them skip without them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,900",
)

needs_chromium = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
    reason="Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)",
)


@contextmanager
def chromium(*flags: str) -> Iterator:
    """A Selenium driver of headless Chromium with CHROMIUM_FLAGS and flags, quit when the block ends.

    It keeps the pages' network log for requested_urls().
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, *flags):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def page_text(browser, waiting_for: str, timeout: float = 60) -> str:
    """The page's text once it shows waiting_for (pages that render after their scripts or API calls)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(lambda b: waiting_for in b.find_element(By.TAG_NAME, "body").text)
    return browser.find_element(By.TAG_NAME, "body").text


def requested_urls(browser) -> list[str]:
    """Every URL the pages asked for since the last call, files and data: URLs too, in order.

    The pages' own requests, from DevTools' network events: not those Chromium makes for
    itself (its updater, its account service), which no flag quite silences.
    """
    events = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
    return [event["params"]["request"]["url"] for event in events if event["method"] == "Network.requestWillBeSent"]

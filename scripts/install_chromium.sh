#!/usr/bin/env bash
# Debian's chromium and its driver, for the browser tests (tests/test_airflow_ui.py, the Data Docs ones of tests/test_validate.py; they skip without them).
# Installs only what is missing; needs root (or sudo) and apt-get, otherwise says what to run.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install_chromium: no apt-get here; install chromium and chromedriver at /usr/bin to run the UI test" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "install_chromium: run as root: apt-get install chromium chromium-driver" >&2
        exit 0
    fi
    SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null

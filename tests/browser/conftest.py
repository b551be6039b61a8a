"""A real `streamlit run app.py` on a free localhost port, and headless Chromium (Debian's)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, _free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "artifacts" / "browser"


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    tmp = tmp_path_factory.mktemp("app")
    port = _free_port()
    env = dict(os.environ, FERLAB_DB_URL=f"sqlite:///{tmp / 'runs.db'}", FERLAB_HOME=str(tmp / "home"),
               PYTHONUNBUFFERED="1")
    log = open(tmp / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--browser.gatherUsageStats", "false",
                             "--server.fileWatcherType", "none"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (tmp / "streamlit.log").read_text()[-2000:])
    yield url, env
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    from ferlab.store import Store

    for w in Store(env["FERLAB_DB_URL"]).live_workers(within=3600):  # the worker the app started
        try:
            os.kill(w.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def pw():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw):
    b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=BASE_ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()

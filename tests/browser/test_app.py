"""The app in headless Chromium: every page renders, a demo job submitted from the browser runs
on a worker the app starts, and its curve appears. Screenshots go to artifacts/browser/."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.browser.conftest import ARTIFACTS

# page path -> (title, an element that only appears once the page has finished drawing)
PAGES = {"": ("ferlab", "text=Best models so far"), "data": ("Data sets", "[data-testid='stImage']"),
         "experiments": ("Experiments", "text=No jobs yet"), "trials": ("Trials", "[data-testid='stAlert']"),
         "compare": ("Compare", "[data-testid='stAlert']"), "leaderboard": ("Leaderboard", "[data-testid='stDataFrame']")}


def wait_ready(page):
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders(app_server, page, path):
    url, _ = app_server
    title, drawn = PAGES[path]
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
    page.locator(drawn).first.wait_for(timeout=60_000)
    wait_ready(page)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"{path or 'home'}.png"), full_page=True)


def test_submit_a_demo_job_and_see_its_curve(app_server, page):
    url, env = app_server
    page.goto(f"{url}/experiments")
    page.get_by_role("heading", name="Experiments").wait_for(timeout=60_000)
    wait_ready(page)
    # on the demo set the form proposes the demo-quick preset
    epochs = page.get_by_label("Epochs", exact=True)   # not "Warm-up epochs"
    epochs.fill("2")
    epochs.press("Enter")
    wait_ready(page)
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(re.compile(r"Queued job 1\.")).wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "experiments-submitted.png"), full_page=True)

    from ferlab.store import Store

    store = Store(env["FERLAB_DB_URL"])
    import time

    deadline = time.monotonic() + 300
    while store.get_job(1).status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(2)
    assert store.get_job(1).status == "completed", store.get_job(1).error
    page.goto(f"{url}/compare")
    page.get_by_role("heading", name="Compare").wait_for(timeout=60_000)
    wait_ready(page)
    chart = page.locator("[data-testid='stVegaLiteChart']").first
    chart.wait_for(timeout=60_000)
    page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "compare-demo-curve.png"), full_page=True)
    assert store.count_epochs(store.list_trials(1)[0].id) == 2
    # the finished run class by class: its recall bars and its confusion matrix, drawn by Vega in
    # the browser (49 cells, one count each; the counts add up to the faces it was scored on)
    page.goto(f"{url}/leaderboard")
    page.get_by_role("heading", name="Class by class").wait_for(timeout=60_000)
    wait_ready(page)
    charts = page.locator("[data-testid='stVegaLiteChart']")
    charts.nth(1).locator("svg, canvas").first.wait_for(timeout=60_000)
    assert charts.count() == 2 and page.locator("[data-testid='stException']").count() == 0
    [evaluation] = store.evaluations([1]).values()
    assert page.get_by_text(f"job 1: {evaluation.metrics['plain']['accuracy']:.2%} of "
                            f"{evaluation.metrics['plain']['n']:,} {evaluation.split} faces").count() == 1
    page.get_by_role("heading", name="Class by class").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "leaderboard-class-by-class.png"))
    # the faces behind its largest mistake, as images the browser loaded from the app
    from ferlab.training.report import Faces

    faces = Faces.from_dict(evaluation.metrics["faces"])
    confusion = np.asarray(evaluation.metrics["plain"]["confusion"])
    np.fill_diagonal(confusion, -1)
    expected = min(24, int(confusion.max()))
    images = page.locator("[data-testid='stImage'] img")
    images.nth(expected - 1).wait_for(timeout=60_000)
    loaded = images.evaluate_all("els => els.filter(e => e.complete && e.naturalWidth === 48).length")
    assert images.count() == expected == loaded and len(faces.predicted) == evaluation.metrics["plain"]["n"]
    images.first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "leaderboard-faces-behind-a-cell.png"))

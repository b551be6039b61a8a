"""Every page renders with Streamlit's AppTest: on a fresh store and with a run in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[1] / "pages"


def run_page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("page", ["home", "data", "runs"])
def test_fresh_store_pages_say_what_to_do(store, page):
    at = run_page(page)
    text = " ".join(e.value for e in [*at.info, *at.caption, *at.markdown])
    assert ("demo" in text) or ("ferlab" in text)
    assert not at.error


def test_runs_page_draws_stored_curves(store):
    job = store.create_job("train", {"epochs": 3, "data": "demo", "preset": "p"}, status="running")
    trial = store.start_trial(job.id, 1, {})
    for e in (1, 2):
        store.record_epoch(trial.id, e, loss=1.0 / e, accuracy=0.3 * e, val_loss=1.1 / e, val_accuracy=0.25 * e)
    at = run_page("runs")
    assert at.dataframe[0].value["epochs"].tolist() == ["2/3"]
    assert len(at.get("vega_lite_chart")) == 2


def test_data_page_lists_the_demo_set_as_synthetic(store):
    at = run_page("data")
    frame = at.dataframe[0].value
    assert frame.loc[frame["name"] == "demo", "kind"].tolist() == ["synthetic demo"]
    assert any("SYNTHETIC" in c.value for c in at.caption)


def test_old_schema_shows_the_upgrade_command(home, db_url, monkeypatch):
    from ferlab.store.engine import make_engine, upgrade

    upgrade(make_engine(db_url), "0001")
    monkeypatch.setenv("FERLAB_DB_URL", db_url)
    at = AppTest.from_file(str(PAGES / "home.py"), default_timeout=60).run()
    assert not at.exception
    assert "needs an upgrade" in at.error[0].value
    assert at.code[0].value == "ferlab db upgrade"

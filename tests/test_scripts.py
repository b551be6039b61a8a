"""Maintainer scripts: the model card describes the recipe the run actually used."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ferlab.training.spec import preset

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ship_model.py"


def _ship_model():
    spec = importlib.util.spec_from_file_location("ship_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_card_recipe_follows_the_spec():
    recipe = _ship_model().recipe
    compact = recipe(preset("ferlab-compact", data="fer2013").to_dict(), 1_391_223)
    assert compact.startswith("ferlab's compact CNN (1,391,223 parameters;")
    assert "stride 2" in compact and "SGD with Nesterov momentum 0.9" in compact
    assert "learning rate 0.02 with 2 warm-up epochs then cosine decay, weight decay 0.0005, label smoothing 0.1" in compact
    paper = recipe(preset("paper-8conv-adam", data="fer2013").to_dict(), 5_281_223)
    assert paper.startswith("the paper's 8conv CNN") and "stride 2" not in paper
    assert "Adam, learning rate 0.0001 constant, batch 32, the paper's augmentation" in paper
    assert "weight decay" not in paper and "label smoothing" not in paper
    demo = recipe(preset("demo-quick", data="demo").to_dict(), 1_391_223)
    assert "no augmentation" in demo


def test_lineage_follows_warm_restarts_back_to_the_run_from_scratch(store, tmp_path):
    lineage = _ship_model().lineage
    first = store.create_job("train", preset("ferlab-compact", data="fer2013").to_dict(), status="completed")
    store.add_artifact(store.start_trial(first.id, 1, {}).id, str(tmp_path / "job-1" / "model.keras"))
    spec = preset("ferlab-compact", data="fer2013", init_from=str(tmp_path / "job-1" / "model.keras")).to_dict()
    second = store.create_job("train", spec, status="completed")
    store.start_trial(second.id, 1, {})
    assert [job.id for job, _, _ in lineage(store, second.id)] == [first.id, second.id]
    assert [job.id for job, _, _ in lineage(store, first.id)] == [first.id]

    orphan = store.create_job("train", {**spec, "init_from": str(tmp_path / "elsewhere.keras")})
    store.start_trial(orphan.id, 1, {})
    with pytest.raises(SystemExit, match="which no job in this store trained"):
        lineage(store, orphan.id)

from __future__ import annotations

import pytest

from ferlab.data.catalog import register
from ferlab.data.demo import demo_dataset
from ferlab.models import ModelConfig
from ferlab.training.spec import TrainSpec

TINY = ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1)


@pytest.fixture
def tiny_data(store) -> str:
    """About 200 synthetic training faces (30 per class), registered as `tiny`."""
    register(store, demo_dataset({"train": 30, "val": 10, "test": 10}, seed=5), "tiny")
    return "tiny"


@pytest.fixture
def tiny_spec(tiny_data) -> TrainSpec:
    return TrainSpec(data=tiny_data, model=TINY, optimizer="adam", learning_rate=1e-3, epochs=2,
                     precision="float32", seed=3)

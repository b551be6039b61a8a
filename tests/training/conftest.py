from __future__ import annotations

import pytest

from ferlab.training.spec import TrainSpec
from tests.helpers import register_synthetic, tiny_model

TINY = tiny_model()


@pytest.fixture
def tiny_data(store) -> str:
    """About 200 synthetic training faces (30 per class), registered as `tiny`."""
    return register_synthetic(store, "tiny", 30, seed=5)


@pytest.fixture
def tiny_spec(tiny_data) -> TrainSpec:
    return TrainSpec(data=tiny_data, model=TINY, optimizer="adam", learning_rate=1e-3, epochs=2,
                     precision="float32", seed=3)

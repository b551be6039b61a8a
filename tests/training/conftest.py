from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from ferlab.training.spec import TrainSpec
from tests.helpers import register_synthetic, tiny_model

TINY = tiny_model()


@pytest.fixture
def tiny_data(store) -> str:
    """About 200 synthetic training faces (30 per class), registered as `tiny`."""
    return register_synthetic(store, "tiny", 30, seed=5)


def tiny_train_spec(data: str) -> TrainSpec:
    """Two epochs of the tiny 4-conv model: seconds."""
    return TrainSpec(data=data, model=TINY, optimizer="adam", learning_rate=1e-3, epochs=2,
                     precision="float32", seed=3)


@pytest.fixture
def tiny_spec(tiny_data) -> TrainSpec:
    return tiny_train_spec(tiny_data)


@pytest.fixture(scope="session")
def trained_pair(tmp_path_factory):
    """Two tiny models trained from seeds 3 and 4 (tiny_spec's recipe; jobs 1 and 2) once for the
    test session (once in each pytest-xdist process) in a store of their own: its runs.db file and
    the (job id, model path) of each. Each test gets a copy of the file (`paired`), so its jobs are
    its own; the model files stay here, read only. Trained again for each test that needs a run
    to start from, they took seconds each."""
    from ferlab.store import Store
    from ferlab.training.fit import train

    root = tmp_path_factory.mktemp("pair")
    url = f"sqlite:///{root / 'runs.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FERLAB_HOME", str(root / "home"))
        mp.setenv("FERLAB_DB_URL", url)
        store = Store(url)
        spec = tiny_train_spec(register_synthetic(store, "tiny", 30, seed=5))
        runs = [train(store, replace(spec, seed=seed), verbose=0, log=lambda _: None) for seed in (3, 4)]
        store.close()
    return root / "runs.db", [(r.job_id, str(r.model_path)) for r in runs]


@dataclass
class Paired:
    store: object
    data: str                   # the tiny data set, as tiny_data registers it
    spec: TrainSpec             # tiny_spec
    models: list                # [(job id, model path)] of the two runs


@pytest.fixture
def paired(trained_pair, home, tmp_path, monkeypatch):
    """This test's store: a copy of trained_pair's, holding its two completed runs and the tiny set."""
    import shutil

    from ferlab.store import Store

    db, models = trained_pair
    shutil.copy(db, tmp_path / "runs.db")
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.setenv("FERLAB_DB_URL", url)
    store = Store(url)
    yield Paired(store, "tiny", tiny_train_spec("tiny"), models)
    store.close()

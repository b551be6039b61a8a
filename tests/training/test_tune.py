"""Tuning: every trial and epoch in the store, failed trials recorded, interrupted searches resume."""

from __future__ import annotations

import numpy as np
import pytest

from ferlab.models import hypermodel as hm
from ferlab.models.search import Range, SearchSpace
from ferlab.training.callbacks import StoreRecorder
from ferlab.training.spec import TuneSpec
from ferlab.training.tune import tune
from tests.helpers import keras_modules

SPACE = SearchSpace("4conv", Range(8, 16, 8), Range(8, 16, 8), Range(0, 0.2, 0.1), Range(0, 0.2, 0.1),
                    learning_rates=(1e-3,))


@pytest.fixture
def spec(tiny_data) -> TuneSpec:
    return TuneSpec(data=tiny_data, space=SPACE, max_trials=3, epochs_per_trial=2, precision="float32",
                    augmentation="none")


def test_three_trials_with_their_epochs(store, spec):
    result = tune(store, spec, log=lambda _: None)
    trials = store.list_trials(result.job_id)
    assert result.status == "completed" and [t.number for t in trials] == [1, 2, 3]
    for t in trials:
        assert t.status == "completed" and t.params > 0
        assert [e.epoch for e in store.epochs([t.id])] == [1, 2]
        assert set(t.hyperparameters) >= {"filters_1", "filters_4", "conv_dropout", "dense_dropout",
                                          "optimizer", "learning_rate", "batch_size"}
        assert t.hyperparameters["filters_1"] in (8, 16)
    best = max(trials, key=lambda t: t.best_val_accuracy)
    assert result.best_trial_number == best.number
    [artifact] = store.list_artifacts(best.id)
    assert artifact.path.endswith("model.keras") and store.get_job(result.job_id).status == "completed"
    assert keras_modules(artifact.path) == {"keras"}                 # plain Keras reads the best trial's model
    from tests.training.test_fit import assert_faces_agree

    assert_faces_agree(store, artifact, np.array(artifact.metrics["plain"]["confusion"]))


def test_a_failing_trial_is_stored_as_failed_and_the_search_goes_on(store, spec, monkeypatch):
    calls = {"n": 0}
    real = hm.build_model

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("out of memory (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(hm, "build_model", flaky)
    result = tune(store, spec, log=lambda _: None)
    trials = store.list_trials(result.job_id)
    failed = [t for t in trials if t.status == "failed"]
    assert len(failed) == 1 and "out of memory (simulated)" in failed[0].error
    assert "Traceback" in failed[0].error and store.count_epochs(failed[0].id) == 0
    assert sum(t.status == "completed" for t in trials) >= 2
    assert result.status == "completed"


def test_an_interrupted_search_resumes_without_rerunning_completed_trials(store, spec, monkeypatch):
    orig = StoreRecorder.on_epoch_end
    state = {"trial_rows": set()}

    def interrupt_in_trial_two(self, epoch, logs=None):
        orig(self, epoch, logs)
        state["trial_rows"].add(self.trial_id)
        if len(state["trial_rows"]) == 2 and epoch == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(StoreRecorder, "on_epoch_end", interrupt_in_trial_two)
    with pytest.raises(KeyboardInterrupt):
        tune(store, spec, log=lambda _: None)
    [job] = store.list_jobs()
    first, second = store.list_trials(job.id)
    assert first.status == "completed" and second.status == "interrupted"
    first_epochs = store.epochs([first.id])

    monkeypatch.setattr(StoreRecorder, "on_epoch_end", orig)
    logs = []
    result = tune(store, spec, job_id=job.id, log=logs.append)
    assert "resuming after 1 completed trial(s)" in logs[0]
    trials = store.list_trials(job.id)
    assert [t.number for t in trials] == [1, 2, 3] and all(t.status == "completed" for t in trials)
    assert store.epochs([first.id]) == first_epochs          # trial 1 was not run again
    assert store.get_trial(first.id).finished_at == first.finished_at
    assert [e.epoch for e in store.epochs([second.id])] == [1, 2]
    assert result.status == "completed"


def test_hyperband_runs_and_records(store, spec):
    result = tune(store, TuneSpec(**{**spec.__dict__, "algorithm": "hyperband", "epochs_per_trial": 2}),
                  log=lambda _: None)
    trials = store.list_trials(result.job_id)
    assert result.status == "completed" and trials
    assert all(store.count_epochs(t.id) >= 1 for t in trials if t.status == "completed")


def test_cancel_stops_the_search(store, spec):
    job = store.create_job("tune", spec.to_dict(), status="running")
    store.request_cancel(job.id)
    result = tune(store, spec, job_id=job.id, log=lambda _: None)
    assert result.status == "cancelled" and store.get_job(job.id).status == "cancelled"
    [trial] = store.list_trials(job.id)
    assert store.count_epochs(trial.id) == 1


def test_invalid_tune_spec_is_refused_before_anything_runs(store):
    with pytest.raises(ValueError, match="space.first_filters: min \\(256\\) is greater than max \\(32\\)"):
        tune(store, TuneSpec(space=SearchSpace(first_filters=Range(256, 32, 32))))
    assert store.list_jobs() == []

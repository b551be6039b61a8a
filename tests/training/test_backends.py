"""The same model, augmentation (random erasing included) and training code under Keras' JAX
backend (a real subprocess). On demo-quick's compact model: the same `ferlab train` on the paper's
4-conv model (full 48x48 resolution in its first layers) took 60 s, against 32 s (2-core host,
2026-11-28)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_train_and_evaluate_under_jax(store, tiny_data):
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run([sys.executable, "-m", "ferlab", "train", "--preset", "demo-quick",
                          "--data", tiny_data, "--epochs", "2", "--precision", "float32",
                          "--augmentation", "paper-erasing", "--json"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed"
    [trial] = store.list_trials(result["job"])
    assert [e.epoch for e in store.epochs([trial.id])] == [1, 2]
    probe = subprocess.run([sys.executable, "-c", "import sys, keras, ferlab.training.fit, ferlab.training.tune; "
                            "print(keras.backend.backend()); print('tensorflow' in sys.modules)"],
                           capture_output=True, text=True, env=env)
    assert probe.stdout.split() == ["jax", "False"]
    # the model saved under JAX loads and evaluates under TensorFlow (the default backend): in this
    # process where it runs on TensorFlow (as the suite does unless KERAS_BACKEND says otherwise)
    import keras

    from tests.helpers import cli, ferlab

    args = ("evaluate", result["model"], "--data", tiny_data, "--json")
    if keras.backend.backend() == "tensorflow":
        ev = cli(*args)
    else:
        ev = ferlab(*args, env={"KERAS_BACKEND": "tensorflow"})
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert json.loads(ev.stdout)["accuracy"] == pytest.approx(result["evaluation"]["accuracy"], abs=1e-6)

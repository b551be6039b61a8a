"""Keras callbacks: one committed store row per epoch, heartbeats, cancel, epoch checkpoints."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import keras

from ferlab.store import Store


def _lr(model) -> float | None:
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except Exception:  # noqa: BLE001 - an optimizer without a plain learning rate
        return None


class StoreRecorder(keras.callbacks.Callback):
    """Writes each finished epoch to the store at once; stops training when the job is cancelled."""

    def __init__(self, store: Store, trial_id: int, job_id: int | None = None, heartbeat_every: float = 5.0):
        super().__init__()
        self.store, self.trial_id, self.job_id = store, trial_id, job_id
        self.heartbeat_every = heartbeat_every
        self.cancelled = False
        self._t0 = self._last_beat = time.monotonic()

    def __deepcopy__(self, memo):
        # keras-tuner deep-copies callbacks for every execution; the store is shared, not copied.
        return StoreRecorder(self.store, self.trial_id, self.job_id, self.heartbeat_every)

    def on_train_begin(self, logs=None):
        self.store.set_trial_params(self.trial_id, self.model.count_params())

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if self.job_id is not None and time.monotonic() - self._last_beat > self.heartbeat_every:
            self._last_beat = time.monotonic()
            self.store.heartbeat(self.job_id)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        clean = {k: (None if v is None or not math.isfinite(float(v)) else float(v)) for k, v in logs.items()}
        self.store.record_epoch(
            self.trial_id, epoch + 1, loss=clean.get("loss"), accuracy=clean.get("accuracy"),
            val_loss=clean.get("val_loss"), val_accuracy=clean.get("val_accuracy"),
            learning_rate=_lr(self.model), seconds=time.monotonic() - self._t0)
        if self.job_id is not None:
            self.store.heartbeat(self.job_id)
            if self.store.cancel_requested(self.job_id):
                self.cancelled = True
                self.model.stop_training = True


def _save_atomic(model: keras.Model, path: Path) -> None:
    tmp = path.with_name(path.stem + ".part.keras")
    model.save(tmp)
    os.replace(tmp, path)


class EpochCheckpoint(keras.callbacks.Callback):
    """After every epoch: `last.keras` (with optimizer state) and `state.json`; `best.keras` on a
    new best val accuracy. Files are replaced atomically, so a kill never leaves half a file."""

    def __init__(self, run_dir: Path, best: float = -1.0, best_epoch: int = 0):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.best, self.best_epoch = best, best_epoch

    def on_epoch_end(self, epoch, logs=None):
        val = float((logs or {}).get("val_accuracy", float("nan")))
        if math.isfinite(val) and val > self.best:
            self.best, self.best_epoch = val, epoch + 1
            _save_atomic(self.model, self.run_dir / "best.keras")
        _save_atomic(self.model, self.run_dir / "last.keras")
        write_state(self.run_dir, {"epoch": epoch + 1, "best_val_accuracy": self.best,
                                   "best_epoch": self.best_epoch})


def read_state(run_dir: Path) -> dict:
    path = Path(run_dir) / "state.json"
    if path.exists() and (Path(run_dir) / "last.keras").exists():
        return json.loads(path.read_text())
    return {"epoch": 0, "best_val_accuracy": -1.0, "best_epoch": 0}


def write_state(run_dir: Path, state: dict) -> None:
    path = Path(run_dir) / "state.json"
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def lr_schedule(base: float, kind: str, epochs: int, warmup: int):
    """Learning rate of epoch `e` (0-based): linear warm-up, then constant or cosine to 0."""

    def fn(e: int, _current=None) -> float:
        if e < warmup:
            return base * (e + 1) / warmup
        if kind == "cosine":
            t = (e - warmup) / max(1, epochs - warmup)
            return 0.5 * base * (1 + math.cos(math.pi * t))
        return base

    return fn

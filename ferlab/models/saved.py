"""Reading a saved `.keras` model: the one place that knows which of ferlab's own layers a saved
model may hold (FaceAugment), so every reader (Predict, `ferlab evaluate`, ensembles, resumed runs,
scripts) loads every model ferlab wrote, in safe mode."""

from __future__ import annotations

from pathlib import Path

import keras

from ferlab.models import layers as _layers  # noqa: F401  (registers FaceAugment for loading)


def load(path: str | Path, *, compile: bool = True) -> keras.Model:
    return keras.saving.load_model(path, safe_mode=True, compile=compile)

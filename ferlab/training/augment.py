"""The paper's augmentation as Keras preprocessing layers (active in training only)."""

from __future__ import annotations

import keras
from keras import layers


def paper_augmentation(seed: int | None = None) -> keras.Sequential:
    """Zoom 0.1, rotation +-10 degrees, width/height shift 0.1, horizontal flip."""
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(10.0 / 360.0, fill_mode="nearest", seed=seed),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed),
    ], name="augment")


def make(kind: str, seed: int | None = None) -> keras.Sequential | None:
    if kind == "none":
        return None
    if kind == "paper":
        return paper_augmentation(seed)
    raise ValueError(f"unknown augmentation {kind!r}")

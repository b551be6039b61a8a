"""Training augmentation as Keras preprocessing layers (active in training only).

- "paper": the paper's augmentation (zoom 0.1, rotation +-10 degrees, shifts 0.1, horizontal flip).
- "paper-erasing": the same, then random erasing (Zhong et al., 2017, arXiv:1708.04896): half the
  faces get one rectangle of noise covering 2-33% of each side's length squared, so the model
  cannot lean on one region (a mouth, an eye) alone. ferlab's addition, not the paper's.
- "none": no augmentation.
"""

from __future__ import annotations

import keras
from keras import layers

ERASING_PROBABILITY = 0.5
ERASING_SCALE = (0.02, 0.33)


def paper_augmentation(seed: int | None = None, erasing: bool = False) -> keras.Sequential:
    """Zoom 0.1, rotation +-10 degrees, width/height shift 0.1, horizontal flip (+ random erasing)."""
    steps = [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(10.0 / 360.0, fill_mode="nearest", seed=seed),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed),
    ]
    if erasing:
        # factor (p, p): each face is erased with probability p; grey levels stay in 0..255.
        steps.append(layers.RandomErasing(factor=(ERASING_PROBABILITY, ERASING_PROBABILITY),
                                          scale=ERASING_SCALE, value_range=(0, 255), seed=seed))
    return keras.Sequential(steps, name="augment")


def make(kind: str, seed: int | None = None) -> keras.Sequential | None:
    if kind == "none":
        return None
    if kind in ("paper", "paper-erasing"):
        return paper_augmentation(seed, erasing=kind == "paper-erasing")
    raise ValueError(f"unknown augmentation {kind!r}")

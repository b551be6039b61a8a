"""Training augmentation as Keras preprocessing layers (active in training only).

- "paper": the paper's augmentation (zoom 0.1, rotation +-10 degrees, shifts 0.1, horizontal flip).
- "paper-erasing": the same, then random erasing (Zhong et al., 2017, arXiv:1708.04896): half the
  faces get one rectangle of noise covering 2-33% of each side's length squared, so the model
  cannot lean on one region (a mouth, an eye) alone. ferlab's addition, not the paper's.
- "none": no augmentation.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

ERASING_PROBABILITY = 0.5
ERASING_SCALE = (0.02, 0.33)


def layer_seeds(seed: int | None, n: int) -> list[int | None]:
    """One seed per layer. Layers given the same seed draw the same numbers: with one seed for all,
    every flipped face was also rotated the same way, zoomed and shifted by the same fraction."""
    return [None] * n if seed is None else [seed * 16 + i for i in range(n)]


def paper_augmentation(seed: int | None = None, erasing: bool = False) -> keras.Sequential:
    """Zoom 0.1, rotation +-10 degrees, width/height shift 0.1, horizontal flip (+ random erasing)."""
    s = layer_seeds(seed, 5)
    steps = [
        layers.RandomFlip("horizontal", seed=s[0]),
        layers.RandomRotation(10.0 / 360.0, fill_mode="nearest", seed=s[1]),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=s[2]),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=s[3]),
    ]
    if erasing:
        # factor (p, p): each face is erased with probability p; grey levels stay in 0..255.
        steps.append(layers.RandomErasing(factor=(ERASING_PROBABILITY, ERASING_PROBABILITY),
                                          scale=ERASING_SCALE, value_range=(0, 255), seed=s[4]))
    return keras.Sequential(steps, name="augment")


def seed_generators(model: keras.Layer) -> list[keras.random.SeedGenerator]:
    """The random-number generators of `model`'s augmentation layers, nested models included."""
    found, todo = [], [model]
    while todo:
        layer = todo.pop()
        todo.extend(getattr(layer, "layers", []))
        generator = getattr(layer, "generator", None)
        if isinstance(generator, keras.random.SeedGenerator) and generator not in found:
            found.append(generator)
    return found


class EpochSeeds(keras.callbacks.Callback):
    """Start each epoch's augmentation draws at a point fixed by (layer seed, epoch). A generator's
    state is [seed, draws so far], and a checkpoint stores [seed, 0]: without this a resumed run
    replays epoch 1's draws, faces it has already fit, and its train accuracy jumps while val falls."""

    STRIDE = 2 ** 20        # draws an epoch may take before it reaches the next epoch's stream

    def on_epoch_begin(self, epoch, logs=None):
        for generator in seed_generators(self.model):
            state = keras.ops.convert_to_numpy(generator.state)
            generator.state.assign(np.array([state[0], epoch * self.STRIDE], dtype=state.dtype))


def make(kind: str, seed: int | None = None) -> keras.Sequential | None:
    if kind == "none":
        return None
    if kind in ("paper", "paper-erasing"):
        return paper_augmentation(seed, erasing=kind == "paper-erasing")
    raise ValueError(f"unknown augmentation {kind!r}")

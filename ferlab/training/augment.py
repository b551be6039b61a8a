"""Training augmentation (active in training only), one `FaceAugment` layer (ferlab/models/layers.py).

- "paper": the paper's augmentation (zoom 0.1, rotation +-10 degrees, shifts 0.1, horizontal flip).
- "paper-erasing": the same, then random erasing (Zhong et al., 2017, arXiv:1708.04896): half the
  faces get one rectangle of noise covering 2-33% of each side's length squared, so the model
  cannot lean on one region (a mouth, an eye) alone. ferlab's addition, not the paper's.
- "strong": wider moves (zoom 0.2, shifts 0.2, rotation +-10 degrees, horizontal flip) and the same
  random erasing, after Khaireddin & Chen (2021, arXiv:2105.03588; their code, usef-kh/fer: crops
  rescaled by 0.8-1.2 in area, shifts up to 0.2 and rotation for half the faces, flip, erasing),
  whose VGG reached 73.28% in 300 epochs (their test split is PublicTest, with ten-crop test-time
  augmentation). For long runs (150 epochs and more), where the paper's ranges let a model start
  to memorise the training faces.
- "none": no augmentation.

Runs before 2026-11-26 used Keras' RandomFlip/RandomRotation/RandomZoom/RandomTranslation/
RandomErasing layers with the same distributions (their saved models still load and resume);
`benchmarks/gpu_probe.py` times both.
"""

from __future__ import annotations

import keras
import numpy as np

from ferlab.models.layers import FaceAugment

ERASING_PROBABILITY = 0.5
ERASING_SCALE = (0.02, 0.33)


# augmentation -> (rotation in degrees, zoom, shift, random erasing probability); all flip horizontally
POLICIES = {"paper": (10.0, 0.1, 0.1, 0.0),
            "paper-erasing": (10.0, 0.1, 0.1, ERASING_PROBABILITY),
            "strong": (10.0, 0.2, 0.2, ERASING_PROBABILITY)}


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


def make(kind: str, seed: int | None = None) -> FaceAugment | None:
    if kind == "none":
        return None
    if kind not in POLICIES:
        raise ValueError(f"unknown augmentation {kind!r}")
    rotation, zoom, shift, erasing = POLICIES[kind]
    return FaceAugment(rotation=rotation, zoom=zoom, shift=shift, flip=True, erasing=erasing,
                       erasing_scale=ERASING_SCALE, seed=seed, name="augment")

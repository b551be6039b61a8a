"""What a face's label rests on: occlusion maps (Zeiler & Fergus, "Visualizing and Understanding
Convolutional Networks", 2014). A grey square hides one part of the 48x48 face at a time; where
hiding it lowers the probability of an emotion, the model relied on that part for it.

Forward passes only, one model call a face, so it works the same on every Keras backend and for any
model Predict can load (an ensemble, a model with flip TTA built in, a checkpoint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image

from ferlab.labels import CLASSES, IMAGE_SIZE

PATCH = 12    # pixels of the 48x48 face hidden at once: about an eye, the mouth, a brow
STRIDE = 6    # 7 x 7 = 49 positions: one model call of 50 faces (about 1 s for the shipped ensemble on 2 cores)
MIN_SCALE = 0.10    # a change of this much probability, or the largest among the faces shown, is drawn at full strength


@dataclass(frozen=True)
class Occlusion:
    """The model's probabilities for one face whole and with each square hidden."""
    probabilities: np.ndarray          # (7,) the whole face
    occluded: np.ndarray               # (positions, 7) each square hidden
    positions: tuple[tuple[int, int], ...]   # (row, column) of each square's top-left pixel
    patch: int

    def drop(self, target: int | str) -> np.ndarray:
        """A 48x48 map of how much `target`'s probability falls when the part of the face there is
        hidden (the mean over the squares that cover each pixel): > 0 where the model relies on that
        part for `target`, < 0 where that part speaks against it."""
        k = CLASSES.index(target) if isinstance(target, str) else int(target)
        total = np.zeros((IMAGE_SIZE, IMAGE_SIZE))
        count = np.zeros((IMAGE_SIZE, IMAGE_SIZE))
        for (r, c), p in zip(self.positions, self.occluded[:, k]):
            total[r:r + self.patch, c:c + self.patch] += self.probabilities[k] - p
            count[r:r + self.patch, c:c + self.patch] += 1
        return total / np.maximum(count, 1)


def occlude(classify: Callable[[np.ndarray], np.ndarray], faces: np.ndarray, patch: int = PATCH,
            stride: int = STRIDE) -> list[Occlusion]:
    """Occlusion of each face of an N x 48 x 48 x 1 batch of grey levels (0-255, as Predictor.crops
    gives), a square hidden under the face's own mean grey; `classify` maps such a batch to N x 7
    probabilities. One `classify` call per face."""
    if not 0 < patch <= IMAGE_SIZE or stride < 1:
        raise ValueError(f"patch must be 1-{IMAGE_SIZE} pixels and stride at least 1, not {patch} and {stride}")
    starts = list(range(0, IMAGE_SIZE - patch + 1, stride))
    if starts[-1] != IMAGE_SIZE - patch:          # the last row and column of squares reach the edge
        starts.append(IMAGE_SIZE - patch)
    positions = tuple((r, c) for r in starts for c in starts)
    out = []
    for face in faces:
        batch = np.repeat(face[None], len(positions) + 1, axis=0)
        fill = face.mean()
        for i, (r, c) in enumerate(positions, start=1):
            batch[i, r:r + patch, c:c + patch] = fill
        p = np.asarray(classify(batch), dtype=np.float64)
        out.append(Occlusion(p[0], p[1:], positions, patch))
    return out


def overlay(face: np.ndarray, drop: np.ndarray, size: int = 192, scale: float | None = None,
            smooth: float = STRIDE / 2) -> np.ndarray:
    """The face in grey with `drop` laid over it: red where the model relies on a part, blue where
    the part speaks against the emotion, stronger the larger the change (`scale`: the change drawn at
    full strength; by default the map's own largest). The map is blurred by `smooth` pixels for the
    eye, since squares one stride apart leave steps. Returns a size x size x 3 uint8 array."""
    from scipy.ndimage import gaussian_filter

    grey = np.asarray(face, dtype=np.float64).reshape(IMAGE_SIZE, IMAGE_SIZE)
    drop = gaussian_filter(np.asarray(drop, dtype=np.float64), smooth, mode="nearest") if smooth else drop
    scale = scale or float(np.abs(drop).max()) or 1.0
    strength = np.clip(drop / scale, -1, 1)
    base = np.repeat(grey[..., None], 3, axis=2)
    alpha = 0.65 * np.abs(strength)[..., None]
    colour = np.where(strength[..., None] > 0, np.array([220.0, 30, 30]), np.array([30.0, 90, 220]))
    rgb = (1 - alpha) * base + alpha * colour
    return np.asarray(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).resize((size, size),
                                                                                     Image.Resampling.BILINEAR))


def overlays(faces: np.ndarray, occlusions: list[Occlusion], targets: list[int] | None = None,
             size: int = 192) -> list[np.ndarray]:
    """Each face's map for its target emotion (by default the emotion it was called) laid over it, all
    on one scale (the largest change among them, at least MIN_SCALE): side by side, a weak map looks
    weak beside a strong one."""
    targets = [int(np.argmax(o.probabilities)) for o in occlusions] if targets is None else targets
    drops = [o.drop(k) for o, k in zip(occlusions, targets)]
    scale = max([MIN_SCALE, *(float(np.abs(d).max()) for d in drops)])
    return [overlay(face, drop, size=size, scale=scale) for face, drop in zip(faces, drops)]

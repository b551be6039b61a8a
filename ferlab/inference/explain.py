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


# Bands of rows of a 48x48 FER2013 face (aligned so that brows and eyes lie in rows 8-23, the mouth in 30-43)
BANDS = {"brows and eyes (rows 8-23)": slice(8, 24), "nose (rows 24-29)": slice(24, 30),
         "mouth (rows 30-43)": slice(30, 44)}


@dataclass(frozen=True)
class ClassMap:
    """A class's mean occlusion map over `faces` faces the model called right, and their mean face."""
    faces: int
    mean_face: np.ndarray      # 48 x 48 x 1 grey levels
    mean_drop: np.ndarray      # 48 x 48, the class's probability

    def band(self, rows: slice) -> float:
        return float(self.mean_drop[rows].mean())


def class_maps(classify: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
               per_class: int = 20, batch: int = 256) -> dict[int, ClassMap]:
    """For each class, the mean occlusion map for that class over the first `per_class` faces of
    `images` (uint8, N x 48 x 48, in their stored order) that `classify` calls right."""
    found: dict[int, list[int]] = {k: [] for k in range(len(CLASSES))}
    for start in range(0, len(images), batch):
        if all(len(v) >= per_class for v in found.values()):
            break
        predicted = np.asarray(classify(images[start:start + batch].astype("float32")[..., None])).argmax(axis=1)
        for i, p in enumerate(predicted, start):
            if p == labels[i] and len(found[int(p)]) < per_class:
                found[int(p)].append(i)
    out = {}
    for k, idx in found.items():
        if idx:
            faces = images[idx].astype("float32")[..., None]
            out[k] = ClassMap(len(idx), faces.mean(axis=0),
                              np.mean([o.drop(k) for o in occlude(classify, faces)], axis=0))
    return out


def band_table(maps: dict[int, ClassMap]) -> str:
    """A markdown table: each class's mean fall, in percentage points, in each band and over the
    whole face, and the band where it falls most."""
    lines = ["| class | faces | " + " | ".join(BANDS) + " | whole face | most in |",
             "|---|---:|" + "---:|" * (len(BANDS) + 1) + "---|"]
    for k, name in enumerate(CLASSES):
        m = maps.get(k)
        if m is None:
            lines.append(f"| {name} | 0 |" + " |" * (len(BANDS) + 2))
            continue
        bands = {b: m.band(rows) for b, rows in BANDS.items()}
        lines.append(f"| {name} | {m.faces} | " + " | ".join(f"{v * 100:.1f}" for v in bands.values())
                     + f" | {m.mean_drop.mean() * 100:.1f} | {max(bands, key=bands.get).split(' (')[0]} |")
    return "\n".join(lines)


def class_picture(maps: dict[int, ClassMap], size: int = 144) -> Image.Image:
    """Each class's mean face with its mean map over it, side by side, all on one scale (the largest
    mean change among them), named under each with its number of faces."""
    from PIL import ImageDraw, ImageFont

    scale = max(float(np.abs(m.mean_drop).max()) for m in maps.values()) or 1.0
    strip = Image.new("RGB", (size * len(maps), size + 22), "white")
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=13)
    for col, (k, m) in enumerate(sorted(maps.items())):
        strip.paste(Image.fromarray(overlay(m.mean_face, m.mean_drop, size=size, scale=scale)), (col * size, 0))
        draw.text((col * size + 4, size + 3), f"{CLASSES[k]} ({m.faces})", fill="black", font=font)
    return strip

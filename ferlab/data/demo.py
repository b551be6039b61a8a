"""The embedded default: a small, deterministic, SYNTHETIC labelled face set.

It lets someone without FER2013 launch a job and watch real curves within a minute. The faces
are drawn (an oval, eyes, brows and a mouth whose shapes follow the class), with random pose,
size, lighting and noise. Results on it say nothing about FER2013 and are never ranked with them.
"""

from __future__ import annotations

import numpy as np

from ferlab.data.dataset import Dataset, Split
from ferlab.labels import IMAGE_SIZE, NUM_CLASSES

DEMO_NAME = "demo"
DEMO_SOURCE = "ferlab:demo-synthetic-v1"
DEMO_SIZES = {"train": 160, "val": 40, "test": 40}   # per class
DEMO_SEED = 2023

# Per class: mouth curvature (+ smile), mouth openness, brow slant (+ inner ends down = angry),
# brow height, eye openness.
_SHAPES = {
    0: (-0.3, 0.1, 0.9, 0.0, 0.8),    # angry
    1: (-0.6, 0.05, 0.4, -0.1, 0.5),  # disgust
    2: (-0.2, 0.6, -0.6, 0.35, 1.3),  # fear
    3: (0.9, 0.3, 0.0, 0.1, 0.8),     # happy
    4: (-0.8, 0.0, -0.8, 0.15, 0.7),  # sad
    5: (0.0, 1.0, 0.0, 0.5, 1.5),     # surprise
    6: (0.0, 0.0, 0.0, 0.1, 1.0),     # neutral
}


def _pixel(coordinates: np.ndarray, n: int) -> np.ndarray:
    """The pixel index of each coordinate, inside the image."""
    return np.clip(coordinates, 0, n - 1).astype(np.int64)


def _face(rng: np.random.Generator, code: int) -> np.ndarray:
    n = IMAGE_SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    cx, cy = n / 2 + rng.normal(0, 2), n / 2 + rng.normal(0, 2)
    scale = rng.uniform(0.85, 1.1)
    curve, mouth_open, slant, brow_h, eye_open = (v + rng.normal(0, 0.12) for v in _SHAPES[code])
    img = np.full((n, n), rng.uniform(30, 90), np.float32)
    skin = rng.uniform(140, 210)
    oval = ((xx - cx) / (17 * scale)) ** 2 + ((yy - cy) / (21 * scale)) ** 2 <= 1
    img[oval] = skin
    dark = skin - rng.uniform(90, 130)
    for side in (-1, 1):
        ex, ey = cx + side * 7 * scale, cy - 5 * scale
        eye = ((xx - ex) / 3.2) ** 2 + ((yy - ey) / max(0.6, 1.8 * eye_open)) ** 2 <= 1
        img[eye] = dark
        bx = np.linspace(-4, 4, 30)
        by = ey - (5 + 3 * brow_h) * scale + side * slant * bx * 0.6 * -1 * np.sign(bx) * side
        img[_pixel(by, n), _pixel(ex + bx * scale, n)] = dark
    mx = np.linspace(-7, 7, 60)
    my = cy + 10 * scale - curve * (1 - (mx / 7) ** 2) * 3
    rows, columns = _pixel(my, n), _pixel(cx + mx * scale, n)
    for down in range(int(1 + mouth_open * 4)):      # the mouth's height in pixels (none when shut)
        inside = rows + down < n
        img[rows[inside] + down, columns[inside]] = dark
    img = img * rng.uniform(0.7, 1.2) + rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def demo_dataset(sizes: dict[str, int] | None = None, seed: int = DEMO_SEED) -> Dataset:
    """The demo set; the same arguments always give the same pixels."""
    sizes = sizes or DEMO_SIZES
    rng = np.random.default_rng(seed)
    splits = {}
    for split, per_class in sizes.items():
        labels = np.repeat(np.arange(NUM_CLASSES), per_class)
        rng.shuffle(labels)
        images = np.stack([_face(rng, int(c)) for c in labels])
        splits[split] = Split(images, labels.astype(np.int64))
    return Dataset(splits=splits, source=DEMO_SOURCE, layout="synthetic", synthetic=True, seed=seed)

"""Drawing the built-in demo set (what a new store, and every page or job that first needs it, waits
for), against the drawing it replaced: one numpy call per point of the brows and the mouth.

    .venv/bin/python benchmarks/demo_set.py [ROUNDS]     (default 3)

Both are timed in this one process, alternately, and must give the same pixels; the ratio is what to
compare across machines.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferlab.data import demo  # noqa: E402
from ferlab.labels import IMAGE_SIZE  # noqa: E402


def point_by_point_face(rng: np.random.Generator, code: int) -> np.ndarray:
    """demo._face as it was before 2026-11-28 (git show 742c0e7:ferlab/data/demo.py)."""
    n = IMAGE_SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    cx, cy = n / 2 + rng.normal(0, 2), n / 2 + rng.normal(0, 2)
    scale = rng.uniform(0.85, 1.1)
    curve, mouth_open, slant, brow_h, eye_open = (v + rng.normal(0, 0.12) for v in demo._SHAPES[code])
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
        for x0, y0 in zip(ex + bx * scale, by):
            img[int(np.clip(y0, 0, n - 1)), int(np.clip(x0, 0, n - 1))] = dark
    mx = np.linspace(-7, 7, 60)
    my = cy + 10 * scale - curve * (1 - (mx / 7) ** 2) * 3
    for x0, y0 in zip(cx + mx * scale, my):
        h = int(1 + mouth_open * 4)
        y0 = int(np.clip(y0, 0, n - 1))
        img[y0:min(n, y0 + h), int(np.clip(x0, 0, n - 1))] = dark
    img = img * rng.uniform(0.7, 1.2) + rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def timed(draw) -> tuple[float, list[np.ndarray]]:
    with mock.patch.object(demo, "_face", draw):
        start = time.process_time()
        data = demo.demo_dataset()
        return time.process_time() - start, [data[s].images for s in ("train", "val", "test")]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    now, before = [], []
    for _ in range(rounds):
        seconds, ours = timed(demo._face)
        now.append(seconds)
        seconds, theirs = timed(point_by_point_face)
        before.append(seconds)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs)), "the two drawings differ"
    faces = sum(len(images) for images in ours)
    print(f"demo set: {faces:,} faces of {IMAGE_SIZE}x{IMAGE_SIZE}, the same pixels both ways")
    print(f"point by point: {min(before):.2f} s of CPU (best of {rounds})")
    print(f"now:            {min(now):.2f} s of CPU (best of {rounds})")
    print(f"ratio before / now: {min(before) / min(now):.1f}x")


if __name__ == "__main__":
    main()

"""Builders of small FER2013 sources for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(array)
    if mode:
        im = im.convert(mode)
    im.save(path)
    return path


def make_folder_layout(root: Path, splits: dict[str, int], classes=None, rng=None, size=48) -> dict:
    """Generated faces in split/class folders; returns {split: [per-class count]}."""
    from ferlab.labels import CLASSES

    rng = rng or np.random.default_rng(0)
    classes = classes or CLASSES
    counts = {}
    for split, per_class in splits.items():
        counts[split] = []
        for cls in classes:
            for i in range(per_class):
                arr = rng.integers(0, 256, (size, size), dtype=np.uint8)
                write_png(root / split / cls / f"{split}_{cls}_{i}.png", arr)
            counts[split].append(per_class)
    return counts


def make_csv(path: Path, rows: list[tuple[int, np.ndarray | str, str]]) -> Path:
    lines = ["emotion,pixels,Usage"]
    for label, pixels, usage in rows:
        text = pixels if isinstance(pixels, str) else " ".join(map(str, pixels.reshape(-1)))
        lines.append(f"{label},{text},{usage}")
    path.write_text("\n".join(lines) + "\n")
    return path

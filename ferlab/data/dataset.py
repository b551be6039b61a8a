"""The Dataset value every reader returns, the stratified val split and the .npz cache."""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferlab.labels import CLASSES, IMAGE_SIZE, NUM_CLASSES

SPLITS = ("train", "val", "test")


class DataError(Exception):
    """A problem with input data; the message says which file or line and what to do."""


@dataclass(frozen=True)
class Problem:
    """One skipped item: where it is and why it was skipped."""

    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8, N x 48 x 48
    labels: np.ndarray  # int64, N, FER2013 codes 0..6

    def __post_init__(self):
        if self.images.dtype != np.uint8 or self.images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must be uint8 N x 48 x 48, got {self.images.dtype} {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise ValueError("images and labels differ in length")

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=NUM_CLASSES).astype(int).tolist()


@dataclass(frozen=True)
class Dataset:
    """Images by split, with where they came from and what was skipped while reading."""

    splits: dict[str, Split]
    source: str
    layout: str
    synthetic: bool = False
    val_from_train: bool = False
    val_fraction: float = 0.0
    seed: int = 0
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    def __getitem__(self, split: str) -> Split:
        """One split by name; "all": every face of every split, as one."""
        if split == "all" and self.splits:
            parts = list(self.splits.values())
            return Split(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))
        if split not in self.splits:
            have = ", ".join(self.splits) or "none"
            raise KeyError(f"this data set has no {split!r} split (it has: {have})")
        return self.splits[split]

    def skipped_note(self, most: int = 3) -> str:
        """'' when every item of the source was read; else one line for a log or stderr saying how
        many items were skipped and why (the first `most`), since every figure then counts only
        the faces read. An imported data set said so at import and carries no problems here."""
        if not self.problems:
            return ""
        first = "; ".join(str(p) for p in self.problems[:most])
        more = f"; and {len(self.problems) - most:,} more" if len(self.problems) > most else ""
        return (f"skipped {len(self.problems):,} item(s) of {self.source} that could not be read ({first}{more}); "
                f"the figures count only the {self.total():,} faces read. `ferlab data import` lists them all")

    def counts(self) -> dict[str, list[int]]:
        return {name: self.splits[name].class_counts() for name in SPLITS if name in self.splits}

    def total(self) -> int:
        return sum(len(s) for s in self.splits.values())

    def eval_split(self) -> str:
        """The split to report accuracy on: test, else val."""
        for name in ("test", "val"):
            if name in self.splits:
                return name
        raise DataError("this data set has neither a test nor a val split to evaluate on")


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of a deterministic, per-class share of `labels` (the held-out part)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"val fraction must be between 0 and 1, got {fraction}")
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for code in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == code)
        n = int(round(len(idx) * fraction))
        if len(idx) > 1 and n == 0:
            n = 1
        mask[rng.permutation(idx)[:n]] = True
    return mask


def with_val_from_train(splits: dict[str, Split], fraction: float, seed: int) -> tuple[dict[str, Split], bool]:
    """Carve val out of train when a layout has none. Returns the splits and whether it did."""
    if "val" in splits or "train" not in splits or fraction <= 0:
        return splits, False
    train = splits["train"]
    held = stratified_holdout(train.labels, fraction, seed)
    out = dict(splits)
    out["train"] = Split(train.images[~held], train.labels[~held])
    out["val"] = Split(train.images[held], train.labels[held])
    return out, True


def save_npz(dataset: Dataset, path: Path) -> None:
    """Write the arrays atomically: a crash never leaves a partial cache file at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, split in dataset.splits.items():
        arrays[f"{name}_images"] = split.images
        arrays[f"{name}_labels"] = split.labels.astype(np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.part")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_splits(path: Path, only: tuple[str, ...] = SPLITS) -> dict[str, Split]:
    """The cached splits (those of `only` alone: an npz reads each array on demand); the path comes
    from catalog.cache_file, which says what to do where the file is gone."""
    with np.load(path) as z:
        return {name: Split(z[f"{name}_images"], z[f"{name}_labels"].astype(np.int64))
                for name in only if f"{name}_images" in z.files}


def describe_counts(counts: dict[str, list[int]]) -> str:
    """A small text table: one row per class, one column per split."""
    names = [s for s in SPLITS if s in counts]
    lines = [f"{'class':<10}" + "".join(f"{n:>8}" for n in names)]
    for code, cls in enumerate(CLASSES):
        lines.append(f"{cls:<10}" + "".join(f"{counts[n][code]:>8,}" for n in names))
    lines.append(f"{'total':<10}" + "".join(f"{sum(counts[n]):>8,}" for n in names))
    return "\n".join(lines)


def to_bytes(image: np.ndarray) -> bytes:
    """PNG bytes of one 48x48 face (for pages that show samples)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()

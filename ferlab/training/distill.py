"""Knowledge distillation with fixed soft targets: a trained model (an ensemble, usually) labels
every training face once, and a run fits a mix of the true label and that model's probabilities.

The teacher sees each face without augmentation (plus its mirror image), so its probabilities are
computed once per run and kept in the run's folder; a resumed run reads them back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ferlab.labels import NUM_CLASSES
from ferlab.models.ensemble import read_model
from ferlab.training.evaluate import predict_proba

TEACHER_FILE = "teacher.npy"


def teacher_probabilities(path: Path, images: np.ndarray, run_dir: Path) -> np.ndarray:
    """The teacher at `path`'s class probabilities (flip test-time augmentation) for `images`."""
    cache = run_dir / TEACHER_FILE
    if cache.is_file():
        kept = np.load(cache)
        if kept.shape == (len(images), NUM_CLASSES):
            return kept
    teacher = read_model(path, f"cannot learn from {path}")
    if tuple(teacher.output_shape)[1:] != (NUM_CLASSES,):
        raise ValueError(f"cannot learn from {path}: it predicts {teacher.output_shape[1:]} values per face, "
                         f"not the {NUM_CLASSES} emotions")
    probabilities = predict_proba(teacher, images, tta="flip").astype("float32")
    np.save(cache, probabilities)
    return probabilities


def soft_targets(one_hot: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) x the true label + weight x the teacher's probabilities, per face."""
    return ((1.0 - weight) * one_hot + weight * teacher).astype("float32")

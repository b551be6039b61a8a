"""Accuracy, per-class precision / recall / F1 and the confusion matrix of a model on a split."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np

from ferlab.data.dataset import Split
from ferlab.labels import NUM_CLASSES
from ferlab.models.ensemble import mirrors_faces
from ferlab.training.report import EvalResult, face_record, format_report  # noqa: F401  (evaluate's results)


def as_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 N x 48 x 48 -> float32 N x 48 x 48 x 1 in grey levels (models rescale themselves)."""
    return images.astype("float32")[..., None]


# Test-time augmentation: "flip" averages each face with its mirror image (2 views); "shift" also
# with the face moved 2 pixels up, down, left and right, each mirrored too (10 views, 5x the cost).
TTA_MODES = ("flip", "shift")
SHIFTS = ((0, 0), (2, 0), (-2, 0), (0, 2), (0, -2))


def _shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """x (N x H x W x 1) moved by (dy, dx) pixels, the border repeated into the gap."""
    if not (dy or dx):
        return x
    p = max(abs(dy), abs(dx))
    padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="edge")
    h, w = x.shape[1:3]
    return padded[:, p - dy:p - dy + h, p - dx:p - dx + w]


def tta_views(x: np.ndarray, tta: bool | str) -> list[np.ndarray]:
    """The views whose predictions are averaged: x alone without TTA; True means "flip"."""
    mode = "flip" if tta is True else tta or None
    if mode is None:
        return [x]
    if mode not in TTA_MODES:
        raise ValueError(f"unknown test-time augmentation {tta!r} (choose {', '.join(TTA_MODES)})")
    shifts = SHIFTS if mode == "shift" else SHIFTS[:1]
    return [v for dy, dx in shifts for s in [_shifted(x, dy, dx)] for v in (s, s[:, :, ::-1])]


def view_probabilities(model: keras.Model, images: np.ndarray, tta: bool | str = False,
                       batch_size: int = 256) -> list[np.ndarray]:
    """The model's class probabilities for each test-time view of the faces (tta_views' order); for
    a model that averages each face with its mirror image itself, the unmirrored views alone (the
    mirrored ones would give the same probabilities again)."""
    views = tta_views(as_model_input(images), tta)
    if len(views) > 1 and mirrors_faces(model):
        views = views[::2]
    return [np.asarray(model.predict(v, batch_size=batch_size, verbose=0), dtype=np.float64) for v in views]


def predict_proba(model: keras.Model, images: np.ndarray, tta: bool | str = False, batch_size: int = 256) -> np.ndarray:
    views = view_probabilities(model, images, tta, batch_size)
    return sum(views) / len(views)


def metrics_from_predictions(labels: np.ndarray, predicted: np.ndarray, tta: bool | str = False) -> EvalResult:
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(cm, (labels, predicted), 1)
    tp = np.diag(cm).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=0))
        recall = np.nan_to_num(tp / cm.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return EvalResult(accuracy=float(tp.sum() / max(1, len(labels))), n=int(len(labels)),
                      precision=precision.round(4).tolist(), recall=recall.round(4).tolist(),
                      f1=f1.round(4).tolist(), confusion=cm.tolist(), tta=tta)


def evaluate(model: keras.Model, split: Split, tta: bool | str = False) -> EvalResult:
    predicted = predict_proba(model, split.images, tta=tta).argmax(axis=1)
    return metrics_from_predictions(split.labels, predicted, tta=tta)


def evaluate_with_faces(model: keras.Model, split: Split, batch_size: int = 256) -> tuple[EvalResult, EvalResult, dict]:
    """evaluate(model, split) and evaluate(model, split, tta=True) from two passes, not three (the
    plain view's predictions are the first half of the flip average; one pass, and the same figure
    twice, for a model that mirrors faces itself), and the plain view's face record (face_record)."""
    views = view_probabilities(model, split.images, "flip", batch_size)
    return (metrics_from_predictions(split.labels, views[0].argmax(axis=1)),
            metrics_from_predictions(split.labels, (sum(views) / len(views)).argmax(axis=1), tta=True),
            face_record(split.images, split.labels, views[0]))


def evaluate_plain_and_flip(model: keras.Model, split: Split, batch_size: int = 256) -> tuple[EvalResult, EvalResult]:
    plain, flipped, _ = evaluate_with_faces(model, split, batch_size)
    return plain, flipped


@dataclass(frozen=True)
class Paired:
    """Two models on the same faces: is the gap between them more than the split's noise?"""
    accuracy: float              # this model's
    other_accuracy: float
    only_this: int               # faces this model gets right and the other wrong
    only_other: int
    standard_error: float        # of the difference in accuracy, paired face by face
    p_value: float               # exact McNemar test (two-sided binomial on the faces they disagree on)

    @property
    def difference(self) -> float:
        return self.accuracy - self.other_accuracy

    def to_dict(self) -> dict:
        return {**asdict(self), "difference": self.difference}


def paired(labels: np.ndarray, predicted: np.ndarray, other: np.ndarray) -> Paired:
    from scipy.stats import binomtest

    right, other_right = predicted == labels, other == labels
    d = right.astype(float) - other_right.astype(float)
    only_this, only_other = int((d > 0).sum()), int((d < 0).sum())
    disagree = only_this + only_other
    return Paired(float(right.mean()), float(other_right.mean()), only_this, only_other,
                  float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan"),
                  float(binomtest(only_this, disagree).pvalue) if disagree else 1.0)

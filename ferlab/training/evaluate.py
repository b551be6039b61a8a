"""Accuracy, per-class precision / recall / F1 and the confusion matrix of a model on a split."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np

from ferlab.data.dataset import Split
from ferlab.labels import CLASSES, NUM_CLASSES


@dataclass(frozen=True)
class EvalResult:
    accuracy: float
    n: int
    precision: list[float]
    recall: list[float]
    f1: list[float]
    confusion: list[list[int]]   # rows: true class, columns: predicted class
    tta: bool

    @property
    def macro_f1(self) -> float:
        return float(np.mean(self.f1))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["macro_f1"] = self.macro_f1
        d["classes"] = list(CLASSES)
        return d


def as_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 N x 48 x 48 -> float32 N x 48 x 48 x 1 in grey levels (models rescale themselves)."""
    return images.astype("float32")[..., None]


def predict_proba(model: keras.Model, images: np.ndarray, tta: bool = False, batch_size: int = 256) -> np.ndarray:
    x = as_model_input(images)
    p = model.predict(x, batch_size=batch_size, verbose=0)
    if tta:
        p = (p + model.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2.0
    return np.asarray(p, dtype=np.float64)


def metrics_from_predictions(labels: np.ndarray, predicted: np.ndarray, tta: bool = False) -> EvalResult:
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


def evaluate(model: keras.Model, split: Split, tta: bool = False) -> EvalResult:
    predicted = predict_proba(model, split.images, tta=tta).argmax(axis=1)
    return metrics_from_predictions(split.labels, predicted, tta=tta)


def format_report(result: EvalResult) -> str:
    lines = [f"accuracy {result.accuracy:.4f} on {result.n:,} images"
             f"{' (flip test-time augmentation)' if result.tta else ''}; macro F1 {result.macro_f1:.4f}",
             "", f"{'class':<10}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    support = [sum(row) for row in result.confusion]
    for i, cls in enumerate(CLASSES):
        lines.append(f"{cls:<10}{result.precision[i]:>10.3f}{result.recall[i]:>8.3f}"
                     f"{result.f1[i]:>8.3f}{support[i]:>9,}")
    lines += ["", "confusion matrix (rows: true, columns: predicted)",
              " " * 10 + "".join(f"{c[:7]:>8}" for c in CLASSES)]
    for i, cls in enumerate(CLASSES):
        lines.append(f"{cls:<10}" + "".join(f"{v:>8,}" for v in result.confusion[i]))
    return "\n".join(lines)

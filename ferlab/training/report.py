"""What an evaluation found, and its text report: plain values, no Keras (the store's records of
finished runs are read back into these without loading a model)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields

import numpy as np

from ferlab.labels import CLASSES


@dataclass(frozen=True)
class EvalResult:
    accuracy: float
    n: int
    precision: list[float]
    recall: list[float]
    f1: list[float]
    confusion: list[list[int]]   # rows: true class, columns: predicted class
    tta: bool | str              # False, or the test-time augmentation: "flip" (True in older records), "shift"

    @property
    def macro_f1(self) -> float:
        return float(np.mean(self.f1))

    @classmethod
    def from_dict(cls, d: dict) -> EvalResult:
        """A result as to_dict() stored it (the store's evaluations)."""
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name != "tta"}, tta=d.get("tta", False))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["macro_f1"] = self.macro_f1
        d["classes"] = list(CLASSES)
        return d


TTA_WORDS = {True: " (flip test-time augmentation)", "flip": " (flip test-time augmentation)",
             "shift": " (flip + shift test-time augmentation, 10 views)"}


def format_report(result: EvalResult) -> str:
    lines = [f"accuracy {result.accuracy:.4f} on {result.n:,} images"
             f"{TTA_WORDS.get(result.tta, '')}; macro F1 {result.macro_f1:.4f}",
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


def labels_digest(labels) -> str:
    """A short fingerprint of a split's labels, face by face: whether a data set read later holds the
    faces an evaluation was made on, in the same order."""
    return hashlib.sha256(np.asarray(labels, dtype=np.uint8).tobytes()).hexdigest()[:16]


def face_record(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """What a model said of each face of a split, stored with its evaluation (about 3 bytes a face):
    the predicted class as one digit a face, its probability in whole percent (00-99, 99 for 99% and
    more) as two, and the labels' digest."""
    predicted = np.asarray(probabilities).argmax(axis=1)
    percent = np.minimum(99, np.floor(np.round(np.asarray(probabilities).max(axis=1) * 100, 6))).astype(int)
    return {"predicted": "".join(map(str, predicted.tolist())),
            "confidence": "".join(f"{p:02d}" for p in percent.tolist()), "labels": labels_digest(labels)}


@dataclass(frozen=True)
class Faces:
    """A stored face record read back: predicted class and confidence (percent) per face."""
    predicted: np.ndarray
    confidence: np.ndarray
    labels: str

    @classmethod
    def from_dict(cls, d) -> Faces | None:
        """None where an evaluation stored no record (older runs, shipped reference runs)."""
        if not isinstance(d, dict) or not d.get("predicted"):
            return None
        predicted = np.frombuffer(d["predicted"].encode(), dtype=np.uint8) - ord("0")
        digits = np.frombuffer(d["confidence"].encode(), dtype=np.uint8) - ord("0")
        return cls(predicted.astype(np.int64), (digits[0::2] * 10 + digits[1::2]).astype(np.int64), d["labels"])

    def matches(self, labels: np.ndarray) -> bool:
        return len(labels) == len(self.predicted) and labels_digest(labels) == self.labels

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


def canonical_order(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, str]:
    """An order of a split's faces that does not depend on how its source lists them (by each face's
    pixels, then its label), and a digest of the faces and labels in that order: FER2013 read from
    the Kaggle CSV or from image folders gives the same faces in other orders, and the same digest."""
    flat = np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), -1)
    keys = [hashlib.blake2b(row.tobytes(), digest_size=8).digest() + bytes([int(label)])
            for row, label in zip(flat, np.asarray(labels))]
    order = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
    return order, hashlib.sha256(b"".join(keys[i] for i in order)).hexdigest()[:16]


def face_record(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """What a model said of each face of a split, stored with its evaluation (about 3 bytes a face):
    the predicted class as one digit a face and its probability in whole percent (00-99, 99 for 99%
    and more) as two, in canonical_order, with that order's digest."""
    order, digest = canonical_order(images, labels)
    probabilities = np.asarray(probabilities)[order]
    predicted = probabilities.argmax(axis=1)
    percent = np.minimum(99, np.floor(np.round(probabilities.max(axis=1) * 100, 6))).astype(int)
    return {"predicted": "".join(map(str, predicted.tolist())),
            "confidence": "".join(f"{p:02d}" for p in percent.tolist()), "digest": digest}


@dataclass(frozen=True)
class Faces:
    """A stored face record read back: predicted class and confidence (percent) per face, in the
    canonical order until aligned() puts them in a split's own."""
    predicted: np.ndarray
    confidence: np.ndarray
    digest: str

    @classmethod
    def from_dict(cls, d) -> Faces | None:
        """None where an evaluation stored no record (older runs, shipped reference runs)."""
        if not isinstance(d, dict) or not d.get("predicted") or "digest" not in d:
            return None
        predicted = np.frombuffer(d["predicted"].encode(), dtype=np.uint8) - ord("0")
        digits = np.frombuffer(d["confidence"].encode(), dtype=np.uint8) - ord("0")
        return cls(predicted.astype(np.int64), (digits[0::2] * 10 + digits[1::2]).astype(np.int64), d["digest"])

    def aligned(self, images: np.ndarray, labels: np.ndarray) -> Faces | None:
        """The record face by face in this split's order; None where the split does not hold the
        faces and labels it was made on."""
        if len(labels) != len(self.predicted):
            return None
        order, digest = canonical_order(images, labels)
        if digest != self.digest:
            return None
        predicted, confidence = np.empty_like(self.predicted), np.empty_like(self.confidence)
        predicted[order], confidence[order] = self.predicted, self.confidence
        return Faces(predicted, confidence, digest)

"""Emotions of every face in an image: detect, crop square with a margin, 48x48 grey, one model
call for all faces (and their mirror images with test-time augmentation)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ferlab.inference.detect import DEFAULT_DETECTOR, Box, detect
from ferlab.labels import CLASSES, IMAGE_SIZE

MARGIN = 0.1  # FER2013 crops are tight; a small margin around detector boxes matches them best


@dataclass(frozen=True)
class FacePrediction:
    box: Box
    probabilities: tuple[float, ...]   # FER2013 order

    @property
    def label(self) -> str:
        return CLASSES[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return float(max(self.probabilities))

    def to_dict(self) -> dict:
        return {"box": [self.box.x, self.box.y, self.box.w, self.box.h], "label": self.label,
                "confidence": round(self.confidence, 4),
                "probabilities": {c: round(float(p), 4) for c, p in zip(CLASSES, self.probabilities)}}


TABLE_COLUMNS = ("photo", "face", "x", "y", "width", "height", "whole image", "label", "confidence", *CLASSES)


def table_rows(photo: str, faces: list[FacePrediction], whole: bool = False) -> list[dict]:
    """One flat row per face of a photo (Predict's CSV download, `ferlab predict --csv`): the face's
    number on it, its box in pixels, the label and every class's probability."""
    return [{"photo": photo, "face": i, "x": f.box.x, "y": f.box.y, "width": f.box.w, "height": f.box.h,
             "whole image": whole, "label": f.label, "confidence": round(f.confidence, 4),
             **{c: round(float(p), 4) for c, p in zip(CLASSES, f.probabilities)}}
            for i, f in enumerate(faces, 1)]


def crops(gray: np.ndarray, boxes: list[Box], margin: float = MARGIN) -> np.ndarray:
    """Square crops around `boxes`, as an N x 48 x 48 x 1 float32 batch of grey levels."""
    h, w = gray.shape
    out = np.empty((len(boxes), IMAGE_SIZE, IMAGE_SIZE, 1), dtype="float32")
    for i, box in enumerate(boxes):
        sq = box.square(margin, w, h)
        face = Image.fromarray(gray[sq.y:sq.y + sq.h, sq.x:sq.x + sq.w]).resize((IMAGE_SIZE, IMAGE_SIZE),
                                                                              Image.Resampling.BILINEAR)
        out[i, :, :, 0] = np.asarray(face, dtype="float32")
    return out


def batch_size(faces: int) -> int:
    """The batch `faces` faces are classified in when padded: the next power of two, so that a backend
    that compiles one program per input shape (JAX) meets a handful of shapes, not one per face count."""
    return 1 << max(faces - 1, 0).bit_length()


class Predictor:
    def __init__(self, model_path: str | Path, detector: str = DEFAULT_DETECTOR, tta: bool = False):
        from ferlab.models.ensemble import mirrors_faces
        from ferlab.models.saved import load

        self.model_path = Path(model_path)
        if not self.model_path.exists():
            raise FileNotFoundError(f"model {self.model_path} does not exist")
        # float32 whatever the model was trained in: one frame's faces gain nothing from mixed precision,
        # and bfloat16/float16 run slower than float32 on most CPUs
        self.model = load(self.model_path, compute="float32")
        # a model that averages each face with its mirror image itself gains nothing from flip TTA
        self.mirrors = mirrors_faces(self.model)
        self.detector, self.tta = detector, tta and not self.mirrors

    def classify(self, batch: np.ndarray, pad: bool = False) -> np.ndarray:
        """Probabilities for an N x 48 x 48 x 1 batch, in one model call. `pad`: run the model on the
        batch padded with blank faces to the next power of two (see `batch_size`)."""
        n = len(batch)
        if n == 0:
            return np.zeros((0, len(CLASSES)))
        if pad:
            batch = np.concatenate([batch, np.zeros((batch_size(n) - n, *batch.shape[1:]), dtype=batch.dtype)])
        x = np.concatenate([batch, batch[:, :, ::-1]]) if self.tta else batch
        # predict_on_batch runs the compiled predict step: ~7x faster than an eager call per frame
        p = np.asarray(self.model.predict_on_batch(x), dtype=np.float64)
        return ((p[:len(batch)] + p[len(batch):]) / 2 if self.tta else p)[:n]

    def predict_gray(self, gray: np.ndarray, boxes: list[Box] | None = None, pad: bool = False) -> list[FacePrediction]:
        boxes = detect(gray, self.detector) if boxes is None else boxes
        probs = self.classify(crops(gray, boxes), pad=pad)
        return [FacePrediction(b, tuple(map(float, p))) for b, p in zip(boxes, probs)]

    def predict_image(self, image) -> list[FacePrediction]:
        """Every face in `image` (PIL image or uint8 array, grey or RGB)."""
        gray = np.asarray(image.convert("L")) if isinstance(image, Image.Image) else _to_gray(image)
        return self.predict_gray(gray)

    def predict_whole(self, image) -> FacePrediction:
        """The whole image as one face (when no face is found and the user asks for it)."""
        gray = np.asarray(image.convert("L")) if isinstance(image, Image.Image) else _to_gray(image)
        h, w = gray.shape
        return self.predict_gray(gray, [Box(0, 0, w, h)])[0]


def _to_gray(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        return array.astype(np.uint8)
    return np.asarray(Image.fromarray(array.astype(np.uint8)).convert("L"))

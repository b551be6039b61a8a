"""Face detection: OpenCV's Haar cascade (bundled with opencv-python-headless 4.x) and dlib's
HOG and CNN detectors (dlib-bin; the CNN's weights ship in face-recognition-models). All work
offline. See docs/face-detection.md for the comparison behind the default."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

DETECTORS = ("haar", "hog", "cnn")
DEFAULT_DETECTOR = "hog"


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px <= self.x + self.w and self.y <= py <= self.y + self.h

    def square(self, margin: float, width: int, height: int) -> "Box":
        """A square around the box, grown by `margin` of its side, kept inside the image."""
        side = int(round(max(self.w, self.h) * (1 + 2 * margin)))
        side = min(side, width, height)
        cx, cy = self.x + self.w / 2, self.y + self.h / 2
        x = int(round(min(max(cx - side / 2, 0), width - side)))
        y = int(round(min(max(cy - side / 2, 0), height - side)))
        return Box(x, y, side, side)


@lru_cache(maxsize=1)
def _haar():
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's Haar cascade file is missing; install opencv-python-headless 4.x")
    return cascade


@lru_cache(maxsize=1)
def _hog():
    import dlib

    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _cnn():
    import dlib
    import face_recognition_models

    return dlib.cnn_face_detection_model_v1(face_recognition_models.cnn_face_detector_model_location())


def detect(gray: np.ndarray, detector: str = DEFAULT_DETECTOR, min_size: int = 24,
           scale_factor: float = 1.1) -> list[Box]:
    """Faces in a uint8 grayscale image, largest first. `scale_factor` (Haar only): the step
    between searched face sizes; 1.2 is coarser and about twice as fast, for video."""
    if detector == "haar":
        found = _haar().detectMultiScale(gray, scaleFactor=scale_factor, minNeighbors=5, minSize=(min_size, min_size))
        boxes = [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in found]
    elif detector in ("hog", "cnn"):
        # dlib finds faces of about 80 px and up; upsample small images once
        upsample = 1 if min(gray.shape) < 1200 else 0
        rects = _hog()(gray, upsample) if detector == "hog" else [d.rect for d in _cnn()(gray, upsample)]
        h, w = gray.shape
        boxes = []
        for r in rects:
            x0, y0 = max(0, r.left()), max(0, r.top())
            x1, y1 = min(w, r.right()), min(h, r.bottom())
            if x1 - x0 >= min_size and y1 - y0 >= min_size:
                boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    else:
        raise ValueError(f"unknown detector {detector!r} (choose {', '.join(DETECTORS)})")
    return sorted(boxes, key=lambda b: -b.w * b.h)

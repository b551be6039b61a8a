"""Live video: detect on a downscaled frame, classify every face in one call, smooth each face's
probabilities over a few frames, draw, and keep a frames-per-second figure and the last frame (a
still to look at closer). No streamlit here: the Predict page hands `callback` to
streamlit-webrtc, which drops frames while this is busy."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ferlab.inference.detect import Box, detect
from ferlab.inference.draw import annotate
from ferlab.inference.predictor import FacePrediction, Predictor


@dataclass(frozen=True)
class Still:
    """A frame as processed: its pixels (RGB and grey) and the face boxes found in it."""
    rgb: np.ndarray
    gray: np.ndarray
    boxes: tuple[Box, ...]


@dataclass
class _Track:
    centre: tuple[float, float]
    size: float
    probs: np.ndarray
    seen: int


class FrameProcessor:
    def __init__(self, predictor: Predictor, detector: str = "haar", detect_width: int = 320,
                 smoothing: float = 0.6):
        self.predictor, self.detector = predictor, detector
        self.detect_width, self.smoothing = detect_width, smoothing
        self._tracks: list[_Track] = []
        self._times: deque[float] = deque(maxlen=30)
        self._lock = threading.Lock()
        self._still: Still | None = None
        self.frames = 0
        # compile the model's predict step now, not on the first video frame
        self.predictor.classify(np.zeros((1, 48, 48, 1), dtype="float32"))

    @property
    def fps(self) -> float:
        with self._lock:
            if len(self._times) < 2:
                return 0.0
            return (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-6)

    def _boxes(self, gray: np.ndarray) -> list[Box]:
        h, w = gray.shape
        scale = min(1.0, self.detect_width / w)
        if scale < 1.0:
            from PIL import Image

            small = np.asarray(Image.fromarray(gray).resize((int(w * scale), int(h * scale))))
        else:
            small = gray
        boxes = detect(small, self.detector, min_size=30, scale_factor=1.2)
        return [Box(int(b.x / scale), int(b.y / scale), int(b.w / scale), int(b.h / scale)) for b in boxes]

    def _smooth(self, faces: list[FacePrediction]) -> list[FacePrediction]:
        out, tracks = [], []
        for f in faces:
            c = (f.box.x + f.box.w / 2, f.box.y + f.box.h / 2)
            p = np.asarray(f.probabilities)
            near = [t for t in self._tracks if np.hypot(t.centre[0] - c[0], t.centre[1] - c[1]) < 0.5 * max(t.size, f.box.w)]
            if near:
                p = self.smoothing * near[0].probs + (1 - self.smoothing) * p
                self._tracks.remove(near[0])
            tracks.append(_Track(c, f.box.w, p, 0))
            out.append(FacePrediction(f.box, tuple(map(float, p))))
        self._tracks = tracks
        return out

    def still(self) -> Still | None:
        """The last frame processed; None before the first."""
        with self._lock:
            return self._still

    def process_rgb(self, rgb: np.ndarray) -> np.ndarray:
        gray = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.uint8)
        boxes = self._boxes(gray)
        faces = self._smooth(self.predictor.predict_gray(gray, boxes))
        with self._lock:
            self._times.append(time.monotonic())
            self.frames += 1
            self._still = Still(rgb, gray, tuple(boxes))     # annotate draws on a copy: rgb stays as it came
        return annotate(rgb, faces)

    def callback(self, frame):
        """streamlit-webrtc's video_frame_callback: av.VideoFrame in, annotated frame out."""
        import av

        out = self.process_rgb(frame.to_ndarray(format="rgb24"))
        return av.VideoFrame.from_ndarray(out, format="rgb24")

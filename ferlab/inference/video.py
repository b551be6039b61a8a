"""Live video: detect on a downscaled frame, classify every face in one call, smooth each face's
probabilities over a few frames, draw, and keep a frames-per-second figure and the last frame (a
still to look at closer). No streamlit here: the Predict page hands `callback` to streamlit-webrtc.

streamlit-webrtc stops processing a stream for good, and silently, once one call of the callback
takes over 10 s, which a busy machine reaches (`benchmarks/video_callback.py --busy K` times a
frame's labelling beside K busy loops). So the callback never waits for the model: it hands the
frame to a labelling thread when that is free, drops it for labelling when not, and draws the latest
labels on every frame it passes on."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ferlab.inference.detect import Box, detect
from ferlab.inference.draw import annotate
from ferlab.inference.predictor import FacePrediction, Predictor
from ferlab.labels import IMAGE_SIZE

logger = logging.getLogger(__name__)
IDLE_S = 5.0        # the labelling thread ends after this long without a frame; the next frame starts one


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
        self._faces: list[FacePrediction] = []     # the latest labels, drawn on every frame passed on
        self._pending: np.ndarray | None = None    # the newest frame waiting for the labelling thread
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self.frames = self.failed = 0
        self.error: str | None = None            # the last frame that could not be labelled: why
        self.error_at: float | None = None       # and when (time.monotonic())
        self._warm()

    def _warm(self) -> None:
        """Compile the predict step for frames of up to four faces and load the detector now, so that
        the first labels come without a compile (TensorFlow traces batch sizes 1 and 2, then one
        general shape; JAX compiles each of 1, 2 and 4)."""
        for n in (1, 2, 4):
            self.predictor.classify(np.zeros((n, IMAGE_SIZE, IMAGE_SIZE, 1), dtype="float32"), pad=True)
        self._boxes(np.zeros((240, 320), dtype=np.uint8))

    @property
    def last_at(self) -> float | None:
        """time.monotonic() of the last frame labelled; None before the first."""
        with self._lock:
            return self._times[-1] if self._times else None

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

    def _classify(self, gray: np.ndarray, boxes: list[Box]) -> list[FacePrediction]:
        return self.predictor.predict_gray(gray, boxes, pad=True)     # batches of 1, 2, 4, 8... faces

    def still(self) -> Still | None:
        """The last frame processed; None before the first."""
        with self._lock:
            return self._still

    def process_rgb(self, rgb: np.ndarray) -> np.ndarray:
        """Label `rgb` now, in this thread, and return it with its labels drawn."""
        return annotate(rgb, self._label(rgb))

    def _label(self, rgb: np.ndarray) -> list[FacePrediction]:
        gray = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.uint8)
        boxes = self._boxes(gray)
        faces = self._smooth(self._classify(gray, boxes))
        with self._lock:
            self._times.append(time.monotonic())
            self.frames += 1
            self._still = Still(rgb, gray, tuple(boxes))     # annotate draws on a copy: rgb stays as it came
            self._faces = faces
        return faces

    def submit(self, rgb: np.ndarray) -> None:
        """Queue `rgb` for labelling, in place of any frame still waiting; never waits for the model."""
        with self._lock:
            self._pending = rgb
            if self._thread is None:
                self._thread = threading.Thread(target=self._label_frames, name="ferlab-video-labels", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _label_frames(self) -> None:
        while True:
            with self._lock:
                if self._pending is None:
                    self._wake.wait(IDLE_S)
                if self._pending is None:        # no video for a while: end; submit starts another
                    self._thread = None
                    return
                rgb, self._pending = self._pending, None
            try:
                self._label(rgb)
            except Exception as exc:             # the video goes on unlabelled, and the page says why
                logger.exception("a video frame could not be labelled")
                with self._lock:
                    self.failed += 1
                    self.error, self.error_at = f"{type(exc).__name__}: {exc}", time.monotonic()
                    self._faces = []

    def callback(self, frame):
        """streamlit-webrtc's video_frame_callback: av.VideoFrame in, the same frame with the latest
        labels drawn on it out."""
        import av

        rgb = frame.to_ndarray(format="rgb24")
        self.submit(rgb)
        with self._lock:
            faces = self._faces
        return av.VideoFrame.from_ndarray(annotate(rgb, faces) if faces else rgb, format="rgb24")

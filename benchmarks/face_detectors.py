"""Compare face detectors on ../shared/photos (faces counted by eye) and on FER2013 faces pasted
into larger scenes: recall, false positives and milliseconds per image.

    .venv/bin/python benchmarks/face_detectors.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ferlab.inference.detect import DETECTORS, detect  # noqa: E402

SHARED = REPO.parent / "shared"
# Face centres marked by eye (x, y); every visible, roughly frontal face.
PHOTO_FACES = {
    "bbt1.jpg": [(258, 195), (523, 235), (773, 200), (1045, 150)],
    "bbt2.jpg": [(130, 165), (430, 160), (22, 105)],
    "bbt4.jpg": [(120, 70), (280, 110), (610, 100), (95, 315), (300, 290), (515, 230)],
}


def pasted_scenes(n_scenes: int = 12, seed: int = 0):
    """FER2013 val faces, scaled to 80-160 px, pasted at random spots of 640x480 scenes."""
    rng = np.random.default_rng(seed)
    files = sorted((SHARED / "fer2013" / "val").rglob("*.jpg"))
    scenes = []
    for _ in range(n_scenes):
        base = rng.integers(60, 200, (480, 640), dtype=np.uint8)
        base = np.asarray(Image.fromarray(base).resize((64, 48)).resize((640, 480), Image.Resampling.BICUBIC))
        scene = Image.fromarray(base.copy())
        centres = []
        for k in range(2):
            size = int(rng.integers(80, 161))
            face = Image.open(files[rng.integers(len(files))]).convert("L").resize((size, size))
            x = int(rng.integers(0, 320 - size)) + 320 * k
            y = int(rng.integers(0, 480 - size))
            scene.paste(face, (x, y))
            centres.append((x + size / 2, y + size / 2))
        scenes.append((np.asarray(scene), centres))
    return scenes


def score(boxes, centres):
    matched, used = 0, set()
    for cx, cy in centres:
        for i, b in enumerate(boxes):
            if i not in used and b.contains(cx, cy):
                used.add(i)
                matched += 1
                break
    return matched, len(boxes) - len(used)


def main() -> None:
    photos = [(np.asarray(Image.open(SHARED / "photos" / n).convert("L")), c) for n, c in PHOTO_FACES.items()]
    sets = {"photos (13 faces)": photos}
    if (SHARED / "fer2013" / "val").is_dir():
        sets["FER2013 faces in scenes (24 faces)"] = pasted_scenes()
    print(f"{'detector':<8}{'set':<36}{'recall':>8}{'false +':>9}{'ms/image':>10}")
    for det in DETECTORS:
        detect(photos[0][0], det)  # load the model once
        for name, items in sets.items():
            found = fp = total = 0
            times = []
            for gray, centres in items:
                t = time.perf_counter()
                boxes = detect(gray, det)
                times.append((time.perf_counter() - t) * 1000)
                m, f = score(boxes, centres)
                found, fp, total = found + m, fp + f, total + len(centres)
            print(f"{det:<8}{name:<36}{found / total:>8.2f}{fp:>9}{statistics.median(times):>10.1f}")


if __name__ == "__main__":
    main()

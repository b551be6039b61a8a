"""A model's FER2013 accuracy with plain Keras alone: an independent check of `ferlab evaluate`.

    python scripts/plain_keras_eval.py MODEL.keras ../shared/fer2013/val
    python scripts/plain_keras_eval.py MODEL.keras fer2013.csv [--usage PrivateTest|PublicTest|all]
    KERAS_BACKEND=torch python scripts/plain_keras_eval.py ...     # or jax

ferlab is never imported here (its import is blocked), and neither its readers nor its evaluation
are used: the faces are read by this file, from a folder of class folders (angry/ ... neutral/, any
case: a split of the image-folder layouts, e.g. val/ or Kaggle's test/) or from the original CSV's
rows of one Usage. So the model file has to stand on its own, under whichever backend runs it: what
a program outside ferlab, or an independent evaluation, does with it. Needs Keras 3, NumPy, and
Pillow for folders. Prints the backend, the faces read, those skipped, and the accuracy.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.modules["ferlab"] = None        # this check must not lean on ferlab: importing it fails here

import numpy as np  # noqa: E402

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")   # FER2013's label order
SIDE = 48
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}


def read_folder(root: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Faces and labels from root/<class>/*; images not 48x48 grey are made so; unreadable files skipped."""
    from PIL import Image

    faces, labels, skipped = [], [], 0
    folders = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    missing = [c for c in CLASSES if c not in folders]
    if len(missing) == len(CLASSES):
        raise SystemExit(f"{root} holds none of the class folders {', '.join(CLASSES)}")
    for label, name in enumerate(CLASSES):
        for path in sorted(folders[name].iterdir()) if name in folders else []:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(path) as image:
                    faces.append(np.asarray(image.convert("L").resize((SIDE, SIDE)), dtype=np.uint8))
                labels.append(label)
            except OSError:
                skipped += 1
    return np.stack(faces), np.array(labels), skipped


def read_csv(path: Path, usage: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Faces and labels of the rows of one Usage (`emotion,pixels,Usage`); rows that are not 2,304
    grey levels and a label from 0 to 6 are skipped."""
    faces, labels, skipped = [], [], 0
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if usage != "all" and "Usage" not in (reader.fieldnames or []):
            raise SystemExit(f"{path} has no Usage column: --usage all scores every row")
        for row in reader:
            if usage != "all" and (row.get("Usage") or "").strip() != usage:
                continue
            try:
                pixels = np.array(row["pixels"].split(), dtype=np.int64)
                label = int(row["emotion"])
            except (KeyError, ValueError, AttributeError):
                skipped += 1
                continue
            if pixels.size != SIDE * SIDE or not 0 <= label < len(CLASSES) or pixels.min() < 0 or pixels.max() > 255:
                skipped += 1
                continue
            faces.append(pixels.astype(np.uint8).reshape(SIDE, SIDE))
            labels.append(label)
    if not faces:
        raise SystemExit(f"{path} has no usable row with Usage {usage}")
    return np.stack(faces), np.array(labels), skipped


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("data", type=Path, help="a folder of class folders, or fer2013.csv")
    p.add_argument("--usage", default="PrivateTest",
                   help="the CSV rows to score: Training, PublicTest, PrivateTest (the default) or all")
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args(argv)

    if args.data.is_dir():
        faces, labels, skipped = read_folder(args.data)
    else:
        faces, labels, skipped = read_csv(args.data, args.usage)
    import keras

    model = keras.saving.load_model(args.model, compile=False)
    probabilities = model.predict(faces.astype("float32")[..., None], batch_size=args.batch_size, verbose=0)
    accuracy = float((np.asarray(probabilities).argmax(axis=1) == labels).mean())
    print(f"backend {keras.backend.backend()} (Keras {keras.__version__}); {len(labels):,} faces read, "
          f"{skipped:,} skipped; accuracy {accuracy:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

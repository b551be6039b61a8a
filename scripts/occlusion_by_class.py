"""Where a model looks for each emotion: its mean occlusion map per class over faces it gets right.

    .venv/bin/python scripts/occlusion_by_class.py [--model M.keras] [--data fer2013] [--split val] \
        [--faces 20] [--out docs/occlusion-by-class.png]

For each class, the first FACES faces of the split (in the data set's stored order) that the model
calls right; each face's map for that class is Predict's (`ferlab/inference/explain.py`: a grey
12x12 square over each part of the face in turn, how much the class's probability falls). Prints a
table of the mean fall, in percentage points, over three bands of rows of the 48x48 face, and
writes a picture: each class's mean face with its mean map over it, all on one scale.
`scripts/ship_model.py` puts the same table and picture in the model card.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="a .keras model (default: the shipped one)")
    p.add_argument("--data", default="fer2013", help="an imported data set's name, or a FER2013 path")
    p.add_argument("--split", default="val")
    p.add_argument("--faces", type=int, default=20, help="faces a class (fewer where the split has fewer right)")
    p.add_argument("--out", default=None, help="write the picture here (PNG)")
    args = p.parse_args()

    from ferlab.data.catalog import load_dataset
    from ferlab.inference.explain import band_table, class_maps, class_picture
    from ferlab.inference.models import SHIPPED
    from ferlab.inference.predictor import Predictor
    from ferlab.store import Store

    model = args.model or str(SHIPPED)
    split = load_dataset(Store(), args.data, warn=print)[args.split]
    maps = class_maps(Predictor(model).classify, split.images, split.labels, args.faces)
    print(f"{model} on {args.data} [{args.split}]: mean fall of each class's probability, in points, when a "
          f"square hides a part of the faces it gets right (the first {args.faces} of each class)\n")
    print(band_table(maps))
    if args.out and maps:
        class_picture(maps).save(args.out)
        print(f"\npicture written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

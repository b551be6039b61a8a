"""A saved model's inference in the compute dtype it was saved with against float32, on this CPU.

    .venv/bin/python benchmarks/inference_compute.py [--model ferlab/assets/ferlab-default.keras] [--faces 1024]

Loads the model as saved and with every mixed policy set to float32 (`load(compute="float32")`, as
Predict loads it), and times one `predict` (batch 256) of real FER2013 PublicTest faces for each, in this
process, after a warm-up; prints the seconds, the ratio, and how many faces get the same class from
both. Runs trained in mixed bfloat16 compute in it as saved, which is slower than float32 on CPUs
without AMX; the shipped model computes in float32 since 2026-11-26 (`scripts/ship_model.py
--compute`), so the figure in the README is of the file shipped before (`git show
3119f04:ferlab/assets/ferlab-default.keras`), whose members computed in mixed bfloat16. Run it with
the CPU otherwise idle.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ferlab.data.readers import read_folders  # noqa: E402
from ferlab.models.saved import load  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=str(REPO / "ferlab" / "assets" / "ferlab-default.keras"))
    p.add_argument("--faces", type=int, default=1024)
    args = p.parse_args()
    folders = REPO.parent / "shared" / "fer2013"
    if not (folders / "val").is_dir():
        sys.exit(f"needs FER2013 image folders at {folders}")
    x = read_folders(folders)["val"].images[: args.faces].astype("float32")[..., None]
    saved = load(args.model, compile=False)
    f32 = load(args.model, compile=False, compute="float32")     # what Predict runs
    seconds, classes = {}, {}
    for name, model in (("as saved", saved), ("float32", f32)):
        model.predict(x[:512], batch_size=256, verbose=0)
        start = time.perf_counter()
        classes[name] = model.predict(x, batch_size=256, verbose=0).argmax(axis=1)
        seconds[name] = time.perf_counter() - start
        print(f"{name:>9}: {seconds[name]:.2f} s for {len(x):,} faces")
    print(f"ratio float32 / as saved: {seconds['float32'] / seconds['as saved']:.2f}; same class for "
          f"{(classes['float32'] == classes['as saved']).mean():.2%} of the faces")


if __name__ == "__main__":
    main()

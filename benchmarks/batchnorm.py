"""Training images/s with ferlab's BatchNorm (TensorFlow's fused kernel in bfloat16) against Keras'
BatchNormalization, the layer it replaced, for the paper's 8-conv and ferlab-compact.

    .venv/bin/python benchmarks/batchnorm.py [--batches 48] [--rounds 2] [--precision mixed_bfloat16]

Each model is built twice from the same config, seed and augmentation (the paper's), once with
either layer, and fitted on the same random faces at batch 32 with its preset's optimizer; the
median batch after a warm-up of 8 is timed (benchmarks/timing.py). The two alternate for
`--rounds` rounds in this one process, and the best round of each gives the ratio ferlab / Keras.
Run it with the CPU otherwise idle. In float32 (and under JAX or PyTorch) both run Keras' own
code, so the ratio is about 1 there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

import ferlab.models.builders as builders  # noqa: E402
from benchmarks import timing  # noqa: E402
from ferlab.models import DEFAULTS  # noqa: E402
from ferlab.models.batchnorm import BatchNorm  # noqa: E402
from ferlab.training import augment  # noqa: E402
from ferlab.training.fit import compile_model  # noqa: E402
from ferlab.training.spec import PRESETS  # noqa: E402

PRESET = {"8conv": "paper-8conv-adam", "compact": "ferlab-compact"}
LAYERS = {"keras": keras.layers.BatchNormalization, "ferlab": BatchNorm}


def images_per_second(arch: str, layer: str, batches: int) -> float:
    builders.BatchNorm = LAYERS[layer]          # what build_model normalises with
    try:
        keras.utils.set_random_seed(1)
        model = compile_model(builders.build_model(DEFAULTS[arch], augment.make("paper", 1)), PRESETS[PRESET[arch]])
    finally:
        builders.BatchNorm = BatchNorm
    return timing.images_per_second(model, batches)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batches", type=int, default=48)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--precision", default="mixed_bfloat16", choices=["mixed_bfloat16", "float32"])
    args = p.parse_args()
    keras.mixed_precision.set_global_policy(args.precision)
    print(f"{args.precision}, batch 32, paper augmentation, {args.batches} timed batches, best of {args.rounds} "
          f"rounds, {os.cpu_count()} CPUs, backend {keras.backend.backend()}")
    for arch in PRESET:
        best = {name: 0.0 for name in LAYERS}
        for _ in range(args.rounds):
            for name in LAYERS:
                best[name] = max(best[name], images_per_second(arch, name, args.batches))
        print(f"{arch:8s} Keras BatchNormalization {best['keras']:7.1f} images/s, ferlab BatchNorm "
              f"{best['ferlab']:7.1f} images/s: ratio {best['ferlab'] / best['keras']:.2f}", flush=True)


if __name__ == "__main__":
    main()

"""Mixed bfloat16 against float32 training on this CPU: what `--precision auto` decides between.

    .venv/bin/python benchmarks/precision.py [--preset ferlab-compact] [--batches 40]

Fits the preset's model (its augmentation included) on random 48x48 faces, batch 32, first in
float32 and then in mixed bfloat16, in this one process, and prints images/s from the median batch
after a warm-up of 8 (benchmarks/timing.py), and the ratio bf16/float32. (Until 2026-12-07 it timed
a second fit of faces of grey levels below 1, and its float32 figures read low.) Then the
convolution timing `precision.bf16_pays` bases the automatic choice on, and that choice. Run it
with the CPU otherwise idle.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import timing  # noqa: E402
from ferlab.training import precision  # noqa: E402
from ferlab.training.fit import build_for  # noqa: E402
from ferlab.training.spec import PRESETS, preset  # noqa: E402


def images_per_second(name: str, policy: str, batches: int) -> float:
    precision.apply(policy)
    return timing.images_per_second(build_for(preset(name, data="demo", precision=policy)), batches)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="ferlab-compact", choices=sorted(PRESETS))
    p.add_argument("--batches", type=int, default=40)
    args = p.parse_args()
    f32 = images_per_second(args.preset, "float32", args.batches)
    bf16 = images_per_second(args.preset, "mixed_bfloat16", args.batches)
    print(f"{args.preset}, {args.batches} batches of 32: float32 {f32:.1f} images/s, "
          f"mixed_bfloat16 {bf16:.1f} images/s, ratio bf16/float32 {bf16 / f32:.2f}")
    c32, c16 = precision.conv_seconds("float32"), precision.conv_seconds("bfloat16")
    print(f"3x3 64->64 convolution, 8 x 32 maps: float32 {c32:.3f} s, bfloat16 {c16:.3f} s, "
          f"ratio {c32 / c16:.2f}; bf16 flags: {precision.cpu_has_bf16()}; "
          f"automatic choice: {'mixed_bfloat16' if precision.cpu_has_bf16() and precision.faster_in_bf16(c32, c16) else 'float32'}")


if __name__ == "__main__":
    main()

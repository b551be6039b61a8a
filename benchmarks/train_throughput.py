"""Training images/s of the paper's 8-conv at batch 32 with the paper's augmentation.

    .venv/bin/python benchmarks/train_throughput.py [--steps 64] [--warmup 16] [--steps-per-execution 8] [--data ../shared/fer2013]

(a) the paper-era pipeline: Keras' legacy ImageDataGenerator (zoom 0.1, rotation 10, shifts 0.1,
    horizontal flip) feeding float32 training, as the paper trained;
(b) ferlab's pipeline: the same augmentation as a layer inside the model (FaceAugment; Keras'
    preprocessing layers until 2026-11-26, when README's figures had been measured),
    mixed precision as ferlab picks it (`precision.resolve("auto")`), arrays fed to fit
    (`--steps-per-execution N` also times (b) with N batches per compiled call).
Both run in this one process on the same images; the ratio b/a is the figure to compare.

It also prints what bounds that ratio on this machine: the model's training FLOPs per image
(forward multiply-adds of its conv and dense layers x 2, x 3 for forward + backward), the GFLOP/s
each pipeline reaches, and the rate of this CPU's own float32 and bfloat16 convolution on the
model's dominant layer shape (3x3, 64 -> 64 channels, 48x48, batch 32). A training step cannot run
its convolutions faster than that, so bf16-probe / (a's GFLOP/s) is a ceiling for b/a here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ferlab.models import DEFAULTS  # noqa: E402
from ferlab.models.builders import build_model  # noqa: E402
from ferlab.training import augment, precision  # noqa: E402
from ferlab.training.fit import compile_model, one_hot  # noqa: E402
from ferlab.training.spec import PRESETS  # noqa: E402


def images(data: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    if (data / "train").is_dir():
        from ferlab.data.readers import read_folders

        ds = read_folders(data)["train"]
        idx = np.random.default_rng(0).permutation(len(ds))[:n]
        return ds.images[idx], ds.labels[idx]
    print(f"({data} not found: random pixels, same shapes)")
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 48, 48), dtype=np.uint8), rng.integers(0, 7, n)


class StepTimer(keras.callbacks.Callback):
    """Times the batches after the warm-up (Keras reports every `steps_per_execution` batches)."""

    def __init__(self, warmup: int):
        super().__init__()
        self.warmup, self.t0 = warmup, None

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.t0 is None:
            if batch + 1 >= self.warmup:
                self.t0, self.b0 = now, batch
        else:
            self.t1, self.b1 = now, batch

    def images_per_second(self, batch: int) -> float:
        return (self.b1 - self.b0) * batch / (self.t1 - self.t0)


def training_flops_per_image(model: keras.Model) -> float:
    """2 x multiply-adds of every conv and dense layer, x 3 for the forward and backward passes."""
    macs = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            macs += h * w * c_out * kh * kw * layer.kernel.shape[2]
        elif isinstance(layer, keras.layers.Dense):
            macs += layer.kernel.shape[0] * layer.kernel.shape[1]
    return 3 * 2 * macs


def conv_probe(dtype: str, reps: int = 20) -> float:
    """GFLOP/s of one 3x3 64->64 convolution on 32 48x48 maps in `dtype` (keras.ops, eager)."""
    from keras import ops

    x = keras.random.normal((32, 48, 48, 64), dtype=dtype, seed=1)
    w = keras.random.normal((3, 3, 64, 64), dtype=dtype, seed=2)
    ops.convert_to_numpy(ops.cast(ops.sum(ops.conv(x, w, padding="same")), "float32"))
    t0 = time.perf_counter()
    outs = [ops.conv(x, w, padding="same") for _ in range(reps)]
    ops.convert_to_numpy(ops.cast(ops.sum(ops.stack(outs)), "float32"))
    return reps * 2 * 32 * 48 * 48 * 9 * 64 * 64 / (time.perf_counter() - t0) / 1e9


def paper_era(x, y, steps: int, warmup: int) -> float:
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    keras.mixed_precision.set_global_policy("float32")
    model = compile_model(build_model(DEFAULTS["8conv"]), PRESETS["paper-8conv-adam"], steps_per_execution=1)
    gen = ImageDataGenerator(zoom_range=0.1, rotation_range=10, width_shift_range=0.1,
                             height_shift_range=0.1, horizontal_flip=True)
    timer = StepTimer(warmup)
    model.fit(gen.flow(x.astype("float32")[..., None], one_hot(y), batch_size=32, seed=1),
              steps_per_epoch=steps + warmup, epochs=1, callbacks=[timer], verbose=0)
    return timer.images_per_second(32)


def ferlab_pipeline(x, y, steps: int, warmup: int, steps_per_execution: int = 1) -> tuple[float, str]:
    policy = precision.apply("auto")
    model = compile_model(build_model(DEFAULTS["8conv"], augment.make("paper", 1)), PRESETS["paper-8conv-adam"],
                          steps_per_execution)
    n = (steps + warmup) * 32
    timer = StepTimer(warmup)
    model.fit(x[:n].astype("float32")[..., None], one_hot(y[:n]), batch_size=32, epochs=1, shuffle=True,
              callbacks=[timer], verbose=0)
    return timer.images_per_second(32), policy


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--warmup", type=int, default=16)
    p.add_argument("--steps-per-execution", type=int, default=1, help="also time (b) with N batches per call")
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "fer2013")
    args = p.parse_args()
    x, y = images(args.data, (args.steps + args.warmup) * 32)
    flops = training_flops_per_image(build_model(DEFAULTS["8conv"]))
    a = paper_era(x, y, args.steps, args.warmup)
    b, policy = ferlab_pipeline(x, y, args.steps, args.warmup)
    spe = ferlab_pipeline(x, y, args.steps, args.warmup, args.steps_per_execution)[0] \
        if args.steps_per_execution > 1 else None
    keras.mixed_precision.set_global_policy("float32")
    probe = {dtype: conv_probe(dtype) for dtype in ("float32", "bfloat16")}
    print(f"8-conv, batch 32, paper augmentation, {args.steps} timed steps after {args.warmup} warm-up, "
          f"{os.cpu_count()} CPUs, backend {keras.backend.backend()}; "
          f"{flops / 1e9:.2f} training GFLOP per image")
    print(f"(a) paper-era: ImageDataGenerator + float32: {a:8.1f} images/s ({a * flops / 1e9:5.0f} GFLOP/s)")
    print(f"(b) ferlab:    preprocessing layers + {policy}: {b:8.1f} images/s ({b * flops / 1e9:5.0f} GFLOP/s)")
    if spe is not None:
        print(f"    (b) with steps_per_execution={args.steps_per_execution}: {spe:8.1f} images/s (x{spe / b:.2f})")
    print(f"ratio b/a: {b / a:.2f}")
    print(f"this CPU's 3x3 convolution: float32 {probe['float32']:.0f} GFLOP/s, "
          f"bfloat16 {probe['bfloat16']:.0f} GFLOP/s")
    print(f"ceiling for b/a here (bfloat16 convolution rate / a's GFLOP/s): "
          f"{probe['bfloat16'] / (a * flops / 1e9):.2f}")


if __name__ == "__main__":
    main()

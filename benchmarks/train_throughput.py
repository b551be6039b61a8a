"""Training images/s of the paper's 8-conv at batch 32 with the paper's augmentation.

    .venv/bin/python benchmarks/train_throughput.py [--steps 60] [--data ../shared/fer2013]

(a) the paper-era pipeline: Keras' legacy ImageDataGenerator (zoom 0.1, rotation 10, shifts 0.1,
    horizontal flip) feeding float32 training, as the paper trained;
(b) ferlab's pipeline: the same augmentation as Keras preprocessing layers inside the model,
    mixed precision as ferlab picks it (`precision.resolve("auto")`), arrays fed to fit.
Both run in this one process on the same images; the ratio b/a is the figure to compare.
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
    def __init__(self, warmup: int):
        super().__init__()
        self.warmup, self.t0, self.steps = warmup, None, 0

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.warmup:
            self.t0 = time.perf_counter()
        elif batch + 1 > self.warmup:
            self.steps += 1

    def images_per_second(self, batch: int) -> float:
        return self.steps * batch / (time.perf_counter() - self.t0)


def paper_era(x, y, steps: int, warmup: int) -> float:
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    keras.mixed_precision.set_global_policy("float32")
    model = compile_model(build_model(DEFAULTS["8conv"]), PRESETS["paper-8conv-adam"])
    gen = ImageDataGenerator(zoom_range=0.1, rotation_range=10, width_shift_range=0.1,
                             height_shift_range=0.1, horizontal_flip=True)
    timer = StepTimer(warmup)
    model.fit(gen.flow(x.astype("float32")[..., None], one_hot(y), batch_size=32, seed=1),
              steps_per_epoch=steps + warmup, epochs=1, callbacks=[timer], verbose=0)
    return timer.images_per_second(32)


def ferlab_pipeline(x, y, steps: int, warmup: int) -> tuple[float, str]:
    policy = precision.apply("auto")
    model = compile_model(build_model(DEFAULTS["8conv"], augment.paper_augmentation(1)), PRESETS["paper-8conv-adam"])
    n = (steps + warmup) * 32
    timer = StepTimer(warmup)
    model.fit(x[:n].astype("float32")[..., None], one_hot(y[:n]), batch_size=32, epochs=1, shuffle=True,
              callbacks=[timer], verbose=0)
    return timer.images_per_second(32), policy


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "fer2013")
    args = p.parse_args()
    x, y = images(args.data, (args.steps + args.warmup) * 32)
    a = paper_era(x, y, args.steps, args.warmup)
    b, policy = ferlab_pipeline(x, y, args.steps, args.warmup)
    print(f"8-conv, batch 32, paper augmentation, {args.steps} timed steps after {args.warmup} warm-up, "
          f"{os.cpu_count()} CPUs, backend {keras.backend.backend()}")
    print(f"(a) paper-era: ImageDataGenerator + float32: {a:8.1f} images/s")
    print(f"(b) ferlab:    preprocessing layers + {policy}: {b:8.1f} images/s")
    print(f"ratio b/a: {b / a:.2f}")


if __name__ == "__main__":
    main()

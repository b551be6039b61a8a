"""Where training time goes on this machine: ferlab's compact model on random 48x48 faces, batch 64,
without augmentation, with the paper's, with the paper's plus random erasing (ferlab's batched
FaceAugment layer), and with the same augmentation as Keras' five preprocessing layers (what ferlab
used before FaceAugment). Each line is the second of two epochs of --images faces (the first holds
the compilation), so the cases compare within one process. Written after a lent H200 trained the
real runs at CPU speed (docs/gpu.md):

    KERAS_BACKEND=jax python benchmarks/gpu_probe.py [--policy mixed_bfloat16] [--budget 60]
    KERAS_BACKEND=torch python benchmarks/gpu_probe.py
    KERAS_BACKEND=jax python benchmarks/gpu_probe.py --hlo     # what the compiled step holds, per case

Ratios against none say what each augmentation costs on this backend.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ferlab.models.builders import build_model  # noqa: E402
from ferlab.models.config import DEFAULTS  # noqa: E402
from ferlab.training import augment  # noqa: E402
from ferlab.training.fit import compile_model  # noqa: E402
from ferlab.training.spec import TrainSpec  # noqa: E402


def device_line() -> str:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return f"jax {jax.__version__}: {jax.devices()}"
    if backend == "torch":
        import torch

        return f"torch {torch.__version__}: {'cuda' if torch.cuda.is_available() else 'cpu only'}"
    import tensorflow as tf

    return f"tensorflow {tf.__version__}: {tf.config.list_physical_devices()}"


CASES = ("none", "paper", "paper-erasing", "keras-layers")


def keras_layers(seed: int = 1) -> keras.Sequential:
    """ferlab's augmentation before FaceAugment: the paper's plus random erasing, five Keras layers."""
    from keras import layers

    s = [seed * 16 + i for i in range(5)]      # one seed per layer, as ferlab had them
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=s[0]),
        layers.RandomRotation(10.0 / 360.0, fill_mode="nearest", seed=s[1]),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=s[2]),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=s[3]),
        layers.RandomErasing(factor=(augment.ERASING_PROBABILITY, augment.ERASING_PROBABILITY),
                             scale=augment.ERASING_SCALE, value_range=(0, 255), seed=s[4]),
    ], name="augment")


def augmentation_layer(case: str):
    return keras_layers() if case == "keras-layers" else augment.make(case, seed=1)


def probe_model(augmentation: str) -> keras.Model:
    """ferlab-compact with `augmentation`, compiled as the GPU runs train it (SGD 0.04, batch 64)."""
    spec = TrainSpec(model=DEFAULTS["compact"], optimizer="sgd", learning_rate=0.04, batch_size=64)
    return compile_model(build_model(spec.model, augmentation_layer(augmentation)), spec)


def epoch_seconds(augmentation: str, images: int, policy: str) -> float:
    keras.mixed_precision.set_global_policy(policy)
    model = probe_model(augmentation)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (images, 48, 48, 1)).astype("float32")
    y = np.eye(7, dtype="float32")[rng.integers(0, 7, images)]
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    t = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    return time.perf_counter() - t


def hlo_ops(augmentation: str) -> dict[str, int]:
    """Under JAX: counts of the loops, gathers, scatters, custom calls and host transfers in the
    compiled training step of the same model (no timing)."""
    import collections
    import re

    import jax

    model = probe_model(augmentation)
    x = np.zeros((64, 48, 48, 1), "float32")
    y = np.eye(7, dtype="float32")[np.zeros(64, int)]
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)   # builds the optimizer's and metrics' state
    state = model._get_jax_state(trainable_variables=True, non_trainable_variables=True, optimizer_variables=True,
                                 metrics_variables=True, purge_model_variables=False)
    text = jax.jit(model.train_step).lower(state, (x, y)).compile().as_text()
    ops = collections.Counter(re.findall(r"= \S+ ([a-z][\w-]*)\(", text))
    return {op: ops[op] for op in ("while", "gather", "scatter", "custom-call", "send", "recv", "outfeed")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--policy", default="float32")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds; cases not started by then are skipped")
    parser.add_argument("--hlo", action="store_true", help="JAX only: op counts of the compiled step instead of timings")
    args = parser.parse_args()
    print(device_line(), flush=True)
    if args.hlo:
        for augmentation in CASES:
            print(f"augmentation={augmentation}: {hlo_ops(augmentation)}", flush=True)
        return
    start, base = time.perf_counter(), None
    for augmentation in CASES:
        if time.perf_counter() - start > args.budget:
            print(f"{augmentation}: skipped (budget spent)")
            continue
        seconds = epoch_seconds(augmentation, args.images, args.policy)
        base = base or seconds
        print(f"{keras.backend.backend()} {args.policy} augmentation={augmentation}: {seconds:.2f} s an epoch of "
              f"{args.images} ({args.images / seconds:,.0f} images/s, {seconds / base:.2f}x none)", flush=True)


if __name__ == "__main__":
    main()

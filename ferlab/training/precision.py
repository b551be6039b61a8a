"""Float precision: fp16 on GPUs; on a CPU with native bf16 (AMX or AVX512-BF16), bf16 where it
measures faster than float32 there, else float32.

The flags alone do not settle it: on a 2-core AMD EPYC (Zen 4, AVX512-BF16) a bf16 convolution
ran 2.5x as fast as float32, on a 2-core Intel Xeon VM whose AMX flags were hidden (AVX512-BF16
kept) at 0.59x (benchmarks/precision.py). So the first "auto" choice
on a machine times one convolution in each and keeps the answer (FERLAB_HOME/precision.json).
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import keras

from ferlab import config

# bf16 rounds more than float32: it has to be clearly faster to be chosen.
BF16_MARGIN = 1.1


def cpu_has_bf16() -> bool:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def conv_seconds(dtype: str, reps: int = 8) -> float:
    """Best of three timings of `reps` 3x3 64->64 convolutions on 32 48x48 maps in `dtype` (the
    bulk of a FER CNN's work), after one warm-up round."""
    from keras import ops

    x = keras.random.normal((32, 48, 48, 64), dtype=dtype, seed=1)
    w = keras.random.normal((3, 3, 64, 64), dtype=dtype, seed=2)

    def rounds(n: int) -> float:
        start = time.perf_counter()
        outs = [ops.conv(x, w, padding="same") for _ in range(n)]
        ops.convert_to_numpy(ops.cast(ops.sum(ops.stack(outs)), "float32"))
        return time.perf_counter() - start

    rounds(2)
    return min(rounds(reps) for _ in range(3))


def faster_in_bf16(float32_seconds: float, bfloat16_seconds: float) -> bool:
    return float32_seconds > BF16_MARGIN * bfloat16_seconds


@functools.cache
def bf16_pays() -> bool:
    """Whether bf16 convolution beats float32 by BF16_MARGIN on this CPU: measured once per CPU,
    backend and Keras version, then read from FERLAB_HOME/precision.json."""
    key = f"{config.machine()} | {keras.backend.backend()} | keras {keras.__version__}"
    cache = config.home() / "precision.json"
    try:
        known = json.loads(cache.read_text())
        if known.get("key") == key:
            return bool(known["bf16_pays"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    try:
        f32, bf16 = conv_seconds("float32"), conv_seconds("bfloat16")
    except Exception:  # noqa: BLE001 - a backend without bf16 convolution on this CPU
        return False
    pays = faster_in_bf16(f32, bf16)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "float32_seconds": round(f32, 4), "bfloat16_seconds": round(bf16, 4),
                                     "bf16_pays": pays}, indent=1))
    except OSError:
        pass   # a read-only home: measure again next time
    return pays


def has_gpu() -> bool:
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        if backend == "torch":
            import torch

            return torch.cuda.is_available()
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # noqa: BLE001 - no GPU runtime means no GPU
        return False
    return False


def resolve(precision: str = "auto") -> str:
    if precision != "auto":
        return precision
    if has_gpu():
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bf16() and bf16_pays() else "float32"


def apply(precision: str = "auto") -> str:
    """Set Keras' global dtype policy; returns the policy name in force."""
    policy = resolve(precision)
    keras.mixed_precision.set_global_policy(policy)
    return policy

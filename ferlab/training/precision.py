"""Float precision: bf16 where the CPU does bf16 natively (AMX or AVX512-BF16), fp16 on GPUs,
float32 elsewhere. Some VMs hide the amx flags but keep avx512_bf16: both count."""

from __future__ import annotations

from pathlib import Path

import keras


def cpu_has_bf16() -> bool:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


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
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


def apply(precision: str = "auto") -> str:
    """Set Keras' global dtype policy; returns the policy name in force."""
    policy = resolve(precision)
    keras.mixed_precision.set_global_policy(policy)
    return policy

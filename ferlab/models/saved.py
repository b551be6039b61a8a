"""Reading and writing saved `.keras` models. `load` is the one place that knows which of ferlab's
own layers a saved model may hold (FaceAugment), so every reader (Predict, `ferlab evaluate`,
ensembles, resumed runs, scripts) loads every model ferlab wrote, in safe mode. `save` can store the
weights as float16: half the file, for a model that has to fit a size limit (the shipped default)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np

from ferlab.models import layers as _layers  # noqa: F401  (registers FaceAugment for loading)

WEIGHT_DTYPES = ("float32", "float16")
FLOAT16_MAX = float(np.finfo(np.float16).max)


def load(path: str | Path, *, compile: bool = True) -> keras.Model:
    return keras.saving.load_model(path, safe_mode=True, compile=compile)


def save(model: keras.Model, path: str | Path, *, weights: str = "float32") -> Path:
    """model.save(path); with weights="float16" every float32 weight is stored rounded to float16 and
    the archive deflated (an optimizer's state, where the model has one, stays float32: its second
    moments underflow float16). Keras reads such a file as it is: loading casts each stored array to its
    variable's dtype, so the model computes as before, with weights rounded once."""
    if weights not in WEIGHT_DTYPES:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_DTYPES)}, not {weights!r}")
    path = Path(path)
    model.save(path)
    if weights == "float16":
        with zipfile.ZipFile(path) as archive:
            files = [(info.filename, archive.read(info)) for info in archive.infolist()]
        try:
            files = [(name, _halved(data) if name.endswith(".h5") else data) for name, data in files]
        except ValueError:
            path.unlink()                 # no float32 file left where a float16 one was asked for
            raise
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files:
                archive.writestr(name, data)
    return path


def _halved(h5: bytes) -> bytes:
    """The same HDF5 file with the model's float32 arrays as float16 (not the optimizer's)."""
    out = io.BytesIO()
    with h5py.File(io.BytesIO(h5), "r") as src, h5py.File(out, "w") as dst:
        dst.attrs.update(src.attrs)

        def copy(name, item):
            if isinstance(item, h5py.Dataset):
                value = item[()]
                if getattr(value, "dtype", None) == np.float32 and not name.startswith("optimizer/"):
                    if np.abs(value).max(initial=0) > FLOAT16_MAX:
                        raise ValueError(f"weight {name} exceeds float16's range ({FLOAT16_MAX:g}): save it as float32")
                    value = value.astype(np.float16)
                dst.create_dataset(name, data=value)
            else:
                dst.require_group(name)
            dst[name].attrs.update(item.attrs)

        src.visititems(copy)
    return out.getvalue()

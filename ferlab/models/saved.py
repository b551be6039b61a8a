"""Reading and writing saved `.keras` models. `load` is the one place that knows which of ferlab's
own layers a saved model may hold (FaceAugment, MirrorFace, BatchNorm), so every reader (Predict, `ferlab evaluate`,
ensembles, resumed runs, scripts) loads every model ferlab wrote, in safe mode. `save` can store the
weights as float16 (half the file, for a model that has to fit a size limit: the shipped default) and
can make a model trained in mixed precision compute in float32 (what CPUs without bf16 matrix units,
and any machine, run exactly), and can write a portable file, made of Keras' own layers alone, that
plain Keras reads without ferlab (every model ferlab hands over: a run's, a search's best, an
ensemble, the shipped default; a run's checkpoints keep FaceAugment, to resume)."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np

from ferlab.models import batchnorm as _batchnorm  # registers BatchNorm for loading
from ferlab.models import layers as _layers  # registers FaceAugment and MirrorFace for loading

WEIGHT_DTYPES = ("float32", "float16")
COMPUTE_DTYPES = ("as-trained", "float32")
MIXED_POLICIES = ("mixed_bfloat16", "mixed_float16")
FLOAT16_MAX = float(np.finfo(np.float16).max)


def load(path: str | Path, *, compile: bool = True, compute: str = "as-trained") -> keras.Model:
    """The saved model; with compute="float32" a model saved in mixed precision computes in float32
    (read through a rewritten copy; the file is left as it is): what Predict runs, exact and, on
    CPUs without bf16 matrix units, faster, for a model trained on a GPU or in bfloat16."""
    if compute not in COMPUTE_DTYPES:
        raise ValueError(f"compute must be one of {', '.join(COMPUTE_DTYPES)}, not {compute!r}")
    check_model_file(path)
    if compute == "float32" and _mixed(path):
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / Path(path).name
            _rewrite(path, copy, config=_float32_compute)
            return keras.saving.load_model(copy, safe_mode=True, compile=compile)
    return keras.saving.load_model(path, safe_mode=True, compile=compile)


def check_model_file(path: str | Path) -> None:
    """Say plainly what is wrong with a file that is no saved Keras model, where Keras would answer
    "File not found" for one that is there but empty or cut short."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist" if not path.exists() else f"{path} is a folder, not a .keras file")
    if h5py.is_hdf5(path):
        raise ValueError(f"{path} is an HDF5 model file (the format of Keras 2, as the paper's code saved); "
                         "ferlab reads .keras files: in Python, keras.saving.load_model(it).save('model.keras')")
    if not zipfile.is_zipfile(path):
        size = path.stat().st_size
        raise ValueError(f"{path} is not a saved Keras model: a .keras file is a zip archive and this one "
                         + ("is empty" if size == 0 else f"({size:,} bytes) is not one") + "; a copy or "
                         "download cut short leaves such a file. Copy it again, or pick another model.")
    with zipfile.ZipFile(path) as z:
        if "config.json" not in z.namelist():
            raise ValueError(f"{path} is a zip archive but not a saved Keras model (no config.json inside); "
                             "give a file written by model.save() or by ferlab (`ferlab export`).")


def portable(model: keras.Model) -> keras.Model:
    """The same model made of Keras' own layers alone, so that its file loads in plain Keras 3 (safe
    mode, any backend, no ferlab import): each FaceAugment, which does nothing at inference, becomes
    an Identity of the same name, each MirrorFace a `mirror()` layer, and each BatchNorm Keras'
    BatchNormalization with its config and weights; every other layer is the model's own, weights
    and all (shared, not copied). Without its augmentation the result is for
    inference, and for starting a run from its weights (--init-from copies them into a model built
    from the run's own spec, augmentation included); it is not a checkpoint to resume."""
    def swap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, _layers.FaceAugment):
            return keras.layers.Identity(name=layer.name, dtype=layer.dtype_policy.name)
        if isinstance(layer, _layers.MirrorFace):
            return _layers.mirror(tuple(layer.input.shape[1:]), name=layer.name)
        if isinstance(layer, _batchnorm.BatchNorm):
            plain = keras.layers.BatchNormalization.from_config(layer.get_config())
            plain.build(layer.input.shape)
            plain.set_weights(layer.get_weights())
            return plain
        return layer
    return keras.models.clone_model(model, clone_function=swap, recursive=True)


_portable = portable       # save's argument of that name hides the function


def save(model: keras.Model, path: str | Path, *, weights: str = "float32", compute: str = "as-trained",
         portable: bool = False) -> Path:
    """model.save(path); with weights="float16" every float32 weight is stored rounded to float16 and
    the archive deflated (an optimizer's state, where the model has one, stays float32: its second
    moments underflow float16). Keras reads such a file as it is: loading casts each stored array to its
    variable's dtype, so the model computes as before, with weights rounded once. With compute="float32"
    every mixed-precision layer of the saved config computes in float32 instead: its variables are
    float32 already, so the same weights load, and predictions differ by bfloat16's rounding alone.
    portable=True saves `portable(model)`: a file plain Keras reads, for inference."""
    if weights not in WEIGHT_DTYPES:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_DTYPES)}, not {weights!r}")
    if compute not in COMPUTE_DTYPES:
        raise ValueError(f"compute must be one of {', '.join(COMPUTE_DTYPES)}, not {compute!r}")
    path = Path(path)
    (_portable(model) if portable else model).save(path)
    if weights == "float32" and compute == "as-trained":
        return path
    try:
        _rewrite(path, path, weights=_halved if weights == "float16" else None,
                 config=_float32_compute if compute == "float32" else None)
    except ValueError:
        path.unlink()                 # no file left that is not what was asked for
        raise
    return path


def _rewrite(source: str | Path, target: str | Path, *, weights=None, config=None) -> None:
    """Copy a .keras archive, deflated, passing its weights (.h5) and config.json through the given
    functions of their bytes."""
    with zipfile.ZipFile(source) as archive:
        files = [(info.filename, archive.read(info)) for info in archive.infolist()]
    files = [(name, weights(data) if weights and name.endswith(".h5")
              else config(data) if config and name == "config.json" else data) for name, data in files]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)


def modules(path: str | Path) -> set[str]:
    """The top-level packages of the classes a saved model's config names: {"keras"} for a file that
    plain Keras reads without ferlab, "ferlab" among them for one that needs ferlab's layers."""
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json")
    found: set[str] = set()
    _walk(json.loads(config), lambda o: found.add(o["module"].split(".")[0])
          if isinstance(o.get("module"), str) and "class_name" in o else None)
    return found


def compute_dtypes(path: str | Path) -> set[str]:
    """The dtype policies a saved model's layers compute with, read from its config alone."""
    found: set[str] = set()
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json")
    _walk(json.loads(config),
          lambda o: found.add(o["config"]["name"]) if o.get("class_name") == "DTypePolicy" else None)
    return found


def _mixed(path: str | Path) -> bool:
    """Whether a saved model computes in mixed precision anywhere (False for a file that is no
    .keras archive: Keras's own reading says what is wrong with it)."""
    try:
        return bool(compute_dtypes(path) & set(MIXED_POLICIES))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False


def _float32_compute(config: bytes) -> bytes:
    """The saved config with each mixed-precision policy, and the tensors recorded between such
    layers, in float32."""
    def fix(o: dict) -> None:
        if o.get("class_name") == "DTypePolicy" and o["config"].get("name") in MIXED_POLICIES:
            o["config"]["name"] = "float32"
        elif o.get("class_name") == "__keras_tensor__" and o["config"].get("dtype") in ("bfloat16", "float16"):
            o["config"]["dtype"] = "float32"
    tree = json.loads(config)
    _walk(tree, fix)
    return json.dumps(tree).encode()


def _walk(o, visit) -> None:
    if isinstance(o, dict):
        visit(o)
        for v in o.values():
            _walk(v, visit)
    elif isinstance(o, list):
        for v in o:
            _walk(v, visit)


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

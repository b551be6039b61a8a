"""`ferlab export`: any model ferlab reads (a run's model or checkpoint, an ensemble or one of its
members, a file written before model files became portable) written as a file that plain Keras
loads without ferlab, and checked: the new file is read back and its probabilities compared with the
source's on probe faces."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ferlab.models.ensemble import members_of
from ferlab.models.saved import compute_dtypes, load, modules, save

PROBES = 64


@dataclass(frozen=True)
class Exported:
    path: Path
    params: int
    size: int                  # bytes
    weights: str               # float32 | float16
    compute: list[str]         # the dtype policies its layers compute with
    max_difference: float      # largest change of a class probability on the probe faces
    changed: int               # probe faces whose predicted class changed

    def to_dict(self) -> dict:
        return {"path": str(self.path), "params": self.params, "bytes": self.size, "weights": self.weights,
                "compute": self.compute, "probes": PROBES, "max_difference": self.max_difference,
                "changed": self.changed}


def export_model(model: keras.Model, target: str | Path, *, weights: str = "float32",
                 compute: str = "as-trained", seed: int = 0) -> Exported:
    """Save `model` portable at `target` (see ferlab.models.saved.save), read it back with plain
    Keras, and compare the two on PROBES random faces (seeded: the same faces every time)."""
    target = Path(target)
    if target.suffix != ".keras":
        raise ValueError(f"{target}: the file name must end in .keras (Keras' own format)")
    save(model, target, weights=weights, compute=compute, portable=True)
    foreign = modules(target) - {"keras"}
    if foreign:       # a layer that portable() does not know how to rebuild from Keras' own
        target.unlink()
        raise ValueError(f"the model holds classes from {', '.join(sorted(foreign))}, which plain Keras cannot "
                         "read; nothing was written")
    faces = np.random.default_rng(seed).integers(0, 256, (PROBES, *model.input_shape[1:])).astype("float32")
    before = np.asarray(model.predict(faces, verbose=0), dtype=np.float64)
    reread = keras.saving.load_model(target, safe_mode=True, compile=False)
    after = np.asarray(reread.predict(faces, verbose=0), dtype=np.float64)
    params = sum(m.count_params() for m in members_of(model))    # a mirror's fixed matrix is not learnt
    return Exported(target, params, target.stat().st_size, weights,
                    sorted(compute_dtypes(target)), float(np.abs(before - after).max()),
                    int((before.argmax(1) != after.argmax(1)).sum()))


def portable_bytes(path: str | Path) -> bytes:
    """A model file's bytes as plain Keras reads them: the file itself where it is made of Keras' own
    classes already (every model a run, a search or an ensemble hands over), else a portable copy
    (a run's checkpoint, a file from before portable saving). What Predict's download gives."""
    if modules(path) <= {"keras"}:
        return Path(path).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        copy = save(load(path, compile=False), Path(tmp) / "model.keras", portable=True)
        return copy.read_bytes()


def download_name(path: str | Path) -> str:
    """The name a downloaded model file gets: ferlab-job-12-model.keras for a run's file, else its own."""
    path = Path(path)
    return f"ferlab-{path.parent.name}-{path.name}" if path.parent.name.startswith("job-") else path.name

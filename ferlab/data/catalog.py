"""Import once, load fast: data sets cached as .npz and registered in the store."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ferlab import config
from ferlab.data.dataset import DataError, Dataset, Problem, load_splits, save_npz
from ferlab.data.demo import DEMO_NAME, DEMO_SOURCE, demo_dataset
from ferlab.data.readers import DEFAULT_SEED, DEFAULT_VAL_FRACTION, Progress, read_source, split_folders
from ferlab.store import NotFound, Store
from ferlab.store.entities import DatasetInfo

MAX_PROBLEMS_STORED = 50


@dataclass(frozen=True)
class ImportReport:
    dataset: DatasetInfo
    created: bool                    # False: the same source was imported before (no-op)
    problems: tuple[Problem, ...]    # what was skipped this time (empty on a no-op)


def fingerprint(path: Path, val_fraction: float, seed: int) -> str:
    """Content hash of a source plus the split settings: the same input gives the same value.
    A folder of class folders alone is read as the split its own name gives, so that name counts:
    the same faces handed over as val/ and as PrivateTest/ are two data sets."""
    h = hashlib.sha256(f"v1|{val_fraction}|{seed}".encode())
    if path.is_dir():
        try:
            root, found = split_folders(path)
        except DataError:
            found = []                          # read_source says what is wrong
        if len(found) == 1 and found[0][1] == root == path:
            h.update(f"|as {found[0][0]}".encode())
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(file.relative_to(path)).encode())
            h.update(file.read_bytes())
    else:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _default_name(path: Path) -> str:
    stem = path.name if path.is_dir() else path.stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-").lower() or "dataset"


def import_dataset(store: Store, path: str | Path, name: str | None = None, *,
                   val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = DEFAULT_SEED,
                   progress: Progress | None = None) -> ImportReport:
    """Read, validate, cache and register a data set; the same source again is a no-op."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path} does not exist; give the path to fer2013.csv, a folder with "
                        "train/ (and val/ or test/) inside, or a .zip of either")
    fp = fingerprint(path, val_fraction, seed)
    existing = store.find_dataset(fingerprint=fp)
    if existing is not None and Path(existing.cache_path).exists():
        return ImportReport(existing, created=False, problems=())
    if existing is not None:  # registered but its cache file is gone: import afresh
        store.delete_dataset(existing.name)
    name = name or _default_name(path)
    if name == DEMO_NAME:
        raise DataError(f"the name {DEMO_NAME!r} is reserved for the synthetic demo set; pick another with --name")
    taken = store.find_dataset(name=name)
    if taken is not None:
        if taken.source == str(path.resolve()):     # its files changed, or an older ferlab read them otherwise
            raise DataError(f"{path} was imported as {name!r} before, but what it holds now is not what was "
                            f"imported then; `ferlab data delete {name}` and import it again, or import it beside "
                            "the old one under another name with --name")
        raise DataError(f"a different data set is already imported as {name!r}; "
                        "pick another name with --name")
    dataset = read_source(path, val_fraction=val_fraction, seed=seed, progress=progress)
    return ImportReport(register(store, dataset, name, fp), created=True, problems=dataset.problems)


def register(store: Store, dataset: Dataset, name: str, fp: str | None = None) -> DatasetInfo:
    """Cache `dataset` and register it as `name` (used by import and by the demo set)."""
    fp = fp or hashlib.sha256(f"{dataset.source}|{name}".encode()).hexdigest()
    cache = config.cache_dir() / f"{name}-{fp[:12]}.npz"
    save_npz(dataset, cache)
    try:
        return store.add_dataset(
            name=name, source=dataset.source, layout=dataset.layout, fingerprint=fp,
            cache_path=str(cache), synthetic=dataset.synthetic, val_from_train=dataset.val_from_train,
            val_fraction=dataset.val_fraction, seed=dataset.seed, counts=dataset.counts(),
            skipped=len(dataset.problems),
            problems=[str(p) for p in dataset.problems[:MAX_PROBLEMS_STORED]])
    except BaseException:
        cache.unlink(missing_ok=True)  # never leave a cache file that no data set owns
        raise


def ensure_demo(store: Store) -> DatasetInfo:
    """The synthetic demo set, generated and registered on first use."""
    info = store.find_dataset(name=DEMO_NAME)
    if info is not None and Path(info.cache_path).exists():
        return info
    if info is not None:
        store.delete_dataset(DEMO_NAME)
    return register(store, demo_dataset(), DEMO_NAME, hashlib.sha256(DEMO_SOURCE.encode()).hexdigest())


def delete_dataset(store: Store, name: str) -> tuple[DatasetInfo, list[int]]:
    """Remove an imported data set: its entry and its cache file. Runs trained on it keep every
    record (their figures; their faces show again once the same faces are imported). Refused while a
    queued or running job uses it, and for the built-in demo set. Returns the data set and the
    finished jobs that used it."""
    if name == DEMO_NAME:
        raise DataError(f"{DEMO_NAME!r} is the built-in synthetic demo set; it is not removed")
    info = store.get_dataset(name)
    users = [j for j in store.list_jobs() if j.spec.get("data") == name and j.kind != "import"]
    busy = [j for j in users if j.status in ("queued", "running")]
    if busy:
        listed = ", ".join(f"job {j.id} ({j.status})" for j in busy)
        raise DataError(f"{listed} uses {name!r}; cancel it (`ferlab jobs cancel N`) or let it finish, then delete "
                        "the data set")
    store.delete_dataset(name)
    cache = Path(info.cache_path)
    if cache.parent == config.cache_dir():          # only the file an import wrote
        cache.unlink(missing_ok=True)
    return info, sorted(j.id for j in users)


def synthetic_names(store: Store) -> set[str]:
    """The names of the synthetic data sets (the demo set's, registered or not yet): their runs are
    never ranked, or drawn beside the paper, with FER2013's."""
    return {d.name for d in store.list_datasets() if d.synthetic} | {DEMO_NAME}


def cache_file(info: DatasetInfo) -> Path:
    """An imported data set's cache file, or what brings it back where it is gone."""
    path = Path(info.cache_path)
    if not path.exists():
        raise DataError(f"the cache of data set {info.name!r} ({path}) is gone; `ferlab data import {info.source} "
                        f"--name {info.name}` makes it again (or, on the Data page, import {info.source} as "
                        f"{info.name!r})")
    return path


def load_dataset(store: Store, name_or_path: str, warn: Callable[[str], object] | None = None) -> Dataset:
    """A data set by its imported name (or `demo`), or read directly from a path; `warn` gets a
    line on what such a read skipped (an import said so when it ran)."""
    if name_or_path == DEMO_NAME:
        info = ensure_demo(store)
    else:
        try:
            info = store.get_dataset(name_or_path)
        except NotFound:
            if Path(name_or_path).expanduser().exists():
                dataset = read_source(name_or_path, val_fraction=0.0)
                if warn and dataset.problems:
                    warn(f"warning: {dataset.skipped_note()}")
                return dataset
            raise
    return Dataset(splits=load_splits(cache_file(info)), source=info.source, layout=info.layout,
                   synthetic=info.synthetic, val_from_train=info.val_from_train,
                   val_fraction=info.val_fraction, seed=info.seed)


def sample_faces(info: DatasetInfo, per_class: int = 6, split: str = "train", seed: int = 0) -> dict[int, list]:
    """A few faces per class from a cached data set (for the Data page's grid)."""
    import numpy as np

    with np.load(cache_file(info)) as z:
        if f"{split}_labels" not in z.files:
            split = next(s for s in ("train", "val", "test") if f"{s}_labels" in z.files)
        labels = z[f"{split}_labels"]
        images = z[f"{split}_images"]
    rng = np.random.default_rng(seed)
    out = {}
    for code in range(7):
        idx = np.flatnonzero(labels == code)
        out[code] = [images[i] for i in rng.permutation(idx)[:per_class]]
    return out


def read_split(store: Store, name: str, split: str):
    """One split of an imported data set (or the demo set), read alone from its cache, or of a source
    a run was given as a path, read as the run read it (the Leaderboard shows the faces behind a
    confusion-matrix cell with it)."""
    if name != DEMO_NAME and store.find_dataset(name=name) is None and Path(name).expanduser().exists():
        return load_dataset(store, name)[split]
    info = ensure_demo(store) if name == DEMO_NAME else store.get_dataset(name)
    found = load_splits(cache_file(info), only=(split,))
    if split not in found:
        raise DataError(f"data set {name!r} has no {split} split")
    return found[split]


def save_upload(name: str, data: bytes) -> Path:
    """Keep an uploaded source under FERLAB_HOME/uploads for an import job to read."""
    if not data:
        raise DataError(f"{name or 'the upload'} is empty (0 bytes); upload fer2013.csv or a .zip of the image folders")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(name).name).strip("-.") or "upload"
    if Path(safe).suffix.lower() not in (".csv", ".zip"):
        raise DataError(f"{name}: upload a .csv (fer2013.csv) or a .zip of the image folders")
    target = config.home() / "uploads" / safe
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target

"""FER2013 readers: the original CSV, image-folder layouts, and a .zip of either.

Every reader returns a `Dataset`. Single bad items (an undecodable image, a CSV row with the
wrong pixel count) are skipped and listed in `Dataset.problems`; a source with nothing usable in
it raises `DataError` with a message that says what to do.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ferlab.data.dataset import DataError, Dataset, Problem, Split, with_val_from_train
from ferlab.labels import FOLDER_ALIASES, IMAGE_SIZE, NUM_CLASSES

Progress = Callable[[int], None]  # called with the number of items just read

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm"}
CSV_USAGE = {"training": "train", "publictest": "val", "privatetest": "test"}
# Split folder names of the common layouts (case-insensitive).
SPLIT_FOLDERS = {"train": "train", "training": "train", "val": "val", "valid": "val",
                 "validation": "val", "publictest": "val", "test": "test", "privatetest": "test"}
PIXELS = IMAGE_SIZE * IMAGE_SIZE
DEFAULT_VAL_FRACTION = 0.1
DEFAULT_SEED = 1234


def read_source(path: str | Path, val_fraction: float = DEFAULT_VAL_FRACTION,
                seed: int = DEFAULT_SEED, progress: Progress | None = None) -> Dataset:
    """Read FER2013 from a CSV file, an image-folder tree or a .zip of either."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path} does not exist; give the path to fer2013.csv, a folder with "
                        "train/ (and val/ or test/) inside, or a .zip of either")
    if path.is_dir():
        ds = read_folders(path, progress)
    elif path.suffix.lower() == ".zip":
        ds = read_zip(path, progress)
    elif path.suffix.lower() == ".csv":
        ds = read_csv(path, progress)
    else:
        raise DataError(f"{path}: not a .csv, a .zip or a folder; FER2013 comes as fer2013.csv "
                        "or as image folders (train/<class>/*.jpg)")
    splits, carved = with_val_from_train(ds.splits, val_fraction, seed)
    return Dataset(splits=splits, source=str(path.resolve()), layout=ds.layout,
                   val_from_train=carved, val_fraction=val_fraction if carved else 0.0,
                   seed=seed if carved else 0, problems=ds.problems)


# --- CSV -----------------------------------------------------------------------------------

def read_csv(path: Path, progress: Progress | None = None) -> Dataset:
    """The original `fer2013.csv`: columns emotion, pixels and (optionally) Usage."""
    images: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[int]] = {}
    problems: list[Problem] = []
    try:
        fh = open(path, newline="", encoding="utf-8-sig")
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror})") from e
    with fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        if "emotion" not in header or "pixels" not in header:
            raise DataError(f"{path}: line 1 must be a header with the columns emotion,pixels,Usage "
                            f"(found {','.join(header) or 'an empty file'})")
        i_label, i_pixels = header.index("emotion"), header.index("pixels")
        i_usage = header.index("usage") if "usage" in header else None
        for line_no, row in enumerate(reader, start=2):
            where = f"{path.name} line {line_no}"
            if not row or all(not c.strip() for c in row):
                continue
            try:
                label = int(row[i_label])
                values = row[i_pixels].split()
            except (ValueError, IndexError):
                problems.append(Problem(where, f"cannot read the emotion/pixels columns: {row[:1]}"))
                continue
            if not 0 <= label < NUM_CLASSES:
                problems.append(Problem(where, f"unknown label {label} (expected 0..6)"))
                continue
            if len(values) != PIXELS:
                problems.append(Problem(where, f"{len(values):,} pixels instead of {PIXELS:,}"))
                continue
            try:
                pixels = np.array(values, dtype=np.int32)
            except ValueError:
                problems.append(Problem(where, "pixels are not all integers"))
                continue
            if pixels.min() < 0 or pixels.max() > 255:
                problems.append(Problem(where, "pixel values outside 0..255"))
                continue
            usage = row[i_usage].strip().lower() if i_usage is not None and i_usage < len(row) else "training"
            split = CSV_USAGE.get(usage)
            if split is None:
                problems.append(Problem(where, f"unknown Usage {row[i_usage]!r} "
                                               "(expected Training, PublicTest or PrivateTest)"))
                continue
            images.setdefault(split, []).append(pixels.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE))
            labels.setdefault(split, []).append(label)
            if progress:
                progress(1)
    if not images:
        detail = f"; first problem: {problems[0]}" if problems else ""
        raise DataError(f"{path}: no usable rows{detail}")
    return Dataset(splits=_stack(images, labels), source=str(path), layout="csv",
                   problems=tuple(problems))


# --- Folders ---------------------------------------------------------------------------------

def split_folders(root: Path) -> tuple[Path, list[tuple[str, Path]]]:
    """The folder holding the data and its (split, folder) pairs, looked for in `root` itself or a
    single wrapping subfolder: the split folders of a layout (train/, val/, test/, ...), or else a
    folder of class folders alone, read as one split named by that folder where its name is a
    split's (train/, PublicTest/, ...) and as test otherwise (a held-out split handed over alone)."""
    candidates = (root, *sorted(p for p in root.iterdir() if p.is_dir()))
    for candidate in candidates:
        splits = sorted(p for p in candidate.iterdir() if p.is_dir() and p.name.lower() in SPLIT_FOLDERS)
        if splits:
            return candidate, [(SPLIT_FOLDERS[p.name.lower()], p) for p in splits]
    for candidate in candidates:
        if any(p.is_dir() and p.name.lower() in FOLDER_ALIASES for p in candidate.iterdir()):
            return candidate, [(SPLIT_FOLDERS.get(candidate.name.lower(), "test"), candidate)]
    raise DataError(f"{root}: no split folder found; expected train/ with val/, validation/ or "
                    "test/ beside it, each holding one folder per class (angry, disgust, ...), or one "
                    "split's class folders alone")


def read_folders(root: Path, progress: Progress | None = None) -> Dataset:
    root, split_dirs = split_folders(root)
    images: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[int]] = {}
    problems: list[Problem] = []
    seen = {}
    for split, split_dir in split_dirs:
        if split in seen:
            raise DataError(f"{root}: both {seen[split].name}/ and {split_dir.name}/ hold the "
                            f"{split} split; keep one of them")
        seen[split] = split_dir
        for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            code = FOLDER_ALIASES.get(class_dir.name.lower())
            files = sorted(p for p in class_dir.rglob("*") if p.is_file())
            if code is None:
                problems.append(Problem(str(class_dir), f"unknown class folder ({len(files)} files "
                                        "skipped); rename it to one of angry, disgust, fear, happy, "
                                        "sad, surprise, neutral"))
                continue
            if not files:
                problems.append(Problem(str(class_dir), "empty class folder"))
                continue
            for file in files:
                image = _decode(file, problems)
                if progress:
                    progress(1)
                if image is not None:
                    images.setdefault(split, []).append(image)
                    labels.setdefault(split, []).append(code)
    if not images:
        detail = f"; first problem: {problems[0]}" if problems else ""
        raise DataError(f"{root}: no readable images in any class folder{detail}")
    one = len(split_dirs) == 1 and split_dirs[0][1] == root        # class folders alone
    layout = f"folders:{root.name} as {split_dirs[0][0]}" if one else "folders:" + "+".join(d.name for _, d in split_dirs)
    return Dataset(splits=_stack(images, labels), source=str(root), layout=layout,
                   problems=tuple(problems))


def image_files(root: Path) -> list[Path]:
    """The image files below `root`, all the way down, sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def count_files(path: Path) -> int:
    """How many items a source holds (for a progress bar's total); 0 when unknown."""
    return len(image_files(path)) if path.is_dir() else 0


def _decode(file: Path, problems: list[Problem]) -> np.ndarray | None:
    if file.suffix.lower() not in IMAGE_SUFFIXES:
        if not file.name.startswith("."):
            problems.append(Problem(str(file), "not an image file (skipped)"))
        return None
    if file.stat().st_size == 0:
        problems.append(Problem(str(file), "empty file (0 bytes)"))
        return None
    try:
        with Image.open(file) as im:
            im = ImageOps.exif_transpose(im)
            return to_face_array(im)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        problems.append(Problem(str(file), f"cannot be decoded as an image ({e.__class__.__name__})"))
        return None


def to_face_array(im: Image.Image) -> np.ndarray:
    """Any PIL image (any size or mode) to a uint8 48x48 grayscale array."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        peak = arr.max() or 1.0
        im = Image.fromarray((arr * (255.0 / max(peak, 255.0))).astype(np.uint8))
    elif im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert("L")
    if im.size != (IMAGE_SIZE, IMAGE_SIZE):
        im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.uint8)


# --- Zip ---------------------------------------------------------------------------------------

def safe_extract(archive: Path, target: Path) -> None:
    """Extract `archive` into `target`, refusing any entry that would land outside it."""
    target = target.resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f"{archive}: not a readable zip file ({e})") from e
    with zf:
        for info in zf.infolist():
            name = PurePosixPath(info.filename.replace("\\", "/"))
            dest = (target / name).resolve()
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if name.is_absolute() or ".." in name.parts or not dest.is_relative_to(target) or is_link:
                raise DataError(f"{archive}: entry {info.filename!r} points outside the archive's "
                                "folder; this zip is unsafe and was not extracted")
        zf.extractall(target)


def read_zip(archive: Path, progress: Progress | None = None) -> Dataset:
    tmp = Path(tempfile.mkdtemp(prefix="ferlab-zip-"))
    try:
        safe_extract(archive, tmp)
        csvs = sorted(p for p in tmp.rglob("*.csv") if not p.name.startswith("."))
        if csvs:
            ds = read_csv(csvs[0], progress)
            layout = "zip:csv"
        else:
            ds = read_folders(tmp, progress)
            layout = "zip:" + ds.layout
        problems = tuple(Problem(p.where.replace(str(tmp), archive.name), p.why) for p in ds.problems)
        return Dataset(splits=ds.splits, source=str(archive), layout=layout, problems=problems)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _stack(images: dict[str, list[np.ndarray]], labels: dict[str, list[int]]) -> dict[str, Split]:
    return {split: Split(np.stack(images[split]), np.asarray(labels[split], dtype=np.int64))
            for split in ("train", "val", "test") if split in images}


def iter_split_files(root: Path) -> Iterator[Path]:
    """Every file below `root`, sorted (used to fingerprint a folder source)."""
    yield from sorted(p for p in root.rglob("*") if p.is_file())

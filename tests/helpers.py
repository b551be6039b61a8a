"""Builders of small FER2013 sources, data sets and models for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(array)
    if mode:
        im = im.convert(mode)
    im.save(path)
    return path


def make_folder_layout(root: Path, splits: dict[str, int], classes=None, rng=None, size=48) -> dict:
    """Generated faces in split/class folders; returns {split: [per-class count]}."""
    from ferlab.labels import CLASSES

    rng = rng or np.random.default_rng(0)
    classes = classes or CLASSES
    counts = {}
    for split, per_class in splits.items():
        counts[split] = []
        for cls in classes:
            for i in range(per_class):
                arr = rng.integers(0, 256, (size, size), dtype=np.uint8)
                write_png(root / split / cls / f"{split}_{cls}_{i}.png", arr)
            counts[split].append(per_class)
    return counts


def make_csv(path: Path, rows: list[tuple[int, np.ndarray | str, str]]) -> Path:
    lines = ["emotion,pixels,Usage"]
    for label, pixels, usage in rows:
        text = pixels if isinstance(pixels, str) else " ".join(map(str, pixels.reshape(-1)))
        lines.append(f"{label},{text},{usage}")
    path.write_text("\n".join(lines) + "\n")
    return path


def two_face_scene() -> np.ndarray:
    """Two real FER2013 faces (PublicTest's first two happy ones) pasted into a 640x480 grey scene;
    skips the test where ../shared/fer2013 is absent."""
    import pytest
    from PIL import Image

    from tests.conftest import FER2013

    files = sorted((FER2013 / "val" / "happy").glob("*.jpg"))[:2] if (FER2013 / "val").is_dir() else []
    if len(files) < 2:
        pytest.skip("FER2013 not found")
    canvas = Image.new("L", (640, 480), 120)
    for f, x in zip(files, (60, 380)):
        canvas.paste(Image.open(f).convert("L").resize((160, 160)), (x, 150))
    return np.asarray(canvas)


def tiny_model():
    """A 4-conv model small enough to fit in seconds (8 filters a layer, two 16-unit dense layers)."""
    from ferlab.models import ModelConfig

    return ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1)


def register_synthetic(store, name: str, train_per_class: int, seed: int) -> str:
    """A synthetic data set (10 val and 10 test faces a class) registered as `name`."""
    from ferlab.data.catalog import register
    from ferlab.data.demo import demo_dataset

    register(store, demo_dataset({"train": train_per_class, "val": 10, "test": 10}, seed=seed), name)
    return name


def ferlab(*args, cwd=None, env=None, timeout=300):
    """`python -m ferlab ARGS` as a user runs it: a real subprocess, output captured."""
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "ferlab", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, **(env or {})), timeout=timeout)


def cli(*args, cwd=None):
    """`ferlab ARGS` run by ferlab.cli.main in this process: its exit status, stdout and stderr as
    ferlab() returns them, without a second process that starts TensorFlow again (8-15 s a call on a
    2-core machine). For commands whose process itself is not under test: each command keeps at
    least one test that runs it as a user does, with ferlab(). An exception main() lets through is
    raised here, so a test that expects no traceback fails on it. Keras' global dtype policy (set by
    `ferlab train --precision`) is put back afterwards."""
    import contextlib
    import io
    import os
    import subprocess

    import keras

    from ferlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    policy, here = keras.config.dtype_policy(), os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as stop:      # argparse's refusals; a message, as Python prints it
                code = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
                if not isinstance(stop.code, int) and stop.code is not None:
                    print(stop.code, file=err)
    finally:
        os.chdir(here)
        keras.config.set_dtype_policy(policy)
    return subprocess.CompletedProcess(["ferlab", *map(str, args)], code, out.getvalue(), err.getvalue())


def keras_modules(path) -> set[str]:
    """The top-level packages of the classes a saved .keras file names: {"keras"} for a file that
    plain Keras reads without ferlab."""
    import re
    import zipfile

    return set(re.findall(r'"module": "(\w+)', zipfile.ZipFile(path).read("config.json").decode()))


def shipped_job(store) -> int:
    """The job of a seeded store whose model is the shipped file (`ferlab/assets/ferlab-default.keras`),
    found as seeding ties a reference run to it, whatever kind of model a release ships."""
    from ferlab.inference.models import SHIPPED

    [job] = [j.id for j in store.list_jobs() if str(SHIPPED) in store.model_paths(j.id)]
    return job


def shipped_reference_run(doc: dict) -> dict:
    """The run of a reference-runs document (`ferlab/assets/reference_runs.json`) whose evaluation names
    the shipped file."""
    [run] = [r for r in doc["runs"] if any(ev.get("model") == "ferlab/assets/ferlab-default.keras"
                                          for t in r["trials"] for ev in t["evaluations"])]
    return run

"""Face detection on real photos (counts pinned, faces counted by eye once) and the predictor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ferlab.inference.detect import Box, detect
from tests.conftest import PHOTOS
from tests.helpers import cli, two_face_scene

# Faces visible in each photo, counted by eye: bbt1 4, bbt2 3 (one small in the background), bbt4 6.
CENTRES = {"bbt1.jpg": [(258, 195), (523, 235), (773, 200), (1045, 150)],
           "bbt2.jpg": [(130, 165), (430, 160), (22, 105)],
           "bbt4.jpg": [(120, 70), (280, 110), (610, 100), (95, 315), (300, 290), (515, 230)]}
# What each detector finds: (boxes, of which on a face)
PINNED = {"hog": {"bbt1.jpg": (4, 4), "bbt2.jpg": (2, 2), "bbt4.jpg": (6, 6)},
          "haar": {"bbt1.jpg": (5, 4), "bbt2.jpg": (3, 3), "bbt4.jpg": (6, 6)}}


def gray(name):
    if not (PHOTOS / name).exists():
        pytest.skip(f"{PHOTOS / name} not found")
    return np.asarray(Image.open(PHOTOS / name).convert("L"))


def on_faces(boxes, centres):
    return sum(any(b.contains(*c) for c in centres) for b in boxes)


@pytest.mark.parametrize("detector", ["hog", "haar"])
@pytest.mark.parametrize("photo", sorted(CENTRES))
def test_detection_counts_on_real_photos(detector, photo):
    boxes = detect(gray(photo), detector)
    assert (len(boxes), on_faces(boxes, CENTRES[photo])) == PINNED[detector][photo]


def test_square_crop_with_margin_stays_inside():
    b = Box(90, 10, 20, 30).square(0.1, 100, 100)
    assert b.w == b.h == 36 and b.x + b.w <= 100 and b.y >= 0


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """An untrained 4-conv model, saved as a user's would be (its augmentation layer included, which
    a process that loads it must know): for the API, not for accuracy."""
    import keras

    from ferlab.models import ModelConfig
    from ferlab.models.builders import build_model
    from ferlab.training.augment import make

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("m") / "tiny.keras"
    build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1), make("paper-erasing", seed=0)).save(path)
    return path


@pytest.fixture(scope="module")
def scene():
    return two_face_scene()


def test_predictor_on_fer2013_faces_one_model_call(model_path, scene):
    from ferlab.inference.predictor import Predictor

    p = Predictor(model_path, detector="haar")
    calls = []
    real = p.model

    class Counting:  # the model, counting its calls and batch sizes
        def predict_on_batch(self, x):
            calls.append(len(x))
            return real.predict_on_batch(x)

    p.model = Counting()
    faces = p.predict_image(scene)
    assert len(faces) == 2 and calls == [2]
    for f in faces:
        assert len(f.probabilities) == 7 and abs(sum(f.probabilities) - 1) < 1e-4
        assert f.label in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    p.tta = True
    calls.clear()
    flipped = p.predict_image(scene)
    assert calls == [4] and len(flipped) == 2      # faces and mirror images, still one call
    whole = p.predict_whole(scene)
    assert (whole.box.w, whole.box.h) == (640, 480)


def test_no_face_found_and_cli_predict(model_path, tmp_path, scene):
    Image.new("RGB", (300, 200), (200, 180, 40)).save(tmp_path / "plain.png")
    Image.fromarray(scene).save(tmp_path / "faces.png")
    (tmp_path / "bad.jpg").write_bytes(b"")
    out = subprocess.run([sys.executable, "-m", "ferlab", "predict", str(tmp_path / "faces.png"), str(tmp_path / "plain.png"),
                          "--model", str(model_path), "--detector", "haar", "--json"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)["results"]
    assert [len(r["faces"]) for r in results] == [2, 0]
    # the calls below run ferlab.cli.main in this process (tests.helpers.cli): the one above is a real process
    text = cli("predict", tmp_path / "plain.png", tmp_path / "bad.jpg", "--model", model_path, "--whole")
    assert text.returncode == 1  # one file could not be read
    assert "plain.png: 1 face(s) (whole image)" in text.stdout
    assert "bad.jpg is empty (0 bytes)" in text.stderr and "Traceback" not in text.stderr
    # a folder stands for the images below it, sorted, its other files left out; one with none is refused
    album = tmp_path / "album"
    (album / "day 2").mkdir(parents=True)
    Image.fromarray(scene).save(album / "b.jpg")
    Image.new("L", (60, 60), 90).save(album / "day 2" / "a.PNG")
    (album / "notes.txt").write_text("not a photo")
    (tmp_path / "none").mkdir()
    out = cli("predict", album, tmp_path / "plain.png", "--model", model_path, "--detector", "haar", "--whole",
              "--json", "--csv", tmp_path / "faces.csv")
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)["results"]
    assert [(Path(r["image"]).name, len(r["faces"])) for r in results] == [("b.jpg", 2), ("a.PNG", 1), ("plain.png", 1)]
    # --csv: the same faces, a row each, with the JSON's boxes, labels and probabilities
    import pandas as pd

    table = pd.read_csv(tmp_path / "faces.csv")
    assert "4 face(s) of 3 image(s) written to" in out.stderr
    assert list(table["face"]) == [1, 2, 1, 1] and list(table["whole image"]) == [False, False, True, True]
    for row, face in zip(table.itertuples(index=False), [f for r in results for f in r["faces"]]):
        assert [row.x, row.y, row.width, row.height] == face["box"] and row.label == face["label"]
        assert [getattr(row, c) for c in face["probabilities"]] == list(face["probabilities"].values())
    out = cli("predict", album, "--model", model_path, "--csv", tmp_path)
    assert out.returncode == 2 and "name a file to write" in out.stderr and "Traceback" not in out.stderr
    out = cli("predict", tmp_path / "none", "--model", model_path)
    assert out.returncode == 2 and "none is a folder with no image files" in out.stderr
    evaluated = cli("evaluate", model_path, "--data", "demo", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["n"] > 0


def test_cli_predict_writes_each_faces_occlusion_map(model_path, tmp_path, scene):
    Image.fromarray(scene).save(tmp_path / "faces.png")
    Image.new("RGB", (300, 200), (200, 180, 40)).save(tmp_path / "plain.png")
    maps = tmp_path / "maps"
    out = cli("predict", tmp_path / "faces.png", tmp_path / "plain.png", "--model", model_path, "--detector", "haar",
              "--json", "--explain", maps)       # in this process: the test above runs `ferlab predict` as one
    assert out.returncode == 0, out.stderr
    faces = json.loads(out.stdout)["results"][0]["faces"]
    assert len(faces) == 2 and "2 occlusion map(s) written to" in out.stderr
    assert sorted(p.name for p in maps.iterdir()) == [f"001-faces-face{i}-{f['label']}.png" for i, f in enumerate(faces, 1)]
    for f in faces:                       # the face, then the face with its map laid over it
        drawn = np.asarray(Image.open(f["occlusion_map"]))
        assert drawn.shape == (192, 384, 3)
        plain, mapped = drawn[:, :192].astype(int), drawn[:, 192:].astype(int)
        assert (plain[..., 0] == plain[..., 2]).all() and (mapped[..., 0] != mapped[..., 2]).any()
    (tmp_path / "taken").write_text("")
    refused = cli("predict", tmp_path / "plain.png", "--model", model_path, "--explain", tmp_path / "taken")
    assert refused.returncode == 2 and "is a file: name a folder" in refused.stderr
    under_a_file = cli("predict", tmp_path / "plain.png", "--model", model_path, "--explain", tmp_path / "taken" / "maps")
    assert under_a_file.returncode == 2 and "cannot make that folder (Not a directory)" in under_a_file.stderr
    assert "Traceback" not in under_a_file.stderr + refused.stderr

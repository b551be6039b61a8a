"""Occlusion maps: exact on a model whose answer rests on one known region, and on the shipped
model, real FER2013 faces: a smile is read from the mouth, fear from the eyes."""

from __future__ import annotations

import numpy as np
import pytest

from ferlab.inference.explain import PATCH, STRIDE, occlude, overlay
from ferlab.labels import CLASSES, IMAGE_SIZE

MOUTH = (slice(30, 42), slice(18, 30))     # rows, columns of the region the toy model reads


def mouth_model(calls: list[int]):
    """Class 0's logit is (the mean grey of MOUTH - 100) / 40; every other class's is 0."""
    def classify(batch: np.ndarray) -> np.ndarray:
        calls.append(len(batch))
        logits = np.zeros((len(batch), len(CLASSES)))
        logits[:, 0] = (batch[:, MOUTH[0], MOUTH[1], 0].mean(axis=(1, 2)) - 100) / 40
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)
    return classify


def faces_with_a_bright_mouth(n: int) -> np.ndarray:
    faces = np.full((n, IMAGE_SIZE, IMAGE_SIZE, 1), 40.0, dtype="float32")
    faces[:, MOUTH[0], MOUTH[1]] = 250.0
    return faces


def test_the_map_is_where_the_model_looks_and_nowhere_else():
    calls: list[int] = []
    faces = faces_with_a_bright_mouth(3)
    occlusions = occlude(mouth_model(calls), faces)
    positions = ((IMAGE_SIZE - PATCH) // STRIDE + 1) ** 2
    assert calls == [positions + 1] * 3                   # one model call a face: the face whole, then each square hidden
    occ = occlusions[0]
    assert occ.probabilities.argmax() == 0 and occ.occluded.shape == (positions, len(CLASSES))
    covered = np.zeros((IMAGE_SIZE, IMAGE_SIZE), bool)
    for r, c in occ.positions:
        covered[r:r + PATCH, c:c + PATCH] = True
    assert covered.all()                                  # the squares reach every edge
    happy_like = occ.drop(0)
    assert happy_like[MOUTH].min() > 0.05                 # hiding any part of the region lowers class 0
    # a pixel whose squares all miss the region changes nothing
    far = np.ones((IMAGE_SIZE, IMAGE_SIZE), bool)
    for r, c in occ.positions:
        if r < MOUTH[0].stop and r + PATCH > MOUTH[0].start and c < MOUTH[1].stop and c + PATCH > MOUTH[1].start:
            far[r:r + PATCH, c:c + PATCH] = False
    assert far[:12].all() and np.abs(happy_like[far]).max() < 1e-12
    # what class 0 loses the others gain: their maps are negative where class 0's is positive
    assert (occ.drop("disgust")[MOUTH] < 0).all() and occ.drop(1)[MOUTH].max() == occ.drop("disgust")[MOUTH].max()
    assert np.allclose(sum(occ.drop(k) for k in range(len(CLASSES))), 0)


def test_a_square_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match="patch must be"):
        occlude(mouth_model([]), faces_with_a_bright_mouth(1), patch=60)
    with pytest.raises(ValueError, match="stride at least 1"):
        occlude(mouth_model([]), faces_with_a_bright_mouth(1), stride=0)


def test_the_overlay_reds_what_the_label_rests_on_and_blues_what_speaks_against_it():
    face = np.full((IMAGE_SIZE, IMAGE_SIZE, 1), 100.0)
    drop = np.zeros((IMAGE_SIZE, IMAGE_SIZE))
    drop[:16, :16], drop[32:, 32:] = 0.3, -0.3
    rgb = overlay(face, drop, size=IMAGE_SIZE, smooth=0)
    assert rgb.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and rgb.dtype == np.uint8
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    assert (r[2:14, 2:14] > b[2:14, 2:14] + 50).all()      # relied on: red
    assert (b[34:, 34:] > r[34:, 34:] + 50).all()          # against: blue
    assert (rgb[20:28, 20:28] == 100).all()                 # no change: the face as it is
    assert overlay(face, drop).shape == (192, 192, 3)     # blurred and enlarged for the page


@pytest.mark.fer2013
@pytest.mark.timeout(600)
def test_the_shipped_model_reads_a_smile_from_the_mouth_and_fear_from_the_eyes(fer2013):
    """Real PublicTest faces the shipped model gets right (the first 8 of each class by file name):
    hiding the mouth costs a happy face's "happy" far more than hiding its eyes and brows does; for a
    fearful face the other way round."""
    from PIL import Image

    from ferlab.inference.models import SHIPPED
    from ferlab.inference.predictor import Predictor

    predictor = Predictor(SHIPPED)
    mean_map = {}
    for emotion, files in (("happy", 12), ("fear", 24)):      # fear: about half right
        paths = sorted((fer2013 / "val" / emotion).iterdir())[:files]
        faces = np.stack([np.asarray(Image.open(f).convert("L"), dtype="float32")[..., None] for f in paths])
        k = CLASSES.index(emotion)
        right = faces[predictor.classify(faces).argmax(axis=1) == k][:8]     # occluded: these alone
        assert len(right) >= 6, f"the shipped model got only {len(right)} of {files} {emotion} faces right"
        maps = [o.drop(k) for o in occlude(predictor.classify, right)]
        mean_map[emotion] = np.mean(maps, axis=0)
    eyes, mouth = slice(8, 24), slice(30, 44)                  # rows of a FER2013 face
    happy, fear = mean_map["happy"], mean_map["fear"]
    assert happy[mouth].mean() > 2 * happy[eyes].mean() and happy[mouth].mean() > 0.03
    assert fear[eyes].mean() > 1.5 * fear[mouth].mean() and fear[eyes].mean() > 0.03


def test_class_maps_average_each_class_over_the_first_faces_called_right():
    from ferlab.inference.explain import band_table, class_maps, class_picture

    calls: list[int] = []
    images = faces_with_a_bright_mouth(9)[..., 0].astype(np.uint8)
    images[::3] = 40                                   # a dark mouth: called disgust (the first of six ties)
    labels = np.zeros(9, dtype=int)
    maps = class_maps(mouth_model(calls), images, labels, per_class=4, batch=4)
    assert list(maps) == [0] and maps[0].faces == 4     # faces 1, 2, 4, 5: the first four called right
    assert np.allclose(maps[0].mean_face[..., 0], images[[1, 2, 4, 5]].mean(axis=0))
    assert calls == [4, 4, 1] + [50] * 4       # reads on for the classes still short of 4, then a call a face
    table = band_table(maps).splitlines()
    assert len(table) == 2 + len(CLASSES) and table[2].startswith("| angry | 4 | 0.0 | ")   # no square over the brows reaches the mouth
    assert table[2].endswith("| mouth |") and table[3] == "| disgust | 0 |" + " |" * 5
    assert class_picture(maps, size=100).size == (100, 122)

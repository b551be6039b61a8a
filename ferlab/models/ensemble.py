"""Several trained FER models as one Keras model that averages their class probabilities.

The members keep their own layers (augmentation included, inactive at inference) and precision;
the average is taken in float32. The result saves and loads as one `.keras` file (safe mode), so
Predict, `ferlab evaluate` and `ferlab predict` use it like any single model. Built with
`flip=True`, it also averages each member over the face and its mirror image (flip test-time
augmentation inside the model: whoever calls it gets it, at twice the computation).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
from keras import layers

from ferlab.labels import IMAGE_SIZE, NUM_CLASSES
from ferlab.models.config import ENSEMBLE_NAME, MEMBER_PREFIX
from ferlab.models.layers import is_mirror, mirror
from ferlab.models.saved import load

INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)


def read_model(path, doing: str, compute: str = "as-trained") -> keras.Model:
    """The Keras model saved at `path` (safe mode, not compiled; `compute` as ferlab.models.saved.load
    takes it); a clear ValueError, starting with `doing` (e.g. "cannot start from x.keras"), for a
    missing or unreadable file."""
    if not Path(path).is_file():
        raise ValueError(f"{doing}: no such model file")
    try:
        return load(path, compile=False, compute=compute)
    except Exception as exc:
        raise ValueError(f"{doing}: not a readable Keras model ({exc})") from None


def check_member(model: keras.Model, source: str) -> None:
    """Refuse a model that does not map a 48x48 grey face to the 7 FER2013 classes."""
    shape_in = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    shape_out = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else None
    if shape_in != INPUT_SHAPE or shape_out != (NUM_CLASSES,):
        raise ValueError(f"{source} is not a FER2013 model: it maps {shape_in or model.input_shape} to "
                         f"{shape_out or model.output_shape}, an ensemble member must map {INPUT_SHAPE} "
                         f"(a 48x48 grey face) to ({NUM_CLASSES},) (the class probabilities)")


def members_of(model: keras.Model) -> list[keras.Model]:
    """The models an ensemble averages (its layers member_1, member_2, ...); [model] for one model."""
    members = [layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name.startswith(MEMBER_PREFIX)]
    return members if model.name == ENSEMBLE_NAME and members else [model]


def member_at(model: keras.Model, k: int, path, doing: str, number=str, drop: str = "the member number") -> keras.Model:
    """The K-th model (1, 2, ...) that the ensemble `model` (read from `path`) averages; a clear
    ValueError, starting with `doing`, when it is one model or has fewer. `number` writes a member's
    number as the caller's flag does (3 or #3); `drop` says what to leave out to use the whole model."""
    members = members_of(model)
    if len(members) == 1:
        raise ValueError(f"{doing}: {path} is one model, not an ensemble; drop {drop}")
    if not 1 <= k <= len(members):
        raise ValueError(f"{doing}: {path} averages {len(members)} models ({number(1)} to {number(len(members))})")
    return members[k - 1]


def mirrors_faces(model: keras.Model) -> bool:
    """Whether `model` averages each face with its mirror image itself (an ensemble built with
    flip=True): flip TTA on top of it computes twice for the same probabilities."""
    return any(is_mirror(layer) for layer in model.layers)


def average_models(models: Sequence[keras.Model], name: str = ENSEMBLE_NAME, flip: bool = False) -> keras.Model:
    """One model whose output is the mean of the members' probabilities, each member weighing the
    same: an ensemble given as a member adds its own members (so `ensemble A B` then `ensemble AB C`
    weighs A, B and C alike; whether the result mirrors faces is `flip`'s, not the members'). Members
    are renamed member_1, member_2, ... so that several copies of one architecture can sit side by
    side. flip=True: each member also sees the mirror image (a `mirror()` layer, Keras' own), and one
    model is enough. Save it with ferlab.models.saved.save(..., portable=True) for a file that plain
    Keras reads."""
    for i, model in enumerate(models, 1):
        check_member(model, f"model {i} ({model.name})")
    members = [m for model in models for m in members_of(model)]
    if len(members) < (1 if flip else 2):
        raise ValueError("an ensemble needs at least two models (or one, averaged with its mirror image)")
    for i, member in enumerate(members, 1):
        member.name = f"{MEMBER_PREFIX}{i}"
    face = keras.Input(INPUT_SHAPE, name="face")
    views = [face, mirror(INPUT_SHAPE)(face)] if flip else [face]
    outputs = [member(view) for member in members for view in views]
    mean = layers.Average(dtype="float32", name="emotion")(outputs)
    return keras.Model(face, mean, name=name)

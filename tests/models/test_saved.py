"""Saving models: float16 weights halve the file, load with plain Keras and predict as before; float32
compute turns a mixed-precision model exact; a portable file loads where ferlab cannot be imported."""

from __future__ import annotations

import io
import zipfile

import h5py
import keras
import numpy as np
import pytest

from ferlab.models import DEFAULTS, build_model
from ferlab.models.layers import FaceAugment
from ferlab.models.saved import compute_dtypes, load, save
from tests.helpers import keras_modules


def test_float16_weights_halve_the_file_and_load_as_float32(tmp_path):
    keras.utils.set_random_seed(3)
    model = build_model(DEFAULTS["compact"], augmentation=FaceAugment())
    x = np.random.default_rng(3).integers(0, 256, (16, 48, 48, 1)).astype("float32")
    full, half = save(model, tmp_path / "full.keras"), save(model, tmp_path / "half.keras", weights="float16")
    assert half.stat().st_size < 0.55 * full.stat().st_size
    restored = keras.saving.load_model(half, safe_mode=True)            # plain Keras reads it
    assert {v.dtype for v in restored.weights} == {v.dtype for v in model.weights}
    for before, after in zip(model.weights, restored.weights, strict=True):
        expected = np.asarray(before).astype(np.float16).astype(np.float32) if before.dtype == "float32" \
            else np.asarray(before)
        np.testing.assert_array_equal(np.asarray(after), expected)
    p, q = np.asarray(model(x, training=False)), np.asarray(load(half)(x, training=False))
    np.testing.assert_allclose(q, p, atol=2e-3)
    assert not np.array_equal(q, p)          # the weights were rounded: the file is not the float32 one


def test_float16_keeps_an_optimizers_state_in_float32(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
    with zipfile.ZipFile(save(model, tmp_path / "m.keras", weights="float16")) as archive:
        h5 = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    dtypes = {}
    h5.visititems(lambda name, item: dtypes.setdefault(name.split("/")[0], set()).add(item.dtype)
                  if isinstance(item, h5py.Dataset) else None)
    assert dtypes["layers"] == {np.dtype("float16")} and np.dtype("float32") in dtypes["optimizer"]
    assert load(tmp_path / "m.keras").optimizer.iterations.numpy() == 1


def test_float16_refuses_weights_out_of_its_range_and_unknown_dtypes(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.layers[0].kernel.assign(np.full((4, 2), 1e6, dtype="float32"))
    with pytest.raises(ValueError, match="exceeds float16's range"):
        save(model, tmp_path / "big.keras", weights="float16")
    assert not (tmp_path / "big.keras").exists()
    with pytest.raises(ValueError, match="weights must be one of float32, float16"):
        save(model, tmp_path / "m.keras", weights="int8")


def _trained_in_bfloat16(seed: int, augmentation=None) -> keras.Model:
    """A compact model built under the mixed_bfloat16 policy, as `--precision mixed_bfloat16` builds it."""
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        return build_model(DEFAULTS["compact"], augmentation=augmentation)
    finally:
        keras.config.set_dtype_policy("float32")


def test_float32_compute_turns_a_mixed_precision_model_float32_with_the_same_weights(tmp_path):
    model = _trained_in_bfloat16(seed=4, augmentation=FaceAugment())
    x = np.random.default_rng(4).integers(0, 256, (32, 48, 48, 1)).astype("float32")
    kept = save(model, tmp_path / "kept.keras", weights="float16")
    f32 = save(model, tmp_path / "f32.keras", weights="float16", compute="float32")
    assert compute_dtypes(kept) == {"mixed_bfloat16", "float32"} and compute_dtypes(f32) == {"float32"}
    assert b"bfloat16" not in zipfile.ZipFile(f32).read("config.json")
    as_trained, exact = load(kept), keras.saving.load_model(f32, safe_mode=True)    # plain Keras reads it
    assert {layer.dtype_policy.compute_dtype for layer in exact.layers} == {"float32"}
    for a, b in zip(as_trained.weights, exact.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    p = np.asarray(as_trained(x, training=False), dtype="float32")
    q = np.asarray(exact(x, training=False))
    np.testing.assert_allclose(q.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(q, p, atol=0.05)                 # bfloat16's rounding, no more
    assert not np.array_equal(q, p)                             # it does compute otherwise
    with pytest.raises(ValueError, match="compute must be one of as-trained, float32"):
        save(model, tmp_path / "m.keras", compute="bfloat16")


def test_load_can_compute_in_float32_without_touching_the_file(tmp_path):
    model = _trained_in_bfloat16(seed=5)
    path = save(model, tmp_path / "bf16.keras")
    before = path.read_bytes()
    as_trained, exact = load(path), load(path, compute="float32")
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in as_trained.layers}
    assert {layer.dtype_policy.name for layer in exact.layers} == {"float32"}
    assert path.read_bytes() == before and compute_dtypes(path) == {"mixed_bfloat16", "float32"}
    x = np.random.default_rng(5).integers(0, 256, (8, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(exact(x)), np.asarray(as_trained(x), dtype="float32"), atol=0.05)
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError):                       # Keras's own message about the file
        load(tmp_path / "broken.keras", compute="float32")


def test_predict_computes_in_float32_whatever_the_model_was_trained_in(tmp_path):
    from ferlab.inference.predictor import Predictor

    model = _trained_in_bfloat16(seed=6)
    predictor = Predictor(save(model, tmp_path / "bf16.keras"))
    assert {layer.dtype_policy.compute_dtype for layer in predictor.model.layers} == {"float32"}
    faces = np.random.default_rng(6).integers(0, 256, (3, 48, 48, 1)).astype("float32")
    assert predictor.classify(faces).shape == (3, 7)


PLAIN_KERAS = """import sys
sys.modules["ferlab"] = None          # ferlab cannot be imported here: the file has to do without it
import keras
import numpy as np
model = keras.saving.load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
"""


def _old_mirrored_ensemble(seed: int) -> keras.Model:
    """An ensemble as ferlab wrote them before mirror(): members with their FaceAugment, the mirror
    image by ferlab's own MirrorFace."""
    from ferlab.models.config import ENSEMBLE_NAME
    from ferlab.models.layers import MirrorFace

    keras.utils.set_random_seed(seed)
    members = [build_model(DEFAULTS["compact"], augmentation=FaceAugment(seed=i)) for i in range(2)]
    for i, member in enumerate(members, 1):
        member.name = f"member_{i}"
    face = keras.Input((48, 48, 1), name="face")
    views = [face, MirrorFace(name="mirror")(face)]
    mean = keras.layers.Average(name="emotion")([m(v) for m in members for v in views])
    return keras.Model(face, mean, name=ENSEMBLE_NAME)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_portable_file_loads_without_ferlab_and_predicts_as_the_model_did(backend, tmp_path):
    import os
    import subprocess
    import sys

    model = _old_mirrored_ensemble(seed=7)
    x = np.random.default_rng(7).integers(0, 256, (16, 48, 48, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    expected = model.predict(x, verbose=0)

    def plain_keras(path):
        return subprocess.run([sys.executable, "-c", PLAIN_KERAS, str(path), str(tmp_path / "x.npy"),
                               str(tmp_path / "p.npy")], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, KERAS_BACKEND=backend))

    own = plain_keras(save(model, tmp_path / "own.keras"))          # as ferlab wrote it before
    assert own.returncode != 0 and "MirrorFace" in own.stderr
    path = save(model, tmp_path / "portable.keras", weights="float16", portable=True)
    assert keras_modules(path) == {"keras"}       # Keras' own classes alone
    ran = plain_keras(path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, atol=2e-3)    # float16 weights' rounding


def test_portable_swaps_ferlabs_layers_for_keras_own_and_keeps_everything_else(tmp_path):
    from ferlab.models.ensemble import members_of, mirrors_faces
    from ferlab.models.layers import is_mirror, mirror
    from ferlab.training.fit import warm_start

    model = _old_mirrored_ensemble(seed=8)
    x = np.random.default_rng(8).integers(0, 256, (16, 48, 48, 1)).astype("float32")
    path = save(model, tmp_path / "portable.keras", portable=True)
    restored = load(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))   # exact
    assert mirrors_faces(restored) and [m.name for m in members_of(restored)] == ["member_1", "member_2"]
    assert [layer.__class__.__name__ for layer in members_of(restored)[0].layers[:3]] == \
        ["InputLayer", "Identity", "Rescaling"]
    assert restored.count_params() == model.count_params() + 48 * 48      # the mirror's fixed matrix
    # a portable member still starts a run built with its augmentation: the same weight arrays
    fresh = build_model(DEFAULTS["compact"], augmentation=FaceAugment())
    warm_start(fresh, path, member=2)
    for a, b in zip(fresh.weights, members_of(model)[1].weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # the mirror is recognised by what it does, not by its class alone
    other = keras.layers.EinsumDense("bhwc,wv->bhvc", output_shape=(48, 48, 1))
    other.build((None, 48, 48, 1))
    assert is_mirror(mirror((48, 48, 1))) and not is_mirror(other)
    np.testing.assert_array_equal(np.asarray(mirror((48, 48, 1))(x)), x[:, :, ::-1])


def test_a_file_that_is_no_saved_model_is_named_for_what_it_is(tmp_path):
    # Keras answers "File not found" for a file that is there but empty or cut short
    good = save(build_model(DEFAULTS["4conv"]), tmp_path / "good.keras")
    cut = tmp_path / "cut.keras"
    cut.write_bytes(good.read_bytes()[:4000])
    (tmp_path / "empty.keras").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "photos.keras", "w") as z:
        z.writestr("face.png", b"not a model")
    with h5py.File(tmp_path / "old.h5", "w") as f:
        f["weights"] = np.zeros(3)
    (tmp_path / "folder.keras").mkdir()
    for name, said in (("cut.keras", r"cut\.keras is not a saved Keras model.*\(4,000 bytes\).*cut short"),
                       ("empty.keras", r"empty\.keras is not a saved Keras model.*is empty"),
                       ("photos.keras", r"zip archive but not a saved Keras model \(no config\.json"),
                       ("old.h5", r"HDF5 model file.*save\('model\.keras'\)"),
                       ("folder.keras", r"is a folder"), ("missing.keras", r"does not exist")):
        with pytest.raises(ValueError, match=said):
            load(tmp_path / name)
    assert load(good).count_params() == build_model(DEFAULTS["4conv"]).count_params()

"""Training writes one committed epoch row per epoch, checkpoints, resumes and evaluates."""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import replace

import keras
import numpy as np
import pytest

from ferlab import config
from ferlab.training.callbacks import StoreRecorder, lr_schedule
from ferlab.training.fit import train
from ferlab.training.spec import PRESETS, TrainSpec, preset
from tests.helpers import ferlab, keras_modules


def assert_faces_agree(store, artifact, confusion) -> None:
    """The stored face record is of the evaluated split, face by face, and says what the figures say."""
    from ferlab.data.catalog import read_split
    from ferlab.training.report import Faces

    split = read_split(store, artifact.dataset, artifact.split)
    faces = Faces.from_dict(artifact.metrics["faces"]).aligned(split.images, split.labels)
    assert faces is not None and len(faces.predicted) == len(split.labels)
    again = np.zeros((7, 7), dtype=int)
    np.add.at(again, (split.labels, faces.predicted), 1)
    np.testing.assert_array_equal(again, confusion)
    assert ((faces.confidence >= 14) & (faces.confidence <= 99)).all()    # a top class has at least 1/7


def test_two_epochs_write_exactly_two_rows_and_a_model(store, tiny_spec):
    seen_during_fit = []
    orig = StoreRecorder.on_epoch_end

    def spy(self, epoch, logs=None):
        orig(self, epoch, logs)
        seen_during_fit.append(store.count_epochs(self.trial_id))  # committed before fit goes on

    StoreRecorder.on_epoch_end = spy
    try:
        result = train(store, tiny_spec, verbose=0, log=lambda _: None)
    finally:
        StoreRecorder.on_epoch_end = orig
    assert seen_during_fit == [1, 2]
    assert result.status == "completed" and result.epochs_run == 2
    rows = store.epochs([result.trial_id])
    assert [r.epoch for r in rows] == [1, 2]
    assert all(r.loss is not None and r.val_accuracy is not None and r.seconds > 0 for r in rows)
    assert rows[0].learning_rate == pytest.approx(1e-3)
    trial = store.get_trial(result.trial_id)
    assert trial.status == "completed" and trial.params == keras.saving.load_model(result.model_path).count_params()
    job = store.get_job(result.job_id)
    assert job.status == "completed"
    # the machine it ran on, and the Keras that ran it, are stored with it (what its epoch times mean)
    backend = keras.backend.backend()
    named = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}[backend]
    assert job.machine == job.ran_on == (f"{config.machine()}; Keras {keras.__version__} on {named} "
                                         f"{importlib.metadata.version(backend)}")
    [artifact] = store.list_artifacts(result.trial_id)
    cm = np.array(artifact.metrics["plain"]["confusion"])
    assert artifact.split == "test" and cm.shape == (7, 7) and cm.sum() == 70
    assert artifact.accuracy == pytest.approx(np.trace(cm) / 70)
    assert artifact.metrics["tta"]["tta"] is True
    assert_faces_agree(store, artifact, cm)
    # the run's model is the best checkpoint made of Keras' own layers: plain Keras reads it
    assert keras_modules(result.model_path) == {"keras"} and "ferlab" in keras_modules(result.model_path.parent / "best.keras")
    faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48, 1)).astype("float32")
    np.testing.assert_array_equal(keras.saving.load_model(result.model_path).predict(faces, verbose=0),
                                  keras.saving.load_model(result.model_path.parent / "best.keras").predict(faces, verbose=0))


def test_cancel_stops_after_the_current_epoch_and_keeps_it(store, tiny_spec):
    job = store.create_job("train", tiny_spec.to_dict(), status="running")
    store.request_cancel(job.id)
    result = train(store, replace(tiny_spec, epochs=5), job_id=job.id, verbose=0, log=lambda _: None)
    assert result.status == "cancelled"
    assert [r.epoch for r in store.epochs([result.trial_id])] == [1]
    assert store.get_job(job.id).status == "cancelled"


def test_resume_after_a_crash_between_epoch_row_and_checkpoint(store, tiny_spec, monkeypatch):
    spec = replace(tiny_spec, epochs=3)
    orig = StoreRecorder.on_epoch_end

    def crash_on_second(self, epoch, logs=None):
        orig(self, epoch, logs)
        if epoch == 1:  # epoch 2's row is stored, its checkpoint never written
            raise KeyboardInterrupt

    monkeypatch.setattr(StoreRecorder, "on_epoch_end", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        train(store, spec, verbose=0, log=lambda _: None)
    [job] = store.list_jobs()
    assert job.status == "failed" and "ferlab train --resume" in job.error
    [trial] = store.list_trials(job.id)
    assert store.count_epochs(trial.id) == 2 and trial.status == "interrupted"
    monkeypatch.setattr(StoreRecorder, "on_epoch_end", orig)
    logs = []
    result = train(store, spec, job_id=job.id, verbose=0, log=logs.append)
    assert "resuming job 1 after epoch 1" in logs[0]
    assert "dropped 1 epoch row(s)" in logs[1]
    assert [r.epoch for r in store.epochs([trial.id])] == [1, 2, 3]
    assert result.status == "completed" and len(store.list_trials(job.id)) == 1


def test_failure_is_stored_with_its_traceback(store, tiny_spec):
    with pytest.raises(Exception):
        train(store, replace(tiny_spec, data="no-such-data"), verbose=0, log=lambda _: None)
    [job] = store.list_jobs()
    assert job.status == "failed" and "no data set named 'no-such-data'" in job.error


def test_presets_hold_the_papers_settings():
    assert PRESETS["paper-8conv-adam"].epochs == 150 and PRESETS["paper-8conv-adam"].learning_rate == 1e-4
    assert PRESETS["paper-5conv-adam"].epochs == 300 and PRESETS["paper-5conv-adam"].model.architecture == "5conv"
    assert PRESETS["paper-8conv-sgd"].optimizer == "sgd" and PRESETS["paper-8conv-sgd"].epochs == 150
    assert PRESETS["paper-4conv-baseline"].model.architecture == "4conv"
    for name, spec in PRESETS.items():
        assert spec.errors() == {}
        assert spec.batch_size == (64 if name == "ferlab-8conv" else 32)
        assert spec.augmentation == {"demo-quick": "none", "ferlab-8conv": "strong"}.get(name, "paper")
    assert preset("paper-8conv-adam", epochs=3).epochs == 3
    with pytest.raises(ValueError, match="unknown preset"):
        preset("nope")


def test_the_ferlab_8conv_preset_is_the_recipe_of_the_measured_gpu_run():
    """The preset promises the recipe of the seeded 200-epoch runs (69.60% and 69.85%): the same spec,
    seed and precision aside."""
    from ferlab.store.reference import REFERENCE_FILE

    runs = [r for r in json.loads(REFERENCE_FILE.read_text())["runs"]
            if r["key"] in ("train-39-20261128013432", "train-40-20261128013432")]
    assert len(runs) == 2

    def recipe(spec: dict) -> dict:
        return {k: v for k, v in spec.items() if k not in ("seed", "precision", "preset", "data")}

    for run in runs:
        assert run["command"].startswith("KERAS_BACKEND=jax ferlab train --preset paper-8conv-sgd")
        assert recipe(PRESETS["ferlab-8conv"].to_dict()) == recipe(run["spec"])


def test_spec_validation_names_fields():
    errors = replace(PRESETS["paper-8conv-adam"], batch_size=0, learning_rate=-1, optimizer="rmsprop").errors()
    assert set(errors) == {"batch_size", "learning_rate", "optimizer"}
    # one mistake, one message: 0 epochs is not also a warm-up mistake when there is no warm-up
    assert replace(PRESETS["paper-8conv-adam"], epochs=0).errors() == {"epochs": "epochs must be between 1 and 10000"}
    assert replace(PRESETS["ferlab-8conv"], epochs=2, warmup_epochs=2).errors() == {
        "warmup_epochs": "warm-up epochs must be fewer than epochs"}
    assert replace(PRESETS["ferlab-8conv"], warmup_epochs=-1).errors() == {"warmup_epochs": "warm-up epochs cannot be negative"}
    assert TrainSpec.from_dict(json.loads(json.dumps(PRESETS["ferlab-compact"].to_dict()))) == PRESETS["ferlab-compact"]


def test_cosine_schedule_with_warmup():
    fn = lr_schedule(0.1, "cosine", epochs=12, warmup=2)
    assert [round(fn(e), 4) for e in (0, 1, 2)] == [0.05, 0.1, 0.1]
    assert fn(11) < 0.01 and lr_schedule(0.1, "constant", 5, 0)(4) == 0.1


def test_augmentation_changes_training_inputs_only():
    from ferlab.training.augment import make

    aug = make("paper", seed=1)
    x = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    assert not np.allclose(np.asarray(aug(x, training=True)), x)


RAMP = np.linspace(0, 255, 48, dtype="float32")[None, None, :, None]          # dark left, bright right


def ramps(n: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(RAMP, (n, 48, 48, 1)))


def test_augmentation_is_exact_when_it_moves_nothing_and_mirrors_when_it_flips():
    from ferlab.models.layers import FaceAugment

    x = np.random.default_rng(0).integers(0, 256, (64, 48, 48, 1)).astype("float32")
    still = FaceAugment(rotation=0, zoom=0, shift=0, flip=False, seed=1)
    np.testing.assert_array_equal(np.asarray(still(x, training=True)), x)
    out = np.asarray(FaceAugment(rotation=0, zoom=0, shift=0, flip=True, seed=1)(x, training=True))
    mirrored = [np.array_equal(o, f[:, ::-1]) for o, f in zip(out, x)]
    kept = [np.array_equal(o, f) for o, f in zip(out, x)]
    assert all(m != k for m, k in zip(mirrored, kept)) and 16 <= sum(mirrored) <= 48


@pytest.mark.parametrize("kind", ["paper", "strong"])
def test_augmentation_draws_its_policys_ranges(kind):
    """Read back from a ramp (grey = 255/47 per pixel to the right): shifts within 10% (strong: 20%)
    of 48 pixels, zoom within 1 +- 0.1 (0.2), rotation within +-10 degrees, each reaching near its
    bound; make(kind) builds the layer with exactly those ranges."""
    from ferlab.models.layers import FaceAugment
    from ferlab.training.augment import POLICIES, make

    rotation, zoom, shift, erasing = POLICIES[kind]
    config = make(kind, seed=5).get_config()
    assert (config["rotation"], config["zoom"], config["shift"], config["erasing"], config["flip"]) == \
        (rotation, zoom, shift, erasing, True)
    x, step = ramps(512), 255.0 / 47.0

    def only(**kw):
        params = {"rotation": 0, "zoom": 0, "shift": 0, "flip": False, **kw}
        return np.asarray(FaceAugment(seed=5, **params)(x, training=True))

    pixels = (only(shift=shift)[:, 24, 24, 0] - x[0, 24, 24, 0]) / step
    assert 0.83 * 48 * shift < -pixels.min() <= 48 * shift and 0.83 * 48 * shift < pixels.max() <= 48 * shift
    zoomed = only(zoom=zoom)
    scale = (zoomed[:, 24, 30, 0] - zoomed[:, 24, 18, 0]) / (12 * step)
    assert 1 - zoom <= scale.min() < 1 - 0.8 * zoom and 1 + 0.8 * zoom < scale.max() <= 1 + zoom
    rotated = only(rotation=rotation)
    degrees = np.degrees(np.arcsin((rotated[:, 34, 24, 0] - rotated[:, 14, 24, 0]) / (20 * step)))
    assert -rotation - 0.01 <= degrees.min() < -0.9 * rotation and 0.9 * rotation < degrees.max() <= rotation + 0.01


def test_augmentation_draws_flip_and_rotation_independently():
    """One shared seed once made every flipped face rotate the same way."""
    from ferlab.training.augment import make

    out = np.asarray(make("paper", seed=3)(ramps(256), training=True))
    flipped = out[:, 24, 2, 0] > 128                                            # bright on the left
    tilted = out[:, 40, 24, 0] > out[:, 8, 24, 0]                               # the ramp tilts one way
    assert 0.3 < flipped.mean() < 0.7 and 0.3 < tilted.mean() < 0.7
    assert 0.3 < np.mean(flipped == tilted) < 0.7


def test_a_resumed_run_does_not_replay_the_first_epochs_augmentation(tmp_path):
    from ferlab.models.builders import build_model
    from ferlab.models.config import DEFAULTS
    from ferlab.training.augment import EpochSeeds, make

    x = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1)).astype("float32")

    def draws(model, epoch):
        seeds = EpochSeeds()
        seeds.set_model(model)
        seeds.on_epoch_begin(epoch)
        return np.asarray(model.get_layer("augment")(x, training=True))

    model = build_model(DEFAULTS["compact"], make("paper-erasing", seed=1))
    first, seventh = draws(model, 0), draws(model, 6)
    assert not np.allclose(first, seventh)
    model.save(tmp_path / "last.keras")
    resumed = keras.saving.load_model(tmp_path / "last.keras", safe_mode=True)
    again = draws(resumed, 6)
    np.testing.assert_allclose(again, seventh)          # epoch 7 draws as an uninterrupted run would
    assert not np.allclose(again, first)


def test_random_erasing_covers_one_rectangle_in_about_half_the_faces():
    from ferlab.training.augment import make

    aug = make("paper-erasing", seed=1)
    grey = np.full((64, 48, 48, 1), 128.0, dtype="float32")
    np.testing.assert_array_equal(np.asarray(aug(grey, training=False)), grey)
    out = np.asarray(aug(grey, training=True))       # a uniform face: moving it changes nothing
    assert out.min() >= 0 and out.max() <= 255
    changed = out[..., 0] != 128
    erased = changed.any(axis=(1, 2))
    assert 16 <= erased.sum() <= 48                    # probability 0.5 of 64 faces
    for mask in changed[erased]:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
        assert box <= 0.34 * 48 * 48 and mask.sum() >= 0.5 * box   # one noise rectangle, at most 33%


def test_precision_choice(monkeypatch):
    from ferlab.training import precision

    monkeypatch.setattr(precision, "has_gpu", lambda: False)
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(precision, "bf16_pays", lambda: True)
    assert precision.resolve("auto") == "mixed_bfloat16"
    monkeypatch.setattr(precision, "bf16_pays", lambda: False)   # bf16 flags, but slower here
    assert precision.resolve("auto") == "float32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    monkeypatch.setattr(precision, "bf16_pays", lambda: pytest.fail("no bf16 flags: nothing to measure"))
    assert precision.resolve("auto") == "float32"
    monkeypatch.setattr(precision, "has_gpu", lambda: True)
    assert precision.resolve("auto") == "mixed_float16"
    assert precision.resolve("float32") == "float32"


def test_whether_bf16_pays_is_measured_once_per_machine_and_kept(monkeypatch, tmp_path):
    from ferlab.training import precision

    monkeypatch.setenv("FERLAB_HOME", str(tmp_path))
    real = precision.conv_seconds
    assert all(real(dtype, reps=1) > 0 for dtype in ("float32", "bfloat16"))   # the real timing runs
    timed = []
    seconds = {"float32": 2.0, "bfloat16": 1.5}
    monkeypatch.setattr(precision, "conv_seconds", lambda dtype: timed.append(dtype) or seconds[dtype])
    precision.bf16_pays.cache_clear()
    try:
        assert precision.bf16_pays() is True and timed == ["float32", "bfloat16"]
        kept = json.loads((tmp_path / "precision.json").read_text())
        assert kept["bf16_pays"] is True and kept["float32_seconds"] == 2.0
        precision.bf16_pays.cache_clear()
        assert precision.bf16_pays() is True and len(timed) == 2        # read back, not measured again
        (tmp_path / "precision.json").write_text(json.dumps({**kept, "key": "another CPU"}))
        seconds["bfloat16"] = 1.9                                         # under the 1.1x margin
        precision.bf16_pays.cache_clear()
        assert precision.bf16_pays() is False and len(timed) == 4
        (tmp_path / "precision.json").write_text("{not json")
        precision.bf16_pays.cache_clear()
        assert precision.bf16_pays() is False and len(timed) == 6
        (tmp_path / "precision.json").unlink()
        monkeypatch.setattr(precision, "conv_seconds", lambda dtype: 1 / 0 if dtype == "bfloat16" else 1.0)
        precision.bf16_pays.cache_clear()
        assert precision.bf16_pays() is False        # no bf16 convolution here: float32, not a crash
    finally:
        precision.bf16_pays.cache_clear()


def test_train_and_evaluate_from_the_cli(store, tiny_data, tmp_path):
    from tests.helpers import cli, make_folder_layout

    # training as a user runs it (a process of its own); evaluate's calls run in this one
    out = ferlab("train", "--preset", "demo-quick", "--data", tiny_data, "--epochs", "1",
                 "--precision", "float32", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed" and result["model"].endswith("model.keras")

    ev = cli("evaluate", result["model"], "--data", tiny_data, "--json")
    assert ev.returncode == 0, ev.stderr
    report = json.loads(ev.stdout)
    assert report["split"] == "test" and report["n"] == 70
    assert report["accuracy"] == pytest.approx(result["evaluation"]["accuracy"])
    assert sum(map(sum, report["confusion"])) == 70

    make_folder_layout(tmp_path / "held_out", {"test": 2})   # a layout with only a test split
    text = cli("evaluate", result["model"], "--data", str(tmp_path / "held_out"))
    assert text.returncode == 0, text.stderr
    assert "on 14 images" in text.stdout and "confusion matrix (rows: true, columns: predicted)" in text.stdout
    shifted = cli("evaluate", result["model"], "--data", tiny_data, "--tta", "shift", "--json",
                  "--against", result["model"])
    assert shifted.returncode == 0, shifted.stderr
    report = json.loads(shifted.stdout)
    assert report["tta"] == "shift"
    assert report["against"]["difference"] == 0 and report["against"]["only_this"] == report["against"]["only_other"] == 0
    bad = cli("evaluate", result["model"], "--data", tiny_data, "--tta", "rotate")
    assert bad.returncode == 2 and "invalid choice: 'rotate'" in bad.stderr
    missing = cli("evaluate", result["model"], "--data", tiny_data, "--against", str(tmp_path / "none.keras"))
    assert missing.returncode == 2 and "none.keras does not exist" in missing.stderr


def test_a_paired_comparison_counts_the_faces_the_models_disagree_on():
    from ferlab.training.evaluate import paired

    labels = np.zeros(10, dtype=int)
    mine, other = np.array([0] * 8 + [1] * 2), np.array([0] * 5 + [1] * 5)
    p = paired(labels, mine, other)
    assert (p.accuracy, p.other_accuracy, p.only_this, p.only_other) == (0.8, 0.5, 3, 0)
    assert p.difference == pytest.approx(0.3) and p.standard_error == pytest.approx(0.4830 / np.sqrt(10), abs=1e-4)
    assert p.p_value == pytest.approx(0.25)           # 3 of 3 disagreements one way: 2 x 0.5^3
    assert paired(labels, other, mine).difference == pytest.approx(-0.3)


def test_test_time_augmentation_views():
    from ferlab.training.evaluate import tta_views

    x = np.arange(2 * 48 * 48, dtype="float32").reshape(2, 48, 48, 1)
    assert len(tta_views(x, False)) == 1 and len(tta_views(x, True)) == 2
    flip = tta_views(x, "flip")
    np.testing.assert_array_equal(flip[1], x[:, :, ::-1])
    views = tta_views(x, "shift")
    assert len(views) == 10 and all(v.shape == x.shape for v in views)
    down = views[2]                                    # moved 2 pixels down, the top row repeated
    np.testing.assert_array_equal(down[:, 2:], x[:, :-2])
    np.testing.assert_array_equal(down[:, 0], x[:, 0])
    np.testing.assert_array_equal(views[3], down[:, :, ::-1])
    right = views[6]
    np.testing.assert_array_equal(right[:, :, 2:], x[:, :, :-2])
    with pytest.raises(ValueError, match="unknown test-time augmentation 'spin'"):
        tta_views(x, "spin")


def test_plain_and_flip_from_two_passes_equal_the_separate_evaluations():
    from ferlab.data.dataset import Split
    from ferlab.training.evaluate import evaluate, evaluate_plain_and_flip

    rng = np.random.default_rng(5)
    split = Split(rng.integers(0, 256, (300, 48, 48), dtype=np.uint8), rng.integers(0, 7, 300))
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(7, activation="softmax")])
    plain, flipped = evaluate_plain_and_flip(model, split)
    assert plain.to_dict() == evaluate(model, split).to_dict()
    assert flipped.to_dict() == evaluate(model, split, tta=True).to_dict()
    assert plain.confusion != flipped.confusion      # the mirror changes predictions: the check can tell them apart


def test_demo_quick_learns_the_demo_set(store):
    """The demo set is learnable in seconds, and inference does not collapse to one class
    (BatchNorm's moving statistics settle within the few steps a small data set gives)."""
    result = train(store, preset("demo-quick", data="demo", epochs=3, precision="float32"), verbose=0,
                   log=lambda _: None)
    assert result.best_val_accuracy > 0.5          # chance is 1/7
    predicted = np.array(result.evaluation.confusion).sum(axis=0)
    assert (predicted > 0).sum() >= 5               # not one class for everything


def test_warm_start_copies_a_trained_models_weights_and_refuses_another_shape(paired):
    from ferlab.training.fit import build_for

    store, tiny_spec, (_, first_model) = paired.store, paired.spec, paired.models[0]
    source = keras.saving.load_model(first_model)
    warm = replace(tiny_spec, init_from=first_model, learning_rate=1e-4, seed=4)
    for got, want in zip(build_for(warm).get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)   # batch-norm statistics too
    cold = build_for(replace(warm, init_from=None))
    assert not all(np.array_equal(a, b) for a, b in zip(cold.get_weights(), source.get_weights()))

    second = train(store, warm, verbose=0, log=lambda _: None)
    assert second.status == "completed"
    assert store.get_job(second.job_id).spec["init_from"] == first_model

    wider = replace(warm, model=replace(warm.model, filters=(16, 8, 8, 8)))
    with pytest.raises(ValueError, match="do not match this spec's model"):
        train(store, wider, verbose=0, log=lambda _: None)
    assert "do not match" in store.list_jobs(status="failed")[0].error
    assert replace(warm, init_from="weights.h5").errors() == {"init_from": "'weights.h5' is not a .keras model file"}


def test_warm_start_from_one_model_of_an_ensemble(paired, tmp_path):
    """An ensemble (the shipped default model is one) is a start only with the member named."""
    from ferlab.models.ensemble import average_models
    from ferlab.training.fit import build_for

    tiny_spec, [(_, first_model), (_, second_model)] = paired.spec, paired.models
    members = [keras.saving.load_model(p) for p in (first_model, second_model)]
    path = tmp_path / "pair.keras"
    average_models(members).save(path)
    from ferlab.inference.models import member_count   # what the Experiments form asks a member of
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    assert [member_count(p) for p in (path, first_model, tmp_path / "broken.keras")] == [2, 1, 1]
    warm = replace(tiny_spec, init_from=str(path), init_member=2, seed=6)
    for got, want in zip(build_for(warm).get_weights(), members[1].get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert not all(np.array_equal(a, b) for a, b in
                   zip(build_for(replace(warm, init_member=1)).get_weights(), members[1].get_weights()))

    with pytest.raises(ValueError, match=r"an ensemble of 2 models; name the one to start from \(--init-member 1 to 2\)"):
        build_for(replace(warm, init_member=None))
    with pytest.raises(ValueError, match=r"averages 2 models \(1 to 2\)"):
        build_for(replace(warm, init_member=3))
    with pytest.raises(ValueError, match="is one model, not an ensemble; drop the member number"):
        build_for(replace(warm, init_from=first_model))
    assert "init_member" in replace(warm, init_from=None).errors()
    assert replace(warm, init_member=0).errors() == {"init_member": "ensemble members are numbered from 1"}


def test_init_from_a_job_number_on_the_cli(paired, capsys, monkeypatch):
    import ferlab.runner
    from ferlab.cli import main

    monkeypatch.setattr(ferlab.runner, "ensure_worker", lambda store: None)  # keep the job queued
    store, tiny_spec, (first_job, first_model) = paired.store, paired.spec, paired.models[0]
    assert main(["train", "--preset", "paper-4conv-baseline", "--data", tiny_spec.data, "--epochs", "1",
                 "--learning-rate", "0.0005", "--warmup-epochs", "0", "--init-from", str(first_job),
                 "--background"]) == 0
    queued = store.list_jobs(status="queued")[0]
    assert queued.spec["init_from"] == first_model and queued.spec["learning_rate"] == 0.0005
    assert queued.spec["init_member"] is None
    assert main(["train", "--preset", "paper-4conv-baseline", "--data", tiny_spec.data, "--epochs", "1",
                 "--init-from", str(first_job), "--init-member", "2", "--background"]) == 0
    assert store.list_jobs(status="queued")[0].spec["init_member"] == 2
    assert main(["train", "--preset", "paper-4conv-baseline", "--data", tiny_spec.data, "--epochs", "1",
                 "--distill-from", str(first_job), "--distill-weight", "0.3", "--background"]) == 0
    taught = store.list_jobs(status="queued")[0].spec
    assert (taught["distill_from"], taught["distill_weight"]) == (first_model, 0.3)

    assert main(["train", "--data", tiny_spec.data, "--init-from", str(queued.id)]) == 2
    assert f"job {queued.id} has no saved model to start from" in capsys.readouterr().err
    assert main(["train", "--data", tiny_spec.data, "--init-from", "missing.keras"]) == 2
    assert "no model file at missing.keras" in capsys.readouterr().err


def test_distillation_fits_a_mix_of_true_labels_and_the_teachers_probabilities(paired, monkeypatch):
    from pathlib import Path

    from ferlab.training import distill
    from ferlab.training.evaluate import predict_proba
    from ferlab.training.fit import one_hot, run_dir_for

    store, tiny_spec, teacher_model = paired.store, paired.spec, Path(paired.models[0][1])
    fitted_on = []
    fit = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, x, y, **kw: fitted_on.append(y) or fit(self, x, y, **kw))
    student = replace(tiny_spec, seed=7, distill_from=str(teacher_model), distill_weight=0.25)
    logged = []
    result = train(store, student, verbose=0, log=logged.append)
    assert result.status == "completed" and any("distilling from" in line for line in logged)

    from ferlab.data import load_dataset
    faces = load_dataset(store, tiny_spec.data)["train"]
    expected = predict_proba(keras.saving.load_model(teacher_model), faces.images, tta="flip")
    kept = np.load(run_dir_for(result.job_id) / distill.TEACHER_FILE)
    np.testing.assert_allclose(kept, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fitted_on[0], 0.75 * one_hot(faces.labels) + 0.25 * kept, rtol=1e-6)
    assert fitted_on[0].sum(axis=1) == pytest.approx(1.0, abs=1e-5)
    # A resumed run reads the teacher's probabilities back instead of loading the teacher again.
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: pytest.fail("teacher loaded again"))
    again = distill.teacher_probabilities(teacher_model, faces.images, run_dir_for(result.job_id))
    np.testing.assert_array_equal(again, kept)


def test_distillation_refuses_what_cannot_teach(store, tiny_spec, tmp_path):
    from ferlab.training import distill

    assert replace(tiny_spec, distill_from="teacher.h5").errors() == {
        "distill_from": "'teacher.h5' is not a .keras model file"}
    for weight in (0.0, 1.5):
        assert "distill_weight" in replace(tiny_spec, distill_weight=weight).errors()
    three = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    three.save(tmp_path / "three.keras")
    faces = np.zeros((4, 48, 48), dtype="uint8")
    with pytest.raises(ValueError, match="predicts \\(3,\\) values per face, not the 7 emotions"):
        distill.teacher_probabilities(tmp_path / "three.keras", faces, tmp_path)
    with pytest.raises(ValueError, match="no such model file"):
        distill.teacher_probabilities(tmp_path / "missing.keras", faces, tmp_path)
    with pytest.raises(ValueError, match="cannot learn from"):
        train(store, replace(tiny_spec, distill_from=str(tmp_path / "missing.keras")), verbose=0, log=lambda _: None)
    assert "cannot learn from" in store.list_jobs(status="failed")[0].error


def test_a_new_job_never_resumes_files_an_earlier_job_of_its_number_left(store, tiny_spec):
    """A deleted job's number is given again (SQLite), and a runs.db may be replaced while .ferlab
    stays: what lies in the folder of a job with no trial yet is moved aside, not resumed."""
    from ferlab import config

    job = store.create_job("train", tiny_spec.to_dict(), status="running")
    folder = config.run_dir(job.id)
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(json.dumps({"epoch": 5, "best_val_accuracy": 0.9, "best_epoch": 5}))
    (folder / "last.keras").write_bytes(b"someone else's checkpoint")
    (folder / "log.txt").write_text("this job's worker log\n")
    logged = []
    result = train(store, tiny_spec, job_id=job.id, verbose=0, log=logged.append)
    assert result.status == "completed" and result.epochs_run == 2 and result.best_val_accuracy < 0.9
    [aside] = folder.parent.glob(f"job-{job.id}-stale-*")
    assert sorted(p.name for p in aside.iterdir()) == ["last.keras", "state.json"]
    assert (folder / "log.txt").read_text() == "this job's worker log\n"
    assert any(f"moved them to {aside}" in line for line in logged)


def test_a_run_on_a_path_logs_the_items_it_could_not_read(store, tiny_spec, tmp_path):
    from tests.helpers import make_folder_layout

    make_folder_layout(tmp_path / "faces", {"train": 3, "val": 1})
    (tmp_path / "faces" / "train" / "sad" / "broken.png").write_bytes(b"not a png")
    logged: list[str] = []
    result = train(store, replace(tiny_spec, data=str(tmp_path / "faces"), epochs=1), verbose=0, log=logged.append)
    assert result.status == "completed"
    warning = next(m for m in logged if m.startswith("warning: skipped 1 item(s) of "))
    assert "broken.png" in warning and "the figures count only the 28 faces read" in warning


def test_a_face_record_reads_back_face_by_face_in_any_order_of_the_same_faces():
    from ferlab.training.report import Faces, face_record

    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    images[4] = images[0]                                 # FER2013 holds duplicates; here one with another label
    labels = np.array([0, 6, 3, 3, 2])
    probabilities = np.array([[0.9, 0.1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0.2, 0.8],
                              [0, 0, 0, 0.999, 0.001, 0, 0], [0, 0, 0.58, 0.1, 0.32, 0, 0],   # 0.58 * 100 is 57.99999999999999
                              [0.9, 0.1, 0, 0, 0, 0, 0]])
    record = face_record(images, labels, probabilities)
    assert sorted(record["predicted"]) == sorted("06320") and len(record["confidence"]) == 10
    faces = Faces.from_dict(record)
    mine = faces.aligned(images, labels)
    assert mine.predicted.tolist() == [0, 6, 3, 2, 0] and mine.confidence.tolist() == [90, 80, 99, 58, 90]
    # the same faces listed otherwise (a CSV against image folders): each face keeps its own record
    shuffled = np.array([3, 0, 4, 2, 1])
    theirs = faces.aligned(images[shuffled], labels[shuffled])
    assert theirs.predicted.tolist() == mine.predicted[shuffled].tolist()
    assert theirs.confidence.tolist() == mine.confidence[shuffled].tolist()
    # other faces, another label, one face fewer: no record of theirs
    other = images.copy()
    other[2, 0, 0] ^= 1
    assert faces.aligned(other, labels) is None and faces.aligned(images, labels[[0, 1, 2, 4, 3]]) is None
    assert faces.aligned(images[:4], labels[:4]) is None
    assert Faces.from_dict(None) is None and Faces.from_dict({}) is None

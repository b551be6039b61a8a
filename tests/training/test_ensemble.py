"""Ensembles: trained models averaged into one .keras model, evaluated and stored like a model."""

from __future__ import annotations

import json
from dataclasses import replace

import keras
import numpy as np
import pytest

from ferlab.training.ensemble import build_ensemble
from ferlab.training.fit import train
from ferlab.training.spec import EnsembleSpec
from tests.helpers import cli, ferlab, keras_modules


def quiet(_line):
    pass


def test_the_ensemble_is_the_mean_of_its_members_and_is_stored_like_a_model(paired):
    store, tiny_data, two_models = paired.store, paired.data, paired.models
    paths = [p for _, p in two_models]
    result = build_ensemble(store, EnsembleSpec(data=tiny_data, members=tuple(paths)), log=quiet)

    model = keras.saving.load_model(result.model_path, safe_mode=True)
    members = [keras.saving.load_model(p) for p in paths]
    faces = np.random.default_rng(1).integers(0, 256, (16, 48, 48, 1)).astype("float32")
    mean = np.mean([m.predict(faces, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(model.predict(faces, verbose=0), mean, atol=1e-6)
    assert result.params == sum(m.count_params() for m in members)

    job = store.get_job(result.job_id)
    assert job.kind == "ensemble" and job.status == "completed" and job.spec["members"] == paths
    [trial] = store.list_trials(job.id)
    [artifact] = store.list_artifacts(trial.id)
    assert artifact.path == str(result.model_path) and artifact.split == "test"
    assert artifact.accuracy == result.evaluation.accuracy
    from tests.training.test_fit import assert_faces_agree

    assert_faces_agree(store, artifact, np.array(artifact.metrics["plain"]["confusion"]))
    assert [m["path"] for m in artifact.metrics["members"]] == paths
    assert all(0.0 <= m["accuracy"] <= 1.0 for m in artifact.metrics["members"])

    from ferlab.inference.models import available_models
    from ferlab.runner.jobs import model_lineages
    from ferlab.ui.tables import leaderboard_frame

    labels = [m.label for m in available_models(store)]
    assert any(label.startswith(f"job {job.id}: ensemble of 2") for label in labels)
    summaries = store.job_summaries()
    [a, b] = [j for j, _ in two_models]
    assert model_lineages(store, summaries) == {job.id: [a, b]}
    board = leaderboard_frame(summaries, set(), literature=False, lineages=model_lineages(store, summaries))
    row = board[board["model"] == f"job {job.id}: ensemble: job-{a} + job-{b}"].iloc[0]
    assert row["architecture"] == "ensemble" and row["params"] == result.params
    assert row["with flip TTA"] == result.evaluation_tta.accuracy     # both figures of the stored model
    # it trained nothing: its cost is that of the two runs it averages, on their machine
    runs = {x.job.id: x for x in summaries}
    assert row["epochs"] == runs[a].epochs + runs[b].epochs > 0
    assert row["hours"] == pytest.approx((runs[a].seconds_total + runs[b].seconds_total) / 3600)
    assert row["machine"] == runs[a].job.ran_on == runs[b].job.ran_on
    unknown = leaderboard_frame(summaries, set(), literature=False)     # runs not looked up: no cost claimed
    assert unknown.loc[unknown["model"] == row["model"], ["epochs", "hours", "machine"]].isna().all(axis=None)


def test_bad_members_get_a_clear_error_and_a_failed_job(paired, tmp_path):
    store, tiny_data, two_models = paired.store, paired.data, paired.models
    path = two_models[0][1]
    assert EnsembleSpec(tiny_data, (path,)).errors() == {
        "members": "an ensemble needs at least two models (or one, with flip)"}
    assert EnsembleSpec(tiny_data, (), flip=True).errors() == {"members": "name a model to average with its mirror image"}
    assert "named twice" in EnsembleSpec(tiny_data, (path, path)).errors()["members"]
    assert "not a .keras model file" in EnsembleSpec(tiny_data, (path, "weights.h5")).errors()["members"]

    other = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="is not a FER2013 model"):
        build_ensemble(store, EnsembleSpec(tiny_data, (path, str(tmp_path / "other.keras"))), log=quiet)
    with pytest.raises(ValueError, match="does not exist"):
        build_ensemble(store, EnsembleSpec(tiny_data, (path, str(tmp_path / "gone.keras"))), log=quiet)
    failed = store.list_jobs(status="failed")
    assert len(failed) == 2 and all(j.kind == "ensemble" for j in failed)
    assert "does not exist" in failed[0].error and "is not a FER2013 model" in failed[1].error


def test_cli_takes_job_numbers_and_prints_json(paired, tmp_path):
    store, tiny_data, two_models = paired.store, paired.data, paired.models
    (a, path_a), (b, path_b) = two_models
    r = ferlab("ensemble", str(a), str(b), "--data", tiny_data, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [m["path"] for m in out["members"]] == [path_a, path_b] and out["split"] == "test"
    assert store.get_job(out["job"]).status == "completed"
    listed = ferlab("jobs", "list", cwd=tmp_path).stdout.splitlines()
    row = next(line.split() for line in listed if line.split()[0] == str(out["job"]))
    assert row[1:5] == ["ensemble", "completed", "0", "-"] and " ".join(row).endswith(f"ensemble: job-{a} + job-{b}")

    r = cli("ensemble", str(a), "--data", tiny_data, cwd=tmp_path)    # in this process: the call above is a real one
    assert r.returncode == 2 and "an ensemble needs at least two models" in r.stderr
    r = cli("ensemble", str(a), "999", "--data", tiny_data, cwd=tmp_path)
    assert r.returncode == 2 and "999" in r.stderr and "Traceback" not in r.stderr


def test_an_ensemble_as_a_member_adds_all_its_models_or_the_one_named(paired, tmp_path):
    store, tiny_data, tiny_spec, two_models = paired.store, paired.data, paired.spec, paired.models
    pair = build_ensemble(store, EnsembleSpec(tiny_data, tuple(p for _, p in two_models)), log=quiet)
    third = train(store, replace(tiny_spec, seed=5), verbose=0, log=quiet)
    trio = build_ensemble(store, EnsembleSpec(tiny_data, (str(pair.model_path), str(third.model_path))), log=quiet)

    model = keras.saving.load_model(trio.model_path, safe_mode=True)
    assert [layer.name for layer in model.layers if isinstance(layer, keras.Model)] == ["member_1", "member_2",
                                                                                       "member_3"]
    singles = [keras.saving.load_model(p) for p in (*(p for _, p in two_models), str(third.model_path))]
    faces = np.random.default_rng(2).integers(0, 256, (8, 48, 48, 1)).astype("float32")
    mean = np.mean([m.predict(faces, verbose=0) for m in singles], axis=0)
    np.testing.assert_allclose(model.predict(faces, verbose=0), mean, atol=1e-6)
    assert [m["path"] for m in trio.members] == [f"{pair.model_path}#member_1", f"{pair.model_path}#member_2",
                                                 str(third.model_path)]
    assert trio.params == sum(m.count_params() for m in singles)

    # "FILE#K" (JOB#K on the CLI) takes the K-th model an ensemble averages, not all of them
    spec = EnsembleSpec(tiny_data, (f"{pair.model_path}#2", str(third.model_path)))
    duo = build_ensemble(store, spec, log=quiet)
    mean = np.mean([m.predict(faces, verbose=0) for m in singles[1:]], axis=0)
    np.testing.assert_allclose(keras.saving.load_model(duo.model_path).predict(faces, verbose=0), mean, atol=1e-6)
    assert [m["path"] for m in duo.members] == [f"{pair.model_path}#2", str(third.model_path)]
    assert spec.label() == f"ensemble: job-{pair.job_id}#2 + job-{third.job_id}"
    assert "numbered from 1" in EnsembleSpec(tiny_data, (f"{pair.model_path}#0", str(third.model_path))).errors()["members"]
    with pytest.raises(ValueError, match="is one model, not an ensemble; drop the #1"):
        build_ensemble(store, EnsembleSpec(tiny_data, (f"{third.model_path}#1", str(pair.model_path))), log=quiet)
    with pytest.raises(ValueError, match=r"averages 2 models \(#1 to #2\)"):
        build_ensemble(store, EnsembleSpec(tiny_data, (f"{pair.model_path}#3", str(third.model_path))), log=quiet)
    r = cli("ensemble", f"{pair.job_id}#1", str(third.job_id), "--data", tiny_data, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [m["path"] for m in json.loads(r.stdout)["members"]] == [f"{pair.model_path}#1", str(third.model_path)]



def test_flip_averages_each_model_with_the_mirror_image_inside_the_saved_model(paired, tmp_path):
    store, tiny_data, two_models = paired.store, paired.data, paired.models
    from ferlab.data import load_dataset
    from ferlab.inference.predictor import Predictor
    from ferlab.models.ensemble import mirrors_faces
    from ferlab.training.evaluate import evaluate, evaluate_plain_and_flip, view_probabilities

    paths = [p for _, p in two_models]
    spec = EnsembleSpec(tiny_data, tuple(paths), flip=True)
    result = build_ensemble(store, spec, log=quiet)
    model = keras.saving.load_model(result.model_path, safe_mode=True)
    singles = [keras.saving.load_model(p) for p in paths]
    faces = np.random.default_rng(3).integers(0, 256, (8, 48, 48, 1)).astype("float32")
    mirrored = faces[:, :, ::-1]
    assert not np.array_equal(faces, mirrored)
    mean = np.mean([m.predict(v, verbose=0) for m in singles for v in (faces, mirrored)], axis=0)
    got = model.predict(faces, verbose=0)
    np.testing.assert_allclose(got, mean, atol=1e-6)
    np.testing.assert_allclose(model.predict(mirrored, verbose=0), got, atol=1e-6)  # a face and its mirror agree
    plain_mean = np.mean([m.predict(faces, verbose=0) for m in singles], axis=0)
    assert np.abs(got - plain_mean).max() > 1e-4      # and it is not the plain ensemble
    assert mirrors_faces(model) and not mirrors_faces(singles[0])
    assert result.params == sum(m.count_params() for m in singles)      # the mirror's fixed matrix is not one
    assert keras_modules(result.model_path) == {"keras"}               # plain Keras reads the file

    # flip TTA on top adds no view: the model's own figure is its flip-TTA figure
    split = load_dataset(store, tiny_data)["test"]
    assert len(view_probabilities(model, split.images, "flip")) == 1
    assert len(view_probabilities(model, split.images, "shift")) == 5
    plain, flipped = evaluate_plain_and_flip(model, split)
    assert plain.accuracy == flipped.accuracy == result.evaluation.accuracy == result.evaluation_tta.accuracy
    shift = evaluate(model, split, tta="shift")
    assert shift.n == split.images.shape[0] and 0.0 <= shift.accuracy <= 1.0
    predictor = Predictor(result.model_path, tta=True)
    assert predictor.mirrors and not predictor.tta
    np.testing.assert_allclose(predictor.classify(faces), got, atol=1e-5)
    assert not Predictor(paths[0], tta=True).mirrors

    job = store.get_job(result.job_id)
    assert job.spec["flip"] is True and EnsembleSpec.from_dict(job.spec) == spec
    assert spec.label().endswith("(+ mirror images)")
    assert EnsembleSpec.from_dict({"data": tiny_data, "members": paths}).flip is False   # specs stored before

    # one model is enough with --flip; an ensemble given as a member keeps its members, not its mirroring
    r = cli("ensemble", str(two_models[0][0]), "--data", tiny_data, "--flip", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    one = keras.saving.load_model(json.loads(r.stdout)["model"], safe_mode=True)
    expected = np.mean([singles[0].predict(v, verbose=0) for v in (faces, mirrored)], axis=0)
    np.testing.assert_allclose(one.predict(faces, verbose=0), expected, atol=1e-6)
    again = build_ensemble(store, EnsembleSpec(tiny_data, (str(result.model_path), paths[0])), log=quiet)
    again_model = keras.saving.load_model(again.model_path, safe_mode=True)
    assert not mirrors_faces(again_model)
    expected = np.mean([m.predict(faces, verbose=0) for m in (*singles, singles[0])], axis=0)
    np.testing.assert_allclose(again_model.predict(faces, verbose=0), expected, atol=1e-6)


def test_attach_names_a_run_model_file_after_checking_it_against_the_run(paired, tmp_path):
    """A run trained elsewhere gets its model file back only if the file predicts what the run recorded."""
    from ferlab.store.models import SqlArtifact
    from ferlab.training.attach import AttachError, attach_model

    store, (job, path) = paired.store, paired.models[0]
    [art] = store.list_artifacts(store.list_trials(job)[0].id)
    with store.session() as s:                 # as a run whose runs.db came back without its files
        row = s.get(SqlArtifact, art.id)
        row.kind, row.path = "evaluation", ""
        row.metrics = {k: v for k, v in row.metrics.items() if k != "faces"}    # a record from before faces were kept
    assert store.model_paths(job) == []
    moved = tmp_path / "from-elsewhere.keras"
    moved.write_bytes(open(path, "rb").read())

    recorded = np.asarray(art.metrics["plain"]["confusion"])
    assert recorded[:, 1:].sum() > 0           # the run does not predict one class only, so a model that does differs
    wrong = keras.saving.load_model(moved, safe_mode=True)
    wrong.set_weights([np.zeros_like(w) for w in wrong.get_weights()])
    wrong.save(tmp_path / "same-shape-other-weights.keras")
    with pytest.raises(AttachError, match="otherwise than job .* recorded.*not this run's model"):
        attach_model(store, job, tmp_path / "same-shape-other-weights.keras")
    other = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(7)])
    other.save(tmp_path / "other.keras")
    with pytest.raises(AttachError, match="parameters, job .* it is not this run's model"):
        attach_model(store, job, tmp_path / "other.keras")
    with pytest.raises(AttachError, match="no such file"):
        attach_model(store, job, tmp_path / "missing.keras")
    assert store.model_paths(job) == []        # nothing attached by a refusal

    out = ferlab("jobs", "attach", str(job), str(moved))
    assert out.returncode == 0, out.stderr
    assert "0 face(s) predicted otherwise" in out.stdout
    assert store.model_paths(job) == [str(moved.resolve())]
    [attached] = store.list_artifacts(store.list_trials(job)[0].id)      # and what it says of each face
    assert attached.metrics["faces"] == art.metrics["faces"] and attached.metrics["plain"] == art.metrics["plain"]
    with pytest.raises(AttachError, match="has its model already"):
        attach_model(store, job, moved)


def test_an_ensemble_records_which_runs_its_members_were_when_it_was_made(paired):
    store, tiny_data, two_models = paired.store, paired.data, paired.models
    from ferlab.store.reference import export_runs, owner_keys, recorded_member_keys, run_key

    (a, path_a), (b, path_b) = two_models
    result = build_ensemble(store, EnsembleSpec(data=tiny_data, members=(path_a, path_b)), log=quiet)
    ensemble = store.get_job(result.job_id)
    made_with = [run_key(store.get_job(a)), run_key(store.get_job(b))]
    assert recorded_member_keys(store, ensemble) == made_with
    # later another run's model is written to a member's path (as when a new default model is shipped)
    newer = store.create_job("train", store.get_job(a).spec, status="completed")
    store.add_artifact(store.start_trial(newer.id, 1, {}).id, path_a)
    assert owner_keys(store, [path_a, path_b]) == [run_key(newer), made_with[1]]
    assert recorded_member_keys(store, ensemble) == made_with
    [exported] = export_runs(store, [ensemble.id], {})["runs"]
    assert exported["member_keys"] == made_with

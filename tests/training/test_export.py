"""`ferlab export`: any model ferlab reads, written as a file of Keras' own classes, checked against
its source; a run with no model yet gives its best checkpoint so far."""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np

from ferlab.cli import main
from ferlab.models.saved import save
from ferlab.training.fit import train
from tests.helpers import keras_modules
from tests.models.test_saved import _old_mirrored_ensemble


def _cancelled_run(store, tiny_spec):
    """A run cancelled after its first epoch: epochs and best.keras, no model."""
    job = store.create_job("train", tiny_spec.to_dict(), status="running")
    store.request_cancel(job.id)
    result = train(store, replace(tiny_spec, epochs=5), job_id=job.id, verbose=0, log=lambda _: None)
    assert result.status == "cancelled" and store.model_paths(job.id) == []
    return job.id


def test_a_cancelled_run_exports_its_best_checkpoint_as_plain_keras(store, tiny_spec, tmp_path, capsys):
    from ferlab import config

    job = _cancelled_run(store, tiny_spec)
    out = tmp_path / "cancelled.keras"
    assert main(["export", str(job), str(out)]) == 0
    said = capsys.readouterr()
    best = store.list_trials(job)[0].best_val_accuracy
    assert f"job {job} has no model yet: taking its best checkpoint so far (epoch 1, val accuracy {best:.4f}; " \
           "cancelled after 1 epoch)" in said.err
    assert "0 of them change their predicted class" in said.out
    assert keras_modules(out) == {"keras"}          # the checkpoint's FaceAugment is gone
    assert "ferlab" in keras_modules(config.run_dir(job) / "best.keras")
    x = np.random.default_rng(1).integers(0, 256, (8, 48, 48, 1)).astype("float32")
    checkpoint = keras.saving.load_model(config.run_dir(job) / "best.keras", compile=False)
    np.testing.assert_array_equal(keras.saving.load_model(out).predict(x, verbose=0),
                                  checkpoint.predict(x, verbose=0))

    # Predict's download: the checkpoint as a portable file; a portable file as it is
    from ferlab.models.export import download_name, portable_bytes

    (tmp_path / "download.keras").write_bytes(portable_bytes(config.run_dir(job) / "best.keras"))
    assert keras_modules(tmp_path / "download.keras") == {"keras"}
    np.testing.assert_array_equal(keras.saving.load_model(tmp_path / "download.keras").predict(x, verbose=0),
                                  checkpoint.predict(x, verbose=0))
    assert portable_bytes(out) == out.read_bytes()
    assert download_name(config.run_dir(job) / "best.keras") == f"ferlab-job-{job}-best.keras"
    assert download_name(out) == "cancelled.keras"

    # the commands that need a finished model say where the checkpoint is and how to use it
    assert main(["jobs", "show", str(job)]) == 0
    assert f"no model yet; best checkpoint so far (epoch 1, val accuracy {best:.4f}; cancelled after 1 epoch): " \
           f"{config.run_dir(job) / 'best.keras'} (`ferlab export {job} FILE.keras`" in capsys.readouterr().out
    assert main(["ensemble", str(job), str(out), "--data", tiny_spec.data]) == 2
    err = capsys.readouterr().err
    assert f"job {job} has no model yet (cancelled); its best checkpoint so far" in err
    assert f"`ferlab export {job} FILE.keras` copies it to name here, or `ferlab train --resume {job}`" in err


def test_export_takes_one_member_of_an_old_ensemble_and_can_halve_it(store, tmp_path, capsys):
    import json

    model = _old_mirrored_ensemble(seed=3)
    old = save(model, tmp_path / "old.keras")              # as ferlab wrote ensembles before
    assert "ferlab" in keras_modules(old)
    half = tmp_path / "member2.keras"
    assert main(["export", f"{old}#2", str(half), "--weights", "float16", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    member = model.get_layer("member_2")
    assert report["params"] == member.count_params() and report["weights"] == "float16"
    assert 0 < report["max_difference"] < 2e-3           # float16's rounding, measured, not zero
    assert keras_modules(half) == {"keras"}
    assert half.stat().st_size < 0.6 * save(member, tmp_path / "m32.keras").stat().st_size
    x = np.random.default_rng(2).integers(0, 256, (8, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(keras.saving.load_model(half).predict(x, verbose=0),
                               member.predict(x, verbose=0), atol=2e-3)

    whole = tmp_path / "whole.keras"
    assert main(["export", str(old), str(whole), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["params"] == model.count_params() and report["max_difference"] == 0.0   # the mirror is exact
    assert keras_modules(whole) == {"keras"}


def test_export_refuses_what_would_lose_a_file_or_cannot_be_read(store, tmp_path, capsys):
    model = _old_mirrored_ensemble(seed=4)
    source = save(model, tmp_path / "source.keras")
    taken = tmp_path / "taken.keras"
    taken.write_bytes(b"keep me")
    assert main(["export", str(source), str(taken)]) == 2
    assert "taken.keras exists: name a new file, or add --force" in capsys.readouterr().err
    assert taken.read_bytes() == b"keep me"
    assert main(["export", str(source), str(source), "--force"]) == 2
    assert "would replace the model it is made from" in capsys.readouterr().err
    assert main(["export", str(source), str(tmp_path / "model.h5")]) == 2
    assert "the file name must end in .keras" in capsys.readouterr().err
    assert main(["export", f"{source}#3", str(tmp_path / "third.keras")]) == 2
    assert "averages 2 models (#1 to #2)" in capsys.readouterr().err
    junk = tmp_path / "junk.keras"
    junk.write_text("not a model")
    assert main(["export", str(junk), str(tmp_path / "out.keras")]) == 2
    assert "model to export" in capsys.readouterr().err and not (tmp_path / "out.keras").exists()
    assert main(["export", "99", str(tmp_path / "out.keras")]) == 2
    assert "99" in capsys.readouterr().err
    assert main(["export", str(source), str(taken), "--force"]) == 0        # asked for: replaced
    assert keras_modules(taken) == {"keras"}

"""Reference runs: exported from real runs, seeded into new stores once, marked as reference."""

from __future__ import annotations

import json
import re

import pytest

from ferlab import config
from ferlab.store import Store, StoreError
from ferlab.store import reference
from ferlab.training.spec import EnsembleSpec
from tests.helpers import ferlab


def _run(store):
    job = store.create_job("train", {"data": "fer2013", "epochs": 2, "model": {"architecture": "compact"},
                                     "optimizer": "sgd"}, status="running")
    trial = store.start_trial(job.id, 1, {"lr": 0.02}, params=1_391_223)
    store.record_epoch(trial.id, 1, loss=1.8, accuracy=0.3, val_loss=1.7, val_accuracy=0.35, seconds=110)
    store.record_epoch(trial.id, 2, loss=1.5, accuracy=0.45, val_loss=1.4, val_accuracy=0.48, seconds=112)
    store.add_artifact(trial.id, "/x/model.keras", dataset="fer2013", split="val", accuracy=0.48,
                       metrics={"confusion": [[1]]})
    store.finish_trial(trial.id, "completed")
    store.set_job_status(job.id, "completed")
    return job.id


def test_export_then_seed_a_new_store_once(home, tmp_path, monkeypatch):
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    job_id = _run(source)
    doc = reference.export_runs(source, [job_id], {job_id: "ferlab train --preset ferlab-compact --seed 1"})
    path = tmp_path / "reference_runs.json"
    path.write_text(json.dumps(doc))
    run = doc["runs"][0]
    assert run["command"].startswith("ferlab train") and run["epoch_seconds_total"] == 222

    monkeypatch.setattr(reference, "REFERENCE_FILE", path)
    fresh = Store(f"sqlite:///{tmp_path / 'b.db'}", seed_reference=True)
    [job] = fresh.list_jobs()
    assert job.origin == "reference" and job.status == "completed"
    assert job.spec["reference_command"] == run["command"] and job.spec["reference_machine"] == run["machine"]
    [trial] = fresh.list_trials(job.id)
    assert [(e.epoch, e.val_accuracy) for e in fresh.epochs([trial.id])] == [(1, 0.35), (2, 0.48)]
    assert trial.best_val_accuracy == 0.48 and trial.params == 1_391_223
    [summary] = fresh.job_summaries()
    assert summary.test_accuracy == 0.48 and summary.test_split == "val"
    assert reference.seed(fresh, path) == 0                     # never twice
    with pytest.raises(StoreError, match="shipped reference run.*ferlab train --preset ferlab-compact"):
        fresh.retry_job(job.id)                                 # a record: retrying would overwrite it
    reopened = Store(f"sqlite:///{tmp_path / 'b.db'}", seed_reference=True)
    assert len(reopened.list_jobs()) == 1                       # only a new store is seeded by itself


def test_shipped_reference_file_is_well_formed():
    if not reference.REFERENCE_FILE.exists():
        pytest.skip("no reference runs shipped yet")
    doc = json.loads(reference.REFERENCE_FILE.read_text())
    assert doc["format"] == 1 and doc["runs"]
    for run in doc["runs"]:
        # a ferlab command, after the environment it needs (KERAS_BACKEND=jax for the GPU runs)
        assert re.match(r"([A-Z_]+=\S+ )*ferlab ", run["command"]) and run["spec"]["data"] == "fer2013"
        for trial in run["trials"]:
            epochs = [e["epoch"] for e in trial["epochs"]]
            assert epochs == list(range(1, len(epochs) + 1))


def test_export_reference_append_keeps_shipped_runs(store, tmp_path):
    first, second = _run(store), _run(store)
    out = tmp_path / "ref.json"
    r = ferlab("db", "export-reference", "--run", f"{first}:ferlab train --seed 1", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    shipped = json.loads(out.read_text())["runs"][0]
    shipped["machine"] = "the machine of an earlier session"        # kept as it was written
    out.write_text(json.dumps({"format": 1, "runs": [shipped]}))
    for _ in range(2):  # appending the same run again replaces it rather than doubling it
        r = ferlab("db", "export-reference", "--run", f"{second}:ferlab train --seed 2", "--append",
                   "--out", str(out), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    runs = json.loads(out.read_text())["runs"]
    assert [run["command"] for run in runs] == ["ferlab train --seed 1", "ferlab train --seed 2"]
    assert runs[0]["machine"] == "the machine of an earlier session"
    assert runs[1]["machine"] == config.machine()
    r = ferlab("db", "export-reference", "--run", f"{second}:ferlab train --seed 2", "--append", "--machine",
               "a lent GPU machine", "--out", str(out), cwd=tmp_path)   # a store brought back from elsewhere
    assert r.returncode == 0, r.stderr
    assert [run["machine"] for run in json.loads(out.read_text())["runs"]] == ["the machine of an earlier session",
                                                                               "a lent GPU machine"]
    store.note_machine(second, "the machine that ran it")     # recorded by the run itself: it wins over this one
    r = ferlab("db", "export-reference", "--run", f"{second}:ferlab train --seed 2", "--append",
               "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["runs"][1]["machine"] == "the machine that ran it"
    r = ferlab("db", "export-reference", "--run", f"{first}:ferlab train --seed 1 --again", "--append",
               "--out", str(out), cwd=tmp_path)       # re-exporting a shipped run keeps its place
    assert r.returncode == 0, r.stderr
    runs = json.loads(out.read_text())["runs"]
    assert [run["command"] for run in runs] == ["ferlab train --seed 1 --again", "ferlab train --seed 2"]
    model = "ferlab/assets/ferlab-default.keras"
    r = ferlab("db", "export-reference", "--run", f"{first}:ferlab train --seed 1", "--model", f"{first}:{model}",
               "--append", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = ferlab("db", "export-reference", "--run", f"{second}:ferlab train --seed 2", "--model", f"{second}:{model}",
               "--append", "--out", str(out), cwd=tmp_path)   # a newly shipped model replaces the old one
    assert r.returncode == 0 and "is now the model of another run" in r.stdout, r.stderr
    runs = json.loads(out.read_text())["runs"]
    assert [[ev["model"] for t in run["trials"] for ev in t["evaluations"]] for run in runs] == [[None], [model]]
    out.write_text("{not json")
    r = ferlab("db", "export-reference", "--run", f"{second}:ferlab train --seed 2", "--append", "--out", str(out),
               cwd=tmp_path)
    assert r.returncode == 2 and "is not a reference-run file" in r.stderr and "Traceback" not in r.stderr
    assert out.read_text() == "{not json"                       # left as it was


def test_a_warm_restart_keeps_the_key_of_the_run_it_started_from(home, tmp_path, monkeypatch):
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    first = _run(source)
    restart = source.create_job("train", {"data": "fer2013", "epochs": 1, "init_from": "/x/model.keras",
                                          "distill_from": "/x/model.keras"}, status="completed")
    source.start_trial(restart.id, 1, {})
    doc = reference.export_runs(source, [first, restart.id], {first: "ferlab train", restart.id: "ferlab train "
                                                              "--init-from 1"})
    parent, child = doc["runs"]
    assert parent["init_from_key"] is None and child["init_from_key"] == parent["key"]
    assert parent["distill_from_key"] is None and child["distill_from_key"] == parent["key"]   # its teacher
    path = tmp_path / "reference_runs.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setattr(reference, "REFERENCE_FILE", path)
    fresh = Store(f"sqlite:///{tmp_path / 'b.db'}", seed_reference=True)
    by_key = {j.spec["reference_key"]: j for j in fresh.list_jobs()}
    assert by_key[child["key"]].spec["reference_init_from"] == parent["key"]
    assert by_key[child["key"]].spec["reference_distill_from"] == parent["key"]
    # exported again from the seeded store, both runs keep their keys and the link
    again = reference.export_runs(fresh, sorted(j.id for j in by_key.values()), {})
    assert [r["key"] for r in again["runs"]] == [parent["key"], child["key"]]
    assert again["runs"][1]["init_from_key"] == again["runs"][1]["distill_from_key"] == parent["key"]


def test_an_upgrade_adds_new_reference_runs_and_moves_the_shipped_model(home, tmp_path, monkeypatch):
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    old, new = _run(source), _run(source)
    shipped = "ferlab/assets/ferlab-default.keras"
    path = tmp_path / "reference_runs.json"
    monkeypatch.setattr(reference, "REFERENCE_FILE", path)
    path.write_text(json.dumps(reference.export_runs(source, [old], {old: "ferlab train"}, {old: shipped})))
    url = f"sqlite:///{tmp_path / 'b.db'}"
    [job] = Store(url, seed_reference=True).list_jobs()
    mine = Store(url).create_job("tune", {"data": "fer2013"}, status="completed")    # the user's own run

    # the next release ships a new default model, made by `new`; `old` keeps its figures only
    path.write_text(json.dumps(reference.export_runs(source, [old, new], {old: "ferlab train", new: "ferlab train"},
                                                     {new: shipped})))
    upgraded = Store(url, seed_reference=True)
    jobs = {j.spec.get("reference_key", "mine"): j for j in upgraded.list_jobs()}
    assert len(jobs) == 3 and jobs["mine"].id == mine.id
    arts = {key: [(a.kind, a.path, a.accuracy) for t in upgraded.list_trials(j.id) for a in upgraded.list_artifacts(t.id)]
            for key, j in jobs.items()}
    old_key, new_key = job.spec["reference_key"], reference.run_key(source.get_job(new))
    assert arts[old_key] == [("evaluation", "", 0.48)]          # figures kept, no longer claims the file
    assert [(kind, path.endswith(shipped)) for kind, path, _ in arts[new_key]] == [("model", True)]
    assert reference.seed(upgraded, path) == 0                  # nothing more to add

    # a store that opted out of reference runs is not seeded when it is opened again
    bare = f"sqlite:///{tmp_path / 'c.db'}"
    Store(bare, seed_reference=False)
    assert Store(bare, seed_reference=True).list_jobs() == []


def test_the_store_a_reference_run_was_exported_from_is_not_given_a_copy(home, tmp_path, monkeypatch):
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    job_id = _run(source)
    path = tmp_path / "reference_runs.json"
    path.write_text(json.dumps(reference.export_runs(source, [job_id], {job_id: "ferlab train"})))
    monkeypatch.setattr(reference, "REFERENCE_FILE", path)
    assert reference.seed(source, path) == 0 and len(source.list_jobs()) == 1


def test_a_resumed_run_exported_again_extends_the_stores_seeded_with_its_earlier_part(home, tmp_path, monkeypatch):
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    job = source.create_job("train", {"data": "fer2013", "epochs": 150}, status="running")
    trial = source.start_trial(job.id, 1, {}, params=5_281_223)
    for epoch in (1, 2):
        source.record_epoch(trial.id, epoch, loss=1.8, accuracy=0.3, val_loss=1.7, val_accuracy=0.3 + epoch / 100,
                            seconds=200)
    source.set_job_status(job.id, "cancelled")
    path = tmp_path / "reference_runs.json"
    monkeypatch.setattr(reference, "REFERENCE_FILE", path)
    path.write_text(json.dumps(reference.export_runs(source, [job.id], {job.id: "ferlab train --seed 1"})))
    url = f"sqlite:///{tmp_path / 'b.db'}"
    [seeded] = Store(url, seed_reference=True).list_jobs()
    mine = Store(url).create_job("train", {"data": "fer2013"}, status="cancelled")   # the user's own run

    # the run is resumed: epoch 3 (a worse one), then it finishes and is evaluated; the next release ships it
    source.record_epoch(trial.id, 3, loss=1.6, accuracy=0.4, val_loss=1.75, val_accuracy=0.31, seconds=210)
    source.add_artifact(trial.id, "/x/best.keras", dataset="fer2013", split="val", accuracy=0.32, metrics={})
    source.finish_trial(trial.id, "completed")
    source.set_job_status(job.id, "completed")
    resumed = "ferlab train --seed 1; ferlab jobs retry 1"
    path.write_text(json.dumps(reference.export_runs(source, [job.id], {job.id: resumed})))

    upgraded = Store(url, seed_reference=True)
    assert [j.id for j in upgraded.list_jobs()] == [mine.id, seeded.id]     # no second copy
    again = upgraded.get_job(seeded.id)
    assert again.status == "completed" and again.spec["reference_command"] == resumed
    [t] = upgraded.list_trials(seeded.id)
    assert [(e.epoch, e.val_accuracy) for e in upgraded.epochs([t.id])] == [(1, 0.31), (2, 0.32), (3, 0.31)]
    assert (t.status, t.best_epoch, t.best_val_accuracy) == ("completed", 2, 0.32)
    assert [(a.kind, a.accuracy) for a in upgraded.list_artifacts(t.id)] == [("evaluation", 0.32)]
    assert upgraded.get_job(mine.id).status == "cancelled"
    Store(url, seed_reference=True)                                          # opened again: nothing twice
    assert len(upgraded.epochs([t.id])) == 3 and len(upgraded.list_artifacts(t.id)) == 1
    assert reference.seed(source, path) == 0 and len(source.epochs([trial.id])) == 3   # its own run stays


def test_a_seeded_ensemble_names_its_members_by_their_jobs_in_the_new_store(home, tmp_path, monkeypatch):
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    filler = source.create_job("tune", {"data": "fer2013"}, status="completed")   # shifts the job numbers
    first, second = _run(source), _run(source)
    for job_id in (first, second):
        [trial] = source.list_trials(job_id)
        source.add_artifact(trial.id, str(tmp_path / f"job-{job_id}" / "model.keras"), dataset="fer2013", split="val")
    members = [str(tmp_path / f"job-{first}" / "model.keras"), str(tmp_path / "elsewhere.keras"),
               str(tmp_path / f"job-{second}" / "model.keras") + "#2"]   # the 2nd model of an ensemble there
    ens = source.create_job("ensemble", {"data": "fer2013", "members": members}, status="completed")
    doc = reference.export_runs(source, [first, second, ens.id],
                                {first: "ferlab train", second: "ferlab train", ens.id: "ferlab ensemble"})
    keys = [reference.run_key(source.get_job(first)), None, reference.run_key(source.get_job(second)) + "#2"]
    assert doc["runs"][2]["member_keys"] == keys
    assert filler.id == 1 and first == 2
    path = tmp_path / "reference_runs.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setattr(reference, "REFERENCE_FILE", path)
    fresh = Store(f"sqlite:///{tmp_path / 'b.db'}", seed_reference=True)
    seeded_first, seeded_second, seeded_ens = sorted(fresh.list_jobs(), key=lambda j: j.id)
    assert EnsembleSpec.label_of(seeded_ens.spec) == \
        f"ensemble: job-{seeded_first.id} + elsewhere + job-{seeded_second.id}#2"
    assert EnsembleSpec.label_of(ens.spec) == f"ensemble: job-{first} + elsewhere + job-{second}#2"  # in its own store
    again = reference.export_runs(fresh, [seeded_ens.id], {})
    assert again["runs"][0]["member_keys"] == keys


def test_a_model_attached_to_a_reference_run_stays_when_the_store_is_opened_again(home, tmp_path, monkeypatch):
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    run = _run(source)
    path = tmp_path / "reference_runs.json"
    monkeypatch.setattr(reference, "REFERENCE_FILE", path)
    path.write_text(json.dumps(reference.export_runs(source, [run], {run: "ferlab train"})))
    url = f"sqlite:///{tmp_path / 'b.db'}"
    store = Store(url, seed_reference=True)
    [job] = store.list_jobs()
    [art] = store.list_artifacts(store.list_trials(job.id)[0].id)
    assert (art.kind, art.path) == ("evaluation", "")          # its model file is not shipped
    attached = str(tmp_path / "from-the-gpu" / "model.keras")    # `ferlab jobs attach` names it
    store.set_artifact_model(art.id, attached)
    reopened = Store(url, seed_reference=True)                   # brought up to date: the file stays
    assert reopened.model_paths(job.id) == [attached]
    [again] = reopened.list_artifacts(art.trial_id)
    assert again.accuracy == 0.48 and again.kind == "model"


def test_a_seeded_run_gains_the_face_record_its_shipped_copy_gained_and_keeps_its_own(home, tmp_path, monkeypatch):
    """A store seeded before a release added the shipped model's face record gets it when opened by
    that release; a record the store holds already (here, one `ferlab jobs attach` wrote) stays."""
    source = Store(f"sqlite:///{tmp_path / 'a.db'}")
    runs = [_run(source), _run(source)]
    path = tmp_path / "reference_runs.json"
    monkeypatch.setattr(reference, "REFERENCE_FILE", path)
    doc = reference.export_runs(source, runs, {r: "ferlab train" for r in runs})
    path.write_text(json.dumps(doc))
    url = f"sqlite:///{tmp_path / 'b.db'}"
    store = Store(url, seed_reference=True)
    arts = {j.spec["reference_key"]: store.list_artifacts(store.list_trials(j.id)[0].id)[0] for j in store.list_jobs()}
    first, second = (run["key"] for run in doc["runs"])
    assert "faces" not in arts[first].metrics and "faces" not in arts[second].metrics
    own = {"predicted": "0", "confidence": "99", "digest": "the user's"}
    store.set_artifact_model(arts[second].id, str(tmp_path / "attached.keras"), faces=own)

    shipped = {"predicted": "6", "confidence": "58", "digest": "shipped"}
    for run in doc["runs"]:                                   # the next release's file: both runs gained a record
        run["trials"][0]["evaluations"][0]["metrics"]["faces"] = shipped
    path.write_text(json.dumps(doc))
    reopened = Store(url, seed_reference=True)
    [a] = reopened.list_artifacts(arts[first].trial_id)
    assert a.metrics == {"confusion": [[1]], "faces": shipped} and a.accuracy == 0.48
    [b] = reopened.list_artifacts(arts[second].trial_id)
    assert b.metrics["faces"] == own and b.path == str(tmp_path / "attached.keras")
    assert reference.seed(reopened, path) == 0 and len(reopened.list_jobs()) == 2


def test_the_machine_a_run_records_names_its_gpus(monkeypatch, tmp_path):
    """A run trained on a GPU says so in its machine (what the model card reads), from the NVIDIA
    driver's files; a machine without the driver is described by its CPUs alone."""
    monkeypatch.setattr(config, "NVIDIA_GPUS", tmp_path / "none")
    cpu_only = config.machine()
    assert cpu_only.endswith(" CPUs") and "GPU" not in cpu_only
    info = tmp_path / "gpus" / "0000:18:00.0" / "information"
    info.parent.mkdir(parents=True)
    info.write_text("Model: \t\t NVIDIA H200\nIRQ:   \t\t 165\nGPU UUID: \t GPU-7439f9f0\nBus Type: \t PCIe\n")
    monkeypatch.setattr(config, "NVIDIA_GPUS", tmp_path / "gpus")
    assert config.gpus() == ["NVIDIA H200"]
    assert config.machine() == f"{cpu_only}, GPU NVIDIA H200"

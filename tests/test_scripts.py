"""Maintainer scripts: the model card describes the recipe the run actually used."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ferlab.store.reference import run_key
from ferlab.training.spec import preset

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ship_model.py"


def _ship_model():
    spec = importlib.util.spec_from_file_location("ship_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_card_recipe_follows_the_spec():
    recipe = _ship_model().recipe
    compact = recipe(preset("ferlab-compact", data="fer2013").to_dict(), 1_391_223)
    assert compact.startswith("ferlab's compact CNN (1,391,223 parameters;")
    assert "stride 2" in compact and "SGD with Nesterov momentum 0.9" in compact
    assert "learning rate 0.02 with 2 warm-up epochs then cosine decay, weight decay 0.0005, label smoothing 0.1" in compact
    paper = recipe(preset("paper-8conv-adam", data="fer2013").to_dict(), 5_281_223)
    assert paper.startswith("the paper's 8conv CNN") and "stride 2" not in paper
    assert "Adam, learning rate 0.0001 constant, batch 32, the paper's augmentation" in paper
    assert "weight decay" not in paper and "label smoothing" not in paper
    demo = recipe(preset("demo-quick", data="demo").to_dict(), 1_391_223)
    assert "no augmentation" in demo
    erasing = recipe(preset("ferlab-compact", data="fer2013", augmentation="paper-erasing").to_dict(), 1_391_223)
    assert "horizontal flip) and random erasing (half the faces" in erasing
    assert "distilled" not in erasing
    taught = recipe(preset("ferlab-compact", data="fer2013", distill_from="/x/ferlab-default.keras").to_dict(), 1)
    assert taught.endswith("distilled from ferlab-default.keras (targets: 0.5 x the true label + 0.5 x its "
                           "flip-TTA probabilities on the unaugmented training faces)")


def test_lineage_follows_warm_restarts_back_to_the_run_from_scratch(store, tmp_path):
    lineage = _ship_model().lineage
    first = store.create_job("train", preset("ferlab-compact", data="fer2013").to_dict(), status="completed")
    store.add_artifact(store.start_trial(first.id, 1, {}).id, str(tmp_path / "job-1" / "model.keras"))
    spec = preset("ferlab-compact", data="fer2013", init_from=str(tmp_path / "job-1" / "model.keras")).to_dict()
    second = store.create_job("train", spec, status="completed")
    store.start_trial(second.id, 1, {})
    assert [job.id for job, _, _ in lineage(store, second.id)] == [first.id, second.id]
    assert [job.id for job, _, _ in lineage(store, first.id)] == [first.id]

    orphan = store.create_job("train", {**spec, "init_from": str(tmp_path / "elsewhere.keras")})
    store.start_trial(orphan.id, 1, {})
    with pytest.raises(SystemExit, match="which no job in this store trained"):
        lineage(store, orphan.id)


def test_lineage_of_a_start_from_an_ensemble_member_continues_that_members(store, tmp_path):
    ship = _ship_model()
    spec = preset("ferlab-compact", data="fer2013").to_dict()
    jobs = []
    for name in ("a", "b"):
        job = store.create_job("train", spec, status="completed")
        store.add_artifact(store.start_trial(job.id, 1, {}).id, str(tmp_path / name / "model.keras"))
        jobs.append(job)
    pair = store.create_job("ensemble", {"data": "fer2013", "members": [str(tmp_path / n / "model.keras")
                                                                         for n in ("a", "b")]}, status="completed")
    store.add_artifact(store.start_trial(pair.id, 1, {}).id, str(tmp_path / "pair.keras"))
    restart = store.create_job("train", {**spec, "init_from": str(tmp_path / "pair.keras"), "init_member": 2})
    store.start_trial(restart.id, 1, {})
    assert [j.id for j, _, _ in ship.lineage(store, restart.id)] == [jobs[1].id, restart.id]
    assert [[j.id for j, _, _ in g] for g in ship.member_groups(store, pair)] == [[jobs[0].id], [jobs[1].id]]
    unnamed = store.create_job("train", {**spec, "init_from": str(tmp_path / "pair.keras")})
    store.start_trial(unnamed.id, 1, {})
    with pytest.raises(SystemExit, match=f"started from ensemble job {pair.id} without a member of it"):
        ship.lineage(store, unnamed.id)

    # a seeded reference ensemble whose member path is the shipped file, which it now is itself:
    # its recorded member keys name the members
    shipped = str(tmp_path / "shipped.keras")
    ref_a = store.create_job("train", {**spec, "reference_key": "train-1-20261124220129"}, status="completed",
                             origin="reference")
    store.start_trial(ref_a.id, 1, {})
    ref_pair = store.create_job("ensemble", {"data": "fer2013", "members": [shipped, str(tmp_path / "b" / "model.keras")],
                                             "reference_member_keys": ["train-1-20261124220129", None]},
                                status="completed", origin="reference")
    store.add_artifact(store.start_trial(ref_pair.id, 1, {}).id, shipped)
    assert [[j.id for j, _, _ in g] for g in ship.member_groups(store, ref_pair)] == [[ref_a.id], [jobs[1].id]]


def test_an_ensemble_card_has_each_member_with_its_stages_and_commands(store, tmp_path):
    import argparse

    import numpy as np

    from ferlab.inference.models import SHIPPED
    from ferlab.training.evaluate import metrics_from_predictions

    ship = _ship_model()
    spec = preset("ferlab-compact", data="fer2013").to_dict()
    # a shipped reference run and its warm restart, exported from job 1 and job 16 of another store
    first = store.create_job("train", {**spec, "reference_key": "train-1-20261124220129",
                                       "reference_command": "ferlab train --seed 1",
                                       "reference_machine": "x86_64, AMD EPYC, 2 CPUs"},
                             status="completed", origin="reference")
    second = store.create_job("train", {**spec, "init_from": "/elsewhere/.ferlab/runs/job-1/model.keras",
                                        "reference_key": "train-16-20261125035826",
                                        "reference_command": "ferlab train --init-from 1 --seed 2"},
                              status="completed", origin="reference")
    third = store.create_job("train", {**spec, "seed": 3}, status="completed")
    for job in (first, second, third):
        trial = store.start_trial(job.id, 1, {}, params=1_391_223)
        store.record_epoch(trial.id, 1, loss=1.0, accuracy=0.5, val_loss=1.1, val_accuracy=0.6, seconds=3600)
    assert [j.id for j, _, _ in ship.lineage(store, second.id)] == [first.id, second.id]
    # job numbers repeat across stores: a later store's job 1, and a run that recorded its parent's key
    later = store.create_job("train", {**spec, "reference_key": "train-1-20991231000000"}, status="completed",
                             origin="reference")
    assert [j.id for j, _, _ in ship.lineage(store, second.id)] == [first.id, second.id]
    recorded = store.create_job("train", {**spec, "init_from": "/elsewhere/.ferlab/runs/job-1/model.keras",
                                          "reference_key": "train-2-20991231000001",
                                          "reference_init_from": "train-1-20991231000000"},
                                status="completed", origin="reference")
    for job in (later, recorded):
        store.start_trial(job.id, 1, {}, params=1_391_223)
    assert [j.id for j, _, _ in ship.lineage(store, recorded.id)] == [later.id, recorded.id]

    groups = [ship.lineage(store, second.id), ship.lineage(store, third.id)]
    labels = np.arange(14) % 7
    result = metrics_from_predictions(labels, labels)
    args = argparse.Namespace(command=["ferlab train --seed 3", "ferlab ensemble 11 13 --data fer2013"],
                              note="In a fresh runs.db job 3 is job 12.")
    text = ship.card(store.create_job("ensemble", {}), groups, [(g, result, result) for g in groups],
                     result, result, args, SHIPPED, "this machine", shift=result)
    assert "An ensemble of 2 CNNs" in text and "    ferlab ensemble 11 13 --data fer2013" in text
    assert "### Member 1 of 2: job 2" in text and "#### Stage 2 of 2: job 2" in text
    assert "ferlab train --init-from 1 --seed 2" in text and "x86_64, AMD EPYC, 2 CPUs" in text
    assert "### Member 2 of 2: job 3" in text and "      ferlab train --seed 3" in text
    assert "| 1 | 1, 2 | 2 | 1.0000 | 1.0000 |" in text and "| 2 | 3 | 1 |" in text
    assert "**1.0000** with flip + shift TTA (10 views" in text
    assert "    ferlab ensemble 11 13 --data fer2013\n\nIn a fresh runs.db job 3 is job 12.\n\nData:" in text
    assert "stored as float16" not in text and "--weights" not in text
    assert "h on x86_64, AMD EPYC, 2 CPUs, no GPU" in text and "epochs on 2-core CPUs" in text
    args.weights = "float16"
    half = ship.card(store.create_job("ensemble", {}), groups, [(g, result, result) for g in groups],
                     result, result, args, SHIPPED, "this machine")
    assert '--command "..." --weights float16` from' in half and "Its weights are stored as float16" in half
    assert "computes in float32" not in half
    args.compute = "float32"                                      # ship_model's default
    exact = ship.card(store.create_job("ensemble", {}), groups, [(g, result, result) for g in groups],
                      result, result, args, SHIPPED, "this machine")
    assert '--weights float16` from' in exact and "Every layer computes in float32, whatever precision" in exact
    args.compute = "as-trained"
    kept = ship.card(store.create_job("ensemble", {}), groups, [(g, result, result) for g in groups],
                     result, result, args, SHIPPED, "this machine")
    assert '--weights float16 --compute as-trained` from' in kept and "computes in float32" not in kept
    # a model that mirrors faces itself (ferlab ensemble --flip): one figure, said to include the mirror image
    mirrored = ship.card(store.create_job("ensemble", {}), groups, [(g, result, result) for g in groups],
                         result, result, args, SHIPPED, "this machine", shift=result, mirrored=True)
    assert "over each face and its mirror image (flip test-time augmentation built into the model" in mirrored
    assert "- Accuracy **1.0000**, each face averaged with its mirror image inside the model" in mirrored
    assert "without test-time augmentation" not in mirrored and "with flip TTA)" not in mirrored
    assert "This model reaches 100.00%\n(its mirror image averaged in) on PublicTest" in mirrored
    assert "reaches 100.00%\n(100.00% with flip TTA) on PublicTest" in kept


def test_the_card_says_where_the_epochs_ran(store):
    """All on a lent GPU, some of them, or none: from each run's recorded machine."""
    import argparse

    import numpy as np

    from ferlab.inference.models import SHIPPED
    from ferlab.training.evaluate import metrics_from_predictions

    ship = _ship_model()
    spec = preset("ferlab-compact", data="fer2013").to_dict()

    def run(machine, epochs):
        job = store.create_job("train", {**spec, "reference_key": f"train-{len(machine)}-{epochs}",
                                         "reference_command": "ferlab train", "reference_machine": machine},
                               status="completed", origin="reference")
        trial = store.start_trial(job.id, 1, {}, params=1_391_223)
        for epoch in range(1, epochs + 1):
            store.record_epoch(trial.id, epoch, loss=1.0, accuracy=0.5, val_loss=1.1, val_accuracy=0.6, seconds=2)
        return ship.lineage(store, job.id)

    on_gpu = "x86_64, AMD EPYC, 16 CPUs, GPU NVIDIA H200"          # as config.machine() says it there
    gpu, gpu2, cpu = run(on_gpu, 3), run(on_gpu, 2), run("x86_64, 2 CPUs", 4)
    labels = np.arange(14) % 7
    result = metrics_from_predictions(labels, labels)
    args = argparse.Namespace(command=["ferlab ensemble 1 2 --data fer2013"], note="")

    def card(groups):
        return ship.card(store.create_job("ensemble", {}), groups, [(g, result, result) for g in groups],
                         result, result, args, SHIPPED, "this machine")

    assert "after 5\nepochs all on a lent GPU." in card([gpu, gpu2])
    assert "after 7\nepochs (3 of them on a lent GPU, the others on 2-core CPUs)." in card([gpu, cpu])


def test_member_groups_open_an_ensemble_among_the_members(store, tmp_path):
    ship = _ship_model()
    spec = preset("ferlab-compact", data="fer2013").to_dict()

    def job(kind, job_spec, path):
        j = store.create_job(kind, job_spec, status="completed")
        store.add_artifact(store.start_trial(j.id, 1, {}).id, str(tmp_path / path))
        return j

    a, b, c = (job("train", spec, f"job-{n}/model.keras") for n in "abc")
    job("ensemble", {"data": "fer2013", "members": [str(tmp_path / "job-a/model.keras"),
                                                    str(tmp_path / "job-b/model.keras")]}, "pair.keras")
    trio = job("ensemble", {"data": "fer2013", "members": [str(tmp_path / "pair.keras"),
                                                           str(tmp_path / "job-c/model.keras")]}, "trio.keras")
    assert [[j.id for j, _, _ in g] for g in ship.member_groups(store, trio)] == [[a.id], [b.id], [c.id]]
    second_of_pair = job("ensemble", {"data": "fer2013", "members": [str(tmp_path / "pair.keras#2"),
                                                                     str(tmp_path / "job-c/model.keras")]}, "bc.keras")
    assert [[j.id for j, _, _ in g] for g in ship.member_groups(store, second_of_pair)] == [[b.id], [c.id]]
    # the keys an ensemble recorded when it was made win over whoever wrote its member files since
    recorded = store.create_job("ensemble", {"data": "fer2013", "members": [str(tmp_path / "job-a/model.keras"),
                                                                          str(tmp_path / "job-b/model.keras")]},
                                status="completed")
    store.add_artifact(store.start_trial(recorded.id, 1, {}).id, str(tmp_path / "ab.keras"),
                       metrics={"member_keys": [run_key(c), run_key(b)]})
    assert [[j.id for j, _, _ in g] for g in ship.member_groups(store, recorded)] == [[c.id], [b.id]]
    stray = job("ensemble", {"data": "fer2013", "members": [str(tmp_path / "elsewhere.keras")]}, "x.keras")
    with pytest.raises(SystemExit, match="was made by no job in this store"):
        ship.member_groups(store, stray)


def _paper_run(seed=1, status="completed", **changes):
    spec = {**preset("paper-8conv-adam", data="fer2013", seed=seed).to_dict(), **changes}
    epochs = [{"epoch": e, "loss": 1.0, "accuracy": 0.5 + e / 100, "val_loss": abs(e - 2) + 1.0,
               "val_accuracy": 0.6 + (e == 3) / 10, "learning_rate": 1e-4, "seconds": 1800.0} for e in (1, 2, 3, 4)]
    return {"key": f"train-{seed}-x", "kind": "train", "status": status, "spec": spec,
            "command": f"ferlab train --seed {seed}", "machine": "x86_64, 2 CPUs", "started": "2026-11-27 02:16 UTC",
            "epoch_seconds_total": 7200,
            "trials": [{"number": 1, "epochs": epochs, "evaluations": []}]}


def test_the_cards_paper_section_states_the_runs_of_the_papers_recipe_alone():
    section = _ship_model().paper_reproduction
    unrun = _paper_run(seed=6, status="cancelled")
    unrun["trials"][0]["epochs"] = []
    ran = section({"runs": [_paper_run(seed=7), _paper_run(seed=8, status="cancelled"), unrun,
                            _paper_run(seed=9, learning_rate=0.01), _paper_run(seed=5, augmentation="strong")]})
    assert "ferlab train --preset paper-8conv-adam --data fer2013 --seed 1" in ran
    assert ("- Reference run 1 (seed 7, precision auto; x86_64, 2 CPUs, no GPU): 4 epochs, 2.00 h of epochs, "
            "1800 s a typical epoch after the first. Best PublicTest accuracy 0.7000 at epoch 3, 0.6000 at epoch 4; "
            "val loss lowest at epoch 2 (1.000), 3.000 at epoch 4, while train accuracy reached 0.540. "
            "Command: ferlab train --seed 7.") in ran
    # a run stopped early says where, and what its planned epochs take at its pace
    assert ("- Reference run 2 (seed 8, precision auto; x86_64, 2 CPUs, no GPU): cancelled after 4 of 150 epochs, "
            "2.00 h of epochs, 1800 s a typical epoch after the first (150 epochs at that pace: 75.00 h).") in ran
    assert "seed 6" not in ran and "seed 9" not in ran and "seed 5" not in ran   # no epoch, or another recipe
    gpu = _paper_run(seed=4, status="cancelled", precision="mixed_bfloat16")
    gpu.update(machine="NVIDIA H200 (lent), 16 CPUs, alone on the GPU", epoch_seconds_total=52)
    for e in gpu["trials"][0]["epochs"]:
        e["seconds"] = 40.0 if e["epoch"] == 1 else 4.0
    assert ("(seed 4, precision mixed_bfloat16; NVIDIA H200 (lent), 16 CPUs, alone on the GPU): cancelled after 4 of 150 epochs, "
            "0.9 min of epochs, 4.0 s a typical epoch after the first (150 epochs at that pace: 10.6 min)."
            ) in section({"runs": [gpu]})
    assert "No run of this recipe is among" in section({"runs": [unrun, _paper_run(seed=9, learning_rate=0.01)]})


def test_the_shipped_model_card_states_what_the_shipped_reference_runs_of_the_papers_recipe_reached():
    card = (SCRIPT.parents[1] / "docs" / "model-card.md").read_text()
    section = _ship_model().paper_reproduction()
    assert "- Reference run " in section
    assert f"## Reproducing the paper's 150-epoch 8-conv result\n\n{section}\n## Limits" in card
    # and the example of reading the file, as ship_model.py writes it (tests/inference runs it)
    assert f"## Using the file in your own program\n\n{_ship_model().own_program()}\n## Against the paper" in card


def test_ensemble_subsets_scores_the_base_with_every_subset_of_the_candidates():
    spec = importlib.util.spec_from_file_location("ensemble_subsets", SCRIPT.parent / "ensemble_subsets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    labels = np.array([0, 1, 1, 0])

    def model(*faces, mirrored=None):   # (2, faces, 2): the faces' and their mirror images' probabilities
        return np.array([faces, mirrored or faces], dtype=float)

    probs = {"base": model([.6, .4], [.6, .4], [.6, .4], [.6, .4]),     # right on faces 1 and 4
             "a": model([.2, .8], [.2, .8], [.2, .8], [.2, .8]),        # right on faces 2 and 3
             "b": model([.9, .1], [.3, .7], [.9, .1], [.9, .1])}        # right on faces 1, 2 and 4
    rows = module.subset_scores(probs, labels, ["base"], ["a", "b"])
    assert [r[0] for r in rows] == [(), ("a",), ("b",), ("a", "b")]
    assert rows[0][1:] == (0.5, 0.5, 0.0, 0.0)
    assert rows[1][1:] == (0.5, 0.5, 0.0, 0.5)      # faces 2, 3 gained and 1, 4 lost: no gain, wide error
    assert rows[2][1:] == (0.75, 0.75, 0.25, 0.25)  # face 2 gained, none lost
    assert rows[3][1:] == (0.75, 0.75, 0.25, 0.25)
    # gains against a named set instead of the first row: here against "a" alone (right on faces 2, 3)
    against = module.subset_scores(probs, labels, ["base"], ["a", "b"], against=["a"])
    assert [r[1:3] for r in against] == [r[1:3] for r in rows]
    assert against[0][3:] == (0.0, 0.5)             # faces 1, 4 gained, 2, 3 lost
    assert against[2][3:] == (0.25, np.sqrt(3) / 4)  # faces 1, 4 gained, 3 lost
    # the mirror images count with flip TTA alone
    mirror = model([.6, .4], [.6, .4], [.6, .4], [.6, .4], mirrored=[[.6, .4], [.1, .9], [.1, .9], [.6, .4]])
    assert module.subset_scores({"m": mirror}, labels, ["m"], [])[0][1:3] == (0.5, 1.0)


def test_plain_keras_eval_scores_folders_and_csv_rows_as_ferlab_does_without_ferlab(store, tmp_path):
    import json
    import os
    import subprocess
    import sys

    from ferlab.models import ModelConfig, build_model
    from ferlab.models.layers import FaceAugment
    from ferlab.models.saved import save
    from tests.helpers import cli, make_csv, make_folder_layout

    script = SCRIPT.parent / "plain_keras_eval.py"
    make_folder_layout(tmp_path / "faces", {"test": 6}, rng=np.random.default_rng(3))
    model = build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1), augmentation=FaceAugment())
    portable = save(model, tmp_path / "portable.keras", portable=True)

    def plain(*args, backend="tensorflow"):
        ran = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True,
                             timeout=300, env=dict(os.environ, KERAS_BACKEND=backend))
        return ran.returncode, ran.stdout + ran.stderr

    def ferlab_accuracy(data, *extra):      # ferlab's own evaluation, in this process
        ran = cli("evaluate", str(portable), "--data", str(data), "--json", *extra)
        assert ran.returncode == 0, ran.stderr[-2000:]
        return json.loads(ran.stdout)["accuracy"]

    code, out = plain(portable, tmp_path / "faces" / "test")
    assert code == 0, out[-2000:]
    assert f"42 faces read, 0 skipped; accuracy {ferlab_accuracy(tmp_path / 'faces'):.4f}" in out

    rng = np.random.default_rng(4)
    rows = [(k % 7, rng.integers(0, 256, 48 * 48), "PrivateTest") for k in range(20)]
    rows += [(1, rng.integers(0, 256, 48 * 48), "PublicTest"), (2, " ".join(["7"] * 2303), "PrivateTest")]
    csv_path = make_csv(tmp_path / "fer2013.csv", rows)
    code, out = plain(portable, csv_path)
    assert code == 0, out[-2000:]
    assert f"20 faces read, 1 skipped; accuracy {ferlab_accuracy(csv_path, '--split', 'test'):.4f}" in out

    code, out = plain(portable, csv_path, "--usage", "all", backend="jax")   # JAX starts in 2 s, TensorFlow in 8
    assert code == 0 and "21 faces read, 1 skipped" in out
    bare = tmp_path / "bare.csv"
    bare.write_text("emotion,pixels\n" + "\n".join(line.rsplit(",", 1)[0] for line in
                                                   csv_path.read_text().splitlines()[1:]) + "\n")
    code, out = plain(portable, bare)
    assert code != 0 and "has no Usage column: --usage all scores every row" in out
    # a file that needs ferlab's own layers fails here: the script really runs without ferlab
    code, out = plain(save(model, tmp_path / "own.keras"), csv_path, backend="jax")
    assert code != 0 and "FaceAugment" in out


def test_reference_faces_copies_a_record_only_from_a_job_that_predicted_as_the_run_did(store, tmp_path):
    import json
    import os
    import subprocess
    import sys

    from ferlab.store.reference import REFERENCE_FILE
    from tests.helpers import shipped_reference_run

    doc = json.loads(REFERENCE_FILE.read_text())
    run = shipped_reference_run(doc)
    ev = run["trials"][0]["evaluations"][0]
    del ev["metrics"]["faces"]                     # as the file was before
    copy = tmp_path / "reference_runs.json"
    copy.write_text(json.dumps(doc, indent=1))
    record = {"predicted": "0" * 3589, "confidence": "50" * 3589, "digest": "f" * 16}

    def job(confusion):
        j = store.create_job("ensemble", {"data": "fer2013", "members": []}, status="completed")
        t = store.start_trial(j.id, 1, {})
        store.add_artifact(t.id, "/m.keras", dataset=ev["dataset"], split=ev["split"], accuracy=ev["accuracy"],
                           metrics={"plain": {**ev["metrics"]["plain"], "confusion": confusion}, "faces": record})
        return j.id

    script = Path(__file__).resolve().parents[1] / "scripts" / "reference_faces.py"
    env = dict(os.environ)

    def call(job_id):
        return subprocess.run([sys.executable, str(script), run["key"], str(job_id), "--file", str(copy)],
                              capture_output=True, text=True, env=env, timeout=120)

    other = [row[:] for row in ev["metrics"]["plain"]["confusion"]]
    other[4][6], other[4][4] = other[4][6] - 1, other[4][4] + 1     # one face predicted otherwise
    refused = call(job(other))
    assert refused.returncode == 1 and "did not predict as" in refused.stderr
    assert "faces" not in json.loads(copy.read_text())["runs"][doc["runs"].index(run)]["trials"][0]["evaluations"][0]["metrics"]
    done = call(job(ev["metrics"]["plain"]["confusion"]))
    assert done.returncode == 0, done.stderr
    written = json.loads(copy.read_text())
    assert written["runs"][doc["runs"].index(run)]["trials"][0]["evaluations"][0]["metrics"]["faces"] == record
    written["runs"][doc["runs"].index(run)]["trials"][0]["evaluations"][0]["metrics"].pop("faces")
    assert written == doc                         # nothing else in the file changed


def test_the_card_says_what_the_shipped_model_looks_at(store, tmp_path, monkeypatch):
    """ship_model's section on the shipped model's mean occlusion maps, with its picture beside the
    card (here an untrained model on the demo set stands in for the shipped one)."""
    import argparse

    import ferlab.inference.models
    from ferlab.data.catalog import ensure_demo, read_split
    from ferlab.models import ModelConfig
    from ferlab.models.builders import build_model
    from ferlab.training.evaluate import metrics_from_predictions

    ship = _ship_model()
    shipped = ferlab.inference.models.SHIPPED
    build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1)).save(tmp_path / "m.keras")
    monkeypatch.setattr(ferlab.inference.models, "SHIPPED", tmp_path / "m.keras")
    ensure_demo(store)
    section = ship.looks_at(read_split(store, "demo", "test"), tmp_path / ship.PICTURE, 2, "x86_64, AMD EPYC, 2 CPUs")
    from PIL import Image

    drawn = sum(int(line.split(" | ")[1]) > 0 for line in section.splitlines() if line.startswith("| ") and
                line.split(" | ")[1].isdigit())
    assert drawn >= 1 and Image.open(tmp_path / ship.PICTURE).size == (144 * drawn, 166)
    assert section.startswith("## What it looks at\n") and "![mean occlusion map per class](occlusion-by-class.png)" in section
    assert "--faces 2 --out\ndocs/occlusion-by-class.png` (it took 0 min on x86_64, AMD EPYC, 2 CPUs)" in section
    labels = np.arange(14) % 7
    result = metrics_from_predictions(labels, labels)
    job = store.create_job("train", {**preset("ferlab-compact", data="fer2013").to_dict(), "reference_key": "train-1",
                                     "reference_command": "ferlab train", "reference_machine": "x86_64, 2 CPUs"},
                           status="completed", origin="reference")
    trial = store.start_trial(job.id, 1, {}, params=1_391_223)
    store.record_epoch(trial.id, 1, loss=1.0, accuracy=0.5, val_loss=1.1, val_accuracy=0.6, seconds=2)
    text = ship.card(job, [ship.lineage(store, job.id)], [], result, result, argparse.Namespace(command=[], note=""),
                     shipped, "this machine", looks_at=section)
    assert text.index("## What it looks at") < text.index("## Using the file in your own program")

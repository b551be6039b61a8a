"""Every page with Streamlit's AppTest: fresh store, with runs, validation, submit and cancel."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[1] / "app_pages"
ALL = ["home", "data", "experiments", "trials", "compare", "leaderboard", "predict"]


def shipped_members() -> int:
    """How many models the shipped ensemble averages, as its model card says (not as the page
    reads it from the file)."""
    card = (Path(__file__).resolve().parents[1] / "docs" / "model-card.md").read_text()
    return int(re.search(r"An ensemble of (\d+) CNNs", card)[1])


@pytest.fixture(autouse=True)
def no_autostart(monkeypatch):
    monkeypatch.setenv("FERLAB_AUTOSTART_WORKER", "0")


def run_page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def seed_runs(store, n_epochs=3):
    """Two finished training runs (5-conv and 8-conv on the demo set) and a tuning job."""
    ids = []
    for arch, opt in (("5conv", "adam"), ("8conv", "adam")):
        spec = {"data": "demo", "model": {"architecture": arch}, "optimizer": opt, "epochs": n_epochs,
                "preset": f"paper-{arch}-{opt}"}
        job = store.create_job("train", spec, status="running")
        trial = store.start_trial(job.id, 1, {}, params=1000)
        for e in range(1, n_epochs + 1):
            store.record_epoch(trial.id, e, loss=1 / e, accuracy=0.3 + 0.1 * e, val_loss=1.1 / e, val_accuracy=0.25 + 0.1 * e)
        store.add_artifact(trial.id, "/m.keras", dataset="demo", split="test", accuracy=0.5 if arch == "5conv" else 0.6)
        store.set_job_status(job.id, "completed")
        ids.append(job.id)
    tune = store.create_job("tune", {"data": "demo", "space": {"architecture": "4conv"}, "algorithm": "random",
                                     "max_trials": 2, "epochs_per_trial": 2}, status="running")
    for n, f in ((1, 8), (2, 16)):
        t = store.start_trial(tune.id, n, {"filters_1": f, "conv_dropout": 0.1 * n, "batch_size": 32})
        for e in (1, 2):
            store.record_epoch(t.id, e, loss=1.0, accuracy=0.2 * n, val_loss=1.0, val_accuracy=0.2 * n + 0.01 * e)
    return ids, tune.id


@pytest.mark.parametrize("page", ALL)
def test_fresh_store_pages_render_and_say_what_to_do(store, page):
    at = run_page(page)
    assert not at.error, [e.value for e in at.error]
    said = " ".join(e.value for e in [*at.info, *at.caption, *at.markdown, *at.title])
    assert said.strip()


@pytest.mark.parametrize("page", ALL)
def test_pages_with_runs(store, page):
    seed_runs(store)
    at = run_page(page)
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", ALL)
def test_pages_on_the_shipped_reference_runs(store, page):
    """A new user's first start: the store seeded with the real FER2013 runs, the ensemble among them."""
    from ferlab.store import reference

    assert reference.seed(store) > 0
    at = run_page(page)
    assert not at.error, [e.value for e in at.error]
    # a figure a row has not got (the literature's hours, a running trial's accuracy) shows as a dash,
    # not as Streamlit's "None"
    assert (page in ("compare", "predict") or at.dataframe) and all(t.proto.placeholder == "—" for t in at.dataframe)
    if page == "experiments":   # the newest job, a shipped record: its command, not an empty log
        newest = store.get_job(at.selectbox(key="job_pick").value)
        assert newest.origin == "reference" and at.code[0].value == newest.spec["reference_command"]
        assert re.match(r"([A-Z_]+=\S+ )*ferlab ", at.code[0].value)   # e.g. KERAS_BACKEND=jax ferlab train ...
    if page == "trials":    # a real FER2013 search of the paper's space, not an empty page
        trials = at.dataframe[0].value
        assert len(trials) >= 2 and trials["best val acc"].is_monotonic_decreasing
        assert len(at.get("vega_lite_chart")) == 3      # parallel coordinates, accuracy and loss curves
    if page == "compare":   # the paper's own comparison, each side a completed 150-epoch run
        picked = [store.get_job(j) for j in at.multiselect[0].value]
        assert [(j.spec["model"]["architecture"], j.spec["optimizer"], j.status) for j in picked] == \
            [("8conv", "adam", "completed"), ("8conv", "sgd", "completed")]
        assert all(j.origin == "reference" and len(store.epochs([store.list_trials(j.id)[0].id])) == 150
                   for j in picked)
    if page == "home":      # where to go next, with the best runs already there
        assert any("**Predict** runs the shipped model" in m.value for m in at.markdown) and not at.info
        best = at.dataframe[0].value.iloc[0]
        # the shipped model's four runs, averaged from their own files (job 43; the shipped file, job 44,
        # holds them with float16 weights, within a few faces of it)
        assert "job 43: ensemble" in best["model"]
        # the row of the file Predict runs is ticked, it alone, in a column before the names
        from tests.helpers import shipped_job

        board = at.dataframe[0].value
        assert board.columns[0] == "shipped"
        assert board.loc[board["shipped"], "model"].str.startswith(f"job {shipped_job(store)}: ").tolist() == [True]
        # its cost: that of the four runs it averages (the model card's "900 epochs")
        members = [x for x in store.job_summaries() if x.job.id in (41, 42, 27, 28)]
        assert best["epochs"] == sum(x.epochs for x in members) == 900
        assert best["hours"] == pytest.approx(sum(x.seconds_total for x in members) / 3600)
        assert best["machine"].startswith(members[0].job.ran_on) and "NVIDIA H200" in best["machine"]
    if page == "leaderboard":
        frame = at.dataframe[0].value
        ours = frame[frame["source"] == "reference"]
        ranked = list(ours["accuracy"])
        assert ranked == sorted(ranked, reverse=True) and ranked[0] > ranked[-1]
        # the shipped ensemble ranks as one, beside the paper's models and ferlab's compact CNN
        assert {"ensemble", "8conv", "5conv", "compact"} <= set(ours["architecture"])
        from tests.helpers import shipped_job

        def row(job_id):
            return ours.loc[ours["model"].str.startswith(f"job {job_id}: ")].iloc[0]

        shipped, made = row(shipped_job(store)), row(43)
        # the shipped model averages each face with its mirror image itself: one figure in both columns,
        # within a few of 3,589 faces of the same four models averaged from their own files (job 43)
        assert ours["model"].iloc[0] == made["model"] and shipped["model"].startswith("job 44: ensemble")
        assert shipped["model"].endswith("(+ mirror images)") and shipped["with flip TTA"] == shipped["accuracy"]
        assert shipped["shipped"] and frame["shipped"].sum() == 1       # it alone, as the caption says
        assert any(f"**shipped** is ticked for job {shipped_job(store)}," in c.value for c in at.caption)
        assert shipped["epochs"] == made["epochs"] == 900        # the same four runs' cost
        assert shipped["accuracy"] == pytest.approx(made["accuracy"], abs=0.0015)
        # the model shipped before (job 30) and the same three models without the mirror image (job 29):
        # flip TTA of those (recorded from its members' own files in bfloat16, so within a few faces)
        old, before = row(30), row(29)
        assert old["model"].endswith("(+ mirror images)") and not before["model"].endswith("images)")
        assert old["epochs"] == before["epochs"] == 450        # the same three runs' cost
        # a warm restart counts the run it started from: reference run 11 went on from run 1's model
        runs = {x.job.id: x for x in store.job_summaries()}
        assert runs[11].job.spec["init_from"] and runs[1].epochs and runs[11].epochs
        assert ours.loc[ours["model"].str.startswith("job 11: "), "epochs"].item() == runs[1].epochs + runs[11].epochs
        # the six-model ensemble shipped in the past: 380 epochs, 10.97 h in all, members' restarts included
        six = ours.loc[ours["model"].str.startswith("job 24: ensemble")].iloc[0]
        assert (six["epochs"], round(six["hours"], 2)) == (380, 10.97)
        assert old["accuracy"] == pytest.approx(before["with flip TTA"], abs=0.0015)
        assert before["with flip TTA"] > before["accuracy"]
    if page == "predict":   # the shipped model named with what its reference run scored, from the store
        from tests.helpers import shipped_job

        job = shipped_job(store)
        scored = store.evaluations([job])[job]
        assert at.selectbox[0].options[0] == f"shipped default (fer2013 PublicTest acc {scored.accuracy:.1%}, job {job})"


def test_experiments_validates_next_to_the_field_and_submits(store):
    at = run_page("experiments")
    at.number_input(key="train_epochs").set_value(0).run()
    assert "epochs must be between 1 and 10000" in at.error[0].value
    assert len(at.error) == 1          # no warm-up complaint about the same mistake (0 warm-up epochs is fine)
    assert at.button[0].disabled
    at.number_input(key="train_epochs").set_value(2).run()
    assert not at.error and not at.button[0].disabled
    at.selectbox(key="train_augmentation").set_value("paper-erasing").run()
    at.button[0].click().run()
    assert "Queued job 1" in at.success[0].value
    [job] = store.list_jobs()
    assert job.status == "queued" and job.kind == "train" and job.spec["epochs"] == 2
    assert job.spec["augmentation"] == "paper-erasing"


def test_the_training_form_says_how_long_a_run_takes_here_from_this_machines_own_runs(store):
    """The pace of earlier runs of the same model, batch size, precision and data set that this
    machine ran alone, times the epochs asked for; runs on other machines, or on several, do not count."""
    from ferlab import config
    from ferlab.runner.jobs import estimate
    from ferlab.training.spec import preset

    def run(machines, seconds, **changes):
        job = store.create_job("train", preset("demo-quick", data="demo", **changes).to_dict(), status="completed")
        for machine in machines:
            store.note_machine(job.id, machine)
        trial = store.start_trial(job.id, 1, {})
        for epoch, sec in enumerate(seconds, 1):
            store.record_epoch(trial.id, epoch, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.4, seconds=sec)
        return job.id

    here = f"{config.machine()}; Keras 3 on TensorFlow 2"
    at = run_page("experiments")
    assert not any(c.value.startswith("About ") for c in at.caption)      # nothing run here yet: nothing said
    first = run([here], (100.0, 60.0, 60.0))                             # 60 s an epoch after the first
    second = run([here], (90.0, 40.0))
    run(["another machine; Keras 3 on JAX 0.1"], (9.0, 1.0))             # elsewhere
    run([here, "another machine; Keras 3 on JAX 0.1"], (9.0, 1.0))       # resumed elsewhere: mixed times
    run([here], (9.0, 1.0), batch_size=64)                               # another batch size
    run([], (9.0, 1.0))                                                  # stored before machines were
    at.run()
    assert f"About 7 min on this machine: 50 s an epoch in jobs {first}, {second} (the same model, batch size, " \
           "precision and data set, on a machine like this one: the same CPU, cores and GPUs; median), times 8 " \
           "epochs." in [c.value for c in at.caption]
    at.number_input(key="train_epochs").set_value(80).run()
    assert any(c.value.startswith("About 1 h 07 min on this machine") for c in at.caption)
    summaries = store.job_summaries()
    assert estimate(summaries, preset("demo-quick", data="demo", precision="float32").to_dict()) is None
    elsewhere = estimate(summaries, preset("demo-quick", data="demo").to_dict(), here="another machine")
    assert elsewhere.epoch_seconds == 1.0 and len(elsewhere.basis) == 1


def test_a_presets_recipe_is_shown_and_a_custom_one_is_submitted(store):
    at = run_page("experiments")
    assert at.selectbox(key="train_augmentation").value == "none"          # demo-quick's
    at.selectbox(key="train_preset").set_value("ferlab-compact").run()
    assert at.selectbox(key="train_augmentation").value == "paper"         # ferlab-compact's
    assert at.selectbox(key="train_schedule").value == "cosine" and at.selectbox(key="train_schedule").disabled
    assert at.number_input(key="train_label_smoothing").value == pytest.approx(0.1)
    assert at.number_input(key="train_weight_decay").value == pytest.approx(5e-4)
    at.selectbox(key="train_preset").set_value("custom").run()
    at.number_input(key="train_label_smoothing").set_value(0.6).run()
    assert "label smoothing must be in [0, 0.5)" in at.error[0].value and at.button[0].disabled
    at.number_input(key="train_label_smoothing").set_value(0.2).run()
    at.selectbox(key="train_schedule").set_value("cosine").run()
    at.number_input(key="train_warmup").set_value(3).run()
    at.number_input(key="train_weight_decay").set_value(0.001).run()
    assert not at.error
    at.button[0].click().run()
    [job] = store.list_jobs()
    assert (job.spec["schedule"], job.spec["warmup_epochs"]) == ("cosine", 3)
    assert job.spec["label_smoothing"] == pytest.approx(0.2) and job.spec["weight_decay"] == pytest.approx(0.001)
    assert job.spec["preset"] is None
    # another data set brings its default preset and that preset's recipe back
    store.add_dataset(name="fer2013", source="x", layout="folders", fingerprint="f" * 64, cache_path="x.npz",
                      counts={})
    at = run_page("experiments")
    at.selectbox(key="train_preset").set_value("demo-quick").run()
    at.selectbox(key="train_data").set_value("fer2013").run()
    assert at.selectbox(key="train_preset").value == "paper-8conv-adam"
    assert (at.number_input(key="train_epochs").value, at.number_input(key="train_lr").value) == (150, 1e-4)


def test_a_training_job_can_start_from_a_trained_model(store):
    from ferlab.inference.models import SHIPPED

    at = run_page("experiments")
    picker = at.selectbox(key="train_init")
    assert picker.options[0] == "random weights (from scratch)" and picker.options[1].startswith("shipped default")
    assert "train_init_member" not in [box.key for box in at.selectbox]   # random weights: no member to pick
    picker.select_index(1).run()
    member = at.selectbox(key="train_init_member")   # the shipped model is an ensemble: pick one of its models
    assert member.options == [str(k) for k in range(1, shipped_members() + 1)]
    member.select_index(2).run()
    at.button[0].click().run()
    [job] = store.list_jobs()
    assert job.spec["init_from"] == str(SHIPPED) and job.spec["init_member"] == 3
    assert job.spec["distill_from"] is None


def test_a_training_job_can_learn_from_a_trained_model(store):
    from ferlab.inference.models import SHIPPED

    at = run_page("experiments")
    assert "train_teacher_weight" not in [s.key for s in at.slider]   # true labels: no share to set
    at.selectbox(key="train_teacher").select_index(1).run()
    at.slider(key="train_teacher_weight").set_value(0.7).run()
    at.button[0].click().run()
    [job] = store.list_jobs()
    assert job.spec["distill_from"] == str(SHIPPED) and job.spec["distill_weight"] == pytest.approx(0.7)
    assert job.spec["init_from"] is None


def test_an_ensemble_job_from_the_form(store, tmp_path):
    from ferlab.models import ModelConfig
    from ferlab.models.builders import build_model

    paths = []
    for n in (1, 2):
        path = tmp_path / f"m{n}.keras"
        build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1)).save(path)
        job = store.create_job("train", {"data": "demo"}, status="completed")
        store.add_artifact(store.start_trial(job.id, 1, {}).id, str(path), dataset="demo", split="test",
                           accuracy=0.3 + n / 10)
        paths.append(str(path))
    at = run_page("experiments")
    at.segmented_control[0].set_value("Ensemble").run()
    picker = at.multiselect(key="ensemble_members")
    by_label = {label: i for i, label in enumerate(picker.options)}
    first = next(label for label in by_label if label.startswith("job 1:"))
    picker.select(first).run()
    assert "an ensemble needs at least two models" in at.error[0].value and at.button[0].disabled
    at.multiselect(key="ensemble_members").select(next(l for l in by_label if l.startswith("job 2:"))).run()
    assert not at.error and not at.button[0].disabled
    at.button[0].click().run()
    assert not at.exception and "Queued job 3" in at.success[0].value
    job = store.get_job(3)
    assert job.kind == "ensemble" and job.status == "queued" and job.spec["members"] == paths
    assert job.spec["flip"] is False

    # with mirror images one model is enough, and the spec says so
    at = run_page("experiments")
    at.segmented_control[0].set_value("Ensemble").run()
    at.multiselect(key="ensemble_members").select(first).run()
    assert "an ensemble needs at least two models" in at.error[0].value
    at.checkbox(key="ensemble_flip").check().run()
    assert not at.error and not at.button[0].disabled
    at.button[0].click().run()
    assert "Queued job 4" in at.success[0].value
    assert store.get_job(4).spec == {"data": "demo", "members": paths[:1], "flip": True}


def test_an_ensemble_from_the_form_can_take_one_model_of_another_ensemble(store):
    from ferlab.inference.models import SHIPPED

    at = run_page("experiments")
    at.segmented_control[0].set_value("Ensemble").run()
    options = at.multiselect(key="ensemble_members").options
    shipped = [o for o in options if o.startswith("shipped default")]
    n = shipped_members()
    assert len(shipped) == n + 1 and [o.rpartition(": ")[2] for o in shipped[1:]] == [f"model {k} of {n}" for k in range(1, n + 1)]
    for label in shipped[2:4]:
        at.multiselect(key="ensemble_members").select(label).run()
    assert not at.error
    at.button[0].click().run()
    [job] = store.list_jobs()
    assert job.spec["members"] == [f"{SHIPPED}#2", f"{SHIPPED}#3"]


def test_tuning_search_space_is_checked_as_you_type(store):
    at = run_page("experiments")
    at.segmented_control[0].set_value("Tuning").run()
    at.number_input(key="ff_min").set_value(512).run()
    assert any("first filters: min (512) is greater than max (256)" in e.value for e in at.error)
    at.number_input(key="ff_min").set_value(32).run()
    assert not at.error
    at.button[0].click().run()
    [job] = store.list_jobs()
    assert job.kind == "tune" and job.spec["space"]["first_filters"] == {"min": 32, "max": 256, "step": 32}


def test_cancel_a_queued_job_from_the_list(store):
    from ferlab.runner import submit
    from ferlab.training.spec import preset

    job = submit(store, "train", preset("paper-4conv-baseline", data="demo").to_dict())
    at = run_page("experiments")
    at.button(key="cancel").click().run()
    assert store.get_job(job.id).status == "cancelled"


def test_delete_a_stopped_job_from_the_list(store):
    from ferlab import config
    from ferlab.runner import submit
    from ferlab.training.spec import preset

    kept = submit(store, "train", preset("paper-4conv-baseline", data="demo").to_dict())
    gone = submit(store, "train", preset("demo-quick", data="demo").to_dict())
    store.request_cancel(gone.id)
    config.run_dir(gone.id).mkdir(parents=True)
    (config.run_dir(gone.id) / "log.txt").write_text("its log")
    at = run_page("experiments")
    assert at.selectbox(key="job_pick").value == gone.id   # the newest first
    assert not [w for w in at.warning if "model is used" in w.value]
    at.button(key="delete").click().run()
    assert not at.exception and not at.error
    assert [j.id for j in store.list_jobs()] == [kept.id] and not config.run_dir(gone.id).exists()

    used = store.create_job("ensemble", {"data": "demo", "members": []}, status="completed")
    store.add_artifact(store.start_trial(used.id, 1, {}).id, "/x/pair.keras", dataset="demo", split="test")
    store.set_job_status(used.id, "completed")
    student = submit(store, "train", preset("demo-quick", data="demo", distill_from="/x/pair.keras").to_dict())
    store.request_cancel(student.id)
    at = run_page("experiments")
    at.selectbox(key="job_pick").set_value(used.id).run()
    assert any(f"Its model is used: job {student.id} learned from it." in w.value for w in at.warning)


def test_class_counts_draw_train_val_test_in_that_order(store):
    from ferlab.data import ensure_demo
    from ferlab.ui.tables import class_counts_chart

    chart = class_counts_chart(ensure_demo(store)).to_dict()
    assert chart["encoding"]["color"]["sort"] == chart["encoding"]["xOffset"]["sort"] == ["train", "val", "test"]


def test_a_running_job_says_about_how_long_it_has_left(store):
    """Pages and the CLI: the epochs still to run at the pace of those run (the first, which also
    compiles, left out)."""
    import pandas as pd

    from tests.helpers import ferlab

    job = store.create_job("train", {"data": "fer2013", "epochs": 150, "model": {"architecture": "8conv"},
                                     "optimizer": "adam"}, status="running")
    trial = store.start_trial(job.id, 1, {})
    for epoch, seconds in ((1, 400.0), (2, 190.0), (3, 210.0)):
        store.record_epoch(trial.id, epoch, loss=1.0, accuracy=0.3, val_loss=1.0, val_accuracy=0.3, seconds=seconds)
    done = store.create_job("train", {"data": "demo", "epochs": 2}, status="completed")
    for page in ("experiments", "home"):
        frame = run_page(page).dataframe[0].value.set_index("job")
        assert frame.loc[job.id, "time left"] == "8 h 10 min"                 # 147 epochs at 200 s
        assert page == "home" or pd.isna(frame.loc[done.id, "time left"])
    listed = ferlab("jobs", "list").stdout.splitlines()
    assert listed[0].split()[:6] == ["job", "kind", "status", "epochs", "best", "val"] and "left" in listed[0]
    row = next(line.split() for line in listed if line.split()[0] == str(job.id))
    assert row[1:6] == ["train", "running", "3", "0.3000", "8:10"]
    shown = ferlab("jobs", "show", str(job.id)).stdout
    assert "3 of 150 epochs done, 200 s an epoch: about 8 h 10 min left" in shown


def test_a_job_without_a_log_says_why(store, tmp_path):
    """The job list's log pane, and `ferlab jobs log`, say why a job shows no log rather than
    "(no log yet)" for a run that finished long ago in a shell."""
    from ferlab.store.entities import foreground_owner
    from tests.helpers import ferlab

    shell = store.create_job("ensemble", {"data": "demo", "members": []}, status="completed",
                             worker=foreground_owner("vm", 4242))
    queued = store.create_job("train", {"data": "demo", "epochs": 1})
    gone = store.create_job("train", {"data": "demo", "epochs": 1}, status="completed", worker="w1")
    store.set_job_log(gone.id, str(tmp_path / "moved" / "log.txt"))
    at = run_page("experiments")
    said = {}
    for job in (shell, queued, gone):
        at.selectbox(key="job_pick").set_value(job.id).run()
        assert not at.exception
        said[job.id] = " ".join(c.value for c in at.caption)
        assert "(no log yet)" not in [c.value for c in at.code]
    assert f"Job {shell.id} ran in the foreground" in said[shell.id] and "went to that shell" in said[shell.id]
    assert f"Job {queued.id} has no log yet: it waits for a worker" in said[queued.id]
    assert f"moved{os.sep}log.txt is gone" in said[gone.id]
    (tmp_path / "moved").mkdir()
    (tmp_path / "moved" / "log.txt").write_text("")             # a worker has just opened it
    at.run()
    assert any("log.txt is empty so far" in c.value for c in at.caption)
    r = ferlab("jobs", "log", str(shell.id))
    assert r.returncode == 0 and f"job {shell.id} ran in the foreground" in r.stdout, r.stderr
    live = store.create_job("train", {"data": "demo", "epochs": 1}, status="running", worker=foreground_owner("vm", 7))
    assert ferlab("jobs", "log", str(live.id)).stdout.startswith(f"job {live.id} runs in the foreground")


def test_compare_one_click_views_and_reference_lines(store):
    ids, tune = seed_runs(store)
    at = run_page("compare")
    assert at.multiselect[0].value == [tune]          # opens on the user's newest run, a search here
    next(b for b in at.button if b.label == "5-conv vs 8-conv").click().run()
    assert sorted(at.multiselect[0].value) == sorted(ids)
    assert len(at.get("vega_lite_chart")) == 2
    # runs on the synthetic demo set only: the paper's FER2013 figures are not drawn beside them
    papers = at.toggle[0]
    assert papers.label.startswith("Show the paper's") and papers.value is False
    assert "layer" not in json.loads(at.get("vega_lite_chart")[0].proto.spec)
    real = store.create_job("train", {"data": "fer2013", "model": {"architecture": "8conv"}, "epochs": 2},
                            status="completed")
    store.record_epoch(store.start_trial(real.id, 1, {}).id, 1, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.5)
    at = run_page("compare")
    at.multiselect[0].set_value([real.id, ids[0]]).run()
    assert at.toggle[0].value is True and "layer" in json.loads(at.get("vega_lite_chart")[0].proto.spec)


def test_one_click_views_prefer_completed_runs_to_newer_ones_stopped_early(store):
    from ferlab.ui.compare import first_view, pick_pair

    def run(opt, status, origin="reference"):
        spec = {"data": "fer2013", "model": {"architecture": "8conv"}, "optimizer": opt, "epochs": 150}
        job = store.create_job("train", spec, status=status, origin=origin)
        store.record_epoch(store.start_trial(job.id, 1, {}).id, 1, loss=1.0, accuracy=0.3, val_loss=1.0,
                           val_accuracy=0.3)
        return job.id

    adam, sgd = run("adam", "completed"), run("sgd", "completed")
    run("adam", "cancelled")                                    # newer, stopped early
    summaries = store.job_summaries()
    assert pick_pair(summaries, "optimizer") == [adam, sgd]     # not the newer adam run stopped early
    assert first_view(summaries) == [adam, sgd]                 # a first start: the paper's comparison
    mine = run("sgd", "running", origin="user")
    assert first_view(store.job_summaries()) == [mine]          # the user's own run, live, once there is one


def test_the_papers_figures_are_named_in_a_legend_in_their_order_and_long_runs_show_their_dashes():
    import pandas as pd

    from ferlab.literature import reference_lines
    from ferlab.ui.tables import curves_chart

    def frame(epochs):
        return pd.DataFrame([{"run": "job 1", "epoch": e, "metric": m, "value": 0.5}
                             for e in range(1, epochs + 1) for m in ("val accuracy", "train accuracy")])

    spec = curves_chart(frame(150), "accuracy", references=True).to_dict()
    lines, rules = spec["layer"]                              # no text marks to overprint each other
    # the runs' legend and the metrics' both belong to the lines, so they stack run-then-metric as on
    # the loss chart beside it (a shared strokeDash legend would be hoisted above the runs')
    assert spec["resolve"]["scale"] == {"color": "independent", "strokeDash": "independent"}
    color = rules["encoding"]["color"]
    papers = sorted(reference_lines(), key=lambda r: -r.accuracy)
    assert color["sort"] == [f"{r.accuracy:.2%} {r.model.removeprefix('Sarmah et al.: ')}" for r in papers]
    assert color["sort"][0].startswith("70.58% 5-conv") and len(set(color["scale"]["range"])) == len(papers)
    assert color["legend"]["orient"] == "bottom"              # under the plot, where it covers no curve
    loss = curves_chart(frame(150), "loss").to_dict()       # ... and the plot as tall as the loss plot beside it
    assert spec["height"] == loss["height"] and spec["autosize"] == loss["autosize"] == {"type": "fit-x",
                                                                                        "contains": "padding"}
    assert lines["mark"]["point"] is False                    # 150 epochs: a dashed train line stays dashed
    short = curves_chart(frame(3), "accuracy").to_dict()
    assert short["mark"]["point"]["size"] == 12
    assert short["encoding"]["x"]["axis"] == {"format": "d", "tickMinStep": 1}   # 3 epochs: no tick at 1.5
    assert short["encoding"]["strokeDash"]["legend"]["symbolType"] == "stroke"  # the legend shows which is dashed
    assert "layer" not in curves_chart(frame(150), "loss", references=True).to_dict()


def test_compare_views_change_one_thing_and_cut_at_equal_epochs(store):
    def run(arch, opt, epochs, done):
        spec = {"data": "fer2013", "model": {"architecture": arch}, "optimizer": opt, "epochs": epochs}
        job = store.create_job("train", spec, status="running")
        trial = store.start_trial(job.id, 1, {})
        for e in range(1, done + 1):
            store.record_epoch(trial.id, e, loss=1.0, accuracy=0.3, val_loss=1.0, val_accuracy=0.3)
        return job.id

    sgd8, adam5, adam8 = run("8conv", "sgd", 3, 3), run("5conv", "adam", 3, 3), run("8conv", "adam", 150, 5)
    at = run_page("compare")
    next(b for b in at.button if b.label == "5-conv vs 8-conv").click().run()
    assert at.multiselect[0].value == [adam5, adam8]          # not the SGD run at equal epochs
    assert next(t for t in at.toggle if t.label.startswith("Equal epochs")).value is True
    assert any("differ in **epochs** (3 / 150), **model.architecture** (5conv / 8conv)." in c.value
               for c in at.caption)
    next(b for b in at.button if b.label == "Adam vs SGD").click().run()
    assert at.multiselect[0].value == [adam8, sgd8]
    assert any("differ in **epochs** (150 / 3), **optimizer** (adam / sgd)." in c.value for c in at.caption)
    assert not at.error


def test_compare_pairs_bf16_runs_with_their_float32_twins(store):
    def run(seed, precision, epochs=3, teacher=None):
        spec = {"data": "demo", "model": {"architecture": "compact"}, "optimizer": "sgd", "epochs": epochs,
                "seed": seed, "precision": precision, "preset": "ferlab-compact", "distill_from": teacher}
        job = store.create_job("train", spec, status="running")
        trial = store.start_trial(job.id, 1, {})
        store.record_epoch(trial.id, 1, loss=1.0, accuracy=0.3, val_loss=1.0, val_accuracy=0.3)
        store.set_job_status(job.id, "completed")
        return job.id

    pair_a = [run(11, "mixed_bfloat16"), run(11, "float32")]
    pair_b = [run(12, "float32"), run(12, "mixed_bfloat16")]
    run(13, "mixed_bfloat16")                                 # no float32 twin
    run(12, "float32", epochs=5)                              # a different recipe
    at = run_page("compare")
    next(b for b in at.button if b.label == "bf16 vs float32").click().run()
    assert at.multiselect[0].value == [pair_b[1], pair_b[0], pair_a[0], pair_a[1]]

    taught = run(11, "float32", teacher="/x/ferlab-default.keras")   # pair_a[1] with a teacher
    run(14, "float32", teacher="/x/ferlab-default.keras")            # no twin on true labels
    at = run_page("compare")
    next(b for b in at.button if b.label == "Distilled vs not").click().run()
    assert at.multiselect[0].value == [taught, pair_a[1]]


def test_leaderboard_ranks_by_test_accuracy_and_keeps_demo_apart(store):
    import pandas as pd

    seed_runs(store)
    at = run_page("leaderboard")
    main = at.dataframe[0].value
    assert (main["source"] == "literature").all()      # demo runs are not ranked with FER2013
    assert main["accuracy"].is_monotonic_decreasing
    # the paper's own runs with the epochs it trained them for; the others' are not published
    epochs = main.set_index("model")["epochs"]
    assert (epochs["Sarmah et al.: 5-conv, Adam, 300 epochs"], epochs["Sarmah et al.: 8-conv, Adam, 150 epochs"]) == (300, 150)
    assert epochs[~epochs.index.str.startswith("Sarmah")].isna().all()
    demo = at.dataframe[1].value
    assert demo["accuracy"].tolist() == [0.6, 0.5]
    assert any("not reproduced here" in c.value for c in at.caption)
    # no run of this store wrote the shipped file: no column for it, nor a word
    assert "shipped" not in main.columns and not any("**shipped**" in c.value for c in at.caption)
    mine = store.create_job("train", {"data": "fer2013", "model": {"architecture": "8conv"}}, status="completed")
    store.note_machine(mine.id, "a 2-core CPU")
    trial = store.start_trial(mine.id, 1, {})
    for epoch, seconds in ((1, 4000.0), (2, 3200.0)):
        store.record_epoch(trial.id, epoch, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.5, seconds=seconds)
    store.add_artifact(trial.id, "/m.keras", dataset="fer2013", split="test", accuracy=0.55)
    at = run_page("leaderboard")
    assert set(at.dataframe[0].value["source"]) == {"user", "literature"}
    at.multiselect[0].set_value(["user", "reference"]).run()          # the literature left out
    board = at.dataframe[0].value
    assert not at.exception and board["model"].str.startswith(f"job {mine.id}:").tolist() == [True]
    # what the run cost, and where: its epochs' wall time, with the machine it recorded
    assert board["hours"].tolist() == [pytest.approx(2.0)] and board["machine"].tolist() == ["a 2-core CPU"]
    averaged = store.create_job("ensemble", {"data": "fer2013", "members": ["/a.keras", "/b.keras"]}, status="completed")
    store.note_machine(averaged.id, "a 2-core CPU")                   # where it averaged, not where its members trained
    store.add_artifact(store.start_trial(averaged.id, 1, {}).id, "/e.keras", dataset="fer2013", split="test", accuracy=0.6)
    board = run_page("leaderboard").dataframe[0].value
    [row] = board[board["model"].str.startswith(f"job {averaged.id}:")].to_dict("records")
    assert pd.isna(row["hours"]) and pd.isna(row["machine"])


def test_leaderboard_shows_the_stored_per_class_figures_and_confusion_matrices(store):
    from ferlab.labels import CLASSES
    from ferlab.store import reference

    reference.seed(store)
    at = run_page("leaderboard")
    picked = at.multiselect(key="classes_runs").value
    ranked = at.dataframe[0].value
    ranked = ranked[ranked["source"] == "reference"]
    assert picked == [int(re.match(r"job (\d+):", m)[1]) for m in ranked["model"][:2]]   # the two best
    stored = store.evaluations(picked)

    def table():
        [frame] = [d.value for d in at.dataframe if "class" in d.value.columns]
        assert list(frame["class"]) == [*CLASSES, "mean"]
        return frame.set_index("class")

    recall = table()
    for job_id in picked:
        want = stored[job_id].metrics["plain"]["recall"]
        assert list(recall[f"job {job_id}"][:7]) == want
        assert recall.loc["mean", f"job {job_id}"] == pytest.approx(sum(want) / 7)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1 + len(picked)       # the measure's bars, then one confusion matrix a run
    # the other measure and the mirrored view: the figures change with them, from the same records
    # (a single model, reference run 41, added: the two best average mirror images themselves)
    picked = [*picked, 41]
    stored = store.evaluations(picked)
    at.multiselect(key="classes_runs").set_value(picked)
    at.radio[0].set_value("f1")
    at.radio[1].set_value("tta")
    at.run()
    f1 = table()
    for job_id in picked:
        assert list(f1[f"job {job_id}"][:7]) == stored[job_id].metrics["tta"]["f1"]
    assert f1.loc["mean", "job 41"] == pytest.approx(stored[41].metrics["tta"]["macro_f1"])
    assert list(f1["job 41"][:7]) != stored[41].metrics["plain"]["f1"]


def test_leaderboard_runs_without_per_class_figures_are_not_offered(store):
    seed_runs(store)                            # models with an accuracy but no stored tables
    at = run_page("leaderboard")
    assert "classes_runs" not in [m.key for m in at.multiselect] and any("once it has finished" in c.value for c in at.caption)


def _run_with_faces(store, data: str, split, predicted, confidence, digest=None, model="/m.keras"):
    """A finished run whose evaluation keeps a face record (as runs evaluated here do)."""
    import numpy as np

    from ferlab.training.evaluate import metrics_from_predictions
    from ferlab.training.report import face_record

    probabilities = np.full((len(split.labels), 7), 0.0)
    probabilities[np.arange(len(split.labels)), predicted] = np.asarray(confidence) / 100
    plain = metrics_from_predictions(np.asarray(split.labels), np.asarray(predicted))
    faces = {**face_record(split.images, split.labels, probabilities), **({"digest": digest} if digest else {})}
    job = store.create_job("train", {"data": data, "model": {"architecture": "compact"}, "optimizer": "adam",
                                     "epochs": 2}, status="running")
    trial = store.start_trial(job.id, 1, {}, params=10)
    store.add_artifact(trial.id, str(model), dataset=data, split="test", accuracy=plain.accuracy,
                       metrics={"plain": plain.to_dict(), "faces": faces})
    store.set_job_status(job.id, "completed")
    return job.id


def test_the_faces_behind_a_confusion_cell_are_the_runs_own_surest_first(store):
    import numpy as np

    from ferlab.data.catalog import ensure_demo, read_split

    ensure_demo(store)
    split = read_split(store, "demo", "test")
    labels = split.labels
    predicted = labels.copy()
    sad = np.flatnonzero(labels == 4)
    predicted[sad[:30]] = 6                       # 30 sad faces called neutral, the largest mistake
    predicted[np.flatnonzero(labels == 0)[:3]] = 2
    confidence = np.full(len(labels), 60)
    confidence[sad[:30]] = np.arange(30) + 40     # the last of them the surest
    job = _run_with_faces(store, "demo", split, predicted, confidence)
    at = run_page("leaderboard")
    assert at.selectbox(key="cell_run").value == job
    assert (at.selectbox(key=f"cell_true_{job}").value, at.selectbox(key=f"cell_predicted_{job}").value) == (4, 6)
    shown = at.get("image")
    assert [int(i.proto.imgs[0].caption[:-1]) for i in shown] == list(range(69, 45, -1))   # the 24 surest of the 30
    said = " ".join(c.value for c in at.caption)
    assert "30 sad face(s) of demo [test] called neutral" in said
    assert f"Job {job}'s model file is not on this machine" in said and not at.toggle   # /m.keras: no maps
    at.selectbox(key=f"cell_true_{job}").set_value(0)
    at.selectbox(key=f"cell_predicted_{job}").set_value(2)
    at.run()
    assert len(at.get("image")) == 3 and not at.exception


def test_the_faces_behind_a_cell_show_what_the_runs_model_rested_on(store, tmp_path):
    import numpy as np

    from ferlab.data.catalog import ensure_demo, read_split
    from ferlab.models import ModelConfig
    from ferlab.models.builders import build_model

    ensure_demo(store)
    split = read_split(store, "demo", "test")
    predicted = split.labels.copy()
    predicted[np.flatnonzero(split.labels == 4)[:5]] = 6           # 5 sad faces called neutral
    build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1)).save(tmp_path / "m.keras")
    better = _run_with_faces(store, "demo", split, split.labels, np.full(len(predicted), 90))   # no model file here
    job = _run_with_faces(store, "demo", split, predicted, np.full(len(predicted), 60), model=tmp_path / "m.keras")
    at = run_page("leaderboard")
    assert at.multiselect(key="classes_runs").value == [better, job]
    assert at.selectbox(key="cell_run").value == job      # the run whose maps can be drawn, not the first
    assert at.toggle(key="cell_maps").value is False and len(at.get("image")) == 5
    at.toggle(key="cell_maps").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.radio(key="cell_map_target").value == 6 and len(at.get("image")) == 5
    assert "Maps of neutral, on one scale" in " ".join(c.value for c in at.caption)
    at.radio(key="cell_map_target").set_value(4).run()
    assert "Maps of sad, on one scale" in " ".join(c.value for c in at.caption) and not at.exception


def test_the_faces_behind_a_cell_are_not_shown_from_other_faces(store):
    import numpy as np

    from ferlab.data.catalog import ensure_demo, read_split

    ensure_demo(store)
    split = read_split(store, "demo", "test")
    labels = split.labels
    job = _run_with_faces(store, "demo", split, (labels + 1) % 7, np.full(len(labels), 70), digest="0" * 16)
    at = run_page("leaderboard")
    assert at.selectbox(key="cell_run").value == job
    assert "does not hold the test faces job" in at.warning[0].value and not at.get("image")
    gone = _run_with_faces(store, "fer2013", split, labels, np.full(len(labels), 70))   # a data set not imported
    at = run_page("leaderboard")
    at.multiselect(key="classes_runs").set_value([gone]).run()
    assert "which is not imported here" in at.info[0].value


def test_the_faces_behind_a_cell_of_a_run_given_a_path_are_read_from_that_path(store, tmp_path, rng):
    import numpy as np

    from ferlab.data.catalog import load_dataset
    from tests.helpers import make_csv

    csv = make_csv(tmp_path / "held-out.csv", [(code, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PrivateTest")
                                               for code in range(7) for _ in range(2)])
    split = load_dataset(store, str(csv))["test"]
    labels = split.labels
    predicted = labels.copy()
    predicted[labels == 5] = 3                    # both surprise faces called happy
    job = _run_with_faces(store, str(csv), split, predicted, np.full(len(labels), 55))
    at = run_page("leaderboard")
    at.multiselect(key="classes_runs").set_value([job]).run()
    assert (at.selectbox(key=f"cell_true_{job}").value, at.selectbox(key=f"cell_predicted_{job}").value) == (5, 3)
    assert len(at.get("image")) == 2 and not at.info and not at.warning


@pytest.mark.parametrize("layout", ["folder", "csv in another order"])
def test_the_shipped_models_faces_behind_a_cell_once_fer2013_is_imported(store, fer2013, tmp_path, layout):
    """The shipped ensemble's reference record (made again here with its own command), found face by
    face in PublicTest however it is handed over: its image folder, or CSV rows in reverse order."""
    import numpy as np

    from ferlab.data import import_dataset
    from ferlab.data.readers import read_source
    from ferlab.store import reference
    from tests.helpers import make_csv, shipped_job

    reference.seed(store)
    if layout == "folder":
        source = fer2013 / "val"
    else:
        val = read_source(fer2013 / "val")["val"]
        source = make_csv(tmp_path / "public.csv", [(int(label), image, "PublicTest")
                                                    for image, label in zip(val.images[::-1], val.labels[::-1])])
    import_dataset(store, source, "fer2013")
    at = run_page("leaderboard")
    shipped = shipped_job(store)
    assert at.selectbox(key="cell_run").value == shipped
    stored = np.asarray(store.evaluations([shipped])[shipped].metrics["plain"]["confusion"])
    true, predicted = at.selectbox(key=f"cell_true_{shipped}").value, at.selectbox(key=f"cell_predicted_{shipped}").value
    off = stored.copy()
    np.fill_diagonal(off, -1)
    assert stored[true, predicted] == off.max() and true != predicted          # opens on its largest mistake
    from ferlab.labels import CLASSES

    said = " ".join(c.value for c in at.caption)
    assert f"{stored[true, predicted]} {CLASSES[true]} face(s) of fer2013 [val] called {CLASSES[predicted]}" in said
    confidences = [int(i.proto.imgs[0].caption[:-1]) for i in at.get("image")]
    assert len(confidences) == 24 and confidences == sorted(confidences, reverse=True) and not at.warning
    # every cell of the stored matrix is found again, face by face
    for t in range(7):
        at.selectbox(key=f"cell_true_{shipped}").set_value(t)
        at.selectbox(key=f"cell_predicted_{shipped}").set_value(6)
        at.run()
        assert f"{stored[t, 6]} {CLASSES[t]} face(s)" in " ".join(c.value for c in at.caption)


def test_a_confusion_matrix_shades_each_cell_by_its_share_of_the_true_class():
    from ferlab.ui.results import confusion_frame

    figures = {"confusion": [[8, 2, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0], *([[0] * 7] * 5)]}
    frame = confusion_frame(figures)
    assert len(frame) == 49 and frame["faces"].sum() == 11
    cell = frame[(frame["true"] == "angry") & (frame["predicted"] == "disgust")].iloc[0]
    assert cell["faces"] == 2 and cell["share"] == pytest.approx(0.2)
    assert frame[frame["true"] == "fear"]["share"].sum() == 0      # no faces of the class: no shade, no error


def test_trials_page_sorts_a_finished_search_by_val_accuracy_and_keeps_a_running_one_in_trial_order(store):
    import pyarrow as pa

    _, tune = seed_runs(store)
    at = run_page("trials")                 # the search still runs: rows stay put as trials come in
    assert at.dataframe[0].value["trial"].tolist() == [1, 2]
    assert at.selectbox[0].options == [f"job {tune}: tune 4conv (random, 2 trials) on demo (running)"]
    assert any("refresh every 10 s" in c.value for c in at.caption)
    for number, val in ((3, 0.05), (4, 0.9)):       # two more trials: the worst so far, then the best
        t = store.start_trial(tune, number, {"filters_1": 32, "conv_dropout": 0.3, "batch_size": 32})
        store.record_epoch(t.id, 1, loss=1.0, accuracy=val, val_loss=1.0, val_accuracy=val)
    at.run()
    assert not at.exception and at.dataframe[0].value["trial"].tolist() == [1, 2, 3, 4]
    assert at.subheader[-1].value == "Curves of the top trials"
    [data] = at.get("vega_lite_chart")[-1].proto.datasets
    drawn = set(pa.ipc.open_stream(data.data.data).read_all().to_pandas()["run"])
    assert drawn == {"trial 1", "trial 2", "trial 4"}       # the best three by val accuracy, not the first rows
    store.set_job_status(tune, "completed")
    at = run_page("trials")
    assert at.dataframe[0].value["trial"].tolist() == [4, 2, 1, 3]
    assert at.selectbox[0].options == [f"job {tune}: tune 4conv (random, 2 trials) on demo"]
    assert not any("refresh" in c.value for c in at.caption)
    # batch size was not searched: no axis for it, a caption instead
    assert any(c.value == "The same in every trial: batch_size 32." for c in at.caption)


def test_parallel_coordinates_place_named_choices_and_numbers_from_min_to_max():
    import pandas as pd

    from ferlab.ui.tables import parallel_coordinates_chart

    frame = pd.DataFrame({"trial": [1, 2, 3], "best val acc": [0.4, 0.45, 0.6132], "filters_1": [32, 64, 256],
                          "optimizer": ["sgd", "adam", "sgd"]})
    chart = parallel_coordinates_chart(frame, ["filters_1", "optimizer"]).to_dict()
    # the colour legend runs from the worst trial's val accuracy to the best's
    assert chart["encoding"]["color"]["legend"]["values"] == [0.4, 0.5066, 0.6132]
    points = pd.DataFrame(chart["datasets"].popitem()[1])
    at = points.set_index(["trial", "hyperparameter"])["scaled"]
    assert at[(1, "filters_1")] == 0 and at[(2, "filters_1")] == pytest.approx(32 / 224) and at[(3, "filters_1")] == 1
    assert (at[(2, "optimizer")], at[(1, "optimizer")], at[(3, "optimizer")]) == (0, 1, 1)


def test_data_page_lists_the_demo_set_and_rejects_an_empty_path(store):
    at = run_page("data")
    frame = at.dataframe[0].value
    assert frame.loc[frame["name"] == "demo", "kind"].tolist() == ["synthetic demo"]
    assert any("SYNTHETIC" in c.value for c in at.caption)
    at.text_input[0].set_value("/no/such/place").run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert "does not exist on the server" in at.error[0].value
    assert store.list_jobs() == []


def test_a_data_set_is_deleted_from_the_data_page_unless_a_job_uses_it(store, tmp_path):
    import streamlit as st

    from ferlab.data import import_dataset
    from tests.helpers import make_folder_layout

    make_folder_layout(tmp_path / "src", {"train": 2, "val": 1}, rng=np.random.default_rng(1))
    import_dataset(store, tmp_path / "src", "mine")
    job = store.create_job("train", {"data": "mine", "epochs": 1}, status="running")
    at = run_page("data")
    at.selectbox[0].set_value("mine").run()
    at.button(key="delete_data").click().run()
    assert not at.exception and f"job {job.id} (running) uses 'mine'" in at.error[0].value
    assert store.find_dataset(name="mine") is not None
    Path(store.get_dataset("mine").cache_path).unlink()         # its cache lost: said, with the way back
    st.cache_data.clear()                                       # (the page keeps the faces it read)
    at.run()
    assert not at.exception and "`ferlab data import" in at.error[0].value and "--name mine" in at.error[0].value
    store.set_job_status(job.id, "completed")
    at.button(key="delete_data").click().run()
    assert not at.exception and not at.error
    assert store.find_dataset(name="mine") is None and at.selectbox[0].options == ["demo"]


def test_old_schema_shows_the_upgrade_command(home, db_url, monkeypatch):
    from ferlab.store.engine import make_engine, upgrade

    upgrade(make_engine(db_url), "0001")
    monkeypatch.setenv("FERLAB_DB_URL", db_url)
    for page in ALL:
        at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=60).run()
        assert not at.exception
        assert "needs an upgrade" in at.error[0].value and at.code[0].value == "ferlab db upgrade"


def test_a_runs_db_that_is_no_database_is_named_on_every_page_and_left_as_it_is(home, tmp_path, monkeypatch):
    bad = tmp_path / "runs.db"
    bad.write_bytes(b"not a database at all, " * 100)
    monkeypatch.setenv("FERLAB_DB_URL", f"sqlite:///{bad}")
    for page in ALL:
        at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=60).run()
        assert not at.exception
        assert "file is not a database" in at.error[0].value and "move it aside" in at.error[0].value
    assert bad.read_bytes() == b"not a database at all, " * 100


def test_predict_page_offers_completed_models_and_marks_demo_ones(store, tmp_path):
    from ferlab.models import ModelConfig
    from ferlab.models.builders import build_model

    path = tmp_path / "m.keras"
    build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1)).save(path)
    job = store.create_job("train", {"data": "demo"}, status="completed")
    trial = store.start_trial(job.id, 1, {})
    store.add_artifact(trial.id, str(path), dataset="demo", split="test", accuracy=0.4)
    from ferlab.inference.models import SHIPPED

    at = run_page("predict")
    options = at.selectbox[0].options
    assert "job 1: demo, test acc 40.0% [SYNTHETIC demo]" in options[-1]
    if SHIPPED.exists():
        assert options[0] == "shipped default (FER2013)"   # no reference run here
        from ferlab.models.ensemble import mirrors_faces
        from ferlab.models.saved import load

        # the shipped model says whether it averages each face with its mirror image itself
        said = any("mirror image itself" in c.value for c in at.caption)
        assert said == mirrors_faces(load(SHIPPED, compile=False))
        # its model card, under the picker: the card's own sections and picture, headings a size down
        [card] = [e for e in at.expander if e.label.startswith("Model card")]
        shown = "\n".join(m.value for m in card.markdown)
        text = (Path(__file__).resolve().parents[1] / "docs" / "model-card.md").read_text()
        sections = [line.lstrip("# ") for line in text.splitlines() if line.startswith("## ")]
        assert len(sections) >= 5 and all(f"#### {s}\n" in shown for s in sections)
        assert re.search(r"Accuracy \*\*0\.\d{4}\*\*", shown) and "](occlusion-by-class.png)" not in shown
        assert len(card.image) == text.count("![")
    at.selectbox[0].select_index(len(options) - 1).run()
    assert not any("mirror image itself" in c.value for c in at.caption)
    assert not [e for e in at.expander if e.label.startswith("Model card")]      # only the shipped model's
    assert any("SYNTHETIC demo set" in w.value for w in at.warning)
    assert [t.label for t in at.tabs] == ["Photos", "Webcam"]


def test_the_model_card_is_read_from_docs_where_the_packaged_link_is_a_plain_file(tmp_path, monkeypatch):
    """A checkout without symbolic links (git's core.symlinks off) holds the link's target as text."""
    from ferlab.inference import models

    docs = Path(__file__).resolve().parents[1] / "docs" / "model-card.md"
    monkeypatch.setattr(models, "CARD", tmp_path / "model-card.md")
    models.CARD.write_text("../../docs/model-card.md")
    assert models.model_card() == (docs.read_text(), docs.parent)
    models.CARD.write_text("# Model card: a packaged copy\n")
    assert models.model_card() == ("# Model card: a packaged copy\n", tmp_path)


def test_a_card_of_its_title_alone_shows_as_an_empty_panel(store, tmp_path, monkeypatch):
    from ferlab.inference import models

    if not models.SHIPPED.exists():
        pytest.skip("no shipped model in this checkout")
    monkeypatch.setattr(models, "CARD", tmp_path / "model-card.md")
    models.CARD.write_text("# Model card: title alone")
    at = run_page("predict")
    [card] = [e for e in at.expander if e.label.startswith("Model card")]
    assert not at.exception and "".join(m.value for m in card.markdown).strip() == ""


def test_predict_page_offers_the_best_checkpoint_of_a_run_cut_short(store):
    from ferlab import config
    from ferlab.models import ModelConfig
    from ferlab.models.builders import build_model

    job = store.create_job("train", {"data": "fer2013"}, status="running")
    trial = store.start_trial(job.id, 1, {})
    for epoch, val in enumerate([0.41, 0.52, 0.47], 1):
        store.record_epoch(trial.id, epoch, loss=1.0, accuracy=0.5, val_loss=1.1, val_accuracy=val)
    store.set_job_status(job.id, "cancelled")
    config.run_dir(job.id).mkdir(parents=True)
    build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1)).save(config.run_dir(job.id) / "best.keras")
    running = store.create_job("train", {"data": "fer2013"}, status="running")     # still training: not offered
    store.start_trial(running.id, 1, {})
    config.run_dir(running.id).mkdir(parents=True)
    (config.run_dir(running.id) / "best.keras").write_bytes((config.run_dir(job.id) / "best.keras").read_bytes())

    at = run_page("predict")
    options = at.selectbox[0].options
    label = f"job {job.id}: fer2013, best so far, val acc 52.0% at epoch 2 (cancelled after 3 epochs)"
    assert label in options and not any(o.startswith(f"job {running.id}:") for o in options)
    at.selectbox[0].select(label).run()
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs] == ["Photos", "Webcam"]
    [download] = at.get("download_button")
    assert download.label == f"Download ferlab-job-{job.id}-best.keras" and "without ferlab" in download.help


def test_probability_bars_name_every_emotion_face_by_face_at_a_fixed_width():
    from types import SimpleNamespace

    import numpy as np

    from ferlab.labels import CLASSES
    from ferlab.ui.predict import BAR_WIDTH, bars

    faces = [SimpleNamespace(probabilities=np.eye(7)[i % 7]) for i in range(10)]
    spec = bars(faces).to_dict()
    # ten faces in the photo's numbering (face 10 after face 9, not after face 1)
    assert spec["facet"]["row"]["sort"] == [f"face {i}" for i in range(1, 11)]
    assert spec["spec"]["width"] == BAR_WIDTH      # not the column's width, which a facet overflows
    bars_layer, text_layer = spec["spec"]["layer"]
    y = bars_layer["encoding"]["y"]
    assert y["sort"] == list(CLASSES) and y["axis"]["labelOverlap"] is False     # all 7 names shown
    assert text_layer["encoding"]["text"]["format"] == ".0%"
    data = spec["datasets"][spec["data"]["name"]]
    assert len(data) == 70 and {d["face"] for d in data} == {f"face {i}" for i in range(1, 11)}


def test_a_run_that_changed_its_presets_recipe_is_not_named_as_the_preset_alone():
    from types import SimpleNamespace

    from ferlab.runner.jobs import changed_from_preset
    from ferlab.training.spec import preset
    from ferlab.ui.tables import describe

    def job(spec):
        return SimpleNamespace(kind="train", spec=spec)

    own = preset("paper-8conv-sgd", data="fer2013", epochs=3, seed=9, precision="float32").to_dict()
    assert changed_from_preset(own) == [] and describe(job(own)) == "paper-8conv-sgd: 8conv, sgd"
    tuned = preset("paper-8conv-sgd", data="fer2013", learning_rate=0.04, augmentation="strong").to_dict()
    assert changed_from_preset(tuned) == ["augmentation", "learning_rate"]
    assert describe(job(tuned)) == "paper-8conv-sgd (modified): 8conv, sgd"
    older = {k: v for k, v in own.items() if k != "label_smoothing"}     # stored before the field existed
    assert changed_from_preset(older) == []
    assert describe(job({**own, "preset": None})) == "custom: 8conv, sgd"


def test_curves_against_hours_of_epochs(store):
    """bf16 against float32 is a question of time: Compare draws curves against the hours each run's
    epochs took, and leaves out what was not timed rather than drawing it at a wrong time."""
    import pyarrow as pa

    from ferlab.ui.tables import curves_chart, curves_frame, job_trial_labels

    runs = []
    for seconds in ((1800.0, 1800.0, 1800.0), (900.0, None, 900.0)):
        job = store.create_job("train", {"data": "fer2013", "epochs": 3}, status="completed")
        trial = store.start_trial(job.id, 1, {})
        for epoch, sec in enumerate(seconds, 1):
            store.record_epoch(trial.id, epoch, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.4, seconds=sec)
        runs.append(job.id)
    store.note_machine(runs[0], "a 2-core CPU")
    frame = curves_frame(store, job_trial_labels(store, runs))
    hours = frame[frame["metric"] == "val accuracy"].set_index(["run", "epoch"])["hours"]
    assert hours[(f"job {runs[0]}", 3)] == pytest.approx(1.5) and hours[(f"job {runs[1]}", 1)] == pytest.approx(0.25)
    assert hours[[(f"job {runs[1]}", 2), (f"job {runs[1]}", 3)]].isna().all()    # not timed from epoch 2 on
    spec = curves_chart(frame, "accuracy", references=True, x="hours").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["field"] == "hours"
    at = run_page("compare")
    at.multiselect[0].set_value(runs).run()
    at.radio[0].set_value("hours").run()
    assert not at.exception and any("not recorded" in c.value for c in at.caption)
    # an hour means little without the machine it was spent on: the page says where each run ran
    assert f"Where each ran: job {runs[0]}: a 2-core CPU; job {runs[1]}: not recorded." in [c.value for c in at.caption]
    [data] = at.get("vega_lite_chart")[1].proto.datasets          # the loss chart: no reference layer
    drawn = pa.ipc.open_stream(data.data.data).read_all().to_pandas()
    assert sorted(drawn["hours"].round(2).unique()) == [0.25, 0.5, 1.0, 1.5]


def test_equal_epochs_cuts_every_run_at_the_shortest(store):
    import pandas as pd

    from ferlab.ui.tables import common_epochs, curves_frame, job_trial_labels

    long_run, short_run = seed_runs(store, n_epochs=5)[0][0], seed_runs(store, n_epochs=2)[0][1]
    frame = curves_frame(store, job_trial_labels(store, [long_run, short_run]))
    assert frame.groupby("run")["epoch"].max().tolist() == [5, 2]
    cut = common_epochs(frame)
    assert cut.groupby("run")["epoch"].max().tolist() == [2, 2]
    assert len(cut) == 2 * 2 * 4      # 2 runs x 2 epochs x 4 metrics, nothing else dropped
    assert common_epochs(pd.DataFrame(columns=frame.columns)).empty
    at = run_page("compare")
    at.multiselect[0].set_value([long_run, short_run]).run()
    next(t for t in at.toggle if t.label.startswith("Equal epochs")).set_value(True).run()
    assert not at.error and len(at.get("vega_lite_chart")) == 2

"""`ferlab` as a user runs it: a real subprocess, its output and exit status (or, where a real
process of the same command is tested already, ferlab.cli.main in this one: tests.helpers.cli)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from tests.helpers import cli, ferlab, make_csv, make_folder_layout, shipped_job


def test_help_lists_the_subcommands(tmp_path):
    out = ferlab("--help", cwd=tmp_path)
    assert out.returncode == 0
    for sub in ("data", "db", "train", "evaluate"):
        assert sub in out.stdout
    data = ferlab("data", "--help", cwd=tmp_path)
    assert all(a in data.stdout for a in ("import", "list", "show"))


def test_ferlab_processes_take_gpu_memory_as_they_need_it_unless_told_otherwise():
    """Set on import, before any backend: the app, workers and runs in a shell share one GPU."""
    import os
    import subprocess
    import sys

    show = ("import ferlab, os; print(os.environ['TF_FORCE_GPU_ALLOW_GROWTH'], "
            "os.environ['XLA_PYTHON_CLIENT_PREALLOCATE'])")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_FORCE_GPU_ALLOW_GROWTH", "XLA_PYTHON_CLIENT_PREALLOCATE")}
    ran = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True, env=env, check=True)
    assert ran.stdout.split() == ["true", "false"]
    ran = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True, check=True,
                         env=dict(env, TF_FORCE_GPU_ALLOW_GROWTH="false", XLA_PYTHON_CLIENT_PREALLOCATE="true"))
    assert ran.stdout.split() == ["false", "true"]                 # the user's own setting wins


def test_data_import_list_show(home, tmp_path, rng):
    src = tmp_path / "kaggle"
    make_folder_layout(src, {"train": 4, "test": 1}, rng=rng)
    (src / "train" / "happy" / "bad.jpg").write_bytes(b"")
    out = ferlab("data", "import", str(src), "--name", "k", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "imported 'k'" in out.stdout and "stratified 10% of train (seed 1234)" in out.stdout
    assert "skipped 1 item(s)" in out.stdout and "bad.jpg: empty file (0 bytes)" in out.stdout
    assert "reading kaggle" in out.stderr  # the progress bar
    assert (tmp_path / "runs.db").exists()

    again = ferlab("data", "import", str(src), cwd=tmp_path)
    assert again.returncode == 0 and "already imported as 'k' (no change)" in again.stdout

    listed = ferlab("data", "list", cwd=tmp_path)
    assert "k " in listed.stdout and "demo" in listed.stdout and "[synthetic demo set]" in listed.stdout
    shown = ferlab("data", "show", "k", cwd=tmp_path)
    lines = {line.split()[0]: line.split()[1:] for line in shown.stdout.splitlines() if line.strip()}
    assert lines["happy"] == ["3", "1", "1"]  # train (after val), val, test
    assert "bad.jpg" in shown.stdout

    gone = ferlab("data", "delete", "k", cwd=tmp_path)
    assert gone.returncode == 0 and "deleted data set 'k'" in gone.stdout, gone.stderr
    assert "k " not in ferlab("data", "list", cwd=tmp_path).stdout
    demo = ferlab("data", "delete", "demo", cwd=tmp_path)
    assert demo.returncode == 2 and "built-in synthetic demo set" in demo.stderr and "Traceback" not in demo.stderr


def test_csv_import_reports_bad_lines(home, tmp_path, rng):
    rows = [(c, rng.integers(0, 256, (48, 48), dtype="uint8"), u) for c in range(7) for u in ("Training", "PublicTest")]
    rows.append((3, " ".join(["1"] * 2303), "Training"))
    make_csv(tmp_path / "fer2013.csv", rows)
    out = ferlab("data", "import", str(tmp_path / "fer2013.csv"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "fer2013.csv line 16: 2,303 pixels instead of 2,304" in out.stdout


def test_errors_are_one_clear_line_without_traceback(home, tmp_path):
    for args, expected in [(("data", "import", str(tmp_path / "missing")), "does not exist"),
                           (("data", "show", "nope"), "no data set named 'nope'"),
                           (("evaluate", str(tmp_path / "m.keras"), "--data", "demo"), "does not exist")]:
        out = ferlab(*args, cwd=tmp_path)
        assert out.returncode == 2, args
        assert expected in out.stderr and "Traceback" not in out.stderr


def test_jobs_compare_lines_up_epochs_and_names_what_differs(store, tmp_path):
    def run(precision, vals):
        spec = {"data": "demo", "model": {"architecture": "compact"}, "epochs": 3, "seed": 4, "precision": precision}
        job = store.create_job("train", spec, status="running")
        trial = store.start_trial(job.id, 1, {})
        for e, v in enumerate(vals, 1):
            store.record_epoch(trial.id, e, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=v)
        return job.id

    a, b = run("mixed_bfloat16", [0.31, 0.42, 0.40]), run("float32", [0.30, 0.45])
    out = ferlab("jobs", "compare", str(a), str(b), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "runs differ in: precision"
    assert lines[1:3] == [f"  job {a}: precision=mixed_bfloat16", f"  job {b}: precision=float32"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[5:]}
    assert rows["2"] == ["0.4200", "0.4500"] and rows["3"] == ["0.4000", "-"]
    assert rows["best"] == ["0.4200", "0.4500"]
    tune = store.create_job("tune", {"data": "demo"}, status="queued")
    out = ferlab("jobs", "compare", str(a), str(tune.id), cwd=tmp_path)
    assert out.returncode == 2 and "has 0 trials" in out.stderr and "Traceback" not in out.stderr


def test_jobs_delete_removes_the_records_and_the_folder(store, capsys):
    from ferlab import config
    from ferlab.cli import main

    done = store.create_job("train", {"data": "demo"}, status="completed")
    running = store.create_job("train", {"data": "demo"}, status="running")
    config.run_dir(done.id).mkdir(parents=True)
    assert main(["jobs", "delete", str(done.id)]) == 0
    assert capsys.readouterr().out.strip() == (f"deleted job {done.id} (train, completed) and its folder "
                                               f"{config.run_dir(done.id)}")
    assert not config.run_dir(done.id).exists() and [j.id for j in store.list_jobs()] == [running.id]
    assert main(["jobs", "delete", str(running.id)]) == 2
    assert f"job {running.id} is running; stop it" in capsys.readouterr().err

    teacher = store.create_job("train", {"data": "demo"}, status="completed")
    model = config.run_dir(teacher.id) / "model.keras"
    store.add_artifact(store.start_trial(teacher.id, 1, {}).id, str(model), dataset="demo", split="test")
    store.set_job_status(teacher.id, "completed")
    student = store.create_job("train", {"data": "demo", "optimizer": "sgd", "distill_from": str(model),
                                         "init_from": str(model)}, status="completed")
    pair = store.create_job("ensemble", {"data": "demo", "members": [f"{model}#2", "/x/other.keras"]},
                            status="completed")
    assert main(["jobs", "delete", str(teacher.id)]) == 2
    err = capsys.readouterr().err
    assert (f"job {teacher.id}'s model is used: job {pair.id} averages it; "
            f"job {student.id} started from and learned from it.") in err and "add --force" in err
    assert store.get_job(teacher.id).status == "completed"            # nothing deleted
    assert main(["jobs", "delete", "--force", str(teacher.id)]) == 0
    assert teacher.id not in [j.id for j in store.list_jobs()]


def test_a_field_an_older_training_spec_lacks_counts_as_its_default():
    from ferlab.runner.jobs import spec_differences
    from ferlab.training.spec import TrainSpec

    new = TrainSpec().to_dict()
    old = {k: v for k, v in new.items() if not k.startswith("distill")}   # stored before distillation
    assert spec_differences([old, new]) == []
    assert spec_differences([old, dict(new, distill_from="t.keras")]) == [("distill_from", [None, "t.keras"])]
    assert spec_differences([{"data": "demo"}, {"data": "demo", "max_trials": 3}]) == [("max_trials", [None, 3])]


def test_queueing_a_job_does_not_load_tensorflow(store, tmp_path):
    code = ("import sys, ferlab.runner as r; r.ensure_worker = lambda store: None; from ferlab.cli import main; "
            "rc = main(['train', '--preset', 'demo-quick', '--data', 'demo', '--background']); "
            "print(rc, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "0 False False"
    [job] = store.list_jobs()
    assert job.status == "queued" and job.spec["preset"] == "demo-quick"


def test_train_flags_override_the_presets_recipe(store, monkeypatch, capsys):
    import ferlab.runner
    from ferlab.cli import main

    monkeypatch.setattr(ferlab.runner, "ensure_worker", lambda store: None)  # keep the job queued
    assert main(["train", "--preset", "paper-5conv-adam", "--data", "demo", "--optimizer", "sgd",
                 "--schedule", "cosine", "--weight-decay", "0.0005", "--label-smoothing", "0.1",
                 "--background"]) == 0
    spec = store.list_jobs(status="queued")[0].spec
    assert (spec["model"]["architecture"], spec["optimizer"], spec["schedule"]) == ("5conv", "sgd", "cosine")
    assert (spec["weight_decay"], spec["label_smoothing"], spec["learning_rate"]) == (0.0005, 0.1, 1e-4)
    assert main(["train", "--preset", "paper-5conv-adam", "--data", "demo", "--label-smoothing", "0.7",
                 "--background"]) == 2
    assert "label smoothing must be in [0, 0.5)" in capsys.readouterr().err
    assert len(store.list_jobs()) == 1


def test_jobs_show_of_a_reference_run_names_its_shipped_model_or_says_none_was_shipped(store, capsys):
    from ferlab.cli import main
    from ferlab.inference.models import SHIPPED
    from ferlab.store import reference

    reference.seed(store)
    tune = max(j.id for j in store.list_jobs() if j.kind == "tune" and j.origin == "reference")
    assert main(["jobs", "show", str(tune)]) == 0
    out = capsys.readouterr().out
    assert "  trial 1: completed" in out
    assert "  model (a reference run's model, not shipped): val accuracy 0." in out
    shipped = shipped_job(store)
    assert main(["jobs", "show", str(shipped)]) == 0
    out = capsys.readouterr().out
    assert f"  model {SHIPPED}: val accuracy 0." in out
    assert f"\nran on: {store.get_job(shipped).spec['reference_machine']}\n" in out
    assert ("\ntrained from random weights by job(s) 41, 42, 27, 28: 900 epochs and 0.52 h of epochs in all, on "
            "x86_64, Intel(R) Xeon(R) Processor, 16 CPUs, GPU NVIDIA H200; ") in out
    # the per-class table and confusion matrix stored with the run, as `ferlab evaluate` prints them
    stored = store.evaluations([shipped])[shipped].metrics["plain"]
    assert f"accuracy {stored['accuracy']:.4f} on {stored['n']:,} images" in out
    row = "happy     " + "".join(f"{v:>8,}" for v in stored["confusion"][3])
    assert row in out and out.count("\nwith flip TTA: accuracy ") == 1
    assert main(["jobs", "show", str(store.create_job("train", {"data": "demo"}).id)]) == 0
    assert "confusion matrix" not in capsys.readouterr().out        # a queued job: nothing stored yet


def test_evaluate_on_a_csv_with_a_bad_row_warns_what_it_skipped(home, tmp_path, rng):
    """An evaluator's file read straight from its path: the row it cannot read is named, and the
    accuracy is over the faces read."""
    import json

    from ferlab.models.builders import build_model
    from tests.helpers import tiny_model

    build_model(tiny_model()).save(tmp_path / "m.keras")
    faces = rng.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    csv = make_csv(tmp_path / "private.csv", [(3, faces[0], "PrivateTest"), (1, " ".join(["7"] * 2303), "PrivateTest"),
                                              (5, faces[1], "PrivateTest"), (0, faces[2], "PrivateTest")])
    out = ferlab("evaluate", str(tmp_path / "m.keras"), "--data", str(csv), "--split", "test", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "warning: skipped 1 item(s) of" in out.stderr and "private.csv line 3: 2,303 pixels instead of 2,304" in out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == 3 and result["skipped"] == 1


def test_evaluate_says_when_it_scores_a_carved_val_and_all_scores_every_face(store, tmp_path, rng):
    """A CSV of held-out faces without a Usage column holds train faces alone: evaluating it by path
    says to add --split all, which scores every row; imported, its val is carved from train, and the
    default scores that carve and says so."""
    import json

    from ferlab.models.builders import build_model
    from tests.helpers import tiny_model

    build_model(tiny_model()).save(tmp_path / "m.keras")
    path = tmp_path / "held-out.csv"
    path.write_text("emotion,pixels\n" + "".join(
        f"{k % 7},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))}\n" for k in range(40)))

    def evaluate(data, *extra):     # in this process: the test above runs `ferlab evaluate` as a process
        return cli("evaluate", str(tmp_path / "m.keras"), "--data", data, "--json", *extra, cwd=tmp_path)

    refused = evaluate(str(path))
    assert refused.returncode == 2
    assert f"error: {path} marks none of its 40 faces as test or val" in refused.stderr
    assert "--split all scores every one of them" in refused.stderr
    every = evaluate(str(path), "--split", "all")
    assert every.returncode == 0, every.stderr
    result = json.loads(every.stdout.strip().splitlines()[-1])
    assert result["split"] == "all" and result["n"] == 40 and sum(map(sum, result["confusion"])) == 40

    assert ferlab("data", "import", str(path), "--name", "held", cwd=tmp_path).returncode == 0
    carved = evaluate("held")
    assert carved.returncode == 0, carved.stderr
    result = json.loads(carved.stdout.strip().splitlines()[-1])
    assert result["split"] == "val" and result["n"] < 40
    assert (f"this scores the {result['n']} faces of its train split held out as val; --split all scores "
            "all 40 of its faces" in carved.stderr)
    assert json.loads(evaluate("held", "--split", "all").stdout.strip().splitlines()[-1])["n"] == 40


def test_a_store_that_cannot_be_used_is_an_error_message_not_a_traceback(home, tmp_path, monkeypatch, capsys):
    from ferlab.cli import main

    bad = tmp_path / "runs.db"
    bad.write_bytes(b"x" * 5000)
    monkeypatch.setenv("FERLAB_DB_URL", f"sqlite:///{bad}")
    assert main(["jobs", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: the run store at sqlite:///{bad} cannot be used (file is not a database)")
    assert bad.read_bytes() == b"x" * 5000
    # a server that does not answer: its password is not printed
    monkeypatch.setenv("FERLAB_DB_URL", "postgresql+psycopg://me:s3cret@127.0.0.1:9/runs")
    assert main(["jobs", "list"]) == 2
    err = capsys.readouterr().err
    assert "me:***@127.0.0.1:9/runs cannot be used" in err and "s3cret" not in err and "server is up" in err


def _reparsed(store, command: str):
    """What `ferlab` makes of a command line: the spec it would run."""
    import shlex

    from ferlab.cli import build_parser, train_spec, tune_spec

    words = shlex.split(command)
    assert words[0] == "ferlab"
    args = build_parser().parse_args(words[1:])
    return {"train": train_spec, "tune": lambda _, a: tune_spec(a)}[words[1]](store, args)


def test_a_jobs_command_runs_the_same_spec_again(store, tmp_path):
    """command_line(spec), read back by the CLI's own parser, gives the spec it was made from: for
    a preset's own recipe, a recipe changed in every flag, a page's custom run, and a search."""
    from dataclasses import replace

    from ferlab.models.config import DEFAULTS
    from ferlab.models.search import Range
    from ferlab.runner.jobs import command_line
    from ferlab.training.spec import TrainSpec, TuneSpec, preset

    start, teacher = tmp_path / "a run" / "start.keras", tmp_path / "teacher.keras"
    start.parent.mkdir()
    start.write_bytes(b"x")
    teacher.write_bytes(b"x")
    own = preset("paper-8conv-adam", data="demo", epochs=3)
    changed = preset("ferlab-compact", data="fer2013", epochs=7, seed=9, batch_size=64, precision="float32",
                     optimizer="adam", learning_rate=0.003, schedule="constant", warmup_epochs=0,
                     weight_decay=1e-5, label_smoothing=0.05, augmentation="strong", init_from=str(start),
                     init_member=2, distill_from=str(teacher), distill_weight=0.3)
    custom = TrainSpec(data="demo", model=DEFAULTS["5conv"], optimizer="sgd", learning_rate=0.02, schedule="cosine",
                       warmup_epochs=1, epochs=4, preset=None)      # the page's "custom": no preset named
    for spec in (own, changed, custom):
        command = command_line("train", spec.to_dict())
        assert command.startswith("ferlab train --preset ") and "--epochs" in command and "--seed" in command
        again = _reparsed(store, command)
        assert again == (spec if spec.preset else replace(spec, preset=again.preset)), command
    assert "'" in command_line("train", changed.to_dict())           # the path with a space, quoted
    assert command_line("train", own.to_dict()) == "ferlab train --preset paper-8conv-adam --data demo --epochs 3 --seed 1"
    # filters no preset has: no command says them, so none is offered
    odd = replace(custom, model=replace(DEFAULTS["5conv"], filters=(8, 16, 16, 32, 32)))
    assert command_line("train", odd.to_dict()) is None
    search = TuneSpec(data="demo", max_trials=3, epochs_per_trial=2, algorithm="hyperband", seed=4, precision="float32",
                      space=replace(TuneSpec().space, architecture="5conv", first_filters=Range(32, 64, 32),
                                    conv_dropout=Range(0.1, 0.3, 0.1), optimizers=("adam", "sgd"),
                                    learning_rates=(1e-4, 0.001), batch_sizes=(32, 64)))
    assert _reparsed(store, command_line("tune", search.to_dict())) == search
    assert command_line("tune", replace(search, label_smoothing=0.1).to_dict()) is None
    assert command_line("ensemble", {"data": "fer2013", "members": ["/m/a.keras#1", "/m/b.keras"], "flip": True}) == \
        "ferlab ensemble '/m/a.keras#1' /m/b.keras --data fer2013 --flip"
    assert command_line("train", {"reference_command": "ferlab train --preset x"}) == "ferlab train --preset x"
    assert command_line("train", {"data": "demo"}) is None            # a spec this version cannot read


def test_jobs_show_and_the_job_list_give_a_users_job_its_command(store, capsys, monkeypatch):
    from ferlab.cli import main

    monkeypatch.setenv("FERLAB_AUTOSTART_WORKER", "0")
    from ferlab.training.spec import preset

    job = store.create_job("train", preset("paper-5conv-adam", data="demo", epochs=2, optimizer="sgd").to_dict())
    assert main(["jobs", "show", str(job.id)]) == 0
    want = "ferlab train --preset paper-5conv-adam --data demo --epochs 2 --seed 1 --optimizer sgd"
    out = capsys.readouterr().out
    assert f"\ncommand: {want}\n" in out and "\nran on: (not started)\n" in out
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import PAGES

    at = AppTest.from_file(str(PAGES / "experiments.py"), default_timeout=60).run()
    assert not at.exception and at.selectbox(key="job_pick").value == job.id
    assert at.code[0].value == want
    assert not any(c.value.startswith("Ran on") for c in at.caption)
    store.note_machine(job.id, "a GPU box")                  # once a process has run it, the page says where
    store.set_job_status(job.id, "failed", error="stopped")
    at.run()
    assert "Ran on a GPU box." in [c.value for c in at.caption]
    assert main(["jobs", "show", str(job.id)]) == 0
    assert "\nran on: a GPU box\n" in capsys.readouterr().out


def test_train_says_how_long_it_takes_here_where_this_machine_ran_the_same_model(store, capsys, monkeypatch):
    from ferlab import config
    from ferlab.cli import main
    from ferlab.training.spec import preset

    monkeypatch.setenv("FERLAB_AUTOSTART_WORKER", "0")
    assert main(["train", "--preset", "demo-quick", "--data", "demo", "--background"]) == 0
    assert "on this machine" not in capsys.readouterr().out              # nothing run here yet
    done = store.create_job("train", preset("demo-quick", data="demo").to_dict(), status="completed")
    store.note_machine(done.id, f"{config.machine()}; Keras 3 on TensorFlow 2")
    trial = store.start_trial(done.id, 1, {})
    for epoch, seconds in enumerate((30.0, 45.0, 45.0), 1):
        store.record_epoch(trial.id, epoch, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.4, seconds=seconds)
    assert main(["train", "--preset", "demo-quick", "--data", "demo", "--epochs", "40", "--background"]) == 0
    assert (f"about 30 min on this machine: 45 s an epoch in job {done.id} (same model, batch size, precision and "
            "data set, on a machine like this one)") in capsys.readouterr().out

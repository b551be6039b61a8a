"""`ferlab ...` (also `python -m ferlab`): data, db, train, evaluate."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ferlab.labels import CLASSES


def _store():
    from ferlab.runner import reap_foreground
    from ferlab.store import Store

    store = Store()
    reap_foreground(store)   # jobs left "running" by a foreground process that is gone
    return store


def _take_up(store, job) -> None:
    """Own a stopped job from this (foreground) process; refuse one that something still runs."""
    from ferlab.training.fit import foreground_worker

    if job.status == "running":
        raise ValueError(f"job {job.id} is running ({job.worker}); wait for it, or stop it with "
                         f"`ferlab jobs cancel {job.id}` first")
    store.run_in_foreground(job.id, foreground_worker())


# --- data ----------------------------------------------------------------------------------------

def cmd_data_import(args) -> int:
    from tqdm import tqdm

    from ferlab.data import import_dataset
    from ferlab.data.dataset import describe_counts
    from ferlab.data.readers import count_files

    store = _store()
    path = Path(args.path).expanduser()
    total = count_files(path) if path.exists() else 0
    with tqdm(total=total or None, unit="img", desc=f"reading {path.name}", file=sys.stderr,
              disable=args.quiet) as bar:
        report = import_dataset(store, path, args.name, val_fraction=args.val_fraction,
                                seed=args.seed, progress=bar.update)
    info = report.dataset
    if not report.created:
        print(f"{path} is already imported as {info.name!r} (no change)")
        return 0
    print(f"imported {info.name!r} from {info.source} ({info.layout})")
    if info.val_from_train:
        print(f"val: a stratified {info.val_fraction:.0%} of train (seed {info.seed})")
    print(describe_counts(info.counts))
    if report.problems:
        print(f"\nskipped {len(report.problems)} item(s):")
        for p in report.problems[:20]:
            print(f"  {p}")
        if len(report.problems) > 20:
            print(f"  ... and {len(report.problems) - 20} more (`ferlab data show {info.name}`)")
    return 0


def cmd_data_list(args) -> int:
    from ferlab.data import ensure_demo

    store = _store()
    ensure_demo(store)
    print(f"{'name':<20}{'train':>8}{'val':>8}{'test':>8}  layout / source")
    for d in store.list_datasets():
        sizes = d.split_sizes()
        mark = "  [synthetic demo set]" if d.synthetic else ""
        print(f"{d.name:<20}" + "".join(f"{sizes.get(s, 0):>8,}" for s in ("train", "val", "test"))
              + f"  {d.layout} {d.source}{mark}")
    return 0


def cmd_data_show(args) -> int:
    from ferlab.data import DEMO_NAME, ensure_demo
    from ferlab.data.dataset import describe_counts

    store = _store()
    d = ensure_demo(store) if args.name == DEMO_NAME else store.get_dataset(args.name)
    print(f"{d.name}: {d.layout} from {d.source}" + (" (SYNTHETIC demo set)" if d.synthetic else ""))
    if d.val_from_train:
        print(f"val: a stratified {d.val_fraction:.0%} of train (seed {d.seed})")
    print(f"cache: {d.cache_path}\n")
    print(describe_counts(d.counts))
    if d.skipped:
        print(f"\nskipped {d.skipped} item(s) at import:")
        for p in d.problems:
            print(f"  {p}")
    return 0


def cmd_data_delete(args) -> int:
    from ferlab.data import delete_dataset

    info, used = delete_dataset(_store(), args.name)
    print(f"deleted data set {info.name!r} ({info.source}) and its cache file")
    if used:
        print(f"the {len(used)} run(s) trained or evaluated on it keep their records (jobs "
              f"{', '.join(map(str, used))}); import the same faces again to see them on the Leaderboard")
    return 0


# --- db ------------------------------------------------------------------------------------------

def cmd_db_upgrade(args) -> int:
    from ferlab import config
    from ferlab.store.engine import current_revision, head_revision, make_engine, upgrade

    engine = make_engine(config.db_url())
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    print(f"{engine.url.render_as_string()}: schema {before or 'empty'} -> {after}"
          if before != after else f"{engine.url.render_as_string()}: schema already at {head_revision(engine)}")
    return 0


def cmd_db_current(args) -> int:
    from ferlab import config
    from ferlab.store.engine import current_revision, head_revision, make_engine

    engine = make_engine(config.db_url())
    print(f"{engine.url.render_as_string()}: schema {current_revision(engine) or 'empty'} "
          f"(this ferlab: {head_revision(engine)})")
    return 0


def cmd_db_seed(args) -> int:
    from ferlab.store.reference import seed

    n = seed(_store())
    print(f"added {n} reference run(s)" if n else "the store already holds every shipped reference run")
    return 0


def cmd_db_export_reference(args) -> int:
    from ferlab.store.reference import export_runs

    def pairs(items):
        out = {}
        for item in items or []:
            job, _, value = item.partition(":")
            if not job.isdigit() or not value:
                raise ValueError(f"{item!r}: expected JOB:VALUE")
            out[int(job)] = value
        return out

    commands, models = pairs(args.run), pairs(args.model)
    doc = export_runs(_store(), list(commands), commands, models, ran_on=args.machine)
    out = Path(args.out)
    if args.append and out.exists():  # keep the runs already shipped, as they were written
        try:
            shipped = json.loads(out.read_text())["runs"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{out} is not a reference-run file (no `runs` list); fix or move it, or "
                             "write a new file without --append") from None
        # a run exported again replaces its old entry in place: the seed's order (and so the job
        # numbers a fresh store gives the runs, which commands like `--init-from 1` name) stays
        new = {run["key"]: run for run in doc["runs"]}
        exported = set(new)
        doc["runs"] = ([new.pop(run["key"], run) for run in shipped]) + list(new.values())
        # one shipped file, one run: a run whose model file is now another run's keeps its evaluation only
        for run in doc["runs"]:
            for ev in (ev for t in run["trials"] for ev in t["evaluations"]):
                if run["key"] not in exported and ev.get("model") in set(models.values()):
                    print(f"{run['key']}: {ev['model']} is now the model of another run; this run keeps its "
                          "evaluation without a model file")
                    ev["model"] = None
    out.write_text(json.dumps(doc, indent=1))
    print(f"wrote {len(doc['runs'])} run(s) to {args.out}")
    return 0


# --- train / evaluate ------------------------------------------------------------------------------

def _train(*args, **kwargs):
    from ferlab.training.fit import train  # Keras loads only for work done in this process

    return train(*args, **kwargs)


def _tune(*args, **kwargs):
    from ferlab.training.tune import tune

    return tune(*args, **kwargs)


def _member_file(store, ref: str, checkpoint_ok: bool = False) -> str:
    """An ensemble member: a model (as _model_file) or, with "#K", the K-th model of an ensemble."""
    from ferlab.models.config import member_ref

    path, k = member_ref(ref)
    return _model_file(store, path, checkpoint_ok) + (f"#{k}" if k is not None else "")


def _model_file(store, ref: str, checkpoint_ok: bool = False) -> str:
    """A model file named as a path, or as the number of a job whose trained model to take; with
    checkpoint_ok, a run with no model yet gives its best checkpoint so far (said on stderr)."""
    from ferlab.runner.jobs import best_checkpoint

    if ref.isdigit():
        job = store.get_job(int(ref))
        models = store.model_paths(job.id)
        if models:
            return models[-1]
        checkpoint = best_checkpoint(store, job.id)
        if checkpoint and checkpoint_ok:
            print(f"job {job.id} has no model yet: taking its {checkpoint.describe()}", file=sys.stderr)
            return str(checkpoint.path)
        if checkpoint:
            raise ValueError(f"job {job.id} has no model yet ({job.status}); its {checkpoint.describe()} is "
                             f"{checkpoint.path}: `ferlab export {job.id} FILE.keras` copies it to name here, "
                             f"or `ferlab train --resume {job.id}` finishes the run")
        raise ValueError(f"job {job.id} has no saved model to start from (it is {job.status}); "
                         "name a .keras file instead")
    path = Path(ref).expanduser()
    if not path.is_file():
        raise ValueError(f"no model file at {ref}: name a .keras file or a job number")
    return str(path.resolve())


def _train_spec(store, args):
    """The TrainSpec that `ferlab train`'s arguments ask for (a preset, changed flag by flag)."""
    from ferlab.training.spec import preset

    return preset(args.preset, data=args.data, epochs=args.epochs, seed=args.seed,
                  precision=args.precision, batch_size=args.batch_size, learning_rate=args.learning_rate,
                  warmup_epochs=args.warmup_epochs, augmentation=args.augmentation,
                  optimizer=args.optimizer, schedule=args.schedule, weight_decay=args.weight_decay,
                  label_smoothing=args.label_smoothing,
                  init_from=_model_file(store, args.init_from) if args.init_from else None,
                  init_member=args.init_member,
                  distill_from=_model_file(store, args.distill_from) if args.distill_from else None,
                  distill_weight=args.distill_weight)


def cmd_train(args) -> int:
    from ferlab.training.spec import TrainSpec

    store = _store()
    if args.resume is not None:
        job = store.get_job(args.resume)
        if job.status == "completed":
            print(f"job {job.id} is already completed", file=sys.stderr)
            return 1
        spec = TrainSpec.from_dict(job.spec)
        _take_up(store, job)
        result = _train(store, spec, job_id=job.id)
    else:
        spec = _train_spec(store, args)
        _say_estimate(store, spec.to_dict())
        if args.background:
            return _submit(store, "train", spec.to_dict())
        result = _train(store, spec)
    if args.json:
        print(json.dumps({"job": result.job_id, "status": result.status,
                          "best_val_accuracy": result.best_val_accuracy, "model": str(result.model_path),
                          "evaluation": result.evaluation.to_dict() if result.evaluation else None}))
    return 0


def _say_estimate(store, spec: dict) -> None:
    """About how long the run takes here, where this machine has run the same model before."""
    from ferlab.runner.jobs import estimate, format_duration

    found = estimate(store.job_summaries(), spec)
    if found:
        print(f"about {format_duration(found.seconds)} on this machine: {found.epoch_seconds:,.0f} s an epoch in "
              f"{found.jobs} (same model, batch size, precision and data set, on a machine like this one)", flush=True)


def cmd_ensemble(args) -> int:
    from ferlab.training.spec import EnsembleSpec

    store = _store()
    spec = EnsembleSpec(data=args.data, members=tuple(_member_file(store, m) for m in args.members),
                        flip=args.flip).check()
    if args.background:
        return _submit(store, "ensemble", spec.to_dict())
    from ferlab.training.ensemble import build_ensemble

    result = build_ensemble(store, spec, log=lambda line: None if args.json else print(line))
    if args.json:
        print(json.dumps({"job": result.job_id, "model": str(result.model_path), "params": result.params,
                          "split": result.split, "accuracy": result.evaluation.accuracy,
                          "accuracy_tta": result.evaluation_tta.accuracy, "members": result.members}))
    return 0


def _range(text: str):
    from ferlab.models.search import Range

    try:
        parts = [float(v) for v in text.split(":")]
        return Range(*parts) if len(parts) == 3 else Range(parts[0], parts[0], 1)
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not MIN:MAX:STEP (for example 32:256:32)") from None


def _tune_spec(args):
    """The TuneSpec that `ferlab tune`'s arguments ask for (the paper's space, changed flag by flag)."""
    from dataclasses import replace

    from ferlab.models.search import SearchSpace
    from ferlab.training.spec import TuneSpec

    space = SearchSpace(architecture=args.model)
    overrides = {k: _range(getattr(args, k)) for k in ("first_filters", "other_filters",
                                                          "conv_dropout", "dense_dropout")
                 if getattr(args, k)}
    if args.optimizers:
        overrides["optimizers"] = tuple(args.optimizers.split(","))
    if args.learning_rates:
        overrides["learning_rates"] = tuple(float(v) for v in args.learning_rates.split(","))
    if args.batch_sizes:
        overrides["batch_sizes"] = tuple(int(v) for v in args.batch_sizes.split(","))
    return TuneSpec(data=args.data, space=replace(space, **overrides), algorithm=args.algorithm,
                    max_trials=args.trials, epochs_per_trial=args.epochs_per_trial, seed=args.seed,
                    precision=args.precision)


def cmd_tune(args) -> int:
    from ferlab.training.spec import TuneSpec

    store = _store()
    if args.distributed:
        from ferlab.training.tune import distributed_role

        if distributed_role() == "single":
            raise ValueError("--distributed needs keras-tuner's variables: KERASTUNER_TUNER_ID (chief on "
                             "the chief, tuner1, tuner2, ... on workers), KERASTUNER_ORACLE_IP and "
                             "KERASTUNER_ORACLE_PORT; see docs/scale-out.md")
    elif args.join is not None:
        raise ValueError("--join is for distributed workers: add --distributed and keras-tuner's variables")
    if args.join is not None:
        job = store.get_job(args.join)
        if job.kind != "tune":
            raise ValueError(f"job {job.id} is not a tuning job")
        result = _tune(store, TuneSpec.from_dict(job.spec), job_id=job.id, verbose=args.verbose)
        print(f"worker done: job {job.id} has {result.trials} trial(s)")
        return 0
    if args.resume is not None:
        job = store.get_job(args.resume)
        if job.kind != "tune" or job.status == "completed":
            print(f"job {job.id} is not an unfinished tuning job", file=sys.stderr)
            return 1
        _take_up(store, job)
        result = _tune(store, TuneSpec.from_dict(job.spec), job_id=job.id, verbose=args.verbose)
    else:
        spec = _tune_spec(args)
        if args.background:
            return _submit(store, "tune", spec.to_dict())
        result = _tune(store, spec, verbose=args.verbose)
    if args.json:
        print(json.dumps({"job": result.job_id, "status": result.status, "trials": result.trials,
                          "best_trial": result.best_trial_number, "best_hyperparameters": result.best_hyperparameters,
                          "model": str(result.model_path) if result.model_path else None}))
    return 0


def _submit(store, kind: str, spec: dict) -> int:
    from ferlab.runner import ensure_worker, submit

    job = submit(store, kind, spec)
    pid = ensure_worker(store)
    print(f"queued job {job.id} ({kind})" + (f"; started a worker (pid {pid})" if pid else "; a worker is running")
          + f"\nfollow it with `ferlab jobs show {job.id}` and `ferlab jobs log {job.id}`")
    return 0


# --- jobs and workers ------------------------------------------------------------------------------

def cmd_jobs_list(args) -> int:
    from ferlab.runner.jobs import changed_from_preset, seconds_left
    from ferlab.training.spec import EnsembleSpec

    store = _store()
    print(f"{'job':>5} {'kind':<9}{'status':<11}{'epochs':>8} {'best val':>9} {'left':>6}  {'worker':<28}data / preset")
    for x in store.job_summaries(status=args.status, limit=args.limit):
        job = x.job
        best = f"{x.best_val_accuracy:.4f}" if x.best_val_accuracy is not None else "-"   # an ensemble has no epochs
        seconds = seconds_left(x)
        left = "{}:{:02d}".format(*divmod(round(seconds / 60), 60)) if seconds else "-"     # h:mm, a running job's
        what = (job.spec.get("preset") or job.spec.get("space", {}).get("architecture")
                or (EnsembleSpec.label_of(job.spec) if job.kind == "ensemble" else ""))
        if job.kind == "train" and changed_from_preset(job.spec):
            what += " (modified)"
        print(f"{job.id:>5} {job.kind:<9}{job.status:<11}{x.epochs:>8} {best:>9} {left:>6}  "
              f"{(job.worker or '-')[:27]:<28}{job.spec.get('data')} / {what}")
    return 0


def cmd_jobs_show(args) -> int:
    store = _store()
    job = store.get_job(args.job)
    print(f"job {job.id}: {job.kind}, {job.status}" + (" (cancel requested)" if job.cancel_requested else ""))
    print(f"worker {job.worker or '-'}, attempts {job.attempts}, created {job.created_at:%Y-%m-%d %H:%M:%S}, "
          f"heartbeat {job.heartbeat_at or '-'}")
    print(f"ran on: {job.ran_on or '(not recorded)' if job.status != 'queued' else '(not started)'}")
    print(f"spec: {json.dumps(job.spec)}")
    from ferlab.runner.jobs import command_line, format_duration, planned_epochs, seconds_left

    if job.status == "running":
        x = next((x for x in store.job_summaries(status="running") if x.job.id == job.id), None)
        left = seconds_left(x) if x else None
        if left:
            print(f"{x.epochs} of {planned_epochs(job)} epochs done, {x.epoch_seconds:.0f} s an epoch: "
                  f"about {format_duration(left)} left")

    command = command_line(job.kind, job.spec)
    if command:
        print(f"command{' it was run with' if job.origin == 'reference' else ''}: {command}")
    for t in store.list_trials(job.id):
        best = f"{t.best_val_accuracy:.4f} at epoch {t.best_epoch}" if t.best_val_accuracy is not None else "-"
        print(f"  trial {t.number}: {t.status}, {store.count_epochs(t.id)} epochs, best val {best}, "
              f"{t.params or 0:,} parameters")
    for a in [a for t in store.list_trials(job.id) for a in store.list_artifacts(t.id)]:
        where = a.path or "(a reference run's model, not shipped)"
        print(f"  model {where}: {a.split} accuracy {a.accuracy:.4f}")
    _print_stored_evaluation(store, job.id)
    from ferlab.runner.jobs import best_checkpoint

    checkpoint = best_checkpoint(store, job.id)
    if checkpoint:
        print(f"  no model yet; {checkpoint.describe()}: {checkpoint.path} (`ferlab export {job.id} FILE.keras` "
              f"makes a model of it{'' if job.status == 'running' else f'; `ferlab train --resume {job.id}` goes on'})")
    if job.error:
        print(f"error:\n{job.error}")
    return 0


def _print_stored_evaluation(store, job_id: int) -> None:
    """The per-class table and confusion matrix stored when the job's best model was evaluated."""
    from ferlab.training.report import EvalResult, format_report

    evaluation = store.evaluations([job_id]).get(job_id)
    views = {k: (evaluation.metrics or {}).get(k) for k in ("plain", "tta")} if evaluation else {}
    if not isinstance(views.get("plain"), dict):
        return
    print(f"\n{evaluation.split} split of {evaluation.dataset}, as stored when the model was evaluated:")
    print(format_report(EvalResult.from_dict(views["plain"])))
    if isinstance(views.get("tta"), dict):
        tta = EvalResult.from_dict(views["tta"])
        print(f"\nwith flip TTA: accuracy {tta.accuracy:.4f}, macro F1 {tta.macro_f1:.4f}")


def cmd_jobs_attach(args) -> int:
    from ferlab.training.attach import attach_model

    done = attach_model(_store(), args.job, args.model)
    print(f"job {done.job_id}: model {done.path} attached; here it scores {done.measured.accuracy:.4f} "
          f"({done.measured_tta.accuracy:.4f} with flip TTA) where the run recorded {done.recorded:.4f}; "
          f"{done.moved} face(s) predicted otherwise")
    return 0


def cmd_jobs_compare(args) -> int:
    """Per-epoch values of one metric for several runs side by side, and what sets them apart."""
    from ferlab.runner.jobs import spec_differences

    store = _store()
    jobs = [store.get_job(j) for j in args.jobs]
    series = {}
    for job in jobs:
        trials = store.list_trials(job.id)
        if len(trials) != 1:
            raise ValueError(f"job {job.id} has {len(trials)} trials; compare training runs (one trial each), "
                             "or see a tuning job's trials with `ferlab jobs show`")
        series[job.id] = {e.epoch: getattr(e, args.metric) for e in store.epochs([trials[0].id])}
    differ = spec_differences([job.spec for job in jobs])
    print("runs differ in: " + (", ".join(k for k, _ in differ) if differ else "nothing (the same spec)"))
    for i, job in enumerate(jobs):
        print(f"  job {job.id}: " + ", ".join(f"{k}={values[i]}" for k, values in differ))
    digits = 1 if args.metric == "seconds" else 6 if args.metric == "learning_rate" else 4

    def row(label, cells) -> str:
        return f"{label:>5}" + "".join(f"{v:>10.{digits}f}" if v is not None else f"{'-':>10}" for v in cells)

    print(f"\n{args.metric}\n{'epoch':>5}" + "".join(f"{'job ' + str(j):>10}" for j in series))
    for epoch in sorted({e for values in series.values() for e in values}):
        print(row(epoch, (series[j].get(epoch) for j in series)))
    if "accuracy" in args.metric or "loss" in args.metric:
        pick = min if "loss" in args.metric else max
        print(row("best", (pick((v for v in values.values() if v is not None), default=None)
                           for values in series.values())))
    return 0


def cmd_jobs_cancel(args) -> int:
    job = _store().request_cancel(args.job)
    print(f"job {job.id}: " + ("cancelled" if job.status == "cancelled" else
                               "cancel requested; it stops after the current epoch" if job.cancel_requested
                               else f"already {job.status}"))
    return 0


def cmd_jobs_retry(args) -> int:
    from ferlab.runner import ensure_worker

    store = _store()
    job = store.retry_job(args.job)
    pid = ensure_worker(store) if not args.no_worker else None
    print(f"job {job.id} queued again; it resumes from its last checkpoint"
          + (f" (started a worker, pid {pid})" if pid else ""))
    return 0


def cmd_jobs_delete(args) -> int:
    from ferlab.runner import delete_job, dependents

    store = _store()
    for job_id in args.jobs:
        used = dependents(store, job_id)
        if used and not args.force:
            raise ValueError(f"job {job_id}'s model is used: {'; '.join(used)}. Those jobs keep their own "
                             "models, but their records would name a deleted one: add --force to delete it anyway")
        job, folder = delete_job(store, job_id)
        print(f"deleted job {job.id} ({job.kind}, {job.status})" + (f" and its folder {folder}" if folder else ""))
    return 0


def cmd_jobs_log(args) -> int:
    from ferlab.runner import no_log_reason, tail

    job = _store().get_job(args.job)
    print(tail(job.log_path, args.lines) or no_log_reason(job))
    return 0


def cmd_worker(args) -> int:
    import signal

    from ferlab.runner import Worker

    worker = Worker(_store())
    signal.signal(signal.SIGTERM, worker.stop)
    print(f"[worker {worker.name}] waiting for jobs on {worker.store.url}", flush=True)
    n = worker.run(once=args.once, max_jobs=args.max_jobs, idle_exit=args.idle_exit)
    print(f"[worker {worker.name}] ran {n} job(s); exiting", flush=True)
    return 0


def cmd_export(args) -> int:
    target = Path(args.target).expanduser()
    if target.exists() and not args.force:
        print(f"error: {target} exists: name a new file, or add --force to replace it", file=sys.stderr)
        return 2
    if not target.parent.is_dir():
        print(f"error: there is no folder {target.parent} to write {target.name} in", file=sys.stderr)
        return 2
    from ferlab.models.config import member_ref

    store = _store()
    source = _member_file(store, args.source, checkpoint_ok=True)
    if target.exists() and target.resolve() == Path(member_ref(source)[0]).resolve():
        print("error: the new file would replace the model it is made from: name another file", file=sys.stderr)
        return 2
    from ferlab.models.export import PROBES, export_model
    from ferlab.training.ensemble import load_member

    try:
        result = export_model(load_member(source, "model to export"), target, weights=args.weights,
                              compute=args.compute)
    except OSError as e:
        print(f"error: cannot write {target}: {e.strerror or e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"source": source, **result.to_dict()}))
        return 0
    print(f"wrote {target} from {source}: {result.params:,} parameters, {result.weights} weights, "
          f"computing in {', '.join(result.compute)}, {result.size / 1e6:.1f} MB")
    print("Keras' own layers only: keras.saving.load_model reads it without ferlab, under any backend")
    print(f"checked: read back, its class probabilities on {PROBES} probe faces differ from the source's by at "
          f"most {result.max_difference:.2g}; {result.changed} of them change their predicted class")
    return 0


def _image_files(paths: list[str]) -> list[str] | None:
    """The paths given, each folder replaced by the image files below it (sorted); None, said on
    stderr, when a folder holds none."""
    from ferlab.data.readers import IMAGE_SUFFIXES, image_files

    files = []
    for path in paths:
        if not Path(path).is_dir():
            files.append(path)
            continue
        found = [str(p) for p in image_files(Path(path))]
        if not found:
            print(f"error: {path} is a folder with no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in it",
                  file=sys.stderr)
            return None
        files += found
    return files


def _write_maps(predictor, gray, faces, folder: Path, number: int, photo: str) -> list[Path]:
    """Each face's occlusion map for its label, as PNGs of the face and the map side by side, named by
    the photo's number among those read, its name, the face's number on it and its label."""
    import numpy as np
    from PIL import Image

    from ferlab.inference.explain import occlude, overlays
    from ferlab.inference.predictor import crops

    batch = crops(gray, [f.box for f in faces])
    paths = []
    for i, (face, drawn, f) in enumerate(zip(batch, overlays(batch, occlude(predictor.classify, batch)), faces), 1):
        plain = np.asarray(Image.fromarray(face[..., 0].astype(np.uint8)).convert("RGB").resize(drawn.shape[:2][::-1]))
        paths.append(folder / f"{number:03d}-{Path(photo).stem}-face{i}-{f.label}.png")
        Image.fromarray(np.concatenate([plain, drawn], axis=1)).save(paths[-1])
    return paths


def cmd_predict(args) -> int:
    from ferlab.inference.images import ImageError, load_image
    from ferlab.inference.models import available_models
    from ferlab.inference.predictor import TABLE_COLUMNS, Predictor, table_rows

    images = _image_files(args.images)
    if images is None:
        return 2
    model = args.model
    if model is None:
        choices = available_models(_store())
        if not choices:
            print("error: no model yet: train one (`ferlab train`) or pass --model PATH.keras", file=sys.stderr)
            return 2
        model = choices[0].path
    if args.csv and (Path(args.csv).is_dir() or not Path(args.csv).expanduser().resolve().parent.is_dir()):
        print(f"error: --csv {args.csv}: name a file to write, in a folder that exists", file=sys.stderr)
        return 2
    if args.explain:
        if Path(args.explain).exists() and not Path(args.explain).is_dir():
            print(f"error: --explain {args.explain} is a file: name a folder for the maps", file=sys.stderr)
            return 2
        try:
            Path(args.explain).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            print(f"error: --explain {args.explain}: cannot make that folder ({e.strerror})", file=sys.stderr)
            return 2
    predictor = Predictor(model, detector=args.detector, tta=args.tta)
    results, rows, failed = [], [], 0
    for path in images:
        try:
            image = load_image(Path(path).read_bytes(), path)
        except (ImageError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        faces = predictor.predict_gray(image.gray)
        whole = not faces and args.whole
        if whole:
            faces = [predictor.predict_whole(image.gray)]
        results.append({"image": path, "faces": [f.to_dict() for f in faces], "whole_image": whole,
                        "notes": list(image.notes)})
        if args.explain and faces:
            for face, map_path in zip(results[-1]["faces"], _write_maps(predictor, image.gray, faces,
                                                                        Path(args.explain), len(results), path)):
                face["occlusion_map"] = str(map_path)
        rows += table_rows(path, faces, whole)
        if not args.json:
            print(f"{path}: {len(faces)} face(s)" + (" (whole image)" if whole else "")
                  + (f" [{'; '.join(image.notes)}]" if image.notes else ""))
            for i, f in enumerate(faces, 1):
                top = sorted(zip(CLASSES, f.probabilities), key=lambda t: -t[1])[:3]
                print(f"  {i}: {f.label} {f.confidence:.0%} at {f.box.x},{f.box.y} {f.box.w}x{f.box.h}  ("
                      + ", ".join(f"{c} {p:.0%}" for c, p in top) + ")")
            if not faces:
                print("  no face found; --whole classifies the whole image as one face")
    if args.json:
        print(json.dumps({"model": str(model), "results": results}))
    if args.explain:
        maps = sum(len(r["faces"]) for r in results)
        print(f"{maps} occlusion map(s) written to {args.explain}", file=sys.stderr)
    if args.csv:
        import csv

        with open(args.csv, "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=TABLE_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        print(f"{len(rows)} face(s) of {len(results)} image(s) written to {args.csv}", file=sys.stderr)
    return 1 if failed else 0


def cmd_evaluate(args) -> int:
    from ferlab.data import DataError, load_dataset
    from ferlab.training.evaluate import format_report, metrics_from_predictions, paired, predict_proba

    for path in (args.model, args.against):
        if path and not Path(path).exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
    model_path = Path(args.model)
    store = _store()
    dataset = load_dataset(store, args.data, warn=lambda line: print(line, file=sys.stderr))
    total = dataset.total()
    try:
        split = args.split or dataset.eval_split()
    except DataError:       # neither test nor val
        print(f"error: {args.data} marks none of its {total:,} faces as test or val (a CSV without a Usage "
              "column, or train/ alone): --split all scores every one of them, if they are held-out faces",
              file=sys.stderr)
        return 2
    faces = dataset[split]
    if args.split is None and split == "val" and dataset.val_from_train:
        print(f"note: {args.data} has no test split and no val split of its own (a CSV without a Usage "
              f"column, or train/ alone): this scores the {len(faces.labels):,} faces of its train split held "
              f"out as val; --split all scores all {total:,} of its faces (for a file of held-out faces only)",
              file=sys.stderr)
    from ferlab.models.saved import load

    tta = args.tta or False
    predicted = predict_proba(load(model_path), faces.images, tta=tta).argmax(axis=1)
    result = metrics_from_predictions(faces.labels, predicted, tta=tta)
    against = None
    if args.against:
        other = predict_proba(load(args.against), faces.images, tta=tta).argmax(axis=1)
        against = paired(faces.labels, predicted, other)
    if args.json:
        print(json.dumps({"model": str(model_path), "data": args.data, "split": split, **result.to_dict(),
                          "skipped": len(dataset.problems),
                          **({"against": {"model": args.against, **against.to_dict()}} if against else {})}))
    else:
        print(f"{model_path} on {args.data} [{split}]"
              + (" (SYNTHETIC demo set)" if dataset.synthetic else ""))
        print(format_report(result))
        if against:
            print(f"\nagainst {args.against} (same faces, same TTA): {against.other_accuracy:.4f}; difference "
                  f"{against.difference * 100:+.2f} points, paired standard error {against.standard_error * 100:.2f}; "
                  f"right only here {against.only_this:,} faces, only there {against.only_other:,} "
                  f"(exact McNemar p = {against.p_value:.2g})")
    return 0


# --- parser --------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from ferlab.training.spec import AUGMENTATIONS, OPTIMIZERS, PRECISIONS, PRESETS, SCHEDULES

    p = argparse.ArgumentParser(prog="ferlab", description="Facial emotion recognition experiments "
                                f"on FER2013 ({', '.join(CLASSES)}).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="import, list, show and delete data sets")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    imp = dsub.add_parser("import", help="read, validate and cache a FER2013 source (csv, folders, zip)")
    imp.add_argument("path", help="fer2013.csv, a folder with train/ and val/ or test/, or a .zip")
    imp.add_argument("--name", help="name to register it under (default: from the path)")
    imp.add_argument("--val-fraction", type=float, default=0.1,
                     help="share of train held out as val when the layout has no val (default 0.1)")
    imp.add_argument("--seed", type=int, default=1234, help="seed of that split (default 1234)")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(fn=cmd_data_import)
    dsub.add_parser("list", help="imported data sets").set_defaults(fn=cmd_data_list)
    show = dsub.add_parser("show", help="splits and per-class counts of one data set")
    show.add_argument("name")
    show.set_defaults(fn=cmd_data_show)
    rm = dsub.add_parser("delete", help="remove an imported data set and its cache (runs keep their records)")
    rm.add_argument("name")
    rm.set_defaults(fn=cmd_data_delete)

    db = sub.add_parser("db", help="the store's schema")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dbsub.add_parser("upgrade", help="migrate the store to this version's schema").set_defaults(fn=cmd_db_upgrade)
    dbsub.add_parser("current", help="the store's schema version").set_defaults(fn=cmd_db_current)
    dbsub.add_parser("seed", help="add the shipped reference runs (a new store gets them by itself)"
                     ).set_defaults(fn=cmd_db_seed)
    ex = dbsub.add_parser("export-reference", help="write finished runs as a reference-run file")
    ex.add_argument("--run", action="append", required=True, metavar="JOB:COMMAND",
                    help="a job and the exact command that produced it (repeat)")
    ex.add_argument("--model", action="append", metavar="JOB:PATH", help="a shipped model file of that job")
    ex.add_argument("--out", default="ferlab/assets/reference_runs.json")
    ex.add_argument("--append", action="store_true", help="keep the runs the file already holds")
    ex.add_argument("--machine", help="the machine the runs ran on, for runs that did not record it "
                    "(default: the machine each run recorded, else this machine)")
    ex.set_defaults(fn=cmd_db_export_reference)

    tr = sub.add_parser("train", help="train a model from a preset (foreground)")
    tr.add_argument("--preset", default="paper-8conv-adam", choices=sorted(PRESETS))
    tr.add_argument("--data", default="demo", help="imported data set name, a path, or `demo`")
    tr.add_argument("--epochs", type=int)
    tr.add_argument("--seed", type=int)
    tr.add_argument("--batch-size", type=int)
    tr.add_argument("--precision", choices=PRECISIONS)
    tr.add_argument("--learning-rate", type=float, help="peak learning rate (default: the preset's)")
    tr.add_argument("--warmup-epochs", type=int, help="epochs of linear warm-up (default: the preset's)")
    tr.add_argument("--augmentation", choices=AUGMENTATIONS,
                    help="paper: the paper's; paper-erasing: the paper's plus random erasing; strong: zoom and shifts "
                    "0.2 plus random erasing, for long runs (default: the preset's)")
    tr.add_argument("--optimizer", choices=OPTIMIZERS, help="adam, or sgd (Nesterov momentum 0.9) "
                    "(default: the preset's; e.g. --preset paper-5conv-adam --optimizer sgd trains the "
                    "paper's 5-conv model with SGD)")
    tr.add_argument("--schedule", choices=SCHEDULES, help="constant, or cosine decay to 0 after the warm-up "
                    "(default: the preset's)")
    tr.add_argument("--weight-decay", type=float, help="decoupled weight decay, in [0, 0.1) (default: the preset's)")
    tr.add_argument("--label-smoothing", type=float, help="in [0, 0.5) (default: the preset's)")
    tr.add_argument("--init-from", metavar="MODEL", help="start from the weights of a .keras file, or of the "
                    "model a job trained (its number): a warm restart with this run's schedule")
    tr.add_argument("--init-member", type=int, metavar="K", help="with --init-from an ensemble: start from its "
                    "K-th model (1, 2, ...), e.g. one of the shipped default model's")
    tr.add_argument("--distill-from", metavar="MODEL", help="knowledge distillation: mix this model's "
                    "probabilities (a .keras file or a job's model, e.g. an ensemble) into the training targets")
    tr.add_argument("--distill-weight", type=float, metavar="W",
                    help="with --distill-from: the teacher's share of each target, in (0, 1] (default 0.5)")
    tr.add_argument("--resume", type=int, metavar="JOB", help="resume an interrupted job from its last checkpoint")
    tr.add_argument("--background", action="store_true", help="queue it for a worker instead (starts one if none runs)")
    tr.add_argument("--json", action="store_true", help="print the result as JSON")
    tr.set_defaults(fn=cmd_train)

    tu = sub.add_parser("tune", help="keras-tuner search over the paper's space (foreground)")
    tu.add_argument("--model", default="8conv", choices=("4conv", "5conv", "8conv"))
    tu.add_argument("--data", default="demo", help="imported data set name, a path, or `demo`")
    tu.add_argument("--algorithm", default="random", choices=("random", "hyperband"),
                    help="random: RandomSearch over --trials; hyperband: stops bad trials early")
    tu.add_argument("--trials", type=int, default=10, help="max trials (RandomSearch)")
    tu.add_argument("--epochs-per-trial", type=int, default=20)
    tu.add_argument("--first-filters", metavar="MIN:MAX:STEP", help="default 32:256:32")
    tu.add_argument("--other-filters", metavar="MIN:MAX:STEP", help="default 64:512:64")
    tu.add_argument("--conv-dropout", metavar="MIN:MAX:STEP", help="default 0:0.5:0.05")
    tu.add_argument("--dense-dropout", metavar="MIN:MAX:STEP", help="default 0:0.5:0.05")
    tu.add_argument("--optimizers", help="comma-separated: adam,sgd (default adam)")
    tu.add_argument("--learning-rates", help="comma-separated (default 1e-4)")
    tu.add_argument("--batch-sizes", help="comma-separated: 32,64,128 (default 32)")
    tu.add_argument("--seed", type=int, default=1)
    tu.add_argument("--precision", choices=PRECISIONS, default="auto")
    tu.add_argument("--resume", type=int, metavar="JOB", help="resume an interrupted search")
    tu.add_argument("--verbose", type=int, default=0, choices=(0, 1, 2), help="Keras progress output")
    tu.add_argument("--distributed", action="store_true",
                    help="keras-tuner's distributed mode (one chief, N workers; see docs/scale-out.md)")
    tu.add_argument("--join", type=int, metavar="JOB", help="as a distributed worker, join the chief's job")
    tu.add_argument("--background", action="store_true", help="queue it for a worker instead (starts one if none runs)")
    tu.add_argument("--json", action="store_true")
    tu.set_defaults(fn=cmd_tune)

    jobs = sub.add_parser("jobs", help="queued, running and finished jobs")
    jsub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    jl = jsub.add_parser("list", help="jobs, newest first")
    jl.add_argument("--status", choices=("queued", "running", "completed", "failed", "cancelled"))
    jl.add_argument("--limit", type=int, default=30)
    jl.set_defaults(fn=cmd_jobs_list)
    jc = jsub.add_parser("compare", help="several training runs' epochs side by side, and how their specs differ")
    jc.add_argument("jobs", type=int, nargs="+")
    jc.add_argument("--metric", default="val_accuracy",
                    choices=("val_accuracy", "accuracy", "val_loss", "loss", "learning_rate", "seconds"))
    jc.set_defaults(fn=cmd_jobs_compare)
    jd = jsub.add_parser("delete", help="delete stopped jobs: their epochs, models and checkpoint folders")
    jd.add_argument("jobs", type=int, nargs="+")
    jd.add_argument("--force", action="store_true", help="also a job whose model other jobs started from, "
                    "learned from or average")
    jd.set_defaults(fn=cmd_jobs_delete)
    ja = jsub.add_parser("attach", help="name the model file of a run trained elsewhere (checked against "
                         "the run's recorded evaluation), so ensembles and --init-from can use its number")
    ja.add_argument("job", type=int)
    ja.add_argument("model", help="the run's .keras file")
    ja.set_defaults(fn=cmd_jobs_attach)
    for name, fn, helptext in (("show", cmd_jobs_show, "one job: spec, trials, models, its stored per-class table, error"),
                               ("cancel", cmd_jobs_cancel, "stop a job after its current epoch"),
                               ("retry", cmd_jobs_retry, "queue a failed or cancelled job again (resumes)"),
                               ("log", cmd_jobs_log, "the tail of a job's log")):
        jp = jsub.add_parser(name, help=helptext)
        jp.add_argument("job", type=int)
        if name == "log":
            jp.add_argument("-n", "--lines", type=int, default=40)
        if name == "retry":
            jp.add_argument("--no-worker", action="store_true", help="do not start a worker")
        jp.set_defaults(fn=fn)

    wk = sub.add_parser("worker", help="run queued jobs (each in a child process)")
    wk.add_argument("--once", action="store_true", help="exit when the queue is empty")
    wk.add_argument("--max-jobs", type=int, help="exit after this many jobs")
    wk.add_argument("--idle-exit", type=float, help="exit after this many idle seconds")
    wk.set_defaults(fn=cmd_worker)

    pr = sub.add_parser("predict", help="emotions of every face in images")
    pr.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER", help="photos, or folders of them (searched "
                    "all the way down)")
    pr.add_argument("--model", help="a .keras model (default: the shipped model, else the best in the store)")
    pr.add_argument("--detector", default="hog", choices=("hog", "haar", "cnn"))
    pr.add_argument("--tta", action="store_true", help="average each face with its mirror image")
    pr.add_argument("--whole", action="store_true", help="classify the whole image when no face is found")
    pr.add_argument("--json", action="store_true")
    pr.add_argument("--csv", metavar="FILE.csv", help="also write one row per face (box, label, the seven "
                    "probabilities) to this file, as Predict's download does")
    pr.add_argument("--explain", metavar="FOLDER", help="also write each face's occlusion map for its label to "
                    "this folder (a PNG a face: the face, and red where hiding a part lowers the label's "
                    "probability, blue where it raises it; one model call a face)")
    pr.set_defaults(fn=cmd_predict)

    en = sub.add_parser("ensemble", help="average trained models into one .keras model and evaluate it")
    en.add_argument("members", nargs="+", metavar="MODEL",
                    help="two or more .keras files, or job numbers (their trained model); FILE#K or JOB#K: "
                    "only the K-th model of that ensemble (e.g. the shipped model's second); one is enough with --flip")
    en.add_argument("--flip", action="store_true", help="average each model over the face and its mirror image "
                    "too: flip test-time augmentation saved inside the model (twice the computation per face)")
    en.add_argument("--data", required=True, help="imported data set name, a path, or `demo`: evaluated on its "
                    "test split (val where there is none)")
    en.add_argument("--background", action="store_true", help="queue it for a worker instead (starts one if none runs)")
    en.add_argument("--json", action="store_true")
    en.set_defaults(fn=cmd_ensemble)

    xp = sub.add_parser("export", help="write a model as a .keras file that plain Keras loads without ferlab")
    xp.add_argument("source", help="a .keras file (FILE#K: the K-th model an ensemble averages) or a job number "
                    "(its model; for a run with none yet, cancelled or failed or still running, its best "
                    "checkpoint so far)")
    xp.add_argument("target", help="the new .keras file")
    xp.add_argument("--weights", choices=("float32", "float16"), default="float32",
                    help="float16: half the file, each weight rounded once (the shipped model's storage)")
    xp.add_argument("--compute", choices=("as-trained", "float32"), default="as-trained",
                    help="float32: a model trained in mixed precision computes in float32 (exact anywhere; "
                         "faster on CPUs without bf16 matrix units)")
    xp.add_argument("--force", action="store_true", help="replace TARGET where it exists")
    xp.add_argument("--json", action="store_true")
    xp.set_defaults(fn=cmd_export)

    ev = sub.add_parser("evaluate", help="accuracy, per-class table and confusion matrix of a .keras model")
    ev.add_argument("model")
    ev.add_argument("--data", required=True, help="imported data set name or a path to any FER2013 layout")
    ev.add_argument("--split", choices=("train", "val", "test", "all"),
                    help="default: test, else val; all: every face the data holds (a file of held-out faces "
                         "without a Usage column)")
    ev.add_argument("--tta", nargs="?", const="flip", choices=("flip", "shift"),
                    help="test-time augmentation: flip (the default) averages each face with its mirror image; "
                         "shift also with the face moved 2 pixels each way (10 views)")
    ev.add_argument("--against", metavar="OTHER.keras", help="also score another model on the same faces and say "
                    "whether the difference is more than the split's noise (paired, exact McNemar test)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(fn=cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's start-up chatter (oneDNN, CUDA probes) hides the CLI's own output; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ferlab.data.dataset import DataError
    from sqlalchemy.exc import DBAPIError

    from ferlab.store import StoreError

    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except (DataError, StoreError, ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except DBAPIError as e:         # a runs.db that is no database, a PostgreSQL server that is down
        from ferlab import config
        from ferlab.store.engine import unusable_store_message

        print(f"error: {unusable_store_message(config.db_url(), e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ferlab jobs list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())

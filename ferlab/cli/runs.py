"""`ferlab train`, `tune`, `ensemble` and `export`: runs in this process or queued for a worker, and
model files written from them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ferlab.cli.common import member_file, model_file, open_store, say_estimate, submit_job, take_up


def _train(*args, **kwargs):
    from ferlab.training.fit import train  # Keras loads only for work done in this process

    return train(*args, **kwargs)


def _tune(*args, **kwargs):
    from ferlab.training.tune import tune

    return tune(*args, **kwargs)


def train_spec(store, args):
    """The TrainSpec that `ferlab train`'s arguments ask for (a preset, changed flag by flag)."""
    from ferlab.training.spec import preset

    return preset(args.preset, data=args.data, epochs=args.epochs, seed=args.seed,
                  precision=args.precision, batch_size=args.batch_size, learning_rate=args.learning_rate,
                  warmup_epochs=args.warmup_epochs, augmentation=args.augmentation,
                  optimizer=args.optimizer, schedule=args.schedule, weight_decay=args.weight_decay,
                  label_smoothing=args.label_smoothing,
                  init_from=model_file(store, args.init_from) if args.init_from else None,
                  init_member=args.init_member,
                  distill_from=model_file(store, args.distill_from) if args.distill_from else None,
                  distill_weight=args.distill_weight)


def cmd_train(args) -> int:
    from ferlab.training.spec import TrainSpec

    store = open_store()
    if args.resume is not None:
        job = store.get_job(args.resume)
        if job.status == "completed":
            print(f"job {job.id} is already completed", file=sys.stderr)
            return 1
        spec = TrainSpec.from_dict(job.spec)
        take_up(store, job)
        result = _train(store, spec, job_id=job.id)
    else:
        spec = train_spec(store, args)
        say_estimate(store, spec.to_dict())
        if args.background:
            return submit_job(store, "train", spec.to_dict())
        result = _train(store, spec)
    if args.json:
        print(json.dumps({"job": result.job_id, "status": result.status,
                          "best_val_accuracy": result.best_val_accuracy, "model": str(result.model_path),
                          "evaluation": result.evaluation.to_dict() if result.evaluation else None}))
    return 0


def cmd_ensemble(args) -> int:
    from ferlab.training.spec import EnsembleSpec

    store = open_store()
    spec = EnsembleSpec(data=args.data, members=tuple(member_file(store, m) for m in args.members),
                        flip=args.flip).check()
    if args.background:
        return submit_job(store, "ensemble", spec.to_dict())
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


def tune_spec(args):
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

    store = open_store()
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
        take_up(store, job)
        result = _tune(store, TuneSpec.from_dict(job.spec), job_id=job.id, verbose=args.verbose)
    else:
        spec = tune_spec(args)
        if args.background:
            return submit_job(store, "tune", spec.to_dict())
        result = _tune(store, spec, verbose=args.verbose)
    if args.json:
        print(json.dumps({"job": result.job_id, "status": result.status, "trials": result.trials,
                          "best_trial": result.best_trial_number, "best_hyperparameters": result.best_hyperparameters,
                          "model": str(result.model_path) if result.model_path else None}))
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

    store = open_store()
    source = member_file(store, args.source, checkpoint_ok=True)
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

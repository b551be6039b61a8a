"""One training run: data and model from a TrainSpec, every epoch stored, checkpoints every
epoch (a killed run resumes where it stopped), then the best model evaluated and saved."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ferlab import config
from ferlab.data import load_dataset
from ferlab.data.dataset import DataError, Dataset
from ferlab.labels import NUM_CLASSES
from ferlab.models.builders import build_model
from ferlab.models.ensemble import member_at, members_of, read_model
from ferlab.models.saved import load, save
from ferlab.store import Store
from ferlab.store.entities import foreground_owner
from ferlab.training import augment, distill, precision
from ferlab.training.callbacks import EpochCheckpoint, StoreRecorder, lr_schedule, read_state
from ferlab.training.evaluate import EvalResult, as_model_input, evaluate_with_faces
from ferlab.training.spec import TrainSpec

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainResult:
    job_id: int
    trial_id: int
    status: str                  # completed | cancelled
    epochs_run: int
    best_epoch: int
    best_val_accuracy: float
    model_path: Path | None
    evaluation: EvalResult | None
    evaluation_tta: EvalResult | None
    eval_split: str | None


def make_optimizer(spec: TrainSpec) -> keras.optimizers.Optimizer:
    wd = spec.weight_decay or None
    if spec.optimizer == "adam":
        return keras.optimizers.Adam(spec.learning_rate, weight_decay=wd)
    return keras.optimizers.SGD(spec.learning_rate, momentum=0.9, nesterov=True, weight_decay=wd)


def compile_model(model: keras.Model, spec: TrainSpec, steps_per_execution: int = 1) -> keras.Model:
    """Keras' default of one batch per compiled call: 8 was only 2-4% faster on the 2-core CPU
    (`benchmarks/train_throughput.py --steps-per-execution 8`), and the PyTorch backend refuses
    more than 1, also when it resumes a checkpoint saved with more."""
    model.compile(optimizer=make_optimizer(spec),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=spec.label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                  steps_per_execution=steps_per_execution)
    return model


def build_for(spec: TrainSpec) -> keras.Model:
    model = compile_model(build_model(spec.model, augment.make(spec.augmentation, spec.seed)), spec)
    if spec.init_from:
        warm_start(model, Path(spec.init_from), spec.init_member)
    return model


def warm_start(model: keras.Model, path: Path, member: int | None = None) -> None:
    """Copy the weights (batch-norm statistics included) of the model at `path` into `model`; the
    optimizer starts fresh. When `path` holds an ensemble, `member` (1, 2, ...) names the model of it
    to copy. Refuses a model of another shape rather than copying part of it."""
    source = _member(read_model(path, f"cannot start from {path}"), path, member)
    want = [tuple(w.shape) for w in model.weights]
    have = [tuple(w.shape) for w in source.weights]
    if want != have:
        raise ValueError(f"cannot start from {path}: its layers do not match this spec's model "
                         f"({len(have)} weight arrays vs {len(want)}, or of other shapes); "
                         "start from a model of the same architecture and filters")
    model.set_weights(source.get_weights())


def _member(source: keras.Model, path: Path, member: int | None) -> keras.Model:
    if member is not None:
        return member_at(source, member, path, f"cannot start from member {member} of {path}")
    members = members_of(source)
    if len(members) > 1:
        raise ValueError(f"cannot start from {path}: it is an ensemble of {len(members)} models; name the one "
                         f"to start from (--init-member 1 to {len(members)})")
    return source


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(NUM_CLASSES, dtype="float32")[labels]


def training_splits(dataset: Dataset):
    if "train" not in dataset.splits:
        raise DataError("this data set has no train split to fit on")
    if "val" not in dataset.splits:
        raise DataError("this data set has no val split to select the best epoch with; "
                        "import it with `ferlab data import` (which carves val out of train)")
    return dataset["train"], dataset["val"]


def foreground_worker() -> str:
    """The worker name of a job run in the caller's own process (never requeued by workers)."""
    return foreground_owner(socket.gethostname(), os.getpid())


BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def machine_line() -> str:
    """This machine and the Keras that trains here, as a run records it: what its times depend on."""
    backend = keras.backend.backend()
    try:
        version = " " + importlib.metadata.version(backend)
    except importlib.metadata.PackageNotFoundError:
        version = ""
    return f"{config.machine()}; Keras {keras.__version__} on {BACKEND_NAMES.get(backend, backend)}{version}"


def run_dir_for(job_id: int) -> Path:
    return config.run_dir(job_id)


def claim_run_dir(store: Store, job_id: int, log: Log = print) -> Path:
    """The job's folder of checkpoints, created. Files that an earlier job of the same number left
    there (a deleted job, or one of a runs.db since removed) are moved aside, never resumed: a job
    with no trial recorded yet has no checkpoints of its own (a worker's log.txt stays)."""
    run_dir = run_dir_for(job_id)
    leftovers = [p for p in run_dir.iterdir() if p.name != "log.txt"] if run_dir.is_dir() else []
    if leftovers and not store.list_trials(job_id):
        aside = run_dir.with_name(f"{run_dir.name}-stale-{time.strftime('%Y%m%d-%H%M%S')}")
        aside.mkdir(parents=True)
        for path in leftovers:
            path.rename(aside / path.name)
        log(f"{run_dir} held files of an earlier job {job_id} (not this one's); moved them to {aside}")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def train(store: Store, spec: TrainSpec, *, job_id: int | None = None, log: Log = print,
          verbose: int = 2) -> TrainResult:
    """Run (or resume) the training job `job_id`; a new foreground job when None."""
    spec.check()
    if job_id is None:
        job_id = store.create_job("train", spec.to_dict(), status="running", worker=foreground_worker()).id
    run_dir = claim_run_dir(store, job_id, log)
    store.note_machine(job_id, machine_line())
    trial = None
    try:
        policy = precision.apply(spec.precision)
        keras.utils.set_random_seed(spec.seed)
        dataset = load_dataset(store, spec.data, warn=log)
        train_split, val_split = training_splits(dataset)
        state = read_state(run_dir)
        if state["epoch"] > 0:
            model = load(run_dir / "last.keras")
            log(f"resuming job {job_id} after epoch {state['epoch']} from {run_dir / 'last.keras'}")
        else:
            model = build_for(spec)
            if spec.init_from:
                member = f"member {spec.init_member} of " if spec.init_member else ""
                log(f"starting from the weights of {member}{spec.init_from}")
        trial = store.start_trial(job_id, 1, spec.to_dict())  # StoreRecorder stores the parameter count
        dropped = store.truncate_epochs(trial.id, after=state["epoch"])
        if dropped:
            log(f"dropped {dropped} epoch row(s) past the last checkpoint; they run again")
        log(f"job {job_id}: {spec.model.architecture} ({model.count_params():,} parameters), {policy}, "
            f"{len(train_split):,} train / {len(val_split):,} val images, data {spec.data!r}"
            f"{' (synthetic)' if dataset.synthetic else ''}")
        targets = one_hot(train_split.labels)
        if spec.distill_from:
            log(f"distilling from {spec.distill_from} (weight {spec.distill_weight:g})")
            teacher = distill.teacher_probabilities(Path(spec.distill_from), train_split.images, run_dir)
            targets = distill.soft_targets(targets, teacher, spec.distill_weight)
        recorder = StoreRecorder(store, trial.id, job_id)
        checkpoint = EpochCheckpoint(run_dir, state["best_val_accuracy"], state["best_epoch"])
        callbacks = [augment.EpochSeeds(), recorder, checkpoint]
        if spec.schedule != "constant" or spec.warmup_epochs:
            callbacks.insert(0, keras.callbacks.LearningRateScheduler(
                lr_schedule(spec.learning_rate, spec.schedule, spec.epochs, spec.warmup_epochs)))
        if state["epoch"] < spec.epochs:
            model.fit(as_model_input(train_split.images), targets,
                      validation_data=(as_model_input(val_split.images), one_hot(val_split.labels)),
                      batch_size=spec.batch_size, epochs=spec.epochs, initial_epoch=state["epoch"],
                      shuffle=True, callbacks=callbacks, verbose=verbose)
        done = read_state(run_dir)
        if recorder.cancelled:
            store.finish_trial(trial.id, "cancelled")
            store.set_job_status(job_id, "cancelled")
            log(f"job {job_id} cancelled after epoch {done['epoch']}; its epochs are kept")
            return TrainResult(job_id, trial.id, "cancelled", done["epoch"], done["best_epoch"],
                               done["best_val_accuracy"], None, None, None, None)
        best = load(run_dir / "best.keras")
        split_name = dataset.eval_split()
        plain, flipped, faces = evaluate_with_faces(best, dataset[split_name])
        model_path = save(best, run_dir / "model.keras", portable=True)    # plain Keras reads it
        store.add_artifact(trial.id, str(model_path), dataset=spec.data, split=split_name,
                           accuracy=plain.accuracy,
                           metrics={"plain": plain.to_dict(), "tta": flipped.to_dict(), "faces": faces,
                                    "best_epoch": done["best_epoch"], "synthetic": dataset.synthetic})
        store.finish_trial(trial.id, "completed")
        store.set_job_status(job_id, "completed")
        log(f"job {job_id} completed: best val accuracy {done['best_val_accuracy']:.4f} at epoch "
            f"{done['best_epoch']}; {split_name} accuracy {plain.accuracy:.4f} "
            f"({flipped.accuracy:.4f} with flip TTA); model {model_path}")
        return TrainResult(job_id, trial.id, "completed", done["epoch"], done["best_epoch"],
                           done["best_val_accuracy"], model_path, plain, flipped, split_name)
    except BaseException as exc:
        error = traceback.format_exc()
        if not isinstance(exc, Exception):  # Ctrl-C or SystemExit: the checkpoints stay usable
            error = f"interrupted ({exc.__class__.__name__}); resume with `ferlab train --resume {job_id}`"
        if trial is not None:
            store.finish_trial(trial.id, "failed" if isinstance(exc, Exception) else "interrupted", error)
        store.set_job_status(job_id, "failed", error=error)
        raise

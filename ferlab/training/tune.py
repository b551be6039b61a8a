"""keras-tuner searches (RandomSearch, Hyperband) with every trial and epoch in the store.

The tuner keeps its own oracle directory under the job's run folder, so a search that was
interrupted resumes there: completed trials are not run again.
"""

from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_tuner as kt

from ferlab.data import load_dataset
from ferlab.models.hypermodel import PaperHyperModel
from ferlab.models.saved import save
from ferlab.store import Store
from ferlab.training import augment, precision
from ferlab.training.callbacks import StoreRecorder
from ferlab.training.evaluate import EvalResult, as_model_input, evaluate_with_faces
from ferlab.training.fit import (Log, claim_run_dir, foreground_worker, machine_line, one_hot, run_dir_for,
                                 training_splits)
from ferlab.training.spec import TuneSpec

_STATUS = {"COMPLETED": "completed", "FAILED": "failed", "INVALID": "failed", "STOPPED": "cancelled"}


class SearchCancelled(kt.errors.FatalError):
    pass


class _StoreHooks:
    """Mixed into a keras-tuner Tuner: mirrors trials into the store as they start and end."""

    def _attach(self, store: Store, job_id: int):
        self._store, self._job_id, self._rows = store, job_id, {}

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        number = int(trial.trial_id) + 1 if trial.trial_id.isdigit() else len(self._rows) + 1
        row = self._store.start_trial(self._job_id, number, dict(trial.hyperparameters.values),
                                      tuner_trial_id=trial.trial_id)
        self._store.truncate_epochs(row.id, after=0)  # a trial cut off by a crash starts over
        self._rows[trial.trial_id] = row

    def run_trial(self, trial, *args, **kwargs):
        row = self._rows[trial.trial_id]
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), augment.EpochSeeds(),
                               StoreRecorder(self._store, row.id, self._job_id)]
        return super().run_trial(trial, *args, **kwargs)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        row = self._rows.pop(trial.trial_id)
        status = _STATUS.get(trial.status, "failed")
        self._store.finish_trial(row.id, status, trial.message if status == "failed" else None)
        if self._store.cancel_requested(self._job_id):
            raise SearchCancelled("cancelled by the user")


class RandomSearch(_StoreHooks, kt.RandomSearch):
    pass


class Hyperband(_StoreHooks, kt.Hyperband):
    pass


@dataclass(frozen=True)
class TuneResult:
    job_id: int
    status: str
    trials: int
    best_trial_number: int | None
    best_hyperparameters: dict | None
    model_path: Path | None
    evaluation: EvalResult | None


def make_tuner(spec: TuneSpec, store: Store, job_id: int, directory: Path):
    # every trial sees the same augmented faces (one seed): trials differ by their hyperparameters,
    # not by the luck of their augmentation draws (common random numbers)
    hypermodel = PaperHyperModel(spec.space, lambda: augment.make(spec.augmentation, spec.seed),
                                 spec.label_smoothing)
    common = dict(objective="val_accuracy", seed=spec.seed, directory=str(directory),
                  project_name="tuner", overwrite=False, max_consecutive_failed_trials=10 ** 6)
    if spec.algorithm == "hyperband":
        tuner = Hyperband(hypermodel, max_epochs=spec.epochs_per_trial, factor=3, **common)
    else:
        tuner = RandomSearch(hypermodel, max_trials=spec.max_trials, **common)
    tuner._attach(store, job_id)
    return tuner


def distributed_role() -> str:
    """keras-tuner's distributed mode from its environment: chief, worker or single."""
    from keras_tuner.src.distribute import utils

    if not utils.has_chief_oracle():
        return "single"
    return "chief" if utils.is_chief_oracle() else "worker"


def tune(store: Store, spec: TuneSpec, *, job_id: int | None = None, log: Log = print,
         verbose: int = 0) -> TuneResult:
    """Run (or resume) the tuning job `job_id`; a new foreground job when None.

    With keras-tuner's distributed variables set (KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP,
    KERASTUNER_ORACLE_PORT), the chief serves the oracle until every trial is done and ends the
    job; each worker joins the chief's job (`job_id`) and runs trials, writing them to the store."""
    spec.check()
    role = distributed_role()
    if role == "worker":
        if job_id is None:
            raise ValueError("a distributed tuning worker joins the chief's job: `ferlab tune --join JOB`")
        return _tune_worker(store, spec, job_id, log, verbose)
    if job_id is None:
        job_id = store.create_job("tune", spec.to_dict(), status="running", worker=foreground_worker()).id
    run_dir = claim_run_dir(store, job_id, log)
    store.note_machine(job_id, machine_line())
    try:
        policy = precision.apply(spec.precision)
        keras.utils.set_random_seed(spec.seed)
        dataset = load_dataset(store, spec.data, warn=log)
        train_split, val_split = training_splits(dataset)
        tuner = make_tuner(spec, store, job_id, run_dir)
        done = sum(t.status == "completed" for t in store.list_trials(job_id))
        log(f"job {job_id}: {spec.algorithm} search over {spec.space.architecture}, {policy}, "
            f"{spec.epochs_per_trial} epochs per trial, data {spec.data!r}"
            + (f"; resuming after {done} completed trial(s)" if done else "")
            + ("; serving the oracle to distributed workers (`ferlab tune --distributed --join "
               f"{job_id}`)" if role == "chief" else ""))
        try:
            tuner.search(as_model_input(train_split.images), one_hot(train_split.labels),
                         validation_data=(as_model_input(val_split.images), one_hot(val_split.labels)),
                         epochs=spec.epochs_per_trial, verbose=verbose)
        except SearchCancelled:
            store.set_job_status(job_id, "cancelled")
            log(f"job {job_id} cancelled; its trials and epochs are kept")
            return TuneResult(job_id, "cancelled", len(store.list_trials(job_id)), None, None, None, None)
        trials = store.list_trials(job_id)
        ok = [t for t in trials if t.status == "completed" and t.best_val_accuracy is not None]
        if not ok:
            raise RuntimeError(f"all {len(trials)} trial(s) failed; see `ferlab jobs show {job_id}`")
        best = max(ok, key=lambda t: t.best_val_accuracy)
        checkpoint = Path(tuner._get_checkpoint_fname(best.tuner_trial_id))
        if not checkpoint.exists():  # distributed: the weights are on the worker that ran it
            store.set_job_status(job_id, "completed")
            log(f"job {job_id} completed: {len(trials)} trials; best trial {best.number} (val accuracy "
                f"{best.best_val_accuracy:.4f}); its weights stay with the worker that trained it")
            return TuneResult(job_id, "completed", len(trials), best.number, best.hyperparameters, None, None)
        model = tuner.hypermodel.build(tuner.oracle.get_trial(best.tuner_trial_id).hyperparameters)
        with warnings.catch_warnings():  # the checkpoint holds weights, not the optimizer's state
            warnings.simplefilter("ignore", UserWarning)
            model.load_weights(tuner._get_checkpoint_fname(best.tuner_trial_id))
        model_path = save(model, run_dir / "model.keras", portable=True)    # plain Keras reads it
        split_name = dataset.eval_split()
        result, flipped, faces = evaluate_with_faces(model, dataset[split_name])
        store.add_artifact(best.id, str(model_path), dataset=spec.data, split=split_name,
                           accuracy=result.accuracy,
                           metrics={"plain": result.to_dict(), "tta": flipped.to_dict(), "faces": faces,
                                    "best_epoch": best.best_epoch, "synthetic": dataset.synthetic})
        store.set_job_status(job_id, "completed")
        log(f"job {job_id} completed: {len(trials)} trials; best trial {best.number} "
            f"(val accuracy {best.best_val_accuracy:.4f}); {split_name} accuracy {result.accuracy:.4f}")
        return TuneResult(job_id, "completed", len(trials), best.number, best.hyperparameters,
                          model_path, result)
    except BaseException as exc:
        error = traceback.format_exc()
        if not isinstance(exc, Exception):
            error = f"interrupted ({exc.__class__.__name__}); resume with `ferlab tune --resume {job_id}`"
        for t in store.list_trials(job_id):
            if t.status == "running":
                store.finish_trial(t.id, "interrupted", error)
        store.set_job_status(job_id, "failed", error=error)
        raise


def _tune_worker(store: Store, spec: TuneSpec, job_id: int, log: Log, verbose: int) -> TuneResult:
    """A distributed worker: run the trials the chief's oracle hands out, then return."""
    run_dir = run_dir_for(job_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    store.note_machine(job_id, machine_line())
    precision.apply(spec.precision)
    keras.utils.set_random_seed(spec.seed)
    train_split, val_split = training_splits(load_dataset(store, spec.data))
    tuner = make_tuner(spec, store, job_id, run_dir)
    log(f"job {job_id}: distributed tuning worker {tuner.tuner_id} joined")
    tuner.search(as_model_input(train_split.images), one_hot(train_split.labels),
                 validation_data=(as_model_input(val_split.images), one_hot(val_split.labels)),
                 epochs=spec.epochs_per_trial, verbose=verbose)
    ran = [t for t in store.list_trials(job_id)]
    log(f"job {job_id}: worker {tuner.tuner_id} done; the search has {len(ran)} trial(s)")
    return TuneResult(job_id, "worker-done", len(ran), None, None, None, None)

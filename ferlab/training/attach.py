"""Attach a model file to a run that was trained elsewhere (a GPU machine whose runs.db came back, a
reference run whose model is not shipped), so that ensembles, warm restarts and the model card can
name the run by its number. The file has to be the run's model: the same parameter count, and on
the run's own evaluation split the same confusion matrix as the run recorded, up to the few faces
that another machine's arithmetic moves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferlab.data import load_dataset
from ferlab.models.saved import load
from ferlab.store import Store
from ferlab.training.evaluate import EvalResult, evaluate_with_faces

# Faces whose prediction may differ between two machines running the same model (bfloat16 on a GPU
# against float32 on a CPU moved 3 and 4 of 3,589 here); another run of one recipe moves hundreds.
MOVED_FACES_ALLOWED = 0.005


class AttachError(ValueError):
    pass


@dataclass(frozen=True)
class Attached:
    job_id: int
    path: Path
    recorded: float
    measured: EvalResult
    measured_tta: EvalResult
    moved: int                 # faces predicted otherwise than the run recorded


def attach_model(store: Store, job_id: int, path: str | Path) -> Attached:
    path = Path(path).resolve()
    job = store.get_job(job_id)
    if job.kind != "train":
        raise AttachError(f"job {job_id} is a {job.kind} job: a model file is attached to a training run")
    trials = store.list_trials(job_id)
    evaluations = [(t, a) for t in trials for a in store.list_artifacts(t.id) if a.kind == "evaluation"]
    if not evaluations:
        have = store.model_paths(job_id)
        raise AttachError(f"job {job_id} " + (f"has its model already: {have[-1]}" if have else
                                              "recorded no evaluation to check a model file against"))
    trial, art = evaluations[-1]
    recorded = (art.metrics.get("plain") or {}).get("confusion")
    if recorded is None:
        raise AttachError(f"job {job_id}'s evaluation kept no confusion matrix to check {path} against")
    if not path.is_file():
        raise AttachError(f"{path}: no such file")
    try:
        model = load(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same answer
        raise AttachError(f"{path} is not a readable .keras model ({exc.__class__.__name__}: {exc})") from None
    if trial.params and model.count_params() != trial.params:
        raise AttachError(f"{path} has {model.count_params():,} parameters, job {job_id}'s model "
                          f"{trial.params:,}: it is not this run's model")
    try:
        split = load_dataset(store, art.dataset)[art.split]
    except Exception as exc:  # noqa: BLE001
        raise AttachError(f"job {job_id} was evaluated on {art.dataset} [{art.split}], which cannot be read here "
                          f"({exc}); import that data set first (`ferlab data import PATH --name {art.dataset}`)") from None
    plain, tta, faces = evaluate_with_faces(model, split)
    moved = int(np.abs(np.asarray(plain.confusion) - np.asarray(recorded)).sum()) // 2
    if moved > MOVED_FACES_ALLOWED * len(split):
        raise AttachError(f"{path} predicts {moved:,} of {len(split):,} faces of {art.dataset} [{art.split}] otherwise "
                          f"than job {job_id} recorded (accuracy {plain.accuracy:.4f} against {art.accuracy:.4f}): "
                          "it is not this run's model")
    store.set_artifact_model(art.id, str(path), faces=faces)
    return Attached(job_id, path, art.accuracy, plain, tta, moved)

"""An ensemble job: load trained models, average them into one `.keras` model, evaluate it (and
each member alone, on the same split) and store it like a trained model. The file is portable
(ferlab.models.saved.portable): plain Keras reads it, without ferlab."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

import keras

from ferlab.data import load_dataset
from ferlab.models.config import member_ref
from ferlab.models.ensemble import average_models, check_member, member_at, members_of, read_model
from ferlab.models.saved import load, save
from ferlab.store import Store
from ferlab.store.reference import owner_keys
from ferlab.training.evaluate import EvalResult, evaluate_plain_and_flip, evaluate_with_faces
from ferlab.training.fit import Log, foreground_worker, machine_line, run_dir_for
from ferlab.training.spec import EnsembleSpec


@dataclass(frozen=True)
class EnsembleResult:
    job_id: int
    model_path: Path
    params: int
    split: str
    evaluation: EvalResult
    evaluation_tta: EvalResult
    members: list[dict]          # per member: path, accuracy, accuracy with flip TTA


def load_member(ref: str, role: str = "ensemble member") -> keras.Model:
    """The model at `ref`'s path, or with "#K" the K-th model of the ensemble saved there; errors
    name it as `role` (what the caller uses it as)."""
    path, k = member_ref(ref)
    if not Path(path).is_file():
        raise ValueError(f"{role} {path} does not exist: name a .keras file or a job number "
                         "whose model is still on disk")
    model = read_model(path, f"{role} {path}")
    check_member(model, f"{role} {path}")
    if k is None:
        return model
    return member_at(model, k, path, f"{role} {ref}", number=lambda i: f"#{i}", drop=f"the #{k}")


def build_ensemble(store: Store, spec: EnsembleSpec, *, job_id: int | None = None, log: Log = print) -> EnsembleResult:
    """Run (or rerun: it has no epochs to resume) the ensemble job `job_id`; a new foreground job when None."""
    spec.check()
    if job_id is None:
        job_id = store.create_job("ensemble", spec.to_dict(), status="running", worker=foreground_worker()).id
    store.note_machine(job_id, machine_line())
    trial = None
    try:
        member_keys = owner_keys(store, list(spec.members))    # before any member's file is replaced
        models = [load_member(p) for p in spec.members]
        dataset = load_dataset(store, spec.data, warn=log)
        split_name = dataset.eval_split()
        split = dataset[split_name]
        scores = []
        for path, model in zip(spec.members, models, strict=True):
            inner = members_of(model)       # an ensemble given as a member adds its own members
            for member in inner:
                where = f"{path}#{member.name}" if len(inner) > 1 else path
                plain, flipped = evaluate_plain_and_flip(member, split)
                scores.append({"path": where, "params": member.count_params(), "accuracy": plain.accuracy,
                               "accuracy_tta": flipped.accuracy})
                log(f"member {where}: {split_name} accuracy {plain.accuracy:.4f} "
                    f"({flipped.accuracy:.4f} with flip TTA)")
        model = average_models(models, flip=spec.flip)
        params = sum(s["params"] for s in scores)     # the members' (a mirror's fixed matrix is not learnt)
        trial = store.start_trial(job_id, 1, spec.to_dict(), params=params)
        run_dir = run_dir_for(job_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        model_path = run_dir / "model.keras"
        save(model, model_path, portable=True)
        saved = load(model_path)   # evaluate what is stored
        plain, flipped, faces = evaluate_with_faces(saved, split)
        store.add_artifact(trial.id, str(model_path), dataset=spec.data, split=split_name, accuracy=plain.accuracy,
                           metrics={"plain": plain.to_dict(), "tta": flipped.to_dict(), "faces": faces, "members": scores,
                                    "member_keys": member_keys, "synthetic": dataset.synthetic})
        store.finish_trial(trial.id, "completed")
        store.set_job_status(job_id, "completed")
        log(f"job {job_id} completed: ensemble of {len(scores)}{' with their mirror images' if spec.flip else ''} "
            f"({params:,} parameters); "
            f"{split_name} accuracy {plain.accuracy:.4f} ({flipped.accuracy:.4f} with flip TTA); model {model_path}")
        return EnsembleResult(job_id, model_path, params, split_name, plain, flipped, scores)
    except BaseException as exc:
        error = traceback.format_exc() if isinstance(exc, Exception) else f"interrupted ({exc.__class__.__name__})"
        if trial is not None:
            store.finish_trial(trial.id, "failed", error)
        store.set_job_status(job_id, "failed", error=error)
        raise

"""Reference runs: real FER2013 runs shipped with ferlab (ferlab/assets/reference_runs.json) and
seeded into a new store, marked origin="reference", so the app shows real curves on first start.

The file holds, per run: the job's spec, how it was produced (command, seed, machine, wall time),
its trials with every epoch, and its evaluation (accuracy, per-class table, confusion matrix).
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from ferlab.config import machine
from ferlab.models.config import member_ref
from ferlab.store.engine import retry_locked
from ferlab.store.models import SqlArtifact, SqlEpoch, SqlJob, SqlTrial, utcnow

REFERENCE_FILE = Path(__file__).resolve().parents[1] / "assets" / "reference_runs.json"


def run_key(job) -> str:
    """A run's key in the reference file; a reference run keeps the key it was shipped under."""
    return job.spec.get("reference_key") or f"{job.kind}-{job.id}-{job.created_at:%Y%m%d%H%M%S}"


def model_jobs(store, kind: str = "train") -> dict[str, int]:
    """Model file (resolved path) -> the job of `kind` that wrote it (a training run's model is
    never an ensemble's)."""
    with store.session() as s:     # paths alone: an artifact's stored figures are large (face records)
        rows = s.execute(select(SqlArtifact.path, SqlTrial.job_id).join(SqlTrial, SqlTrial.id == SqlArtifact.trial_id)
                         .join(SqlJob, SqlJob.id == SqlTrial.job_id)
                         .where(SqlJob.kind == kind, SqlArtifact.kind == "model", SqlArtifact.path != "")
                         .order_by(SqlArtifact.id)).all()
    return {str(Path(path).resolve()): job_id for path, job_id in rows if path}


def model_owners(store) -> dict[str, int]:
    """Model file (resolved path) -> the training run or ensemble that wrote it (model_jobs of both)."""
    return {**model_jobs(store), **model_jobs(store, kind="ensemble")}


@functools.lru_cache(maxsize=2)
def _exported_member_keys(path: str, mtime_ns: int) -> dict[str, list | None]:
    """Run key -> member keys, as a reference-run file recorded them (read once while it is unchanged:
    the pages ask on every rerun)."""
    return {r["key"]: r.get("member_keys") for r in json.loads(Path(path).read_text())["runs"]}


def _owner_key(store, model: str | None, owners: dict[str, int]) -> str | None:
    """The key of the run that wrote the model file (`owners`: from model_jobs), where this store
    holds it: job numbers repeat across stores, the key does not."""
    owner = owners.get(str(Path(model).resolve())) if model else None
    return run_key(store.get_job(owner)) if owner is not None else None


def _parent_key(store, job, owners: dict[str, int], field: str = "init_from") -> str | None:
    """The key of the run whose model `job` started from (--init-from; an ensemble's, with
    --init-member), or with field="distill_from" learned from; a seeded run keeps the recorded one."""
    return job.spec.get(f"reference_{field}") or _owner_key(store, job.spec.get(field), owners)


def owner_keys(store, members: list[str], owners: dict[str, int] | None = None) -> list[str | None]:
    """The run keys of the runs that wrote these ensemble members' files now (None for a file no
    run of this store wrote); "KEY#K" for the K-th model of the ensemble run KEY."""
    owners = owners if owners is not None else model_owners(store)
    keys = []
    for path, k in map(member_ref, members):
        key = _owner_key(store, path, owners)
        keys.append(f"{key}#{k}" if key and k else key)
    return keys


def recorded_member_keys(store, job) -> list[str | None] | None:
    """An ensemble's member keys as recorded when it was made, not as its member paths resolve now:
    a path such as the shipped model's names other models over time. A seeded run carries them; a
    run made here recorded them with its evaluation (ensembles since 2026-11-26); an older run has
    those its export to the seed file recorded, where it was exported."""
    if job.kind != "ensemble":
        return None
    if job.spec.get("reference_member_keys"):
        return job.spec["reference_member_keys"]
    for trial in store.list_trials(job.id):
        for artifact in store.list_artifacts(trial.id):
            if (artifact.metrics or {}).get("member_keys"):
                return artifact.metrics["member_keys"]
    if REFERENCE_FILE.exists():
        keys = _exported_member_keys(str(REFERENCE_FILE), REFERENCE_FILE.stat().st_mtime_ns).get(run_key(job))
        return list(keys) if keys is not None else None
    return None


def member_jobs(store, job, owners: dict[str, int] | None = None, by_key: dict | None = None) -> list:
    """The training runs an ensemble job averages, in its order: an ensemble among its members adds
    its own (or with "FILE#K" its K-th), as `ferlab ensemble` does. Each is found by the run key
    recorded when the ensemble was made, else by the run that wrote its file: a path such as the
    shipped model's names other models over time. ValueError for a member no run here made.
    `owners` (model_jobs of both kinds) and `by_key` (run key -> job) save queries over many calls."""
    owners = owners if owners is not None else model_owners(store)
    by_key = by_key if by_key is not None else {run_key(j): j for j in store.list_jobs()}
    keys = recorded_member_keys(store, job) or [None] * len(job.spec["members"])
    runs = []
    for ref, key in zip(job.spec["members"], keys, strict=True):
        path, k = member_ref(ref)
        key = (key or "").partition("#")[0]
        made_by = owners.get(str(Path(path).resolve()))
        member = by_key.get(key) if key in by_key else store.get_job(made_by) if made_by else None
        if member is None:
            raise ValueError(f"{path} was made by no job in this store")
        inner = member_jobs(store, member, owners, by_key) if member.kind == "ensemble" else [member]
        if k is not None and not 1 <= k <= len(inner):
            raise ValueError(f"{ref}: job {member.id} has no member {k}")
        runs += inner if k is None else [inner[k - 1]]
    return runs


def _reference_parent(store, job) -> int | None:
    """The reference run a shipped reference run started from: the one whose key it recorded, or
    (files exported before keys were recorded) the run exported from job N of the same store, for
    `.../job-N/model.keras`: the latest `train-N-...` created before it."""
    refs = [j for j in store.list_jobs() if j.origin == "reference"]
    if job.spec.get("reference_init_from"):
        return next((j.id for j in refs if j.spec.get("reference_key") == job.spec["reference_init_from"]), None)
    parent = Path(job.spec["init_from"]).parent.name
    if not parent.startswith("job-"):
        return None
    key = f"train-{parent[4:]}-"
    older = [j for j in refs if j.spec.get("reference_key", "").startswith(key)
             and j.spec["reference_key"] < f"{key}{job.created_at:%Y%m%d%H%M%S}"]
    return max(older, key=lambda j: j.spec["reference_key"]).id if older else None


def lineage_jobs(store, job, owners: dict[str, int] | None = None, by_key: dict | None = None) -> list:
    """The job and each job whose model it started from (--init-from), oldest first: the runs that
    trained its weights from random ones. A start from member K of an ensemble (--init-member)
    continues that member's lineage. ValueError for a start that no run of this store trained."""
    owners = owners if owners is not None else model_owners(store)
    stages = []
    while job is not None:
        stages.insert(0, job)
        start = job.spec.get("init_from")
        if not start:
            break
        # a recorded key first, as for ensemble members
        parent_id = ((job.spec.get("reference_init_from") and _reference_parent(store, job))
                     or owners.get(str(Path(start).resolve()))
                     or (_reference_parent(store, job) if job.origin == "reference" else None))
        if parent_id is None:
            raise ValueError(f"job {job.id} started from {start}, which no job in this store trained")
        job = store.get_job(parent_id)
        if job.kind == "ensemble":
            member, runs = stages[0].spec.get("init_member"), member_jobs(store, job, owners, by_key)
            if not member or not 1 <= member <= len(runs):
                raise ValueError(f"job {stages[0].id} started from ensemble job {job.id} without a member of it")
            return lineage_jobs(store, runs[member - 1], owners, by_key) + stages
    return stages


def _member_keys(store, job, owners: dict[str, int]) -> list[str | None] | None:
    """An ensemble's members as run keys: those recorded when it was made, else its files' owners now."""
    if job.kind != "ensemble":
        return None
    return recorded_member_keys(store, job) or owner_keys(store, job.spec.get("members", []), owners)


def export_runs(store, job_ids: list[int], commands: dict[int, str], model_paths: dict[int, str] | None = None,
                ran_on: str | None = None) -> dict:
    """The reference-run document for `job_ids` (commands: job id -> the command that ran it;
    ran_on: the machine they ran on, where a run did not record it and it was not this one, e.g. a GPU
    machine whose runs.db came back from an older ferlab)."""
    runs, makers = [], model_owners(store)
    for job_id in job_ids:
        job = store.get_job(job_id)
        trials = []
        for t in store.list_trials(job_id):
            epochs = store.epochs([t.id])
            arts = store.list_artifacts(t.id)
            trials.append({
                "number": t.number, "hyperparameters": t.hyperparameters, "status": t.status, "params": t.params,
                "epochs": [{k: getattr(e, k) for k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                                                       "learning_rate", "seconds")} for e in epochs],
                "evaluations": [{"dataset": a.dataset, "split": a.split, "accuracy": a.accuracy, "metrics": a.metrics,
                                 "model": (model_paths or {}).get(job_id)} for a in arts],
            })
        wall = sum(e["seconds"] or 0 for t in trials for e in t["epochs"])
        runs.append({"key": run_key(job), "kind": job.kind, "init_from_key": _parent_key(store, job, makers),
                     "distill_from_key": _parent_key(store, job, makers, "distill_from"),
                     "member_keys": _member_keys(store, job, makers),
                     "status": job.status, "spec": job.spec, "command": commands.get(job_id, ""),
                     "machine": ran_on or job.ran_on or machine(),
                     "started": f"{job.started_at or job.created_at:%Y-%m-%d %H:%M} UTC",
                     "epoch_seconds_total": round(wall), "trials": trials})
    return {"format": 1, "runs": runs}


def _model_path(model: str | None) -> str:
    """Where a shipped model lies in this installation ('' for an evaluation without a model)."""
    return str(Path(__file__).resolve().parents[2] / model) if model else ""


@retry_locked
def seed(store, path: Path | None = None) -> int:
    """Add the shipped reference runs that the store does not hold yet, extend those it holds whose
    shipped history has grown (a run resumed and exported again), and point them at the models this
    version ships. Returns how many runs were added."""
    path = path or REFERENCE_FILE
    if not path.exists():
        return 0
    doc = json.loads(path.read_text())
    added = 0
    with store.session() as s:
        # key -> job; a run exported from this very store is held already, under its own job
        have = {run_key(row): row.id for row in s.execute(select(SqlJob.kind, SqlJob.id, SqlJob.created_at, SqlJob.spec))}
        ensembles = []
        grown = []                              # (job, shipped run): whose history to bring up to date
        for run in doc.get("runs", []):
            if run["key"] in have:
                grown.append((have[run["key"]], run))
                continue
            spec = dict(run["spec"], reference_key=run["key"], reference_command=run["command"],
                        reference_machine=run["machine"])
            if run.get("init_from_key"):
                spec["reference_init_from"] = run["init_from_key"]
            if run.get("distill_from_key"):
                spec["reference_distill_from"] = run["distill_from_key"]
            started = datetime.strptime(run["started"], "%Y-%m-%d %H:%M UTC")
            job = SqlJob(kind=run["kind"], spec=spec, status=run["status"], origin="reference", cancel_requested=False,
                         attempts=1, created_at=started, started_at=started, finished_at=started, worker="reference")
            s.add(job)
            s.flush()
            have[run["key"]] = job.id
            if run.get("member_keys"):
                ensembles.append((job, run["member_keys"]))
            s.add_all(SqlTrial(job_id=job.id, number=t["number"], hyperparameters=t["hyperparameters"],
                               status=t["status"], params=t["params"], started_at=started, finished_at=started)
                      for t in run["trials"])
            grown.append((job.id, run))         # its epochs and evaluations come in below, as for a held run
            added += 1
        for job, keys in ensembles:     # members named by their job numbers in this store, where it has them
            job.spec = dict(job.spec, reference_member_keys=keys, member_labels=[_member_label(k, have) for k in keys])
        s.flush()
        _extend_histories(s, grown)
        _sync_evaluations(s, doc)
    return added


def _extend_histories(s, held: list[tuple[int, dict]]) -> None:
    """Add the epochs and evaluations of reference runs that the store lacks: all of a run just
    added, and those a run held already has gained in the shipped file since (a run resumed and
    exported again), with the status and command that now go with them. `held`: (job, shipped run)
    pairs. A store's own run, the one a file was exported from, keeps its own history."""
    last = {(job_id, number): (trial_id, top or 0) for job_id, number, trial_id, top in s.execute(
        select(SqlTrial.job_id, SqlTrial.number, SqlTrial.id, func.max(SqlEpoch.epoch))
        .join(SqlJob, SqlJob.id == SqlTrial.job_id).outerjoin(SqlEpoch, SqlEpoch.trial_id == SqlTrial.id)
        .where(SqlJob.origin == "reference").group_by(SqlTrial.id))}
    arts = dict(s.execute(select(SqlArtifact.trial_id, func.count()).group_by(SqlArtifact.trial_id)
                          .where(SqlArtifact.trial_id.in_([trial_id for trial_id, _ in last.values()]))).all())
    for job_id, run in held:
        grew = False
        for t in run["trials"]:
            trial_id, top = last.get((job_id, t["number"]), (None, 0))
            new = [e for e in t["epochs"] if e["epoch"] > top]
            evaluations = t["evaluations"][arts.get(trial_id, 0):]
            if trial_id is None or not (new or evaluations):
                continue
            if new:
                s.execute(insert(SqlEpoch), [dict(e, trial_id=trial_id, created_at=utcnow()) for e in new])
            s.add_all(_artifact(trial_id, ev) for ev in evaluations)
            best = max((e for e in t["epochs"] if e["val_accuracy"] is not None), key=lambda e: e["val_accuracy"],
                       default=None)
            trial = s.get(SqlTrial, trial_id)
            trial.status = t["status"]
            trial.best_val_accuracy, trial.best_epoch = (best["val_accuracy"], best["epoch"]) if best else (None, None)
            grew = True
        if grew:
            job = s.get(SqlJob, job_id)
            job.status, job.spec = run["status"], dict(job.spec, reference_command=run["command"])
    s.flush()


def _artifact(trial_id: int, ev: dict) -> SqlArtifact:
    return SqlArtifact(trial_id=trial_id, kind="model" if ev.get("model") else "evaluation",
                       path=_model_path(ev.get("model")), dataset=ev["dataset"], split=ev["split"],
                       accuracy=ev["accuracy"], metrics=ev["metrics"])


def _member_label(key: str | None, have: dict[str, int]) -> str | None:
    """"job-N" (or "job-N#K") for a member key whose run this store holds as job N."""
    run, sep, k = (key or "").partition("#")
    return f"job-{have[run]}{sep}{k}" if run in have else None


def _installed(path: str) -> bool:
    """Whether a model path lies in this installation (a shipped file), not one a user attached
    (`ferlab jobs attach`), which a reference run keeps until a release ships a model of its own."""
    return Path(path).resolve().is_relative_to(Path(__file__).resolve().parents[2] / "ferlab" / "assets")


def _sync_evaluations(s, doc: dict) -> None:
    """Give each reference run's evaluations the model the shipped file names now: a release that
    replaces ferlab-default.keras moves it to its new run, and a run that no longer ships a model
    (or is no longer shipped) keeps its figures but stops offering a file that is not its own. A file
    attached by hand outside the installation stays. An evaluation also gains the records its shipped
    copy has gained since the store was seeded (such as the face record, `metrics["faces"]`); those it
    holds already, the shipped ones or a user's own, stay as they are."""
    shipped = {run["key"]: {t["number"]: t["evaluations"] for t in run["trials"]} for run in doc.get("runs", [])}
    rows = s.execute(select(SqlJob.spec, SqlTrial.number, SqlArtifact).join(SqlTrial, SqlTrial.job_id == SqlJob.id)
                     .join(SqlArtifact, SqlArtifact.trial_id == SqlTrial.id)
                     .where(SqlJob.origin == "reference").order_by(SqlArtifact.id))
    position: dict[tuple, int] = {}
    for spec, number, art in rows:
        key = spec.get("reference_key")
        i = position[key, number] = position.get((key, number), -1) + 1
        evaluations = shipped.get(key, {}).get(number, [])
        ev = evaluations[i] if i < len(evaluations) else {}
        want = _model_path(ev.get("model"))
        if art.path != want and (want or not art.path or _installed(art.path)):
            art.path, art.kind = want, "model" if want else "evaluation"
        gained = {k: v for k, v in (ev.get("metrics") or {}).items() if k not in (art.metrics or {})}
        if gained:
            art.metrics = {**(art.metrics or {}), **gained}

"""The experiment store. Public methods open one short transaction each and return frozen
values; `_..._in(session, ...)` helpers do the work inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from ferlab import config
from ferlab.store import entities as E
from ferlab.store.engine import SessionFactory, StoreError, ensure_schema, make_engine, retry_locked
from ferlab.store.models import (SqlArtifact, SqlDataset, SqlEpoch, SqlExperiment, SqlJob, SqlTrial,
                                 SqlWorker, utcnow)

JOB_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
TRIAL_STATUSES = ("running", "completed", "failed", "cancelled", "interrupted")
T = TypeVar("T")


class NotFound(StoreError):
    pass


def _dataset(row: SqlDataset) -> E.DatasetInfo:
    return E.DatasetInfo(row.id, row.name, row.source, row.layout, row.fingerprint, row.cache_path,
                         row.synthetic, row.val_from_train, row.val_fraction, row.seed,
                         dict(row.counts), row.skipped, tuple(row.problems or ()), row.created_at)


def _job(row: SqlJob) -> E.JobInfo:
    return E.JobInfo(row.id, row.experiment_id, row.kind, dict(row.spec), row.status, row.origin,
                     row.worker, row.heartbeat_at, row.cancel_requested, row.attempts, row.error,
                     row.log_path, row.created_at, row.started_at, row.finished_at, row.machine)


def _trial(row: SqlTrial) -> E.TrialInfo:
    return E.TrialInfo(row.id, row.job_id, row.number, row.tuner_trial_id, dict(row.hyperparameters),
                       row.status, row.params, row.best_val_accuracy, row.best_epoch, row.error,
                       row.started_at, row.finished_at)


def _epoch(row: SqlEpoch) -> E.EpochInfo:
    return E.EpochInfo(row.trial_id, row.epoch, row.loss, row.accuracy, row.val_loss,
                       row.val_accuracy, row.learning_rate, row.seconds)


def _artifact(row: SqlArtifact) -> E.ArtifactInfo:
    return E.ArtifactInfo(row.id, row.trial_id, row.kind, row.path, row.dataset, row.split,
                          row.accuracy, dict(row.metrics or {}), row.created_at)


def _worker(row: SqlWorker) -> E.WorkerInfo:
    return E.WorkerInfo(row.id, row.host, row.pid, row.status, row.started_at, row.heartbeat_at)


def _one(session: Session, model, ident, what: str):
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"no {what} {ident}")
    return row


def _scored(query, job_ids: list[int]):
    """`query` (selecting from trials joined to their artifacts) narrowed to the jobs' scored models
    and evaluations, oldest first."""
    return (query.join(SqlArtifact, SqlArtifact.trial_id == SqlTrial.id)
            .where(SqlTrial.job_id.in_(job_ids), SqlArtifact.kind.in_(("model", "evaluation")),
                   SqlArtifact.accuracy.is_not(None))
            .order_by(SqlArtifact.id))


def _best_scored(rows: Iterable[tuple[int, float, T]]) -> dict[int, T]:
    """Per job, the value of its most accurate model (the first of equals): the one a job ranks by."""
    best: dict[int, tuple[float, T]] = {}
    for job_id, accuracy, value in rows:
        if job_id not in best or accuracy > best[job_id][0]:
            best[job_id] = (accuracy, value)
    return {job_id: value for job_id, (_, value) in best.items()}


class Store:
    def __init__(self, url: str | None = None, *, create: bool = True, seed_reference: bool | None = None):
        """Open the store; a new one gets the schema and, unless FERLAB_SEED_REFERENCE=0 or
        seed_reference=False, the shipped reference runs (see ferlab/store/reference.py). A store
        that already holds reference runs is brought up to this version's: new ones are added and
        the shipped model files re-pointed (one that opted out stays without them)."""
        import os

        self.url = url or config.db_url()
        self.engine = make_engine(self.url)
        created = ensure_schema(self.engine) if create else False
        self.session = SessionFactory(self.engine)
        if seed_reference is None:
            seed_reference = os.environ.get("FERLAB_SEED_REFERENCE", "1") != "0"
        if seed_reference and (created or self._holds_reference_runs()):
            from ferlab.store.reference import seed

            seed(self)

    def _holds_reference_runs(self) -> bool:
        with self.session() as s:
            return s.scalar(select(SqlJob.id).where(SqlJob.origin == "reference").limit(1)) is not None

    def close(self) -> None:
        self.engine.dispose()

    # --- data sets ---------------------------------------------------------------------------

    @retry_locked
    def add_dataset(self, **fields) -> E.DatasetInfo:
        with self.session() as s:
            row = SqlDataset(**fields)
            s.add(row)
            s.flush()
            return _dataset(row)

    def get_dataset(self, name: str) -> E.DatasetInfo:
        with self.session() as s:
            row = s.scalar(select(SqlDataset).where(SqlDataset.name == name))
            if row is None:
                names = ", ".join(s.scalars(select(SqlDataset.name).order_by(SqlDataset.id))) or "none yet"
                raise NotFound(f"no data set named {name!r} (imported: {names}); "
                               "import one with `ferlab data import PATH`")
            return _dataset(row)

    def find_dataset(self, *, fingerprint: str | None = None, name: str | None = None) -> E.DatasetInfo | None:
        with self.session() as s:
            q = select(SqlDataset)
            q = q.where(SqlDataset.fingerprint == fingerprint) if fingerprint else q.where(SqlDataset.name == name)
            row = s.scalar(q)
            return _dataset(row) if row else None

    def list_datasets(self) -> list[E.DatasetInfo]:
        with self.session() as s:
            return [_dataset(r) for r in s.scalars(select(SqlDataset).order_by(SqlDataset.id))]

    @retry_locked
    def delete_dataset(self, name: str) -> None:
        with self.session() as s:
            s.execute(delete(SqlDataset).where(SqlDataset.name == name))

    # --- experiments and jobs ----------------------------------------------------------------

    @retry_locked
    def experiment_id(self, name: str, description: str = "") -> int:
        with self.session() as s:
            row = s.scalar(select(SqlExperiment).where(SqlExperiment.name == name))
            if row is None:
                row = SqlExperiment(name=name, description=description)
                s.add(row)
                s.flush()
            return row.id

    @retry_locked
    def create_job(self, kind: str, spec: dict, *, status: str = "queued", origin: str = "user",
                   experiment: str | None = None, worker: str | None = None) -> E.JobInfo:
        exp_id = self.experiment_id(experiment) if experiment else None
        with self.session() as s:
            now = utcnow()
            row = SqlJob(kind=kind, spec=spec, status=status, origin=origin, experiment_id=exp_id,
                         worker=worker, cancel_requested=False, attempts=1 if status == "running" else 0,
                         started_at=now if status == "running" else None,
                         heartbeat_at=now if status == "running" else None)
            s.add(row)
            s.flush()
            return _job(row)

    def get_job(self, job_id: int) -> E.JobInfo:
        with self.session() as s:
            return _job(_one(s, SqlJob, job_id, "job"))

    @staticmethod
    def _jobs_query(status: str | None, limit: int | None):
        q = select(SqlJob).order_by(SqlJob.id.desc())
        if status:
            q = q.where(SqlJob.status == status)
        return q.limit(limit) if limit else q

    def list_jobs(self, status: str | None = None, limit: int | None = None) -> list[E.JobInfo]:
        with self.session() as s:
            return [_job(r) for r in s.scalars(self._jobs_query(status, limit))]

    @retry_locked
    def set_job_status(self, job_id: int, status: str, error: str | None = None) -> E.JobInfo:
        if status not in JOB_STATUSES:
            raise ValueError(f"unknown job status {status!r}")
        with self.session() as s:
            row = _one(s, SqlJob, job_id, "job")
            row.status = status
            if error is not None:
                row.error = error
            if status in ("completed", "failed", "cancelled"):
                row.finished_at = utcnow()
            return _job(row)

    @retry_locked
    def request_cancel(self, job_id: int) -> E.JobInfo:
        with self.session() as s:
            row = _one(s, SqlJob, job_id, "job")
            if row.status == "queued":
                row.status, row.finished_at = "cancelled", utcnow()
            elif row.status == "running":
                row.cancel_requested = True
            return _job(row)

    def cancel_requested(self, job_id: int) -> bool:
        with self.session() as s:
            return bool(s.scalar(select(SqlJob.cancel_requested).where(SqlJob.id == job_id)))

    @retry_locked
    def heartbeat(self, job_id: int) -> None:
        with self.session() as s:
            _one(s, SqlJob, job_id, "job").heartbeat_at = utcnow()

    @retry_locked
    def claim_job(self, worker: str) -> E.JobInfo | None:
        """Atomically move the oldest queued job to running for `worker`; None when none is queued.

        PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so concurrent workers never wait on each
        other. Everywhere: the UPDATE only succeeds while the row is still queued."""
        with self.session() as s:
            q = (select(SqlJob.id).where(SqlJob.status == "queued").order_by(SqlJob.id).limit(1)
                 .with_for_update(skip_locked=True))
            job_id = s.scalar(q)
            if job_id is None:
                return None
            now = utcnow()
            claimed = s.execute(update(SqlJob).where(SqlJob.id == job_id, SqlJob.status == "queued")
                                .values(status="running", worker=worker, heartbeat_at=now,
                                        started_at=func.coalesce(SqlJob.started_at, now),
                                        attempts=SqlJob.attempts + 1)).rowcount
            if claimed != 1:
                return None
            return _job(s.get(SqlJob, job_id))

    @retry_locked
    def requeue_stale(self, stale_after: float, max_attempts: int = 5) -> list[int]:
        """Running jobs whose heartbeat is older than `stale_after` seconds (their worker died) go
        back to the queue, to resume from their checkpoints. From `max_attempts` on, a job fails
        once an attempt dies without recording an epoch (one that kills its worker each time),
        while one whose workers keep dying mid-run (a machine or session that ends) but record
        epochs each time goes on."""
        cutoff = utcnow() - timedelta(seconds=stale_after)
        requeued = []
        with self.session() as s:
            # Only jobs a worker claimed: a foreground `ferlab train` owns its job (--resume).
            stale = s.scalars(select(SqlJob).where(SqlJob.status == "running", SqlJob.heartbeat_at < cutoff,
                                                   SqlJob.worker.is_not(None),
                                                   SqlJob.worker.not_like(f"{E.FOREGROUND}:%"))
                              .with_for_update(skip_locked=True)).all()
            for job in stale:
                note = f"worker {job.worker} stopped sending heartbeats (last {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)"
                if job.attempts >= max_attempts and not self._epochs_by_its_worker(s, job):
                    job.status, job.finished_at = "failed", utcnow()
                    job.error = (f"{note}; gave up after {job.attempts} attempts, the last of which recorded no "
                                 f"epoch; resume it with `ferlab jobs retry {job.id}`")
                else:
                    job.status, job.worker, job.error = "queued", None, f"{note}; requeued to resume"
                    requeued.append(job.id)
                for trial in s.scalars(select(SqlTrial).where(SqlTrial.job_id == job.id,
                                                              SqlTrial.status == "running")):
                    trial.status = "interrupted"
        return requeued

    @staticmethod
    def _epochs_by_its_worker(s: Session, job: SqlJob) -> int:
        """Epochs a running job recorded since the worker that holds it started: what its current
        attempt achieved (0 where the worker left no row)."""
        started = s.scalar(select(SqlWorker.started_at).where(SqlWorker.id == job.worker))
        if started is None:
            return 0
        return s.scalar(select(func.count()).select_from(SqlEpoch).join(SqlTrial, SqlTrial.id == SqlEpoch.trial_id)
                        .where(SqlTrial.job_id == job.id, SqlEpoch.created_at >= started))

    @retry_locked
    def run_in_foreground(self, job_id: int, worker: str) -> E.JobInfo:
        """A stopped job taken up again by a foreground process (`ferlab train --resume`), which
        owns it from now on."""
        with self.session() as s:
            row = _one(s, SqlJob, job_id, "job")
            row.status, row.worker, row.finished_at, row.cancel_requested = "running", worker, None, False
            return _job(row)

    @retry_locked
    def note_machine(self, job_id: int, machine: str) -> E.JobInfo:
        """Record that `machine` runs the job: the machines that ran it, in the order they began,
        joined by " | " (a run resumed elsewhere, a search's distributed workers)."""
        with self.session() as s:
            row = _one(s, SqlJob, job_id, "job")
            machines = _job(row).machines
            if machine not in machines:
                row.machine = E.MACHINES_JOIN.join([*machines, machine])
            return _job(row)

    @retry_locked
    def end_orphaned(self, job_id: int, worker: str, status: str, error: str) -> bool:
        """Mark a running job whose owning process has ended `status` (failed or cancelled), and its
        running trials interrupted; only while `worker` still owns it. Its epochs stay."""
        with self.session() as s:
            ended = s.execute(update(SqlJob).where(SqlJob.id == job_id, SqlJob.status == "running",
                                                   SqlJob.worker == worker)
                              .values(status=status, error=error, finished_at=utcnow())).rowcount
            if ended:
                for trial in s.scalars(select(SqlTrial).where(SqlTrial.job_id == job_id, SqlTrial.status == "running")):
                    trial.status = "interrupted"
            return bool(ended)

    @retry_locked
    def retry_job(self, job_id: int) -> E.JobInfo:
        with self.session() as s:
            row = _one(s, SqlJob, job_id, "job")
            if row.origin == "reference":  # a shipped record: resuming it would overwrite its epochs
                raise StoreError(f"job {job_id} is a shipped reference run, a record with no checkpoints here; "
                                 f"to train it yourself, run its command: {row.spec.get('reference_command', '?')}")
            if row.status not in ("failed", "cancelled"):
                raise StoreError(f"job {job_id} is {row.status}; only failed or cancelled jobs can be retried")
            row.status, row.cancel_requested, row.finished_at, row.worker = "queued", False, None, None
            return _job(row)

    @retry_locked
    def delete_job(self, job_id: int) -> E.JobInfo:
        """Remove a job that is not running, with its trials, epochs and model/evaluation records
        (not its files: see runner.delete_job). A shipped reference run stays: ferlab seeds it
        into every store."""
        with self.session() as s:
            row = _one(s, SqlJob, job_id, "job")
            if row.origin == "reference":
                raise StoreError(f"job {job_id} is a shipped reference run; it stays (every store is seeded with it)")
            if row.status == "running":
                raise StoreError(f"job {job_id} is running; stop it with `ferlab jobs cancel {job_id}` (or Cancel) "
                                 "and delete it once it has stopped")
            info = _job(row)
            trials = select(SqlTrial.id).where(SqlTrial.job_id == job_id)
            s.execute(delete(SqlEpoch).where(SqlEpoch.trial_id.in_(trials)))
            s.execute(delete(SqlArtifact).where(SqlArtifact.trial_id.in_(trials)))
            s.execute(delete(SqlTrial).where(SqlTrial.job_id == job_id))
            s.delete(row)
            return info

    @retry_locked
    def set_job_log(self, job_id: int, path: str) -> None:
        with self.session() as s:
            _one(s, SqlJob, job_id, "job").log_path = path

    # --- workers -------------------------------------------------------------------------------

    @retry_locked
    def register_worker(self, worker: str, host: str, pid: int) -> None:
        with self.session() as s:
            row = s.get(SqlWorker, worker) or SqlWorker(id=worker, host=host, pid=pid)
            row.status, row.heartbeat_at = "idle", utcnow()
            s.add(row)

    @retry_locked
    def worker_heartbeat(self, worker: str, status: str, job_id: int | None = None) -> None:
        with self.session() as s:
            now = utcnow()
            s.execute(update(SqlWorker).where(SqlWorker.id == worker).values(status=status, heartbeat_at=now))
            if job_id is not None:
                s.execute(update(SqlJob).where(SqlJob.id == job_id, SqlJob.worker == worker,
                                               SqlJob.status == "running").values(heartbeat_at=now))

    def live_workers(self, within: float) -> list[E.WorkerInfo]:
        cutoff = utcnow() - timedelta(seconds=within)
        with self.session() as s:
            q = select(SqlWorker).where(SqlWorker.status != "stopped", SqlWorker.heartbeat_at >= cutoff)
            return [_worker(r) for r in s.scalars(q)]

    def job_summaries(self, limit: int | None = None, status: str | None = None) -> list[E.JobSummary]:
        """Every job (newest first) with its trial and epoch counts, best val accuracy and the
        accuracy of its saved model: four queries, whatever the number of jobs."""
        with self.session() as s:
            jobs = [_job(r) for r in s.scalars(self._jobs_query(status, limit))]
            ids = [j.id for j in jobs]
            if not ids:
                return []
            trial_rows = s.execute(select(SqlTrial.job_id, SqlTrial.id, SqlTrial.best_val_accuracy, SqlTrial.params)
                                   .where(SqlTrial.job_id.in_(ids))).all()
            pace = func.avg(case((SqlEpoch.epoch > 1, SqlEpoch.seconds)))    # a trial's first epoch also compiles
            counted = s.execute(select(SqlTrial.job_id, func.count(SqlEpoch.id), pace, func.sum(SqlEpoch.seconds))
                                .join(SqlEpoch, SqlEpoch.trial_id == SqlTrial.id)
                                .where(SqlTrial.job_id.in_(ids)).group_by(SqlTrial.job_id)).all()
            epochs = {job_id: n for job_id, n, _, _ in counted}
            seconds = {job_id: sec for job_id, _, sec, _ in counted}
            totals = {job_id: total for job_id, _, _, total in counted}
            # only the flip-TTA figure out of each evaluation's JSON, not its tables (a page rerun reads this)
            tta = SqlArtifact.metrics[("tta", "accuracy")].as_float()
            arts = s.execute(_scored(select(SqlTrial.job_id, SqlArtifact.accuracy, SqlArtifact.split, tta), ids)).all()
        best: dict[int, tuple] = {}
        count: dict[int, int] = {}
        for job_id, trial_id, val, params in trial_rows:
            count[job_id] = count.get(job_id, 0) + 1
            if val is not None and (job_id not in best or val > best[job_id][0]):
                best[job_id] = (val, trial_id, params)
            elif job_id not in best:
                best.setdefault(job_id, (None, trial_id, params))
        test = _best_scored((job_id, acc, (acc, split, acc_tta)) for job_id, acc, split, acc_tta in arts)
        return [E.JobSummary(j, count.get(j.id, 0), epochs.get(j.id, 0), *best.get(j.id, (None, None, None)),
                             *test.get(j.id, (None, None, None)), epoch_seconds=seconds.get(j.id),
                             seconds_total=totals.get(j.id)) for j in jobs]

    # --- trials and epochs ---------------------------------------------------------------------

    @retry_locked
    def start_trial(self, job_id: int, number: int, hyperparameters: dict, *, params: int | None = None,
                    tuner_trial_id: str | None = None) -> E.TrialInfo:
        """The trial `number` of a job, created or (on resume) set running again."""
        with self.session() as s:
            row = s.scalar(select(SqlTrial).where(SqlTrial.job_id == job_id, SqlTrial.number == number))
            if row is None:
                row = SqlTrial(job_id=job_id, number=number, hyperparameters=hyperparameters)
                s.add(row)
            row.status, row.error, row.finished_at = "running", None, None
            row.hyperparameters = hyperparameters
            row.params = params if params is not None else row.params
            row.tuner_trial_id = tuner_trial_id or row.tuner_trial_id
            s.flush()
            return _trial(row)

    @retry_locked
    def set_trial_params(self, trial_id: int, params: int) -> None:
        with self.session() as s:
            _one(s, SqlTrial, trial_id, "trial").params = int(params)

    @retry_locked
    def finish_trial(self, trial_id: int, status: str, error: str | None = None) -> E.TrialInfo:
        if status not in TRIAL_STATUSES:
            raise ValueError(f"unknown trial status {status!r}")
        with self.session() as s:
            row = _one(s, SqlTrial, trial_id, "trial")
            row.status, row.error, row.finished_at = status, error, utcnow()
            return _trial(row)

    def list_trials(self, job_id: int | None = None) -> list[E.TrialInfo]:
        with self.session() as s:
            q = select(SqlTrial).order_by(SqlTrial.job_id, SqlTrial.number)
            if job_id is not None:
                q = q.where(SqlTrial.job_id == job_id)
            return [_trial(r) for r in s.scalars(q)]

    def get_trial(self, trial_id: int) -> E.TrialInfo:
        with self.session() as s:
            return _trial(_one(s, SqlTrial, trial_id, "trial"))

    @retry_locked
    def record_epoch(self, trial_id: int, epoch: int, *, loss=None, accuracy=None, val_loss=None,
                     val_accuracy=None, learning_rate=None, seconds=None) -> E.EpochInfo:
        """Store one epoch and commit at once. A re-run epoch (after a resume) replaces its row."""
        values = dict(loss=loss, accuracy=accuracy, val_loss=val_loss, val_accuracy=val_accuracy,
                      learning_rate=learning_rate, seconds=seconds)
        values = {k: (None if v is None else float(v)) for k, v in values.items()}
        with self.session() as s:
            row = s.scalar(select(SqlEpoch).where(SqlEpoch.trial_id == trial_id, SqlEpoch.epoch == epoch))
            if row is None:
                row = SqlEpoch(trial_id=trial_id, epoch=epoch)
                s.add(row)
            for k, v in values.items():
                setattr(row, k, v)
            s.flush()
            self._refresh_best_in(s, trial_id)
            return _epoch(row)

    @retry_locked
    def truncate_epochs(self, trial_id: int, after: int) -> int:
        """Drop epochs past `after` (work lost with a crash, to be run again). Returns how many."""
        with self.session() as s:
            n = s.execute(delete(SqlEpoch).where(SqlEpoch.trial_id == trial_id, SqlEpoch.epoch > after)).rowcount
            self._refresh_best_in(s, trial_id)
            return n

    @staticmethod
    def _refresh_best_in(s: Session, trial_id: int) -> None:
        best = s.execute(select(SqlEpoch.epoch, SqlEpoch.val_accuracy)
                         .where(SqlEpoch.trial_id == trial_id, SqlEpoch.val_accuracy.is_not(None))
                         .order_by(SqlEpoch.val_accuracy.desc(), SqlEpoch.epoch).limit(1)).first()
        trial = s.get(SqlTrial, trial_id)
        trial.best_epoch, trial.best_val_accuracy = (best[0], best[1]) if best else (None, None)

    def epochs(self, trial_ids: Iterable[int]) -> list[E.EpochInfo]:
        ids = list(trial_ids)
        if not ids:
            return []
        with self.session() as s:
            q = select(SqlEpoch).where(SqlEpoch.trial_id.in_(ids)).order_by(SqlEpoch.trial_id, SqlEpoch.epoch)
            return [_epoch(r) for r in s.scalars(q)]

    def count_epochs(self, trial_id: int) -> int:
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(SqlEpoch).where(SqlEpoch.trial_id == trial_id))

    # --- artifacts -----------------------------------------------------------------------------

    @retry_locked
    def add_artifact(self, trial_id: int, path: str, *, kind: str = "model", dataset: str | None = None,
                     split: str | None = None, accuracy: float | None = None,
                     metrics: dict | None = None) -> E.ArtifactInfo:
        with self.session() as s:
            row = SqlArtifact(trial_id=trial_id, kind=kind, path=path, dataset=dataset, split=split,
                              accuracy=accuracy, metrics=metrics or {})
            s.add(row)
            s.flush()
            return _artifact(row)

    @retry_locked
    def set_artifact_model(self, artifact_id: int, path: str, faces: dict | None = None) -> E.ArtifactInfo:
        """Name the model file an evaluation was made with (a run trained elsewhere): it becomes a
        model artifact, its figures unchanged; `faces`, where given, is what that file says of each
        face (kept beside the figures, as a run evaluated here keeps it)."""
        with self.session() as s:
            row = _one(s, SqlArtifact, artifact_id, "artifact")
            row.path, row.kind = path, "model"
            if faces is not None:
                row.metrics = {**(row.metrics or {}), "faces": faces}
            s.flush()
            return _artifact(row)

    def model_paths(self, job_id: int) -> list[str]:
        """The model files a job's trials saved, oldest first."""
        with self.session() as s:
            q = (select(SqlArtifact.path).join(SqlTrial, SqlTrial.id == SqlArtifact.trial_id)
                 .where(SqlTrial.job_id == job_id, SqlArtifact.kind == "model", SqlArtifact.path != "")
                 .order_by(SqlArtifact.id))
            return [p for p in s.scalars(q) if p]

    def evaluations(self, job_ids: Iterable[int]) -> dict[int, E.ArtifactInfo]:
        """Each job's evaluation with its per-class tables: that of its best saved model, the one
        job_summaries() ranks it by (jobs without one are left out)."""
        with self.session() as s:
            rows = s.execute(_scored(select(SqlTrial.job_id, SqlArtifact), list(job_ids))).all()
            return _best_scored((job_id, row.accuracy, _artifact(row)) for job_id, row in rows)

    def list_artifacts(self, trial_id: int | None = None) -> list[E.ArtifactInfo]:
        with self.session() as s:
            q = select(SqlArtifact).order_by(SqlArtifact.id)
            if trial_id is not None:
                q = q.where(SqlArtifact.trial_id == trial_id)
            return [_artifact(r) for r in s.scalars(q)]

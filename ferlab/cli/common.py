"""What the `ferlab` commands share: the store they open, jobs they take up or queue, and model
files named by path or job number."""

from __future__ import annotations

import sys
from pathlib import Path


def open_store():
    from ferlab.runner import reap_foreground
    from ferlab.store import Store

    store = Store()
    reap_foreground(store)   # jobs left "running" by a foreground process that is gone
    return store


def take_up(store, job) -> None:
    """Own a stopped job from this (foreground) process; refuse one that something still runs."""
    from ferlab.training.fit import foreground_worker

    if job.status == "running":
        raise ValueError(f"job {job.id} is running ({job.worker}); wait for it, or stop it with "
                         f"`ferlab jobs cancel {job.id}` first")
    store.run_in_foreground(job.id, foreground_worker())


def submit_job(store, kind: str, spec: dict) -> int:
    from ferlab.runner import ensure_worker, submit

    job = submit(store, kind, spec)
    pid = ensure_worker(store)
    print(f"queued job {job.id} ({kind})" + (f"; started a worker (pid {pid})" if pid else "; a worker is running")
          + f"\nfollow it with `ferlab jobs show {job.id}` and `ferlab jobs log {job.id}`")
    return 0


def say_estimate(store, spec: dict) -> None:
    """About how long the run takes here, where this machine has run the same model before."""
    from ferlab.runner.jobs import estimate, format_duration

    found = estimate(store.job_summaries(), spec)
    if found:
        print(f"about {format_duration(found.seconds)} on this machine: {found.epoch_seconds:,.0f} s an epoch in "
              f"{found.jobs} (same model, batch size, precision and data set, on a machine like this one)", flush=True)


def member_file(store, ref: str, checkpoint_ok: bool = False) -> str:
    """An ensemble member: a model (as model_file) or, with "#K", the K-th model of an ensemble."""
    from ferlab.models.config import member_ref

    path, k = member_ref(ref)
    return model_file(store, path, checkpoint_ok) + (f"#{k}" if k is not None else "")


def model_file(store, ref: str, checkpoint_ok: bool = False) -> str:
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

"""The worker: claims queued jobs, runs each in a child process, heartbeats, recovers stale jobs.

A crash inside TensorFlow kills the child, not the worker. The child dies with its worker
(PR_SET_PDEATHSIG), so a worker killed with SIGKILL leaves a stale heartbeat; the next worker
requeues that job and the child resumes it from its last checkpoint.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ferlab import config
from ferlab.store import Store
from ferlab.store.entities import parse_foreground_owner

HEARTBEAT_EVERY = float(os.environ.get("FERLAB_HEARTBEAT_S", "2"))
STALE_AFTER = float(os.environ.get("FERLAB_STALE_AFTER_S", "30"))


def _die_with_parent() -> None:
    """In the child: receive SIGKILL when the worker that started it dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Worker:
    store: Store
    name: str = ""
    poll: float = 1.0
    stale_after: float = STALE_AFTER

    def __post_init__(self):
        self.name = self.name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._stop = False

    def stop(self, *_):
        self._stop = True

    def run(self, *, once: bool = False, max_jobs: int | None = None, idle_exit: float | None = None) -> int:
        """Run jobs until stopped; `once`: until the queue is empty; returns jobs run."""
        self.store.register_worker(self.name, socket.gethostname(), os.getpid())
        done, idle_since = 0, time.monotonic()
        try:
            while not self._stop and (max_jobs is None or done < max_jobs):
                for job_id in self.store.requeue_stale(self.stale_after):
                    print(f"[worker {self.name}] job {job_id}: stale heartbeat, requeued to resume", flush=True)
                for job_id in reap_foreground(self.store):
                    print(f"[worker {self.name}] job {job_id}: its foreground process is gone, marked stopped", flush=True)
                job = self.store.claim_job(self.name)
                if job is None:
                    if once or (idle_exit is not None and time.monotonic() - idle_since > idle_exit):
                        break
                    self.store.worker_heartbeat(self.name, "idle")
                    time.sleep(self.poll)
                    continue
                self.run_job(job.id)
                done += 1
                idle_since = time.monotonic()
        finally:
            self.store.worker_heartbeat(self.name, "stopped")
        return done

    def run_job(self, job_id: int) -> int:
        log_path = config.run_dir(job_id) / "log.txt"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.store.set_job_log(job_id, str(log_path))
        print(f"[worker {self.name}] job {job_id}: started, log {log_path}", flush=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1", FERLAB_DB_URL=self.store.url)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with open(log_path, "ab") as log:
            child = subprocess.Popen([sys.executable, "-m", "ferlab.runner.child", str(job_id)],
                                     stdout=log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=_die_with_parent if sys.platform == "linux" else None)
            while child.poll() is None:
                self.store.worker_heartbeat(self.name, "busy", job_id)
                try:
                    child.wait(timeout=HEARTBEAT_EVERY)
                except subprocess.TimeoutExpired:
                    pass
        code = child.returncode
        job = self.store.get_job(job_id)
        if job.status == "running":  # the child died before it could say how it ended
            why = f"signal {-code}" if code < 0 else f"exit status {code}"
            self.store.set_job_status(job_id, "failed", error=f"the job's process ended with {why}; "
                                      f"see its log {log_path}; `ferlab jobs retry {job_id}` resumes it")
            for t in self.store.list_trials(job_id):
                if t.status == "running":
                    self.store.finish_trial(t.id, "interrupted", f"process ended with {why}")
        print(f"[worker {self.name}] job {job_id}: {self.store.get_job(job_id).status}", flush=True)
        return code


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # someone else's process
        return True
    return True


def reap_foreground(store: Store) -> list[int]:
    """Running jobs owned by a foreground `ferlab train`, `tune` or `ensemble` of this host whose
    process has ended (killed, or its terminal or session closed) are marked failed (cancelled
    where a cancel was asked), saying how to resume; a worker's jobs go by their heartbeats instead.
    Returns their numbers."""
    host, ended = socket.gethostname(), []
    for job in store.list_jobs(status="running"):
        owner = parse_foreground_owner(job.worker)
        if owner is None or owner[0] != host or _process_alive(owner[1]):
            continue
        pid = owner[1]
        resume = (f"`ferlab train --resume {job.id}` continues it from its last epoch checkpoint"
                  if job.kind == "train" else f"`ferlab jobs retry {job.id}` runs it again for a worker")
        status = "cancelled" if job.cancel_requested else "failed"
        note = f"its process ({pid} on {host}) ended before the job did; " + (
            "it was being cancelled" if status == "cancelled" else resume)
        if store.end_orphaned(job.id, job.worker, status, note):
            ended.append(job.id)
    return ended


def live_worker(store: Store) -> bool:
    return bool(store.live_workers(within=max(10.0, 5 * HEARTBEAT_EVERY)))


def start_detached_worker(idle_exit: float = 900.0) -> int:
    """Start `ferlab worker` in its own session (it outlives the caller); returns its pid."""
    log = config.home() / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ferlab", "worker", "--idle-exit", str(idle_exit)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    return proc.pid


def ensure_worker(store: Store) -> int | None:
    """Start a detached worker when no live one is found; returns its pid, or None."""
    if live_worker(store):
        return None
    return start_detached_worker()


def tail(path: str | Path | None, lines: int = 40) -> str:
    """The last `lines` lines of a log ("" where there is none: see no_log_reason)."""
    if not path or not Path(path).exists():
        return ""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 64 * 1024))
        return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])


def no_log_reason(job) -> str:
    """Why a job shows no log: a worker keeps one per job it runs; a command run in a shell
    without --background writes to that shell."""
    if job.origin == "reference":
        return f"job {job.id} is a shipped reference run: a record of a run made elsewhere, with no log here"
    if job.log_path:
        if Path(job.log_path).exists():
            return f"job {job.id}'s log {job.log_path} is empty so far"
        return f"job {job.id}'s log {job.log_path} is gone (moved or deleted)"
    if parse_foreground_owner(job.worker):
        runs, went = ("runs", "goes") if job.status == "running" else ("ran", "went")
        return (f"job {job.id} {runs} in the foreground (a `ferlab` command in a shell, without --background): "
                f"its output {went} to that shell, and no log is kept")
    if job.status == "queued":
        return f"job {job.id} has no log yet: it waits for a worker"
    return f"job {job.id} has no log (logs are kept for jobs a worker runs)"

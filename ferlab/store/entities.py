"""Frozen values handed out by the store (never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# A job run by a foreground `ferlab train`, `tune` or `ensemble` records this owner instead of a
# worker's name: "foreground:HOST:PID", so that a later command on HOST can tell whether it lives.
FOREGROUND = "foreground"


def foreground_owner(host: str, pid: int) -> str:
    return f"{FOREGROUND}:{host}:{pid}"


def parse_foreground_owner(worker: str | None) -> tuple[str, int] | None:
    """(host, pid) of a foreground owner; None for a worker's name (or no owner)."""
    kind, _, rest = (worker or "").partition(":")
    host, _, pid = rest.rpartition(":")
    return (host, int(pid)) if kind == FOREGROUND and pid.isdigit() else None


@dataclass(frozen=True)
class DatasetInfo:
    id: int
    name: str
    source: str
    layout: str
    fingerprint: str
    cache_path: str
    synthetic: bool
    val_from_train: bool
    val_fraction: float
    seed: int
    counts: dict
    skipped: int
    problems: tuple[str, ...]
    created_at: datetime

    def split_sizes(self) -> dict[str, int]:
        return {split: sum(c) for split, c in self.counts.items()}


MACHINES_JOIN = " | "      # between the machines a job ran on (no machine description holds it)


@dataclass(frozen=True)
class JobInfo:
    id: int
    experiment_id: int | None
    kind: str
    spec: dict
    status: str
    origin: str
    worker: str | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    attempts: int
    error: str | None
    log_path: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    machine: str | None = None   # the machine(s) it ran on, as recorded (None: not recorded)

    @property
    def machines(self) -> list[str]:
        """The machines it ran on (ran_on), one by one, in the order they began."""
        return self.ran_on.split(MACHINES_JOIN) if self.ran_on else []

    @property
    def ran_on(self) -> str | None:
        """The machine(s) it ran on: recorded by the process that ran it, or for a shipped reference
        run, the one its record names."""
        return self.machine or self.spec.get("reference_machine")


@dataclass(frozen=True)
class TrialInfo:
    id: int
    job_id: int
    number: int
    tuner_trial_id: str | None
    hyperparameters: dict
    status: str
    params: int | None
    best_val_accuracy: float | None
    best_epoch: int | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class EpochInfo:
    trial_id: int
    epoch: int
    loss: float | None
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float | None
    seconds: float | None


@dataclass(frozen=True)
class ArtifactInfo:
    id: int
    trial_id: int
    kind: str
    path: str
    dataset: str | None
    split: str | None
    accuracy: float | None
    metrics: dict
    created_at: datetime


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    status: str
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True)
class JobSummary:
    """A job with what the pages show about it, gathered in a few queries for all jobs."""

    job: JobInfo
    trials: int
    epochs: int                      # epoch rows stored, all trials
    best_val_accuracy: float | None
    best_trial_id: int | None
    params: int | None
    test_accuracy: float | None      # of the job's best saved model
    test_split: str | None
    test_accuracy_tta: float | None = None   # the same model with flip test-time augmentation, where measured
    epoch_seconds: float | None = None       # mean wall time of its epochs, each trial's first left out (compiling)
    seconds_total: float | None = None       # wall time of all its stored epochs, all trials (None: none timed)

"""Where ferlab keeps things (relative to the working directory unless set), and which machine
this is."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def home() -> Path:
    """Folder for caches, checkpoints, models and logs (FERLAB_HOME, default ./.ferlab)."""
    return Path(os.environ.get("FERLAB_HOME", ".ferlab")).expanduser().resolve()


def db_url() -> str:
    """The store: FERLAB_DB_URL (any SQLAlchemy URL), default SQLite at ./runs.db."""
    return os.environ.get("FERLAB_DB_URL") or f"sqlite:///{Path('runs.db').resolve()}"


def cache_dir() -> Path:
    return home() / "datasets"


def runs_dir() -> Path:
    return home() / "runs"


def run_dir(job_id: int) -> Path:
    """A job's folder: checkpoints, its model, a worker's log."""
    return runs_dir() / f"job-{job_id}"


NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")     # one folder per GPU the NVIDIA driver sees


def gpus() -> list[str]:
    """The NVIDIA GPUs of this machine by model name, from the driver's files (no framework is
    imported, so it costs nothing where there is none); [] without the driver."""
    names = []
    try:
        for info in sorted(NVIDIA_GPUS.glob("*/information")):
            names += [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                      if line.startswith("Model:")]
    except OSError:
        pass
    return names


def machine() -> str:
    """This machine in words: architecture, CPU model, cores, and its GPUs where it has any (what a
    reader needs to weigh a time)."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip() + ", "
                break
    except OSError:
        pass
    found = gpus()
    return f"{platform.machine()}, {model}{os.cpu_count()} CPUs" + (f", GPU {', '.join(found)}" if found else "")

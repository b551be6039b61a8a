"""Shared fixtures: a tmp store and FERLAB_HOME per test, FER2013 when present, PostgreSQL."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
from glob import glob
from pathlib import Path

import numpy as np

import ferlab  # noqa: F401  (loads pylibsrtp before TensorFlow, see ferlab/__init__.py)
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Tests start from empty stores; tests/store/test_reference.py seeds on purpose.
os.environ["FERLAB_SEED_REFERENCE"] = "0"
# A test that takes neither `home` nor `store` (or a ferlab subprocess it starts) still never writes
# to the developer's runs.db or .ferlab/: they default to a folder of this test session's own.
_SESSION = Path(tempfile.mkdtemp(prefix="ferlab-tests-"))
atexit.register(shutil.rmtree, _SESSION, True)
os.environ["FERLAB_HOME"] = str(_SESSION / "home")
os.environ["FERLAB_DB_URL"] = f"sqlite:///{_SESSION / 'runs.db'}"

REPO = Path(__file__).resolve().parents[1]
FER2013 = Path(os.environ.get("FERLAB_FER2013", REPO.parent / "shared" / "fer2013"))
PHOTOS = REPO.parent / "shared" / "photos"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty FERLAB_HOME and working directory for this test."""
    h = tmp_path / "home"
    monkeypatch.setenv("FERLAB_HOME", str(h))
    monkeypatch.delenv("FERLAB_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return h


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.fixture
def store(home, db_url, monkeypatch):
    from ferlab.store import Store

    monkeypatch.setenv("FERLAB_DB_URL", db_url)
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def fer2013() -> Path:
    if not (FER2013 / "train").is_dir():
        pytest.skip(f"FER2013 image folders not found at {FER2013}")
    return FER2013


@pytest.fixture(scope="session")
def real_faces() -> dict[str, list[Path]]:
    """A few real FER2013 files per class (train split), when the data is present."""
    if not (FER2013 / "train").is_dir():
        pytest.skip(f"FER2013 image folders not found at {FER2013}")
    return {d.name: sorted(d.iterdir())[:4] for d in sorted((FER2013 / "train").iterdir())}


# --- PostgreSQL: Debian's server, started in a tmp dir for the test session ----------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_url():
    bins = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql)")
    bindir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="ferlab-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(as_user + [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
                              "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        subprocess.run(as_user + [str(bindir / "createdb"), "-h", str(sock), "-p", str(port), "-U",
                                  "postgres", "ferlab_test"], check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/ferlab_test"
    finally:
        subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

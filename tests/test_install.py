"""ferlab installed from its wheel, as `pip install .` does, not run from a checkout."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs in the installed copy, from a folder outside the checkout.
PROBE = """
import sys
from pathlib import Path

import ferlab
from ferlab.inference.models import SHIPPED, available_models, model_card
from ferlab.store import Store
from ferlab.store.reference import REFERENCE_FILE

site = Path(sys.argv[1]).resolve()
assert Path(ferlab.__file__).resolve().is_relative_to(site), ferlab.__file__
store = Store(sys.argv[2])          # a new store: the schema from the packaged migrations, seeded
jobs = [j for j in store.list_jobs() if j.origin == "reference"]
shipped = [j.id for j in jobs if str(SHIPPED) in store.model_paths(j.id)]
print(f"reference runs {len(jobs)}; shipped model of job {shipped}; default {available_models(store)[0].path}")
print(f"shipped {SHIPPED}\\nreference {REFERENCE_FILE}")
card = model_card()
print(f"card from {card[1] if card else None}: {card[0].splitlines()[0] if card else ''}")
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_wheel_carries_the_shipped_model_reference_runs_and_migrations(tmp_path):
    """A non-editable install predicts with the shipped model and seeds a new store with the reference
    runs, as a checkout does: before, the wheel held the code and migrations but not ferlab/assets."""
    source = tmp_path / "src"       # built from a copy: a build writes build/ and *.egg-info where it runs
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "ferlab", source / "ferlab", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # with this venv's setuptools where it has one (Python 3.11's venvs do), else pip fetches it
    local = ["--no-build-isolation"] if find_spec("setuptools") and find_spec("wheel") else []
    subprocess.run([*pip, "wheel", str(source), "--no-deps", *local, "-w", str(tmp_path / "dist")],
                   check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("ferlab-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), FERLAB_SEED_REFERENCE="1", FERLAB_HOME=str(elsewhere / "home"))
    db = f"sqlite:///{elsewhere / 'runs.db'}"
    out = subprocess.run([sys.executable, "-c", PROBE, str(site), db], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    installed = site / "ferlab" / "assets"
    assert f"shipped {installed / 'ferlab-default.keras'}\n" in out.stdout
    assert f"default {installed / 'ferlab-default.keras'}\n" in out.stdout       # Predict's first choice
    count = int(out.stdout.split("reference runs ")[1].split(";")[0])
    assert count > 10 and "shipped model of job [" in out.stdout and "job []" not in out.stdout
    for name in ("ferlab-default.keras", "reference_runs.json"):
        assert _digest(installed / name) == _digest(REPO / "ferlab" / "assets" / name)
    # the model card Predict shows, and its picture, as files of their own (links to docs/ in the repository)
    assert f"card from {installed}: # Model card: ferlab's shipped default model\n" in out.stdout
    for name in ("model-card.md", "occlusion-by-class.png"):
        assert not (installed / name).is_symlink() and _digest(installed / name) == _digest(REPO / "docs" / name)
    # the installed command runs outside the checkout on the store seeded there
    listed = subprocess.run([sys.executable, "-m", "ferlab", "jobs", "list", "--limit", "1000"], cwd=elsewhere,
                            env=dict(env, FERLAB_DB_URL=db), capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert len([line for line in listed.stdout.splitlines() if "  reference  " in line]) == count

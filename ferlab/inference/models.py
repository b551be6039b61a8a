"""Which models the Predict page and `ferlab predict` can use: the shipped default first, then
every completed model in the store, best first."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ferlab.data.catalog import synthetic_names
from ferlab.models.config import ENSEMBLE_NAME, MEMBER_PREFIX
from ferlab.store import Store

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "ferlab-default.keras"
# docs/model-card.md, packaged beside the model (a link to it in the repository), so that an installed
# ferlab shows the card too
CARD = SHIPPED.parent / "model-card.md"


@dataclass(frozen=True)
class ModelChoice:
    label: str
    path: str
    accuracy: float | None
    synthetic: bool


def available_models(store: Store | None) -> list[ModelChoice]:
    """The shipped model first, named with what its reference run scored where the store holds that
    run; then every model file of the store, best first."""
    models = [a for a in store.list_artifacts() if a.kind == "model" and a.path] if store is not None else []
    out = []
    if SHIPPED.exists():
        # the reference run the shipped file belongs to (seeding points it here) says what it scores
        run = next((a for a in models if Path(a.path).resolve() == SHIPPED and a.accuracy is not None), None)
        score = (f"{run.dataset} {_split_name(run)} acc {run.accuracy:.1%}, job {store.get_trial(run.trial_id).job_id}"
                 if run else "FER2013")
        out.append(ModelChoice(f"shipped default ({score})", str(SHIPPED),
                               run.accuracy if run else None, False))
    if store is not None:
        synthetic = synthetic_names(store)
        arts = [a for a in models if Path(a.path).exists()
                and Path(a.path).resolve() != SHIPPED]  # a reference run's copy of the shipped model
        for a in sorted(arts, key=lambda a: -(a.accuracy or 0)):
            trial = store.get_trial(a.trial_id)
            demo = a.dataset in synthetic
            acc = f"{a.split} acc {a.accuracy:.1%}" if a.accuracy is not None else "no score"
            members = (a.metrics or {}).get("members")
            what = f"ensemble of {len(members)}, " if members else ""
            out.append(ModelChoice(f"job {trial.job_id}: {what}{a.dataset}, {acc}" + (" [SYNTHETIC demo]" if demo else ""),
                                   a.path, a.accuracy, demo))
    return out


def shipped_job(store: Store) -> int | None:
    """The run or ensemble of the store that wrote the shipped file (as seeding ties a reference run
    to it), where the store holds one."""
    from ferlab.store.reference import model_owners

    return model_owners(store).get(str(SHIPPED.resolve()))


def model_card() -> tuple[str, Path] | None:
    """The shipped model's card as text, and the folder its images are named from; None where neither
    the packaged copy nor the repository's docs/model-card.md can be read."""
    for path in (CARD, SHIPPED.parents[2] / "docs" / CARD.name):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        # a checkout without symbolic links holds the link's target as the file's text: try docs/
        if text.startswith("# Model card"):
            return text, path.resolve().parent
    return None


def _split_name(artifact) -> str:
    """FER2013's own name for a split where the data set is FER2013 (val is PublicTest)."""
    if not (artifact.dataset or "").lower().startswith("fer2013"):
        return artifact.split
    return {"val": "PublicTest", "test": "PrivateTest"}.get(artifact.split, artifact.split)


def member_count(path: str | Path) -> int:
    """How many models the .keras file at `path` averages (1 for a single model or an unreadable
    file), read from its saved config without loading the weights."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))["config"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return 1
    if config.get("name") != ENSEMBLE_NAME:
        return 1
    return sum(layer.get("config", {}).get("name", "").startswith(MEMBER_PREFIX) for layer in config.get("layers", [])) or 1

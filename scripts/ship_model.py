"""Ship a trained job's best checkpoint as the default model and print what the model card needs.

    .venv/bin/python scripts/ship_model.py JOB [--data fer2013] [--split val]

Writes ferlab/assets/ferlab-default.keras (weights and architecture, no optimizer state), then
evaluates it on the split with and without flip test-time augmentation and prints the job's
command, seed, epochs, wall time and the per-class table, for docs/model-card.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import ferlab  # noqa: E402,F401


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("job", type=int)
    p.add_argument("--data", default="fer2013")
    p.add_argument("--split", default="val")
    args = p.parse_args()
    import keras

    from ferlab.data import load_dataset
    from ferlab.inference.models import SHIPPED
    from ferlab.store import Store
    from ferlab.training.evaluate import evaluate, format_report
    from ferlab.training.fit import run_dir_for

    store = Store()
    job = store.get_job(args.job)
    [trial] = store.list_trials(job.id)
    epochs = store.epochs([trial.id])
    model = keras.saving.load_model(run_dir_for(job.id) / "best.keras", compile=False, safe_mode=True)
    SHIPPED.parent.mkdir(parents=True, exist_ok=True)
    model.save(SHIPPED)
    shipped = keras.saving.load_model(SHIPPED, safe_mode=True)
    split = load_dataset(store, args.data)[args.split]
    plain, tta = evaluate(shipped, split), evaluate(shipped, split, tta=True)
    print(f"shipped {SHIPPED} ({SHIPPED.stat().st_size / 1e6:.1f} MB) from job {job.id}, best epoch {trial.best_epoch} "
          f"(val {trial.best_val_accuracy:.4f}) of {len(epochs)} run ({job.spec['epochs']} planned)")
    print(f"spec: {json.dumps(job.spec)}")
    print(f"wall time of the epochs: {sum(e.seconds or 0 for e in epochs) / 3600:.2f} h; machine {platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    print(f"\n{args.data} [{args.split}] without TTA:\n{format_report(plain)}")
    print(f"\nwith flip TTA: accuracy {tta.accuracy:.4f}")


if __name__ == "__main__":
    main()

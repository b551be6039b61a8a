"""Give a shipped reference run the face record of the same model evaluated again here.

    .venv/bin/python scripts/reference_faces.py KEY JOB [--file ferlab/assets/reference_runs.json]

KEY names a run of the reference file (its "key"); JOB is a job of this store (FERLAB_DB_URL, default
./runs.db) that evaluated the same model on the same faces, made again with the run's own command
(for the shipped ensemble: `ferlab ensemble ferlab/assets/ferlab-default.keras#1 ...#2 ...#3 --flip
--data fer2013`). The record is copied only where the job's data set, split and confusion matrix are
the run's, face count for face count; the Leaderboard then shows the faces behind any cell of that
reference run's confusion matrix wherever its faces are imported (CSV or image folders alike).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from ferlab.store import Store
    from ferlab.store.reference import REFERENCE_FILE

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("key")
    p.add_argument("job", type=int)
    p.add_argument("--file", type=Path, default=REFERENCE_FILE)
    args = p.parse_args()
    doc = json.loads(args.file.read_text())
    run = next((r for r in doc["runs"] if r["key"] == args.key), None)
    if run is None:
        print(f"error: no run {args.key!r} in {args.file}", file=sys.stderr)
        return 2
    [ev] = [ev for t in run["trials"] for ev in t["evaluations"]][:1] or [None]
    made = Store().evaluations([args.job]).get(args.job)
    if ev is None or made is None or "faces" not in made.metrics:
        print(f"error: {args.key} has no evaluation, or job {args.job} no face record", file=sys.stderr)
        return 2
    same = ((made.dataset, made.split) == (ev["dataset"], ev["split"])
            and made.metrics["plain"]["confusion"] == ev["metrics"]["plain"]["confusion"])
    if not same:
        print(f"error: job {args.job} ({made.dataset} [{made.split}], accuracy {made.accuracy:.4f}) did not "
              f"predict as {args.key} did ({ev['dataset']} [{ev['split']}], accuracy {ev['accuracy']:.4f})",
              file=sys.stderr)
        return 1
    ev["metrics"]["faces"] = made.metrics["faces"]
    args.file.write_text(json.dumps(doc, indent=1))
    print(f"{args.key}: face record of {len(made.metrics['faces']['predicted']):,} faces from job {args.job}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which models to add to an ensemble: the accuracy of BASE averaged with every subset of CANDIDATES.

    .venv/bin/python scripts/ensemble_subsets.py --base ferlab/assets/ferlab-default.keras \
        --add A.keras B.keras C.keras [--against OLD.keras ...] [--data fer2013] [--split val]

Each file's models are scored once, on each face and its mirror image (an ensemble file counts as
its members, as `ferlab ensemble` counts it), computing in float32 as Predict does; every ensemble is
then an average of those probabilities, so 2^k subsets cost no more than scoring k models. Each line
gives the accuracy without and with flip test-time augmentation, the gain with flip TTA over the
first line (the base alone), or over the models of `--against` (say, the shipped model, when its
members are among the candidates), in points with its paired standard error (from the faces only
one of the two gets right, as `ferlab evaluate --against` counts them), and 2 bytes a parameter: about
what `ferlab ensemble ... --flip` then `scripts/ship_model.py --weights float16` would write (the
zipped file comes out a little smaller), against the 25 MB that the shipped model may weigh.
Picking the best line on the split it is scored on is optimistic: build the one you choose with
`ferlab ensemble` and compare it with the model it would replace on the same faces with
`ferlab evaluate NEW --against OLD`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def subset_scores(probs: dict[str, np.ndarray], labels: np.ndarray, base: list[str],
                  candidates: list[str], against: list[str] | None = None
                  ) -> list[tuple[tuple[str, ...], float, float, float, float]]:
    """(added candidates, accuracy, accuracy with flip TTA, its gain with flip TTA over the models
    `against` (by default the first row), that gain's paired standard error) for base plus each
    subset of candidates, the smallest subsets first (the first row: base alone, or the first
    candidate where there is no base). probs[name]: (2, N, classes), the model's probabilities for
    the faces and for their mirror images; every model weighs the same."""
    rows, first = [], None
    if against:
        first = sum(probs[n][0] + probs[n][1] for n in against).argmax(1) == labels
    for r in range(len(candidates) + 1):
        for added in itertools.combinations(candidates, r):
            names = [*base, *added]
            if not names:
                continue
            plain = sum(probs[n][0] for n in names).argmax(1) == labels
            both = sum(probs[n][0] + probs[n][1] for n in names).argmax(1) == labels
            first = both if first is None else first
            gained, lost = int((both & ~first).sum()), int((first & ~both).sum())
            rows.append((added, float(plain.mean()), float(both.mean()), (gained - lost) / len(labels),
                         float(np.sqrt(gained + lost)) / len(labels)))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", nargs="*", default=[], help="model files every ensemble holds")
    p.add_argument("--add", nargs="+", required=True, help="model files to try adding")
    p.add_argument("--against", nargs="*", default=[],
                   help="model files whose average the gain column is measured against (default: the first line)")
    p.add_argument("--data", default="fer2013")
    p.add_argument("--split", default="val")
    args = p.parse_args()

    from ferlab.data.catalog import load_dataset
    from ferlab.models.ensemble import members_of, read_model
    from ferlab.store import Store
    from ferlab.training.evaluate import view_probabilities

    try:
        split = load_dataset(Store(), args.data, warn=print)[args.split]
    except KeyError as exc:                # no such split: the data set's own message names those it has
        raise SystemExit(f"error: {exc.args[0]}") from None
    probs, params, names = {}, {}, {}
    for path in dict.fromkeys([*args.base, *args.add, *args.against]):
        try:
            model = read_model(path, f"cannot score {path}", compute="float32")
        except ValueError as exc:
            raise SystemExit(f"error: {exc}") from None
        names[path] = []
        for k, member in enumerate(members_of(model), 1):
            name = f"{Path(path).name}#{k}"
            probs[name] = np.stack(view_probabilities(member, split.images, tta="flip"))
            params[name] = member.count_params()
            names[path].append(name)
            print(f"{name}: {(probs[name][0].argmax(1) == split.labels).mean():.4f}, "
                  f"{((probs[name][0] + probs[name][1]).argmax(1) == split.labels).mean():.4f} with flip TTA",
                  flush=True)
    base = [n for path in args.base for n in names[path]]
    candidates = [n for path in args.add for n in names[path]]
    against = [n for path in args.against for n in names[path]]
    print(f"\n{args.data} [{args.split}], {len(split.labels):,} faces; base: {', '.join(base) or '(none)'}"
          + (f"; gains against {', '.join(against)}" if against else ""))
    print(f"{'accuracy':>9} {'flip TTA':>9} {'vs against' if against else 'vs first':>16} {'float16 MB':>11}  added")
    for added, plain, flip, gain, se in subset_scores(probs, split.labels, base, candidates, against):
        mb = 2 * sum(params[n] for n in [*base, *added]) / 1e6
        print(f"{plain:9.4f} {flip:9.4f} {100 * gain:+7.2f} +- {100 * se:4.2f} pt {mb:11.1f}  "
              f"{', '.join(added) or '(base alone)'}")


if __name__ == "__main__":
    main()

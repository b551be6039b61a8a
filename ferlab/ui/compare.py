"""Which runs the Compare page's one-click views pick."""

from __future__ import annotations

from ferlab.runner.jobs import spec_differences
from ferlab.store.entities import JobSummary


def _train(summaries: list[JobSummary]) -> list[JobSummary]:
    return [s for s in summaries if s.job.kind == "train" and s.epochs > 0]


def pick_pair(summaries: list[JobSummary], view: str) -> list[int]:
    """The newest train run of each side of a view, preferring runs on the same data and epochs
    (and, for 5-conv vs 8-conv, the same optimizer).

    view: "arch" (5-conv vs 8-conv), "optimizer" (8-conv Adam vs 8-conv SGD) or "precision"
    (every bf16 run with its float32 twin: same spec and seed but the precision)."""
    runs = _train(summaries)
    if view == "precision":
        return precision_pairs(runs)

    def side(pred):
        return [s for s in runs if pred(s.job.spec)]

    if view == "arch":  # the same optimizer on both sides, so only the architecture differs
        left = side(lambda sp: sp["model"]["architecture"] == "5conv")
        right = side(lambda sp: sp["model"]["architecture"] == "8conv")
        alike = ("data", "optimizer")
    else:
        left = side(lambda sp: sp["model"]["architecture"] == "8conv" and sp["optimizer"] == "adam")
        right = side(lambda sp: sp["model"]["architecture"] == "8conv" and sp["optimizer"] == "sgd")
        alike = ("data",)
    for keys in (alike + ("epochs",), alike):  # newest first: a pair at equal epochs wins
        for a in left:
            for b in right:
                if all(a.job.spec.get(k) == b.job.spec.get(k) for k in keys):
                    return [a.job.id, b.job.id]
    return [s[0].job.id for s in (left, right) if s]


def precision_pairs(runs: list[JobSummary], most: int = 4) -> list[int]:
    """Up to `most` newest (bf16, float32) pairs of runs identical but for the precision (seed
    included), as one flat list of job ids: the pairs side by side show what bf16 costs."""
    float32 = [r for r in runs if r.job.spec.get("precision") == "float32"]
    picked: list[int] = []
    for r in runs:  # newest first; each bf16 run with its newest float32 twin
        if r.job.spec.get("precision") != "mixed_bfloat16" or len(picked) >= 2 * most:
            continue
        twin = next((f for f in float32 if [k for k, _ in spec_differences([r.job.spec, f.job.spec])]
                     == ["precision"]), None)
        if twin is not None:
            picked += [r.job.id, twin.job.id]
    return picked

"""Which runs the Compare page's one-click views pick."""

from __future__ import annotations

from ferlab.runner.jobs import spec_differences
from ferlab.store.entities import JobSummary


def _train(summaries: list[JobSummary]) -> list[JobSummary]:
    return [s for s in summaries if s.job.kind == "train" and s.epochs > 0]


def pick_pair(summaries: list[JobSummary], view: str) -> list[int]:
    """The newest train run of each side of a view, preferring completed runs, then runs on the
    same data and epochs (and, for 5-conv vs 8-conv, the same optimizer).

    view: "arch" (5-conv vs 8-conv), "optimizer" (8-conv Adam vs 8-conv SGD), "precision"
    (every bf16 run with its float32 twin: same spec and seed but the precision) or "distill"
    (every distilled run with its twin trained on the true labels alone)."""
    runs = _train(summaries)
    if view == "precision":
        return precision_pairs(runs)
    if view == "distill":
        return twin_pairs(runs, "distill_from", lambda sp: bool(sp.get("distill_from")),
                          lambda sp: not sp.get("distill_from"))

    def side(pred):   # newest first, completed runs before those stopped early or still running
        return sorted((s for s in runs if pred(s.job.spec)), key=lambda s: s.job.status != "completed")

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
    return twin_pairs(runs, "precision", lambda sp: sp.get("precision") == "mixed_bfloat16",
                      lambda sp: sp.get("precision") == "float32", most)


def twin_pairs(runs: list[JobSummary], field: str, subject, twin, most: int = 4) -> list[int]:
    """Up to `most` newest pairs of runs whose specs differ in `field` alone, one side matching
    `subject` and the other `twin` (predicates on a spec), as one flat list of job ids."""
    twins = [r for r in runs if twin(r.job.spec)]
    picked: list[int] = []
    for r in runs:  # newest first; each subject run with its newest twin
        if not subject(r.job.spec) or len(picked) >= 2 * most:
            continue
        other = next((t for t in twins if [k for k, _ in spec_differences([r.job.spec, t.job.spec])] == [field]), None)
        if other is not None:
            picked += [r.job.id, other.job.id]
    return picked


def first_view(summaries: list[JobSummary]) -> list[int]:
    """What the page opens on: the newest of the user's own runs, or, in a store holding only the
    shipped reference runs (a first start), the paper's comparison of its 8-conv model with Adam
    and with SGD; the newest run where neither applies."""
    own = [s.job.id for s in summaries if s.job.origin != "reference"]
    return own[:1] or pick_pair(summaries, "optimizer") or [s.job.id for s in summaries[:1]]

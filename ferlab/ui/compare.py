"""Which runs the Compare page's one-click views pick."""

from __future__ import annotations

from ferlab.store.entities import JobSummary


def _train(summaries: list[JobSummary]) -> list[JobSummary]:
    return [s for s in summaries if s.job.kind == "train" and s.epochs > 0]


def pick_pair(summaries: list[JobSummary], view: str) -> list[int]:
    """The newest train run of each side of a view, preferring runs on the same data and epochs.

    view: "arch" (5-conv vs 8-conv) or "optimizer" (8-conv Adam vs 8-conv SGD)."""
    runs = _train(summaries)

    def side(pred):
        return [s for s in runs if pred(s.job.spec)]

    if view == "arch":
        left = side(lambda sp: sp["model"]["architecture"] == "5conv")
        right = side(lambda sp: sp["model"]["architecture"] == "8conv")
    else:
        left = side(lambda sp: sp["model"]["architecture"] == "8conv" and sp["optimizer"] == "adam")
        right = side(lambda sp: sp["model"]["architecture"] == "8conv" and sp["optimizer"] == "sgd")
    for a in left:  # newest first: a matching pair on the same data and epoch budget wins
        for b in right:
            if a.job.spec["data"] == b.job.spec["data"] and a.job.spec["epochs"] == b.job.spec["epochs"]:
                return [a.job.id, b.job.id]
    return [s[0].job.id for s in (left, right) if s]

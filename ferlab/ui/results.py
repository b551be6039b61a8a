"""A run's stored evaluation class by class: recall, precision and F1 of each run, and its
confusion matrix (frames and Altair charts for the pages; nothing is computed again)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ferlab.labels import CLASSES
from ferlab.store.entities import ArtifactInfo, JobSummary
from ferlab.ui.tables import describe

MEASURES = ("recall", "precision", "f1")
CELL = 38           # pixels a side: room for a four-digit count, and every class label shows
VIEWS = {"plain": "the face alone", "tta": "with flip TTA"}


def view_of(artifact: ArtifactInfo, view: str = "plain") -> dict | None:
    """One evaluation's figures ('plain' or 'tta'), or None where the run stored none of that view."""
    metrics = artifact.metrics or {}
    found = metrics.get(view)
    if found is None and view == "plain" and "confusion" in metrics:    # a flat record
        found = metrics
    if not isinstance(found, dict) or len(found.get("confusion") or []) != len(CLASSES):
        return None
    return found


def run_choices(summaries: list[JobSummary], evaluations: dict[int, ArtifactInfo],
                synthetic_data: set[str]) -> dict[int, str]:
    """Runs whose stored evaluation has its per-class figures, labelled for a picker: FER2013 runs
    first, best first, then those on synthetic data."""
    rows = [x for x in summaries if x.job.id in evaluations and x.test_accuracy is not None
            and view_of(evaluations[x.job.id]) is not None]
    rows.sort(key=lambda x: (x.job.spec.get("data") in synthetic_data, -x.test_accuracy, x.job.id))
    labels = {}
    for x in rows:
        data = x.job.spec.get("data")
        tag = " [synthetic]" if data in synthetic_data else " [reference]" if x.job.origin == "reference" else ""
        labels[x.job.id] = (f"job {x.job.id}: {describe(x.job)} on {data}, {x.test_split} "
                            f"{x.test_accuracy:.2%}{tag}")
    return labels


def per_class_frame(evaluations: dict[int, ArtifactInfo], job_ids: list[int], view: str = "plain") -> pd.DataFrame:
    """One row per run and class: recall, precision, F1 and support (the true faces of the class)."""
    rows = []
    for job_id in job_ids:
        figures = view_of(evaluations[job_id], view) if job_id in evaluations else None
        if figures is None:
            continue
        art = evaluations[job_id]
        for i, name in enumerate(CLASSES):
            rows.append({"run": f"job {job_id}", "class": name, "recall": figures["recall"][i],
                         "precision": figures["precision"][i], "f1": figures["f1"][i],
                         "support": int(sum(figures["confusion"][i])), "split": art.split})
    return pd.DataFrame(rows, columns=["run", "class", *MEASURES, "support", "split"])


def measure_table(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Classes down, runs across, one measure; the last row is its mean over the classes (macro F1
    for F1, balanced accuracy for recall)."""
    table = frame.pivot(index="class", columns="run", values=measure).reindex(list(CLASSES))
    table = table[list(dict.fromkeys(frame["run"]))]
    table.loc["mean"] = table.mean()
    return table.rename_axis(columns=None).reset_index()


def measure_chart(frame: pd.DataFrame, measure: str) -> alt.Chart:
    order = list(dict.fromkeys(frame["run"]))
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("class:N", sort=list(CLASSES), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{measure}:Q", scale=alt.Scale(domain=[0, 1]), title=measure),
        color=alt.Color("run:N", sort=order), xOffset=alt.XOffset("run:N", sort=order),
        tooltip=["run", "class", alt.Tooltip("recall:Q", format=".1%"), alt.Tooltip("precision:Q", format=".1%"),
                 alt.Tooltip("f1:Q", format=".3f", title="F1"), "support:Q"])


def confusion_frame(figures: dict) -> pd.DataFrame:
    """The matrix as rows of (true, predicted, count, share of the true class's faces)."""
    rows = []
    for i, counts in enumerate(figures["confusion"]):
        total = max(1, sum(counts))
        for j, n in enumerate(counts):
            rows.append({"true": CLASSES[i], "predicted": CLASSES[j], "faces": int(n), "share": n / total})
    return pd.DataFrame(rows)


def confusion_chart(figures: dict, title: str) -> alt.LayerChart:
    """Rows are the true class, columns the predicted one; each cell's shade is its share of the
    row (so rare classes such as disgust read as plainly as happy) and its text the face count."""
    data = confusion_frame(figures)
    base = alt.Chart(data).encode(
        x=alt.X("predicted:N", sort=list(CLASSES), axis=alt.Axis(labelAngle=-45, labelOverlap=False)),
        y=alt.Y("true:N", sort=list(CLASSES), axis=alt.Axis(labelOverlap=False)))
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"),
                        legend=alt.Legend(title="share of row", format="%")),
        tooltip=["true", "predicted", "faces", alt.Tooltip("share:Q", format=".1%")])
    text = base.mark_text(fontSize=11).encode(
        text="faces:Q", color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("black")))
    return alt.layer(cells, text).properties(title=title, width=alt.Step(CELL), height=alt.Step(CELL))

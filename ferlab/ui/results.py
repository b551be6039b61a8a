"""A run's stored evaluation class by class: recall, precision and F1 of each run, its confusion
matrix, and the faces behind any cell of it (frames, charts and the Leaderboard's section; nothing
is computed again: every figure is the one stored when the run was evaluated; only the faces'
occlusion maps, on request, ask the run's model again)."""

from __future__ import annotations

from itertools import cycle
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ferlab.labels import CLASSES
from ferlab.store import Store
from ferlab.store.entities import ArtifactInfo, JobSummary
from ferlab.training.report import Faces
from ferlab.ui.common import friendly_errors, table
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


def cell_faces(faces: Faces, labels: np.ndarray, true: int, predicted: int,
               most: int = 24) -> tuple[int, list[tuple[int, int]]]:
    """How many faces of class `true` the run called `predicted`, and (face index, confidence in
    percent) of the `most` it was surest of, surest first (among mistakes, where to look for
    mislabelled faces)."""
    idx = np.flatnonzero((labels == true) & (faces.predicted == predicted))
    order = np.argsort(-faces.confidence[idx], kind="stable")
    return len(idx), [(int(i), int(faces.confidence[i])) for i in idx[order][:most]]


def largest_mistake(figures: dict) -> tuple[int, int]:
    """The off-diagonal cell with the most faces: (true, predicted)."""
    cm = np.asarray(figures["confusion"])
    np.fill_diagonal(cm, -1)
    true, predicted = np.unravel_index(int(cm.argmax()), cm.shape)
    return int(true), int(predicted)


@st.cache_data(show_spinner=False, max_entries=4)
def _split(_store: Store, name: str, split: str, cache_path: str):
    from ferlab.data.catalog import read_split

    return read_split(_store, name, split)


def class_by_class(store: Store, summaries: list[JobSummary], synthetic: set[str]) -> None:
    """The Leaderboard's section: runs side by side per class, their confusion matrices, and the
    faces behind a cell."""
    st.subheader("Class by class")
    evaluations = store.evaluations(x.job.id for x in summaries if x.test_accuracy is not None)
    choices = run_choices(summaries, evaluations, synthetic)
    if not choices:
        st.caption("A run's recall, precision and F1 per class and its confusion matrix show here once it has "
                   "finished.")
        return
    picked = st.multiselect("Runs", list(choices), default=list(choices)[:2], format_func=choices.get,
                            key="classes_runs")
    left, right = st.columns(2)
    measure = left.radio("Measure", MEASURES, horizontal=True, format_func=lambda m: "F1" if m == "f1" else m)
    view = right.radio("Faces", list(VIEWS), horizontal=True, format_func=VIEWS.get)
    per_class = per_class_frame(evaluations, picked, view)
    if per_class.empty:
        st.caption("Pick one or more runs.")
        return
    st.altair_chart(measure_chart(per_class, measure), width="stretch")
    table(measure_table(per_class, measure),
          column_config={c: st.column_config.NumberColumn(format="%.3f") for c in per_class["run"].unique()})
    st.caption("Each run's figures are of its best saved model on the split the leaderboard names, as stored when "
               "it finished. Confusion matrices: rows are the true class, columns the predicted one; the shade is "
               "the share of the row's faces, the number their count. The mean row is over the classes "
               "(for recall: balanced accuracy; for F1: macro F1).")
    for col, job_id in zip(cycle(st.columns(2)), picked):
        figures = view_of(evaluations[job_id], view)
        if figures is not None:
            col.altair_chart(confusion_chart(figures, f"job {job_id}: {figures['accuracy']:.2%} of {figures['n']:,} "
                                                      f"{evaluations[job_id].split} faces"), width="content")
    faces_behind_a_cell(store, {j: evaluations[j] for j in picked})


def model_here(art: ArtifactInfo) -> Path | None:
    """The model file an evaluation was made with, where it is on this machine (the shipped model's
    reference run has it; other reference runs keep their figures only)."""
    return Path(art.path) if art.kind == "model" and Path(art.path).is_file() else None


def faces_behind_a_cell(store: Store, evaluations: dict[int, ArtifactInfo]) -> None:
    st.markdown("**The faces behind a cell**")
    records = {j: Faces.from_dict(a.metrics.get("faces")) for j, a in evaluations.items()}
    recorded = {j: a for j, a in evaluations.items() if records[j] is not None}
    if not recorded:
        st.caption("Runs evaluated from this version on keep what their model said of each face, as does the "
                   "shipped model's reference run; pick one of those to see the faces behind any cell of its "
                   "confusion matrix.")
        return
    cols = st.columns(3)
    # first a run whose model file is here (the shipped one on a first start), whose maps can be drawn
    here = [j for j, a in recorded.items() if model_here(a)]
    job_id = cols[0].selectbox("Run", list(recorded), index=list(recorded).index(here[0]) if here else 0,
                               format_func=lambda j: f"job {j}", key="cell_run")
    art = recorded[job_id]
    true0, predicted0 = largest_mistake(view_of(art, "plain"))
    true = cols[1].selectbox("True class", range(len(CLASSES)), index=true0, format_func=CLASSES.__getitem__,
                             key=f"cell_true_{job_id}")
    predicted = cols[2].selectbox("Predicted as", range(len(CLASSES)), index=predicted0,
                                  format_func=CLASSES.__getitem__, key=f"cell_predicted_{job_id}")
    with friendly_errors(f"Reading {art.dataset} [{art.split}]"):
        info = None if art.dataset == "demo" else store.find_dataset(name=art.dataset)
        a_path = info is None and art.dataset != "demo" and Path(art.dataset).expanduser().exists()
        if art.dataset != "demo" and info is None and not a_path:
            st.info(f"Job {job_id} was evaluated on the data set {art.dataset!r}, which is not imported here: "
                    "import it on **Data** to see its faces.")
            return
        split = _split(store, art.dataset, art.split, info.cache_path if info else art.dataset)
        faces = records[job_id].aligned(split.images, split.labels)
        if faces is None:
            st.warning(f"The data set {art.dataset!r} here does not hold the {art.split} faces job {job_id} was "
                       "evaluated on (other faces, or other labels for them), so they cannot be shown.")
            return
        total, shown = cell_faces(faces, split.labels, true, predicted)
        what = "right" if true == predicted else f"called {CLASSES[predicted]}"
        st.caption(f"{total:,} {CLASSES[true]} face(s) of {art.dataset} [{art.split}] {what} by job {job_id} "
                   "(as the model predicts them, no test-time augmentation added)"
                   + (f"; the {len(shown)} it was surest of:" if total else "."))
        maps = cell_maps(art, job_id, split.images, shown, true, predicted) if shown else None
        pictures = maps or [split.images[i] for i, _ in shown]
        for row in range(0, len(shown), 8):
            for col, picture, (_, confidence) in zip(st.columns(8), pictures[row:row + 8], shown[row:row + 8]):
                col.image(picture, width=96 if maps else 72, caption=f"{confidence}%")


def cell_maps(art: ArtifactInfo, job_id: int, images: np.ndarray, shown: list[tuple[int, int]], true: int,
              predicted: int) -> list[np.ndarray] | None:
    """On request, the occlusion maps of a cell's faces shown (Predict's, on one scale for all of
    them), for the class the run called them or their true class; None for the faces alone."""
    from ferlab.inference.explain import overlays
    from ferlab.ui.predict import EXPLAIN_HELP, cached_predictor, occlusions_of

    model = model_here(art)
    if model is None:
        st.caption(f"Job {job_id}'s model file is not on this machine, so what its labels rest on cannot be "
                   "drawn here (a shipped reference run keeps its figures, not its model, except the shipped one).")
        return None
    left, right = st.columns([1, 2])
    if not left.toggle("What each label rests on (occlusion maps)", key="cell_maps", help=EXPLAIN_HELP):
        return None
    target = predicted
    if true != predicted:
        target = right.radio("Map of", (predicted, true), horizontal=True, key="cell_map_target",
                             format_func=lambda k: f"{CLASSES[k]} (what it called them)" if k == predicted
                             else f"{CLASSES[k]} (their true class)")
    batch = np.stack([images[i] for i, _ in shown]).astype("float32")[..., None]
    occlusions = occlusions_of(cached_predictor(str(model), model.stat().st_mtime), batch)
    st.caption(f"Maps of {CLASSES[target]}, on one scale for these faces: red where hiding a part lowers its "
               "probability, blue where hiding it raises it.")
    return overlays(batch, occlusions, [target] * len(occlusions), size=144)

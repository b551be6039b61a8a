"""Store values as pandas frames and Altair charts for the pages (no page logic here)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ferlab.data.dataset import SPLITS
from ferlab.labels import CLASSES
from ferlab.literature import all_results, reference_lines
from ferlab.runner.jobs import changed_from_preset, format_duration, planned_epochs, runs_cost, seconds_left
from ferlab.store import Store
from ferlab.store.entities import DatasetInfo, JobSummary
from ferlab.training.spec import EnsembleSpec


def datasets_frame(datasets: list[DatasetInfo]) -> pd.DataFrame:
    rows = []
    for d in datasets:
        sizes = d.split_sizes()
        rows.append({"name": d.name, "train": sizes.get("train", 0), "val": sizes.get("val", 0),
                     "test": sizes.get("test", 0), "layout": d.layout,
                     "kind": "synthetic demo" if d.synthetic else "FER2013", "skipped": d.skipped,
                     "source": d.source})
    return pd.DataFrame(rows)


def class_counts_chart(info: DatasetInfo) -> alt.Chart:
    rows = [{"split": split, "class": CLASSES[i], "images": n}
            for split, counts in info.counts.items() for i, n in enumerate(counts)]
    order = [x for x in SPLITS if x in info.counts]
    return alt.Chart(pd.DataFrame(rows)).mark_bar().encode(
        x=alt.X("class:N", sort=list(CLASSES)), y="images:Q", color=alt.Color("split:N", sort=order),
        xOffset=alt.XOffset("split:N", sort=order), tooltip=["split", "class", "images"])


def describe(job) -> str:
    spec = job.spec
    if job.kind == "import":
        return f"import {spec.get('path', '')}"
    if job.kind == "ensemble":
        return EnsembleSpec.label_of(spec)
    if job.kind == "tune":
        space = spec.get("space", {})
        return f"tune {space.get('architecture')} ({spec.get('algorithm')}, {spec.get('max_trials')} trials)"
    model = spec.get("model", {}).get("architecture")
    name = spec.get("preset") or "custom"
    if spec.get("preset") and changed_from_preset(spec):
        name += " (modified)"        # not the preset's recipe: its name alone would claim it was
    return f"{name}: {model}, {spec.get('optimizer')}"


def job_label(job) -> str:
    """How a picker names a job: its number, what it is, its data set, and [reference] for a shipped run."""
    return (f"job {job.id}: {describe(job)} on {job.spec.get('data')}"
            + (" [reference]" if job.origin == "reference" else ""))


def jobs_frame(summaries: list[JobSummary]) -> pd.DataFrame:
    rows = []
    for s in summaries:
        planned = planned_epochs(s.job)
        done = 1.0 if s.job.status == "completed" else (min(1.0, s.epochs / planned) if planned else 0.0)
        left = seconds_left(s)
        rows.append({"job": s.job.id, "kind": s.job.kind, "status": s.job.status, "what": describe(s.job),
                     "data": s.job.spec.get("data") if s.job.kind != "import" else s.job.spec.get("name"),
                     "progress": done, "epochs": s.epochs, "time left": format_duration(left) if left else None,
                     "best val acc": s.best_val_accuracy, "test acc": s.test_accuracy, "params": s.params,
                     "origin": s.job.origin, "created": s.job.created_at})
    return pd.DataFrame(rows, columns=["job", "kind", "status", "what", "data", "progress", "epochs", "time left",
                                       "best val acc", "test acc", "params", "origin", "created"])


def trials_frame(store: Store, job_id: int) -> pd.DataFrame:
    rows = []
    for t in store.list_trials(job_id):
        row = {"trial": t.number, "trial_id": t.id, "status": t.status, "best val acc": t.best_val_accuracy,
               "best epoch": t.best_epoch, "params": t.params}
        row.update({k: v for k, v in t.hyperparameters.items() if not isinstance(v, (dict, list))})
        rows.append(row)
    return pd.DataFrame(rows)


def _axis(column: pd.Series) -> pd.Series:
    """A hyperparameter scaled from its min (0) to its max (1), a choice among names (optimizer) by
    its place in their sorted order; 0.5 where it does not vary or a trial lacks it."""
    numbers = pd.to_numeric(column, errors="coerce")
    if not numbers.notna().any():
        names = sorted(column.dropna().astype(str).unique())
        numbers = column.astype(str).map({n: i for i, n in enumerate(names)})
    lo, hi = numbers.min(), numbers.max()
    if pd.isna(lo) or hi == lo:
        return pd.Series(0.5, index=column.index)
    return ((numbers - lo) / (hi - lo)).fillna(0.5)


def parallel_coordinates_chart(frame: pd.DataFrame, dims: list[str]) -> alt.Chart:
    """Each trial a line across its (min-max scaled) hyperparameters, coloured by val accuracy."""
    data = frame.dropna(subset=["best val acc"]).copy()
    long = []
    axes = {d: _axis(data[d]) for d in dims}
    for i, row in data.iterrows():
        for d in dims:
            long.append({"trial": row["trial"], "hyperparameter": d, "scaled": axes[d][i], "value": str(row[d]),
                         "val acc": row["best val acc"]})
    # the legend's colours from the worst trial to the best (its default samples can stop short of the best)
    low, high = data["best val acc"].min(), data["best val acc"].max()
    ends = sorted({round(float(low), 4), round(float(low + high) / 2, 4), round(float(high), 4)})
    return alt.Chart(pd.DataFrame(long)).mark_line(point=True).encode(
        x=alt.X("hyperparameter:N", sort=dims), y=alt.Y("scaled:Q", title="min to max"),
        detail="trial:N",
        color=alt.Color("val acc:Q", scale=alt.Scale(scheme="viridis"), legend=alt.Legend(values=ends)),
        tooltip=["trial", "hyperparameter", "value", alt.Tooltip("val acc:Q", format=".4f")])


def curves_frame(store: Store, trial_labels: dict[int, str]) -> pd.DataFrame:
    """One row per run, epoch and metric; "hours": the run's hours of epochs by the end of that
    epoch (the time its epochs took, whatever the pauses between sessions; none from an epoch
    whose time was not recorded on)."""
    rows, spent, untimed = [], {}, set()
    for e in sorted(store.epochs(trial_labels), key=lambda e: (e.trial_id, e.epoch)):
        if e.seconds is None:
            untimed.add(e.trial_id)
        spent[e.trial_id] = spent.get(e.trial_id, 0.0) + (e.seconds or 0.0)
        hours = None if e.trial_id in untimed else spent[e.trial_id] / 3600
        for metric, value in (("train accuracy", e.accuracy), ("val accuracy", e.val_accuracy),
                              ("train loss", e.loss), ("val loss", e.val_loss)):
            if value is not None:
                rows.append({"run": trial_labels[e.trial_id], "epoch": e.epoch, "hours": hours, "metric": metric,
                             "value": value})
    return pd.DataFrame(rows, columns=["run", "epoch", "hours", "metric", "value"])


def common_epochs(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the epochs every run in `frame` has reached, so curves compare at equal epochs."""
    if frame.empty:
        return frame
    last = frame.groupby("run")["epoch"].max().min()
    return frame[frame["epoch"] <= last]


def job_trial_labels(store: Store, job_ids: list[int]) -> dict[int, str]:
    labels = {}
    for job_id in job_ids:
        trials = store.list_trials(job_id)
        for t in trials:
            labels[t.id] = f"job {job_id}" if len(trials) == 1 else f"job {job_id} / trial {t.number}"
    return labels


CURVES_HEIGHT = 280   # pixels of plot, axes and legends aside


def curves_chart(frame: pd.DataFrame, kind: str = "accuracy", references: bool = False,
                 x: str = "epoch") -> alt.LayerChart | alt.Chart:
    """Train and val curves of `kind` per run, against epochs or (x="hours") hours of epochs."""
    data = frame[frame["metric"].str.endswith(kind)]
    if x == "hours":
        data = data.dropna(subset=["hours"])
        x_axis = alt.X("hours:Q", title="hours of epochs")
    else:
        x_axis = alt.X("epoch:Q", axis=alt.Axis(format="d", tickMinStep=1))    # epochs are whole: no tick at 1.5
    # points mark the epochs of short runs; on long ones they would hide which line is dashed
    points = alt.OverlayMarkDef(size=12) if data.empty or data["epoch"].max() <= 30 else False
    lines = alt.Chart(data).mark_line(point=points).encode(
        x=x_axis, y=alt.Y("value:Q", title=kind, scale=alt.Scale(zero=False)), color="run:N",
        # the legend draws each metric's line, not the points' dot, so that it shows which one is dashed
        strokeDash=alt.StrokeDash("metric:N", sort=["val " + kind, "train " + kind],
                                  legend=alt.Legend(symbolType="stroke", symbolStrokeColor="black", symbolStrokeWidth=2,
                                                    symbolFillColor="transparent", symbolSize=300)),
        tooltip=["run", "epoch", alt.Tooltip("hours:Q", format=".2f"), "metric", alt.Tooltip("value:Q", format=".4f")])
    # Every curves chart has the same plot height, whatever sits under it (the paper's legend): side
    # by side, the accuracy and loss plots line up.
    size = dict(height=CURVES_HEIGHT, autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    if not (references and kind == "accuracy"):
        return lines.properties(**size)
    # The paper's figures lie within 6 points of each other: labels on the lines would overprint, so
    # a legend names them, in the order the lines lie from the top, in greys that no run is drawn in.
    # It sits under the plot, so the plot keeps its width and no curve runs beneath it (inside the
    # plot, a short or weak run's curve can lie where the legend is). Both scales of the lines are
    # independent of the rules', strokeDash too: a shared one's legend (the metrics') would be drawn
    # above the runs', the other way round from the loss chart beside it.
    refs = pd.DataFrame([{"paper": f"{r.accuracy:.2%} {r.model.removeprefix('Sarmah et al.: ')}",
                          "accuracy": r.accuracy} for r in sorted(reference_lines(), key=lambda r: -r.accuracy)])
    greys = [f"#{v:02x}{v:02x}{v:02x}" for v in range(0x30, 0xc0, 0x90 // len(refs))][:len(refs)]
    rules = alt.Chart(refs).mark_rule(strokeDash=[4, 3]).encode(
        y="accuracy:Q", tooltip=["paper"],
        color=alt.Color("paper:N", sort=list(refs["paper"]), scale=alt.Scale(range=greys),
                        legend=alt.Legend(title="Sarmah et al. (test set)", symbolType="stroke", orient="bottom",
                                          direction="vertical", labelLimit=400, labelFontSize=10,
                                          titleFontSize=10, rowPadding=1)))
    return alt.layer(lines, rules).resolve_scale(color="independent", strokeDash="independent").properties(**size)


def leaderboard_frame(summaries: list[JobSummary], synthetic_data: set[str], literature: bool = True,
                      lineages: dict[int, list[int]] | None = None, shipped: int | None = None) -> pd.DataFrame:
    """Our completed models ranked by the accuracy of their best-val checkpoint on the test split (val
    where a data set has none: the "split" column says which), with the literature's rows merged
    and marked. What a model cost counts every run behind it (`lineages`: model_lineages): an
    ensemble's members, and the run a warm start started from; without lineages, a run's own.
    `shipped`: the job whose file Predict runs by default (models.shipped_job), ticked in a "shipped"
    column after the rank (none where no run of the store wrote that file)."""
    rows, lineages = [], lineages or {}
    by_id = {x.job.id: x for x in summaries}
    for s in summaries:
        if s.test_accuracy is None or s.job.kind == "import":
            continue
        spec = s.job.spec
        optimizer = spec.get("optimizer") or ",".join(spec.get("space", {}).get("optimizers", []))
        arch = (spec.get("model", {}).get("architecture") or spec.get("space", {}).get("architecture")
                or ("ensemble" if s.job.kind == "ensemble" else None))
        rows.append({"shipped": s.job.id == shipped, "model": f"job {s.job.id}: {describe(s.job)}",
                     "source": s.job.origin,
                     "accuracy": s.test_accuracy, "with flip TTA": s.test_accuracy_tta,
                     "split": s.test_split, "params": s.params,
                     "epochs": s.epochs or None,
                     "hours": s.seconds_total / 3600 if s.seconds_total else None, "machine": s.job.ran_on,
                     "architecture": arch, "optimizer": optimizer, "data": spec.get("data"),
                     "synthetic": spec.get("data") in synthetic_data})
        if s.job.kind == "ensemble" or s.job.id in lineages:   # an ensemble trains nothing itself
            rows[-1]["epochs"], rows[-1]["hours"], rows[-1]["machine"] = runs_cost(lineages.get(s.job.id), by_id)
    if literature:
        for r in all_results():
            rows.append({"shipped": False, "model": r.model, "source": "literature", "accuracy": r.accuracy,
                         "with flip TTA": None, "split": "test",
                         "params": r.params, "epochs": r.epochs, "hours": None, "machine": None,
                         "architecture": r.kind, "optimizer": None,
                         "data": "FER2013", "synthetic": False, "cited": r.source})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values("accuracy", ascending=False, kind="stable").reset_index(drop=True)
    if shipped is None:
        frame = frame.drop(columns=["shipped"])
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame

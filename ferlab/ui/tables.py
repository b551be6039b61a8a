"""Store values as pandas frames and Altair charts for the pages."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ferlab.labels import CLASSES
from ferlab.store import Store
from ferlab.store.entities import DatasetInfo


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
    return alt.Chart(pd.DataFrame(rows)).mark_bar().encode(
        x=alt.X("class:N", sort=list(CLASSES)), y="images:Q", color="split:N", xOffset="split:N",
        tooltip=["split", "class", "images"])


def jobs_frame(store: Store, limit: int = 50) -> pd.DataFrame:
    rows = []
    for job in store.list_jobs(limit=limit):
        trials = store.list_trials(job.id)
        best = max((t.best_val_accuracy or 0.0 for t in trials), default=None)
        epochs = sum(store.count_epochs(t.id) for t in trials)
        spec = job.spec
        rows.append({"job": job.id, "kind": job.kind, "status": job.status,
                     "preset": spec.get("preset") or spec.get("model", {}).get("architecture"),
                     "data": spec.get("data"), "epochs": f"{epochs}/{spec.get('epochs', '?')}",
                     "best val acc": best, "created": job.created_at})
    return pd.DataFrame(rows)


def curves_frame(store: Store, job_ids: list[int]) -> pd.DataFrame:
    trials = {t.id: t for j in job_ids for t in store.list_trials(j)}
    rows = []
    for e in store.epochs(trials):
        run = f"job {trials[e.trial_id].job_id} / trial {trials[e.trial_id].number}"
        for metric, value in (("train accuracy", e.accuracy), ("val accuracy", e.val_accuracy),
                              ("train loss", e.loss), ("val loss", e.val_loss)):
            if value is not None:
                rows.append({"run": run, "epoch": e.epoch, "metric": metric, "value": value})
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "value"])


def curves_chart(frame: pd.DataFrame, kind: str = "accuracy") -> alt.Chart:
    data = frame[frame["metric"].str.endswith(kind)]
    return alt.Chart(data).mark_line(point=True).encode(
        x="epoch:Q", y=alt.Y("value:Q", title=kind), color="run:N", strokeDash="metric:N",
        tooltip=["run", "epoch", "metric", alt.Tooltip("value:Q", format=".4f")])

"""Rerun time of the Compare and Leaderboard pages with 200 runs of 150 epochs in runs.db, and of the
Leaderboard where some of those runs are warm starts and ensembles (whose cost counts the runs
behind them, so the page traces them back).

    .venv/bin/python benchmarks/dashboard.py [--runs 200] [--epochs 150] [--repeats 5]

Builds the store with `make_store` (usable alone to get such a runs.db), then times each page's
rerun with Streamlit's AppTest (script execution, store queries and chart building; not the
browser's drawing). The baseline is the same pages on an empty store, in this same process; the
Leaderboard with lineages is set against the same 200 runs without them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ferlab.labels import CLASSES  # noqa: E402


def make_store(url: str, runs: int, epochs: int, seed: int = 0, lineage: bool = False) -> None:
    """`runs` finished training jobs of `epochs` epochs each (random but plausible curves); with
    `lineage`, every tenth run started from the run before it, and one ensemble of three runs for
    every ten."""
    from sqlalchemy import insert

    from ferlab.store import Store
    from ferlab.store.models import SqlArtifact, SqlEpoch, SqlJob, SqlTrial, utcnow

    store = Store(url)
    rng = np.random.default_rng(seed)
    now = utcnow()
    with store.session() as s:
        for i in range(runs):
            arch, opt = ("5conv", "8conv")[i % 2], ("adam", "sgd")[(i // 2) % 2]
            spec = {"data": "fer2013", "model": {"architecture": arch}, "optimizer": opt, "epochs": epochs,
                    "preset": f"paper-{arch}-{opt}"}
            if lineage and i % 10 == 9:
                spec["init_from"] = f"/m{i - 1}.keras"
            job = SqlJob(kind="train", spec=spec, status="completed", origin="user", cancel_requested=False,
                         attempts=1, created_at=now, finished_at=now)
            s.add(job)
            s.flush()
            top = rng.uniform(0.55, 0.7)
            trial = SqlTrial(job_id=job.id, number=1, hyperparameters={}, status="completed", params=5_281_223,
                             best_val_accuracy=top, best_epoch=epochs, started_at=now)
            s.add(trial)
            s.flush()
            e = np.arange(1, epochs + 1)
            val = top * (1 - np.exp(-e / 20)) + rng.normal(0, 0.005, epochs)
            s.execute(insert(SqlEpoch), [dict(trial_id=trial.id, epoch=int(k), loss=float(1.8 / k ** 0.3),
                                              accuracy=float(v + 0.05), val_loss=float(1.9 / k ** 0.25),
                                              val_accuracy=float(v), learning_rate=1e-4, seconds=200.0,
                                              created_at=now) for k, v in zip(e, val)])
            s.add(SqlArtifact(trial_id=trial.id, kind="model", path=f"/m{i}.keras", dataset="fer2013", split="test",
                              accuracy=float(top - 0.01), metrics=evaluation(rng), created_at=now))
        for k in range(runs // 10 if lineage else 0):
            members = [f"/m{10 * k + j}.keras" for j in range(3)]     # /mI.keras: job I + 1's, as built above
            keys = [f"train-{10 * k + j + 1}-{now:%Y%m%d%H%M%S}" for j in range(3)]   # recorded as `ferlab ensemble` does
            job = SqlJob(kind="ensemble", spec={"data": "fer2013", "members": members}, status="completed",
                         origin="user", cancel_requested=False, attempts=1, created_at=now, finished_at=now)
            s.add(job)
            s.flush()
            trial = SqlTrial(job_id=job.id, number=1, hyperparameters={}, status="completed", params=15_843_669,
                             started_at=now)
            s.add(trial)
            s.flush()
            s.add(SqlArtifact(trial_id=trial.id, kind="model", path=f"/e{k}.keras", dataset="fer2013", split="test",
                              accuracy=0.7, metrics={**evaluation(rng), "member_keys": keys}, created_at=now))
    store.close()


def evaluation(rng) -> dict:
    """Stored figures shaped as a finished run's: per-class tables and the confusion matrix, of the
    model alone and with flip TTA (the Leaderboard's class-by-class section reads them)."""
    def view() -> dict:
        confusion = rng.integers(0, 60, (7, 7)) + np.diag(rng.integers(200, 800, 7))
        recall = (np.diag(confusion) / confusion.sum(axis=1)).round(4).tolist()
        precision = (np.diag(confusion) / confusion.sum(axis=0)).round(4).tolist()
        return {"accuracy": float(np.trace(confusion) / confusion.sum()), "n": int(confusion.sum()),
                "precision": precision, "recall": recall,
                "f1": [round(2 * p * r / (p + r), 4) for p, r in zip(precision, recall)],
                "confusion": confusion.tolist(), "classes": list(CLASSES)}
    n = 3589          # and, as runs evaluated from 2026-11-27 on keep it, what the model said of each face
    faces = {"predicted": "".join(map(str, rng.integers(0, 7, n))),
             "confidence": "".join(f"{c:02d}" for c in rng.integers(14, 100, n)), "labels": "0" * 16}
    return {"plain": view(), "tta": view(), "faces": faces, "best_epoch": 140}


def time_page(page: str, repeats: int) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app_pages" / f"{page}.py"), default_timeout=120).run()  # warm caches
    assert not at.exception, at.exception
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_evaluations(url: str, repeats: int) -> float:
    """Median time of the query the Leaderboard's class-by-class section makes of every finished run."""
    from ferlab.store import Store

    store = Store(url)
    ids = [x.job.id for x in store.job_summaries()]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        store.evaluations(ids)
        times.append(time.perf_counter() - t)
    store.close()
    return statistics.median(times)


def time_lineages(url: str, repeats: int) -> float:
    """Median time of tracing every warm start and ensemble back to its runs (what the Leaderboard adds)."""
    from ferlab.runner.jobs import model_lineages
    from ferlab.store import Store

    store = Store(url)
    summaries = store.job_summaries()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model_lineages(store, summaries)
        times.append(time.perf_counter() - t)
    store.close()
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    os.environ["FERLAB_AUTOSTART_WORKER"] = "0"
    os.environ["FERLAB_SEED_REFERENCE"] = "0"   # else the "empty" store holds the shipped reference runs
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FERLAB_HOME"] = tmp
        for label, runs in (("empty", 0), ("lineage", args.runs), ("full", args.runs)):
            url = f"sqlite:///{tmp}/{label}.db"
            if runs:
                t = time.perf_counter()
                make_store(url, runs, args.epochs, lineage=label == "lineage")
                print(f"built {runs} runs x {args.epochs} epochs ({label}) in {time.perf_counter() - t:.1f} s")
            else:
                from ferlab.store import Store

                Store(url).close()
            os.environ["FERLAB_DB_URL"] = url
            for page in ("compare", "leaderboard") if label != "lineage" else ("leaderboard",):
                results[label, page] = time_page(page, args.repeats)
            if label == "lineage":
                lineages = time_lineages(url, args.repeats)
        evaluations = time_evaluations(url, args.repeats)
    print(f"median rerun of {args.repeats} (AppTest), {args.runs} runs x {args.epochs} epochs vs an empty store:")
    for page in ("compare", "leaderboard"):
        full, empty = results["full", page], results["empty", page]
        print(f"  {page:<12} {full:6.3f} s   (empty store {empty:.3f} s; ratio {full / empty:.2f})")
    print(f"  of the leaderboard's rerun, Store.evaluations() of all {args.runs} runs (per-class tables and face "
          f"records): {evaluations:.3f} s, {evaluations / results['full', 'leaderboard']:.0%}")
    lineage, full = results["lineage", "leaderboard"], results["full", "leaderboard"]
    print(f"  leaderboard, every tenth run a warm start and {args.runs // 10} ensembles of three added: {lineage:.3f} s "
          f"(ratio {lineage / full:.2f} to the same runs without them), of which tracing those "
          f"{2 * (args.runs // 10)} models back to their runs (model_lineages): {lineages:.3f} s")


if __name__ == "__main__":
    main()

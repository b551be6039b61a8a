"""`python -m ferlab.runner.child JOB`: runs one claimed job; the worker watches it."""

from __future__ import annotations

import sys


def run(job_id: int) -> int:
    from ferlab.runner.jobs import parse_spec
    from ferlab.store import Store

    store = Store()
    job = store.get_job(job_id)
    spec = parse_spec(job.kind, job.spec)
    print(f"[ferlab] job {job.id} ({job.kind}), attempt {job.attempts}", flush=True)
    if job.kind == "import":
        from ferlab.data import DataError, import_dataset

        try:
            report = import_dataset(store, spec.path, spec.name, val_fraction=spec.val_fraction, seed=spec.seed)
        except DataError as e:
            store.set_job_status(job.id, "failed", error=str(e))
            print(f"[ferlab] import failed: {e}", flush=True)
            return 1
        info = report.dataset
        print(f"[ferlab] {'imported' if report.created else 'already imported as'} {info.name!r}: "
              f"{info.split_sizes()}, {info.skipped} skipped", flush=True)
        for p in report.problems[:50]:
            print(f"  skipped {p}", flush=True)
        store.set_job_status(job.id, "completed")
    elif job.kind == "train":
        from ferlab.training.fit import train

        train(store, spec, job_id=job.id)
    elif job.kind == "ensemble":
        from ferlab.training.ensemble import build_ensemble

        build_ensemble(store, spec, job_id=job.id)
    else:
        from ferlab.training.tune import tune

        tune(store, spec, job_id=job.id, verbose=2)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(run(int(sys.argv[1])))
    except Exception as e:  # noqa: BLE001 - the job row already holds the traceback
        print(f"[ferlab] job failed: {e.__class__.__name__}: {e}", file=sys.stderr, flush=True)
        raise SystemExit(1)

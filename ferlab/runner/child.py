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
    if job.kind == "train":
        from ferlab.training.fit import train

        train(store, spec, job_id=job.id)
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

"""Scale-out with existing engines: PostgreSQL's SKIP LOCKED queue, keras-tuner's distributed
mode, and SQLite under concurrent load (real processes, bounded in time)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import text

from ferlab.runner import submit
from ferlab.store import Store
from ferlab.training.spec import TrainSpec
from tests.conftest import _free_port
from tests.helpers import register_synthetic
from tests.runner.test_worker import TINY, start_worker, wait_for


@pytest.mark.postgres
def test_two_workers_share_a_postgresql_queue(pg_url, home, monkeypatch):
    store = Store(pg_url)
    with store.engine.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store = Store(pg_url)
    monkeypatch.setenv("FERLAB_DB_URL", pg_url)
    register_synthetic(store, "small", 40, seed=9)
    spec = TrainSpec(data="small", model=TINY, learning_rate=1e-3, epochs=1, precision="float32", augmentation="none")
    jobs = [submit(store, "train", spec.to_dict()).id for _ in range(4)]
    workers = [start_worker("--once"), start_worker("--once")]
    outs = [w.communicate(timeout=400)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outs
    for job_id in jobs:
        job = store.get_job(job_id)
        assert job.status == "completed" and job.attempts == 1, (job, outs)
    assert {store.get_job(j).worker for j in jobs} <= {line.split()[1].rstrip("]") for o in outs
                                                       for line in o.splitlines() if "waiting for jobs" in line}
    store.close()


def test_keras_tuner_distributed_chief_and_two_workers(store, home):
    register_synthetic(store, "small", 30, seed=4)
    port = str(_free_port())

    def tuner_env(tuner_id):
        return dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                    KERASTUNER_ORACLE_PORT=port, PYTHONUNBUFFERED="1")

    cmd = [sys.executable, "-m", "ferlab", "tune", "--distributed"]
    chief = subprocess.Popen(cmd + ["--model", "4conv", "--data", "small", "--trials", "4", "--epochs-per-trial",
                                    "1", "--first-filters", "8:16:8", "--other-filters", "8:16:8",
                                    "--precision", "float32"],
                             env=tuner_env("chief"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = []
    try:
        job = wait_for(lambda: store.list_jobs(), 120, "the chief's job")[0]
        time.sleep(3)  # let the chief's oracle server start listening
        workers = [subprocess.Popen(cmd + ["--join", str(job.id)], env=tuner_env(f"tuner{i}"),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for i in (1, 2)]
        outs = [w.communicate(timeout=500)[0] for w in workers]
        chief_out = chief.communicate(timeout=200)[0]
    finally:
        for p in [chief, *workers]:
            p.kill()
    assert chief.returncode == 0, chief_out[-3000:]
    assert all(w.returncode == 0 for w in workers), [o[-2000:] for o in outs]
    trials = store.list_trials(job.id)
    assert len(trials) == 4 and len({t.tuner_trial_id for t in trials}) == 4
    assert all(t.status == "completed" and store.count_epochs(t.id) == 1 for t in trials)
    assert store.get_job(job.id).status == "completed"
    assert all("joined" in o for o in outs)


WRITER = textwrap.dedent("""
    import sys, time
    from ferlab.store import Store
    s = Store(sys.argv[1]); job = s.create_job("train", {}, status="running", worker="w1")
    trial = s.start_trial(job.id, 1, {}); end = time.monotonic() + float(sys.argv[2]); n = 0
    while time.monotonic() < end:
        n += 1; s.record_epoch(trial.id, n, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.5)
        s.heartbeat(job.id); s.worker_heartbeat("w1", "busy", job.id)
    print("epochs", n, s.count_epochs(trial.id))
""")
POLLER = textwrap.dedent("""
    import sys, time
    from ferlab.store import Store
    s = Store(sys.argv[1]); s.register_worker("w2", "h", 1); end = time.monotonic() + float(sys.argv[2]); n = 0
    while time.monotonic() < end:
        n += 1; s.claim_job("w2"); s.requeue_stale(60); s.worker_heartbeat("w2", "idle")
    print("polls", n)
""")


def test_sqlite_under_load_never_reports_locked(store, db_url):
    from ferlab.ui.tables import curves_frame, job_trial_labels, jobs_frame

    seconds = 12
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url, str(seconds)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for code in (WRITER, POLLER)]
    reads = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        jobs = jobs_frame(store.job_summaries())         # what the dashboard's pages read
        if not jobs.empty:
            curves_frame(store, job_trial_labels(store, jobs["job"].tolist()))
        reads += 1
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and "locked" not in err, err[-2000:]
    written, stored = map(int, outs[0][0].split()[1:])
    assert written == stored > 50                     # every epoch row committed, none lost
    assert int(outs[1][0].split()[1]) > 50 and reads > 20

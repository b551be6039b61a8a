"""Store round trips on SQLite (and PostgreSQL where it installs), pragmas and frozen values."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ferlab.runner.jobs import format_duration, seconds_left
from ferlab.store import NotFound, Store
from ferlab.store.models import SqlEpoch


def _round_trip(store: Store):
    ds = store.add_dataset(name="d", source="/x", layout="csv", fingerprint="f" * 64, cache_path="/c.npz",
                           synthetic=False, val_from_train=True, val_fraction=0.1, seed=3,
                           counts={"train": [1] * 7}, skipped=2, problems=["a", "b"])
    assert store.get_dataset("d") == ds and ds.problems == ("a", "b")
    job = store.create_job("train", {"epochs": 2}, status="running", experiment="exp")
    assert job.status == "running" and job.experiment_id == store.experiment_id("exp")
    trial = store.start_trial(job.id, 1, {"lr": 1e-4}, params=123)
    store.record_epoch(trial.id, 1, loss=1.5, accuracy=0.3, val_loss=1.6, val_accuracy=0.25, seconds=2.0)
    store.record_epoch(trial.id, 2, loss=1.2, accuracy=0.4, val_loss=1.4, val_accuracy=0.35)
    store.record_epoch(trial.id, 2, loss=1.1, accuracy=0.45, val_loss=1.3, val_accuracy=0.33)  # re-run
    epochs = store.epochs([trial.id])
    assert [(e.epoch, e.val_accuracy) for e in epochs] == [(1, 0.25), (2, 0.33)]
    t = store.get_trial(trial.id)
    assert t.best_val_accuracy == 0.33 and t.best_epoch == 2 and t.params == 123
    assert store.truncate_epochs(trial.id, after=1) == 1
    assert store.get_trial(trial.id).best_epoch == 1
    art = store.add_artifact(trial.id, "/m.keras", dataset="d", split="test", accuracy=0.5,
                             metrics={"confusion": [[1]]})
    assert store.list_artifacts(trial.id) == [art]
    assert store.evaluations([job.id, job.id + 1]) == {job.id: art}
    # the machines that ran a job: each once, in the order they began (a run resumed elsewhere)
    assert job.machine is None and job.ran_on is None
    store.note_machine(job.id, "cpu box")
    store.note_machine(job.id, "cpu box")
    assert store.note_machine(job.id, "gpu box").machine == "cpu box | gpu box"
    assert store.note_machine(job.id, "cpu box").machine == "cpu box | gpu box"
    assert store.get_job(job.id).ran_on == "cpu box | gpu box"
    store.finish_trial(trial.id, "completed")
    done = store.set_job_status(job.id, "completed")
    assert done.finished_at is not None and store.list_jobs(status="completed")[0].id == job.id
    for value in (ds, job, t, epochs[0], art):
        assert dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen
    # a running search's pace leaves out each trial's first epoch (it compiles too): what it has left
    tune = store.create_job("tune", {"max_trials": 3, "epochs_per_trial": 3}, status="running")
    for number, seconds in ((1, (50.0, 10.0, 20.0)), (2, (60.0, 30.0))):
        tid = store.start_trial(tune.id, number, {}).id
        for epoch, sec in enumerate(seconds, 1):
            store.record_epoch(tid, epoch, loss=1.0, accuracy=0.3, val_loss=1.0, val_accuracy=0.3, seconds=sec)
    [x] = store.job_summaries(status="running")
    assert x.epochs == 5 and x.epoch_seconds == pytest.approx(20.0)
    assert x.seconds_total == pytest.approx(170.0)                # every epoch's time, the first ones too
    assert seconds_left(x) == pytest.approx(4 * 20.0)            # 9 planned, 5 run
    assert seconds_left(store.job_summaries(status="completed")[0]) is None
    return trial


def test_round_trip_sqlite(store):
    _round_trip(store)


def test_durations_read_as_hours_and_minutes():
    assert [format_duration(s) for s in (20, 90, 719, 3600, 7530)] == \
        ["under a minute", "2 min", "12 min", "1 h 00 min", "2 h 06 min"]


@pytest.mark.postgres
def test_round_trip_postgresql(pg_url):
    store = Store(pg_url)
    try:
        with store.engine.begin() as c:  # a clean schema for this test
            c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        store = Store(pg_url)
        trial = _round_trip(store)
        with pytest.raises(IntegrityError):  # unique per trial and epoch, enforced by the database
            with store.session() as s:
                s.add(SqlEpoch(trial_id=trial.id, epoch=1))
    finally:
        store.close()


def test_a_jobs_evaluation_is_that_of_its_best_model_the_one_it_ranks_by(store):
    tune = store.create_job("tune", {}, status="completed")
    first, second = (store.start_trial(tune.id, n, {}) for n in (1, 2))
    store.add_artifact(first.id, "/a.keras", split="test", accuracy=0.61, metrics={"plain": {"n": 1}})
    best = store.add_artifact(second.id, "/b.keras", split="test", accuracy=0.64, metrics={"plain": {"n": 2}})
    store.add_artifact(second.id, "", kind="log", accuracy=0.99)             # not an evaluation
    unscored = store.create_job("train", {}, status="completed")
    store.add_artifact(store.start_trial(unscored.id, 1, {}).id, "/c.keras")  # a model with no figure
    store.create_job("train", {}, status="queued")
    got = store.evaluations(j.id for j in store.list_jobs())
    assert got == {tune.id: best}
    [summary] = [x for x in store.job_summaries() if x.job.id == tune.id]
    assert summary.test_accuracy == got[tune.id].accuracy


def test_epoch_rows_are_unique_per_trial(store):
    job = store.create_job("train", {}, status="running")
    trial = store.start_trial(job.id, 1, {})
    store.record_epoch(trial.id, 1, loss=1.0)
    with pytest.raises(IntegrityError):
        with store.session() as s:
            s.add(SqlEpoch(trial_id=trial.id, epoch=1))
    assert store.count_epochs(trial.id) == 1


def test_sqlite_pragmas_on_every_connection(store):
    for _ in range(2):
        with store.engine.connect() as c:
            assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert c.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_foreign_keys_cascade(store):
    job = store.create_job("train", {}, status="running")
    trial = store.start_trial(job.id, 1, {})
    store.record_epoch(trial.id, 1, loss=1.0)
    with store.session() as s:
        s.execute(text("DELETE FROM jobs WHERE id = :id"), {"id": job.id})
    assert store.epochs([trial.id]) == [] and store.list_trials() == []


def test_cancel_of_queued_and_running_jobs(store):
    queued = store.create_job("train", {})
    assert store.request_cancel(queued.id).status == "cancelled"
    running = store.create_job("train", {}, status="running")
    assert store.request_cancel(running.id).cancel_requested and store.cancel_requested(running.id)


def test_missing_rows_raise_not_found(store):
    with pytest.raises(NotFound, match="no job 99"):
        store.get_job(99)
    with pytest.raises(NotFound, match="no data set named 'x'"):
        store.get_dataset("x")


def test_db_url_from_environment(home, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("FERLAB_DB_URL", url)
    s = Store()
    assert s.url == url and (tmp_path / "elsewhere.db").exists()
    s.close()


def test_default_store_is_runs_db_in_the_working_directory(home, tmp_path):
    s = Store()
    assert s.url == f"sqlite:///{tmp_path / 'runs.db'}" and (tmp_path / "runs.db").exists()
    s.close()


def test_delete_a_job_with_its_trials_epochs_and_artifacts_but_not_a_running_or_reference_one(store):
    from ferlab.store.engine import StoreError

    def job_with_epochs(status="completed", origin="user"):
        job = store.create_job("train", {"data": "demo"}, status=status, origin=origin)
        trial = store.start_trial(job.id, 1, {})
        store.record_epoch(trial.id, 1, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.4)
        store.add_artifact(trial.id, "/x/model.keras", dataset="demo", split="test", accuracy=0.4)
        store.set_job_status(job.id, status)
        return job, trial

    (kept, kept_trial), (gone, gone_trial) = job_with_epochs(), job_with_epochs(status="failed")
    assert store.delete_job(gone.id).id == gone.id
    assert [j.id for j in store.list_jobs()] == [kept.id]
    assert store.list_trials(gone.id) == [] and store.epochs([gone_trial.id]) == []
    assert store.list_artifacts(gone_trial.id) == []
    assert len(store.epochs([kept_trial.id])) == 1 and len(store.list_artifacts(kept_trial.id)) == 1
    with pytest.raises(NotFound, match=f"no job {gone.id}"):
        store.delete_job(gone.id)
    running, _ = job_with_epochs(status="running")
    assert running.id > gone.id   # a deleted job's number never names another run
    with pytest.raises(StoreError, match="is running; stop it with `ferlab jobs cancel"):
        store.delete_job(running.id)
    reference, _ = job_with_epochs(origin="reference")
    with pytest.raises(StoreError, match="is a shipped reference run; it stays"):
        store.delete_job(reference.id)
    assert {j.id for j in store.list_jobs()} == {kept.id, running.id, reference.id}


def test_a_job_whose_workers_keep_dying_fails_only_when_an_attempt_records_no_epoch(store):
    """A poison job (its worker dies before any epoch, every time) fails at the limit; one whose
    workers die with their machine or session after recording epochs is requeued past it."""
    def attempt(job_id, n, epochs=0):
        worker = f"w{n}"
        store.register_worker(worker, "host", 1000 + n)
        assert store.claim_job(worker).id == job_id
        trial = store.list_trials(job_id) or [store.start_trial(job_id, 1, {})]
        done = store.count_epochs(trial[0].id)
        for e in range(done + 1, done + epochs + 1):
            store.record_epoch(trial[0].id, e, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.5)
        return store.requeue_stale(stale_after=-1, max_attempts=2)    # the worker has died

    poison = store.create_job("train", {"epochs": 9})
    assert attempt(poison.id, 1) == [poison.id]
    assert attempt(poison.id, 2) == []
    failed = store.get_job(poison.id)
    assert failed.status == "failed" and failed.attempts == 2
    assert "gave up after 2 attempts, the last of which recorded no epoch" in failed.error
    assert f"ferlab jobs retry {poison.id}" in failed.error

    long = store.create_job("train", {"epochs": 9})
    for n in range(3, 7):                                   # four sessions, two epochs each
        assert attempt(long.id, n, epochs=2) == [long.id]
    job = store.get_job(long.id)
    assert job.status == "queued" and job.attempts == 4 and "requeued to resume" in job.error
    assert store.count_epochs(store.list_trials(long.id)[0].id) == 8    # nothing lost
    assert attempt(long.id, 7) == []                        # past the limit, an attempt without an epoch ends it
    assert store.get_job(long.id).status == "failed"


def test_a_write_that_stays_locked_says_who_to_ask_and_loses_nothing(tmp_path, monkeypatch):
    """A real second SQLite connection holds a write transaction through every retry of a write."""
    import sqlite3

    from ferlab.store import engine

    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(engine.time, "sleep", lambda s: None)
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    kept = store.create_job("train", {"epochs": 1})
    other = sqlite3.connect(tmp_path / "runs.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(engine.StoreLocked, match="locked by another program through 8 tries.*nothing stored was lost"):
            store.create_job("train", {"epochs": 2})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [j.id for j in store.list_jobs()] == [kept.id]
    assert store.create_job("train", {"epochs": 3}).id > kept.id     # the store works again at once
    store.close()

"""Alembic from the first table; an old store names the upgrade command and keeps its rows."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from ferlab.store import SchemaOutOfDate, Store, StoreError
from ferlab.store.engine import current_revision, head_revision, make_engine, upgrade


def _old_store(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine, "0001")
    with engine.begin() as c:
        c.execute(text("INSERT INTO datasets (name, source, layout, fingerprint, cache_path, synthetic, "
                       "val_from_train, val_fraction, seed, counts, skipped, problems, created_at) VALUES "
                       "('old', '/src', 'csv', 'abc', '/c.npz', 0, 0, 0, 0, '{}', 0, '[]', '2026-01-01')"))
    engine.dispose()


def test_a_new_store_is_created_at_head(home, db_url):
    s = Store(db_url)
    assert current_revision(s.engine) == head_revision(s.engine) == "0005"


def test_an_old_store_says_which_command_upgrades_it(home, db_url):
    _old_store(db_url)
    with pytest.raises(SchemaOutOfDate, match=r"older \(0001\).*run `ferlab db upgrade`"):
        Store(db_url)


def test_db_upgrade_command_keeps_rows(home, db_url, monkeypatch):
    _old_store(db_url)
    monkeypatch.setenv("FERLAB_DB_URL", db_url)
    out = subprocess.run([sys.executable, "-m", "ferlab", "db", "upgrade"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "schema 0001 -> 0005" in out.stdout
    s = Store(db_url)
    assert s.get_dataset("old").source == "/src"
    assert s.list_jobs() == []


def test_cli_reports_old_schema_without_traceback(home, db_url, monkeypatch):
    _old_store(db_url)
    monkeypatch.setenv("FERLAB_DB_URL", db_url)
    out = subprocess.run([sys.executable, "-m", "ferlab", "data", "list"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "run `ferlab db upgrade`" in out.stderr and "Traceback" not in out.stderr


def test_foreign_tables_are_not_taken_over(home, tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE customers (id INTEGER)"))
    with pytest.raises(StoreError, match="not ferlab's"):
        Store(url)


def test_migrations_down_and_up(home, db_url):
    s = Store(db_url)
    from alembic import command

    from ferlab.store.engine import alembic_config

    command.downgrade(alembic_config(s.engine), "0001")
    assert current_revision(s.engine) == "0001"
    upgrade(s.engine)
    assert current_revision(s.engine) == "0005"


def _runs(store) -> list[tuple[int, int, int]]:
    """(job id, trials, epochs) of every stored job, in plain SQL: at an older revision the store's
    own queries would ask for columns that are not there yet."""
    with store.engine.connect() as c:
        return [tuple(r) for r in c.exec_driver_sql(
            "SELECT j.id, COUNT(DISTINCT t.id), COUNT(e.id) FROM jobs j LEFT JOIN trials t ON t.job_id = j.id "
            "LEFT JOIN epochs e ON e.trial_id = t.id GROUP BY j.id ORDER BY j.id")]


def test_copying_the_jobs_table_keeps_every_trial_and_epoch_and_ids_are_never_reused(home, db_url):
    """0004 copies SQLite's jobs table (to add AUTOINCREMENT) both ways; the trials and epochs that
    point at it (ON DELETE CASCADE) must come through, and a deleted job's id must not come back."""
    from alembic import command

    from ferlab.store.engine import alembic_config

    s = Store(db_url)
    for n in range(3):
        job = s.create_job("train", {"data": "demo"}, status="completed")
        trial = s.start_trial(job.id, 1, {})
        for epoch in range(1, n + 2):
            s.record_epoch(trial.id, epoch, loss=1.0, accuracy=0.5, val_loss=1.0, val_accuracy=0.4)
    before = _runs(s)
    assert [epochs for _, _, epochs in before] == [1, 2, 3]

    s.note_machine(before[0][0], "a GPU machine")
    command.downgrade(alembic_config(s.engine), "0004")   # 0005 drops jobs.machine: SQLite copies the table
    assert _runs(s) == before
    with s.engine.connect() as c:
        assert "AUTOINCREMENT" in c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'jobs'").scalar()
    command.downgrade(alembic_config(s.engine), "0003")
    assert _runs(s) == before
    upgrade(s.engine)
    assert current_revision(s.engine) == "0005" and _runs(s) == before
    assert s.get_job(before[0][0]).machine is None         # the column came back empty
    with s.engine.connect() as c:   # the copy turned them off; they are back on for the store
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    newest = before[-1][0]
    s.delete_job(newest)
    assert s.create_job("train", {"data": "demo"}).id == newest + 1
    s.close()

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
    assert current_revision(s.engine) == head_revision(s.engine) == "0003"


def test_an_old_store_says_which_command_upgrades_it(home, db_url):
    _old_store(db_url)
    with pytest.raises(SchemaOutOfDate, match=r"older \(0001\).*run `ferlab db upgrade`"):
        Store(db_url)


def test_db_upgrade_command_keeps_rows(home, db_url, monkeypatch):
    _old_store(db_url)
    monkeypatch.setenv("FERLAB_DB_URL", db_url)
    out = subprocess.run([sys.executable, "-m", "ferlab", "db", "upgrade"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "schema 0001 -> 0003" in out.stdout
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
    assert current_revision(s.engine) == "0003"

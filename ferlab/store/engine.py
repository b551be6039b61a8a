"""Engines and sessions: SQLite pragmas on every connection, one session helper, schema check."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000      # how long one SQLite statement waits for another connection's write
UPGRADE_HINT = "run `ferlab db upgrade` (it keeps every stored run)"
T = TypeVar("T")


class StoreError(Exception):
    """The store cannot be used as it is; the message says what to do."""


class SchemaOutOfDate(StoreError):
    pass


class StoreLocked(StoreError):
    """SQLite stayed locked by another connection through every retry of a write."""


def make_engine(url: str) -> Engine:
    is_sqlite = url.startswith("sqlite")
    kwargs = {"connect_args": {"timeout": 30}} if is_sqlite else {"pool_pre_ping": True}
    engine = create_engine(url, **kwargs)
    if is_sqlite:
        path = engine.url.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine) -> bool:
    """Create the schema on a new, empty store (returns True); refuse an old one with the
    upgrade command."""
    current = current_revision(engine)
    if current is None:
        if inspect(engine).get_table_names():
            raise StoreError(f"{engine.url.render_as_string()} holds tables that are not ferlab's "
                             "(no schema version); point FERLAB_DB_URL at another database")
        upgrade(engine)
        return True
    head = head_revision(engine)
    if current != head:
        script = ScriptDirectory.from_config(alembic_config(engine))
        known = {rev.revision for rev in script.walk_revisions()}
        if current not in known:
            raise SchemaOutOfDate(f"the store's schema ({current}) is newer than this ferlab "
                                  f"knows ({head}); upgrade ferlab")
        raise SchemaOutOfDate(f"the store's schema is older ({current}) than this ferlab's "
                              f"({head}): {UPGRADE_HINT}")
    return False


def unusable_store_message(url: str, error: BaseException) -> str:
    """What to tell a user whose run store cannot be opened or read (not a database, a server that
    does not answer, a folder that cannot be written): the URL without its password, the driver's
    own words, and what to check."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = url
    said = str(getattr(error, "orig", None) or error) if isinstance(error, DBAPIError) else str(error)
    said = said.strip().splitlines()[0] if said.strip() else error.__class__.__name__
    if "locked" in said.lower():
        advice = ("another program holds a write transaction on it (an open sqlite3 shell or database browser): "
                  "close it and run this again")
    elif shown.startswith("sqlite"):
        advice = ("check FERLAB_DB_URL; if that file is not a ferlab store (another program's, or one cut "
                  "short), move it aside and ferlab starts a new one there")
    else:
        advice = "check FERLAB_DB_URL, and that the server is up, reachable and takes that user, password and database"
    return f"the run store at {shown} cannot be used ({said}): {advice}. Nothing in it was changed."


def retry_locked(fn: Callable[..., T], attempts: int = 8) -> Callable[..., T]:
    """Retry a short write transaction when SQLite reports the database as locked."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        delay = 0.05
        for attempt in range(attempts):
            try:
                return fn(*args, **kwargs)
            except OperationalError as e:
                if "locked" not in str(e).lower():
                    raise
                if attempt == attempts - 1:
                    raise StoreLocked("the run store stayed locked by another program through "
                                      f"{attempts} tries of {BUSY_TIMEOUT_MS // 1000} s each: close whatever "
                                      "holds a write transaction on it (an open sqlite3 shell or database "
                                      "browser) and run this again; nothing stored was lost") from e
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    return wrapper


class SessionFactory:
    def __init__(self, engine: Engine):
        self._maker = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any error."""
        session = self._maker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

"""Job ids are never reused: SQLite's AUTOINCREMENT on jobs.id.

Without it SQLite gives a new job the id of the newest one deleted, so the records and commands that
name a job by number (`--init-from 12`, `ferlab ensemble 12 14`, a model card, a log) would silently
name another run. PostgreSQL's sequences never reuse an id: nothing to do there.

SQLite cannot add AUTOINCREMENT in place; batch mode copies the table. env.py turns SQLite's foreign
keys off around the migrations, as SQLite's own procedure for this requires: with them on, dropping
the old table would first delete every trial and epoch that points at it (ON DELETE CASCADE).

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("jobs", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)

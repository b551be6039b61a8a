"""Jobs record the machine that ran them: CPU, cores, GPUs, Keras and its backend.

A run's times (its epochs' seconds, Compare's hours of epochs) mean little without the machine, and
one store can hold runs from several: workers on other machines through PostgreSQL, a GPU machine's
runs.db brought back, a run resumed elsewhere. Nullable: runs stored before this say nothing.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("machine", sa.Text, nullable=True))


def downgrade() -> None:
    # SQLite drops a column by copying the table (env.py turns foreign keys off around it, see 0004):
    # the copy keeps AUTOINCREMENT, or a deleted job's id would come back.
    with op.batch_alter_table("jobs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("machine")

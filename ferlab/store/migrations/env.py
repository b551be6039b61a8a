from alembic import context
from sqlalchemy import text

from ferlab.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line
    from ferlab.store.engine import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite's procedure for copying a table that others point at: foreign keys off (only possible
        # outside a transaction), copy, check, back on. With them on, batch mode's DROP TABLE of the
        # old copy would cascade into every row that points at it.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()   # ends SQLAlchemy's autobegun transaction (SQLite had none open)
    try:
        with connection.begin():
            context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite)
            context.run_migrations()
            if sqlite:
                broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows whose parent is gone: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()

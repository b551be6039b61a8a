from alembic import context

from ferlab.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line
    from ferlab.store.engine import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    context.run_migrations()

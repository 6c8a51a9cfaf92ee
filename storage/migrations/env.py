"""Alembic environment: migrations run on the engine cibot hands over, or on DATABASE_URL.

On PostgreSQL the migration transaction first takes an advisory lock, so replicas that
start together migrate one after the other: the first applies the migrations, the
others then find the schema at head and do nothing.
"""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table)
from storage.db import make_engine

MIGRATION_LOCK = 0x63696D67  # "cimg": the advisory lock space of migrations (one lock per schema)
config = context.config
engine = config.attributes.get("engine") or make_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(current_schema()))"),
                               {"space": MIGRATION_LOCK})
        context.run_migrations()
    connection.commit()

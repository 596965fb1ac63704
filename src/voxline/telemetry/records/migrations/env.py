"""Alembic environment: upgrades the connection handed in by `records.migrate`, or the URL in
alembic's config when run from the command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from voxline.telemetry.records.schema import metadata

config = context.config


def _run(connection) -> None:
    # Batch mode: SQLite can only alter a table by copying it.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        _run(conn)
        conn.commit()

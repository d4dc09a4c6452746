"""Alembic environment: migrates the connection diagnose.server.db.migrate passes in."""
from alembic import context

from diagnose.server.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()

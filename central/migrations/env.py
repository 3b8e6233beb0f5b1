"""Alembic's entry: migrations run on the connection `central.migrations` hands it, never on a URL
of their own (the URL and its password file are central's configuration's business)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("central's migrations run through `hall central migrate`, not the alembic command")
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()

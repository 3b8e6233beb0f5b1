"""What the rest of `hall central run` keeps in the event store, on PostgreSQL: the public
site's attempt log and its client key (`central.public.attempts`) and the evidence desk's
fetched clips (`central.video.evidence`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

Written out as they are at this revision (a migration never follows later code). On
SQLite their parts make these tables themselves as they open, so this revision only
marks the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    text, big = sa.Text(), sa.BigInteger()
    op.create_table(
        "public_attempts",
        sa.Column("id", big, sa.Identity(always=False), primary_key=True),
        sa.Column("at", big, nullable=False),
        sa.Column("kind", text, nullable=False),
        sa.Column("client_key", text, nullable=False),
        sa.Column("client", text, nullable=False),
        sa.Column("subject", text, nullable=False),
        sa.Column("outcome", text, nullable=False),
    )
    op.create_index("public_attempts_by_client", "public_attempts", ["client_key", "kind", "at"])
    op.create_index("public_attempts_by_subject", "public_attempts", ["subject", "kind", "at"])
    op.create_index("public_attempts_by_time", "public_attempts", ["at"])
    op.create_table(
        "public_meta",
        sa.Column("name", text, primary_key=True),
        sa.Column("value", text, nullable=False),
    )


def downgrade() -> None:
    for table in ("public_meta", "public_attempts"):
        op.drop_table(table)

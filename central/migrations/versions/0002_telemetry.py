"""Hall telemetry and watermarks on PostgreSQL: devices, health, refusals, quarantine, the
projections' cursors and each hall's watermark.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Written out as they are at this revision (a migration never follows later code). On
SQLite the projections make these tables themselves as they install, so this revision
only marks the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    text, big = sa.Text(), sa.BigInteger()
    op.create_table(
        "projection_cursor",
        sa.Column("name", text, primary_key=True),
        sa.Column("last_id", big, nullable=False),
    )
    op.create_table(
        "tm_devices",
        sa.Column("hall", text, primary_key=True),
        sa.Column("device", text, primary_key=True),
        sa.Column("kind", text),
        sa.Column("online", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("since", big),
        sa.Column("last_seen", big),
        sa.Column("reason", text),
        sa.Column("dropped", big, nullable=False, server_default="0"),
        sa.Column("skew_ms", big),
        sa.Column("skewed", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "tm_health",
        sa.Column("hall", text, primary_key=True),
        sa.Column("device", text, primary_key=True),
        sa.Column("component", text, primary_key=True),
        sa.Column("state", text, nullable=False),
        sa.Column("detail", text),
        sa.Column("at", big, nullable=False),
    )
    op.create_table(
        "tm_gateway_refusals",
        sa.Column("hall", text, primary_key=True),
        sa.Column("refused", big, nullable=False),
    )
    op.create_table(
        "tm_quarantine",
        sa.Column("hall", text, primary_key=True),
        sa.Column("device", text, primary_key=True),
        sa.Column("since", big, nullable=False),
        sa.Column("reason", text, nullable=False),
    )
    op.create_table(
        "hall_watermarks",
        sa.Column("hall", text, primary_key=True),
        sa.Column("watermark", big, nullable=False),
        sa.Column("updated_at", big, nullable=False),
    )


def downgrade() -> None:
    for table in ("hall_watermarks", "tm_quarantine", "tm_gateway_refusals", "tm_health", "tm_devices",
                  "projection_cursor"):
        op.drop_table(table)

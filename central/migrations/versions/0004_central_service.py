"""What the rest of `hall central run` keeps in the event store, on PostgreSQL: the public
site's attempt log and its client key (`central.public.attempts`), the evidence desk's
fetched clips (`central.video.evidence`) and the video wall's saved layouts
(`central.video.layouts`).

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
    op.create_table(
        "evidence_clips",
        *(sa.Column(name, text, primary_key=True) for name in ("complaint", "device", "camera")),
        sa.Column("hall", text, nullable=False),
        sa.Column("export_id", text, nullable=False),
        sa.Column("start_ms", big, nullable=False),
        sa.Column("end_ms", big, nullable=False),
        sa.Column("clip_file", text, nullable=False),
        sa.Column("clip_bytes", big, nullable=False),
        sa.Column("clip_sha256", text, nullable=False),
        sa.Column("manifest_file", text, nullable=False),
        sa.Column("manifest_sha256", text, nullable=False),
        sa.Column("answered_manifest_sha256", text, nullable=False),
        sa.Column("fetched_at", big, nullable=False),
        sa.Column("fetched_by", text, nullable=False),
    )
    op.create_table(
        "video_layouts",
        sa.Column("name", text, primary_key=True),
        sa.Column("grid", sa.Integer(), nullable=False),
        sa.Column("cells", text, nullable=False),
        sa.Column("saved_by", text, nullable=False),
        sa.Column("saved_at", big, nullable=False),
    )


def downgrade() -> None:
    for table in ("video_layouts", "evidence_clips", "public_meta", "public_attempts"):
        op.drop_table(table)

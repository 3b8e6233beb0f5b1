"""The event store: every event of every hall, append-only; dead letters, streams, hall status, alarms.

Revision ID: 0001
Revises:
Create Date: 2026-12-02

The tables are written out here as they were at this revision (a migration never
follows later code). On SQLite the store creates these tables itself as it opens
(`central.store.SCHEMA`), so this revision only marks the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

REFUSE_CHANGE = """
CREATE FUNCTION hallwatch_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$$
"""
"""Refuses the statement that fired it: a record once written stays as written."""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    text, big = sa.Text(), sa.BigInteger()
    op.create_table(
        "events",
        sa.Column("id", big, sa.Identity(always=False), primary_key=True),
        sa.Column("event_id", text, nullable=False, unique=True),
        sa.Column("hall", text, nullable=False),
        sa.Column("device", text, nullable=False),
        sa.Column("seq", big, nullable=False),
        sa.Column("type", text, nullable=False),
        sa.Column("device_time", big, nullable=False),
        sa.Column("gateway_time", big),
        sa.Column("est_time", big),
        sa.Column("received_at", big, nullable=False),
        sa.Column("payload", text, nullable=False),
    )
    op.create_index("events_by_device", "events", ["hall", "device", "seq"])
    op.create_index("events_by_type", "events", ["type", "id"])
    op.execute(REFUSE_CHANGE)
    # Row triggers see UPDATE and DELETE; TRUNCATE bypasses them and needs its own.
    op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
               "FOR EACH ROW EXECUTE FUNCTION hallwatch_refuse_change('the event log')")
    op.execute("CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
               "FOR EACH STATEMENT EXECUTE FUNCTION hallwatch_refuse_change('the event log')")
    op.create_table(
        "hall_status",
        sa.Column("hall", text, primary_key=True),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("reason", text),
        sa.Column("last_seen", big),
        sa.Column("heartbeat", text),
    )
    op.create_table(
        "dead_letters",
        sa.Column("digest", text, primary_key=True),
        sa.Column("first_at", big, nullable=False),
        sa.Column("last_at", big, nullable=False),
        sa.Column("times", big, nullable=False),
        sa.Column("topic", text, nullable=False),
        sa.Column("sender", text),
        sa.Column("event_id", text),
        sa.Column("reason", text, nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "streams",
        sa.Column("sender", text, primary_key=True),
        sa.Column("position", big, nullable=False),
    )
    op.create_table(
        "security_alarms",
        sa.Column("alarm", text, primary_key=True),
        sa.Column("at", big, nullable=False),
        sa.Column("refused_by", text, nullable=False),
        sa.Column("hall", text),
        sa.Column("device", text),
        sa.Column("kind", text),
        sa.Column("type", text),
        sa.Column("reason", text, nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("security_alarms_by_time", "security_alarms", ["at"])
    op.create_index("security_alarms_by_device", "security_alarms", ["hall", "device"])


def downgrade() -> None:
    raise RuntimeError("the event log is never dropped by a migration: restore a backup instead")

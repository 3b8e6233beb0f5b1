"""The SMS platform's outbox in central's database (`central/sms/outbox.py`): the messages, their
parts and attempts, the opt-outs, the replies and the phone digest's key, shared by the SMS
workers of every central process.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Written out as they are at this revision (a migration never follows later code). Beside a
SQLite central the outbox keeps its own `sms.sqlite` and makes its tables as it opens, so on
SQLite this revision only marks the file. `sms_attempts` is a log (appended, never changed);
the rest change as messages are sent, reported and erased. Nothing is copied from a process's
`sms.sqlite`: messages queued there are sent by that process as before (docs/operations.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    text, big, integer = sa.Text(), sa.BigInteger(), sa.Integer()
    op.create_table(
        "sms_meta",
        sa.Column("key", text, primary_key=True),
        sa.Column("value", text, nullable=False),
    )
    op.create_table(
        "sms_messages",
        sa.Column("id", big, sa.Identity(always=False), primary_key=True),
        *(sa.Column(name, text, nullable=False)
          for name in ("fact_id", "fact_type", "recipient", "template", "subject")),
        sa.Column("phone", text),
        sa.Column("phone_key", text),
        sa.Column("phone_masked", text, nullable=False),
        sa.Column("text", text, nullable=False),
        sa.Column("parts", integer, nullable=False),
        sa.Column("state", text, nullable=False),
        sa.Column("created_at", big, nullable=False),
        sa.Column("not_before", big, nullable=False),
        sa.Column("hold", text),
        sa.Column("attempts", integer, nullable=False, server_default="0"),
        sa.Column("last_error", text),
        sa.Column("sender", text),
        sa.Column("units_total", integer),
        sa.Column("units_sent", integer, nullable=False, server_default="0"),
        sa.Column("concat_ref", integer, nullable=False),
        sa.Column("sent_at", big),
        sa.Column("delivered_at", big),
        sa.Column("sender_process", text),  # the central process whose worker is sending it
        sa.Column("lease_until", big),  # until when it is that process's alone
        sa.UniqueConstraint("fact_id", "recipient", "template", name="sms_messages_once"),
    )
    op.create_index("sms_messages_due", "sms_messages", ["not_before", "id"],
                    postgresql_where=sa.text("state = 'queued'"))
    op.create_index("sms_messages_sending", "sms_messages", ["lease_until"],
                    postgresql_where=sa.text("state = 'sending'"))
    op.create_index("sms_messages_by_phone", "sms_messages", ["phone_key", "sent_at"])
    op.create_index("sms_messages_by_sent", "sms_messages", ["sent_at"])
    op.create_table(
        "sms_units",
        sa.Column("message_id", big, sa.ForeignKey("sms_messages.id"), primary_key=True),
        sa.Column("unit", integer, primary_key=True),
        sa.Column("reference", text),
        sa.Column("sent_at", big, nullable=False),
        sa.Column("report", text),
        sa.Column("reported_at", big),
    )
    op.create_index("sms_units_by_reference", "sms_units", ["reference", "sent_at"])
    op.create_table(
        "sms_attempts",
        sa.Column("id", big, sa.Identity(always=False), primary_key=True),
        sa.Column("message_id", big, sa.ForeignKey("sms_messages.id"), nullable=False),
        sa.Column("at", big, nullable=False),
        sa.Column("outcome", text, nullable=False),
        sa.Column("detail", text),
    )
    op.create_index("sms_attempts_by_message", "sms_attempts", ["message_id", "id"])
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone_key", text, primary_key=True),
        sa.Column("at", big, nullable=False),
        sa.Column("via", text, nullable=False),
    )
    op.create_table(
        "sms_incoming",
        sa.Column("id", big, sa.Identity(always=False), primary_key=True),
        sa.Column("phone", text),
        sa.Column("phone_key", text),
        sa.Column("phone_masked", text, nullable=False),
        sa.Column("text", text),
        sa.Column("received_at", big, nullable=False),
        sa.Column("action", text, nullable=False),
    )
    op.create_index("sms_incoming_by_phone", "sms_incoming", ["phone_key"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table in ("sms_incoming", "sms_opt_outs", "sms_attempts", "sms_units", "sms_messages", "sms_meta"):
        op.drop_table(table)

"""The case store on PostgreSQL (`central.cases`): the hash-chained case log, append-only, its
projection of every case with the next-transition index the engine's tick reads, the
single-issue key of escalations and reminders, the sources' watermarks, the store's meta
and the clear phones of stores written before sealing.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02

Written out as they are at this revision (a migration never follows later code). On
SQLite the case store keeps its own file and makes its tables as it opens, so this
revision only marks the file. (There is no 0005: two
parts of central's move were written at once, and this one follows 0004 directly.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_STEPS = ("yellow_light_at", "red_light_at", "yellow_card_at", "red_card_at", "supervision_letter_at")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    text, big, integer = sa.Text(), sa.BigInteger(), sa.Integer()
    op.create_table(
        "case_events",
        sa.Column("seq", big, primary_key=True, autoincrement=False),  # the position in the chain
        sa.Column("case_id", text),
        sa.Column("kind", text, nullable=False),
        sa.Column("at", big),
        sa.Column("recorded_at", big, nullable=False),
        *(sa.Column(name, text, nullable=False) for name in ("actor", "body", "prev_hash", "hash")),
    )
    op.create_index("case_events_case", "case_events", ["case_id", "seq"])
    op.execute("CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events "
               "FOR EACH ROW EXECUTE FUNCTION hallwatch_refuse_change('the case log')")
    op.execute("CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events "
               "FOR EACH STATEMENT EXECUTE FUNCTION hallwatch_refuse_change('the case log')")
    op.create_table(
        "cases",
        sa.Column("case_id", text, primary_key=True),
        *(sa.Column(name, text, nullable=False) for name in ("hall", "unit", "matter", "officer")),
        sa.Column("accepted_at", big, nullable=False),
        sa.Column("limit_amount", integer, nullable=False),
        sa.Column("limit_unit", text, nullable=False),
        sa.Column("holds", text),
        sa.Column("completed_at", big),
        sa.Column("confirmed_at", big),
        *(sa.Column(name, text, nullable=False) for name in ("file", "digest", "stage")),
        sa.Column("due_day", integer),
        *(sa.Column(name, big) for name in _STEPS),
        sa.Column("uncertain_from", big),
        sa.Column("frozen_since", big),
        sa.Column("on_time", integer),
        sa.Column("days_taken", integer),
        sa.Column("next_at", big),
        sa.Column("last_seq", big, nullable=False),
        sa.Column("source", text, nullable=False, server_default=""),
        sa.Column("held_by", text),
    )
    op.create_index("cases_hall_stage", "cases", ["hall", "stage"])
    op.create_index("cases_unit_stage", "cases", ["unit", "stage"])
    op.create_index("cases_accepted", "cases", ["accepted_at"])
    op.create_index("cases_completed", "cases", ["completed_at"],
                    postgresql_where=sa.text("completed_at IS NOT NULL"))
    # The tick's one read: the rows of a source due by its horizon, an index range.
    op.create_index("cases_due", "cases", ["source", "next_at"],
                    postgresql_where=sa.text("next_at IS NOT NULL"))
    op.create_index("cases_held", "cases", ["held_by"], postgresql_where=sa.text("held_by IS NOT NULL"))
    op.create_table(
        "case_issued",
        # The single-issue key: whichever process ticks, each case gets each kind once.
        sa.Column("case_id", text, primary_key=True),
        sa.Column("kind", text, primary_key=True),
        sa.Column("due_at", big, nullable=False),
        sa.Column("seq", big, nullable=False),
        sa.Column("escalation", integer, nullable=False),
    )
    op.create_index("case_issued_due", "case_issued", ["due_at"])
    op.create_table(
        "case_personal",
        sa.Column("seq", big, primary_key=True),
        sa.Column("field", text, primary_key=True),
        sa.Column("value", text, nullable=False),
    )
    op.create_table(
        "case_meta",
        sa.Column("key", text, primary_key=True),
        sa.Column("value", text, nullable=False),
    )
    op.create_table(
        "case_sources",
        sa.Column("source", text, primary_key=True),
        sa.Column("watermark", big, nullable=False),
        sa.Column("updated_at", big, nullable=False),
    )


def downgrade() -> None:
    for table in ("case_sources", "case_meta", "case_personal", "case_issued", "cases"):
        op.drop_table(table)
    op.execute("DROP TRIGGER IF EXISTS case_events_no_truncate ON case_events")
    op.execute("DROP TRIGGER IF EXISTS case_events_append_only ON case_events")
    op.drop_table("case_events")

"""The supervision office on PostgreSQL (`central.anomalies`, `central.projects`): the anomaly
watch's cursors, parked facts and rules' state, the anomaly records and the hash-chained
anomaly log (append-only), the major projects, their cases and passes and the hash-chained
project log (append-only).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02

Written out as they are at this revision (a migration never follows later code). The
office's sealed notes use the vault of revision 0003 (`personal_keys`, ...), the database's
one set of keys. On SQLite the office keeps `supervision.sqlite` and its owners make their
tables as they open, so this revision only marks the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TABLES = ("project_passes", "project_cases", "projects", "project_log", "anomaly_rating_streaks",
           "anomaly_window_days", "anomaly_camera_gaps", "anomaly_complaint_visits", "anomaly_pairs",
           "anomaly_numbers", "anomalies", "anomaly_log", "anomaly_pending", "anomaly_cursors")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    text, big = sa.Text(), sa.BigInteger()
    # The watch: a cursor per feed, the facts read and not yet judged.
    op.create_table("anomaly_cursors", sa.Column("feed", text, primary_key=True),
                    sa.Column("position", big, nullable=False))
    op.create_table(
        "anomaly_pending",
        sa.Column("id", big, sa.Identity(always=False), primary_key=True),
        sa.Column("source", text, nullable=False),
        sa.Column("at", big, nullable=False),
        sa.Column("fact", text, nullable=False),
    )
    op.create_index("anomaly_pending_due", "anomaly_pending", ["source", "at"])
    _log("anomaly_log", "the anomaly log")
    op.create_table(
        "anomalies",
        sa.Column("id", text, primary_key=True),
        *(sa.Column(name, text, nullable=False) for name in ("rule", "hit_key", "title", "risk", "notify")),
        *(sa.Column(name, text) for name in ("hall", "unit", "case_id", "subject")),
        sa.Column("summary", text, nullable=False),
        sa.Column("happened_at", big, nullable=False),
        sa.Column("raised_at", big, nullable=False),
        sa.Column("state", text, nullable=False),
        *(sa.Column(name, text) for name in ("assignee", "finding", "cause")),
        sa.Column("closed_at", big),
        sa.Column("corrections", big, nullable=False, server_default="0"),
        sa.UniqueConstraint("rule", "hit_key"),
    )
    op.create_index("anomalies_by_state", "anomalies", ["state", "risk", "raised_at"])
    op.create_index("anomalies_by_case", "anomalies", ["case_id"])
    op.create_index("anomalies_by_time", "anomalies", ["raised_at"])
    op.create_table("anomaly_numbers", sa.Column("day", text, primary_key=True),
                    sa.Column("last", big, nullable=False))
    # The rules' state, each table keyed by the rule's name.
    op.create_table(
        "anomaly_pairs",
        *(sa.Column(name, text, primary_key=True) for name in ("rule", "officer", "applicant", "case_id")),
        sa.Column("at", big, nullable=False),
    )
    op.create_index("anomaly_pairs_by_pair", "anomaly_pairs", ["rule", "officer", "applicant", "at"])
    op.create_index("anomaly_pairs_by_time", "anomaly_pairs", ["rule", "at"])
    op.create_index("anomaly_pairs_by_case", "anomaly_pairs", ["case_id"])
    op.create_table(
        "anomaly_complaint_visits",
        sa.Column("rule", text, primary_key=True),
        sa.Column("complaint", text, primary_key=True),
        sa.Column("hall", text, nullable=False),
        sa.Column("window", text),
        sa.Column("start_ms", big, nullable=False),
        sa.Column("end_ms", big, nullable=False),
    )
    op.create_index("anomaly_complaint_visits_by_hall", "anomaly_complaint_visits",
                    ["rule", "hall", "end_ms"])
    op.create_table(
        "anomaly_camera_gaps",
        *(sa.Column(name, text, primary_key=True) for name in ("rule", "hall", "device")),
        sa.Column("gap_id", big, primary_key=True),
        sa.Column("camera", text, nullable=False),
        sa.Column("start_ms", big, nullable=False),
        sa.Column("end_ms", big, nullable=False),
        sa.Column("cause", text, nullable=False),
    )
    op.create_index("anomaly_camera_gaps_by_hall", "anomaly_camera_gaps", ["rule", "hall", "end_ms"])
    op.create_table(
        "anomaly_window_days",
        *(sa.Column(name, text, primary_key=True) for name in ("rule", "hall", "window", "day")),
        sa.Column("skips", big, nullable=False),
        sa.Column("call_backs", big, nullable=False),
    )
    op.create_table(
        "anomaly_rating_streaks",
        *(sa.Column(name, text, primary_key=True) for name in ("rule", "hall", "window")),
        *(sa.Column(name, big, nullable=False) for name in ("streak", "first_at", "last_at")),
    )
    # The major projects.
    _log("project_log", "the project log")
    op.create_table(
        "projects",
        sa.Column("id", text, primary_key=True),
        sa.Column("name", text, nullable=False),
        sa.Column("coordinator", text, nullable=False),
        sa.Column("limit_amount", big, nullable=False),
        sa.Column("limit_unit", text, nullable=False),
        sa.Column("started_at", big),
        sa.Column("created_at", big, nullable=False),
    )
    op.create_table(
        "project_cases",
        sa.Column("project", text, primary_key=True),
        sa.Column("case_id", text, primary_key=True),
        sa.Column("added_at", big, nullable=False),
    )
    op.create_index("project_cases_by_case", "project_cases", ["case_id"])
    op.create_table(
        "project_passes",
        sa.Column("code", text, primary_key=True),
        *(sa.Column(name, text, nullable=False) for name in ("project", "hall", "service", "day")),
        sa.Column("window", text),
        sa.Column("issued_at", big, nullable=False),
    )
    op.create_index("project_passes_by_day", "project_passes", ["hall", "day"])


def _log(table: str, what: str) -> None:
    """A hash-chained log (`central.ledger`, the default layout), refusing UPDATE, DELETE and
    TRUNCATE as the event log does (0001's function)."""
    text, big = sa.Text(), sa.BigInteger()
    op.create_table(
        table,
        sa.Column("seq", big, primary_key=True, autoincrement=False),  # the position in the chain
        *(sa.Column(name, text, nullable=False) for name in ("subject", "type")),
        sa.Column("at", big, nullable=False),
        *(sa.Column(name, text, nullable=False) for name in ("actor", "body", "prev_hash", "hash")),
    )
    op.create_index(f"{table}_by_subject", table, ["subject", "seq"])
    op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION hallwatch_refuse_change('{what}')")
    op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION hallwatch_refuse_change('{what}')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table in _TABLES:
        op.drop_table(table)

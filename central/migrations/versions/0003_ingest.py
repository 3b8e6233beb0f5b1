"""What central's ingest writes besides the log, on PostgreSQL: the personal-data vault the
sealing store keeps its keys in (`central.personal.vault`), the queue statistics
(`central.queue_stats`), the video directory (`central.video.directory`), the ratings
book with its follow-ups and their hash-chained log (`central.ratings`), the online
bookings with their hash-chained log (`central.booking`), which a kiosk's ticket checks in,
the complaint desk with its hash-chained log and footage holds (`central.complaints`), and
the SMS feed's cursors (`central.sms_feed`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

Written out as they are at this revision (a migration never follows later code). On
SQLite the store and the projections make these tables themselves as they open, so
this revision only marks the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    text, big = sa.Text(), sa.BigInteger()
    op.create_table(
        "personal_keys",
        sa.Column("key_id", text, primary_key=True),
        sa.Column("subject", text, nullable=False, unique=True),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", big, nullable=False),
    )
    op.create_table(
        "personal_index",
        sa.Column("digest", text, primary_key=True),
        sa.Column("key_id", text, primary_key=True),
    )
    op.create_index("personal_index_by_key", "personal_index", ["key_id"])
    op.create_table(
        "personal_meta",
        sa.Column("name", text, primary_key=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "personal_erasures",
        sa.Column("id", big, sa.Identity(always=False), primary_key=True),
        sa.Column("subject", text, nullable=False),
        sa.Column("at", big, nullable=False),
        sa.Column("actor", text, nullable=False),
        sa.Column("reason", text, nullable=False),
    )
    _append_only("personal_erasures", "the erasure log")
    op.create_table(
        "queue_segments",
        sa.Column("hall", text, primary_key=True),
        sa.Column("day", text, primary_key=True),
        sa.Column("ticket", text, primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("service", text, nullable=False),
        sa.Column("issued_at", big, nullable=False),
        sa.Column("waiting_since", big, nullable=False),
        sa.Column("called_at", big),
        sa.Column("window", text),
        sa.Column("officer", text),
        sa.Column("recalls", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("ended_at", big),
        sa.Column("outcome", text),
        sa.Column("service_ms", big),
    )
    op.create_index("queue_segments_day", "queue_segments", ["day", "hall"])
    op.create_table(
        "queue_contacts",
        sa.Column("hall", text, primary_key=True),
        sa.Column("day", text, primary_key=True),
        sa.Column("ticket", text, primary_key=True),
        sa.Column("window", text, nullable=False),
        sa.Column("phone", text, nullable=False),
        sa.Column("given_at", big, nullable=False),
    )
    op.create_table(
        "video_cameras",
        sa.Column("hall", text, primary_key=True),
        sa.Column("device", text, primary_key=True),
        sa.Column("camera", text, primary_key=True),
        sa.Column("state", text, nullable=False),
        sa.Column("since", big),
        sa.Column("reported_at", big, nullable=False),
    )
    op.create_table(
        "video_exports",
        sa.Column("hall", text, primary_key=True),
        sa.Column("device", text, primary_key=True),
        sa.Column("export_id", text, primary_key=True),
        sa.Column("camera", text, nullable=False),
        sa.Column("start_ms", big, nullable=False),
        sa.Column("end_ms", big, nullable=False),
        sa.Column("clip_bytes", big, nullable=False),
        sa.Column("clip_sha256", text, nullable=False),
        sa.Column("manifest_sha256", text, nullable=False),
    )
    op.create_table(
        "ratings",
        *(sa.Column(name, text, primary_key=True) for name in ("hall", "rating")),
        sa.Column("terminal", text, nullable=False),
        *(sa.Column(name, text) for name in ("window", "officer", "officer_name", "department", "service",
                                             "day", "ticket", "grade")),
        sa.Column("rated_at", big, nullable=False),
        sa.Column("how", text, nullable=False),
        sa.Column("reason", text),
        sa.Column("reason_label", text),
        sa.Column("event_id", text, nullable=False),
    )
    op.create_index("ratings_by_time", "ratings", ["rated_at"])
    op.create_table(
        "rating_followups",
        sa.Column("hall", text, primary_key=True),
        sa.Column("rating", text, primary_key=True),
        sa.Column("opened_at", big, nullable=False),
        sa.Column("due_at", big, nullable=False),
        sa.Column("due_estimated", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("state", text, nullable=False),
        sa.Column("rectified_at", big),
        sa.Column("rectification", text),
        sa.Column("called_back_at", big),
        sa.Column("callback_result", text),
        sa.Column("closed_at", big),
    )
    op.create_index("rating_followups_open", "rating_followups", ["state", "due_at"])
    op.create_table(
        "rating_followup_log",
        sa.Column("id", big, primary_key=True, autoincrement=False),  # the position in the chain
        *(sa.Column(name, text, nullable=False) for name in ("hall", "rating", "action", "actor", "note")),
        sa.Column("at", big, nullable=False),
        sa.Column("prev_hash", text, nullable=False),
        sa.Column("hash", text, nullable=False),
    )
    _append_only("rating_followup_log", "the follow-up log")
    op.create_table(
        "bookings",
        sa.Column("code", text, primary_key=True),
        *(sa.Column(name, text, nullable=False) for name in ("hall", "day", "slot")),
        sa.Column("starts_at", big, nullable=False),
        sa.Column("ends_at", big, nullable=False),
        *(sa.Column(name, text, nullable=False) for name in (
            "department", "matter_id", "matter", "service", "officer", "officer_name", "window_id", "phone",
            "state")),
        sa.Column("booked_at", big, nullable=False),
        sa.Column("closed_at", big),
        sa.Column("ticket", text),
    )
    op.create_index("bookings_by_officer", "bookings", ["hall", "officer", "day", "slot"])
    op.create_index("bookings_by_state", "bookings", ["state", "day"])
    op.create_table(
        "booking_log",
        sa.Column("seq", big, primary_key=True, autoincrement=False),  # the position in the chain
        *(sa.Column(name, text, nullable=False) for name in ("code", "type")),
        sa.Column("at", big, nullable=False),
        *(sa.Column(name, text, nullable=False) for name in ("actor", "body", "prev_hash", "hash")),
    )
    op.create_index("booking_log_by_code", "booking_log", ["code", "seq"])
    _append_only("booking_log", "the booking log")
    op.create_table(
        "complaint_log",
        sa.Column("seq", big, primary_key=True, autoincrement=False),  # the position in the chain
        *(sa.Column(name, text, nullable=False) for name in ("complaint", "type")),
        sa.Column("at", big, nullable=False),
        *(sa.Column(name, text, nullable=False) for name in ("actor", "body", "prev_hash", "hash")),
    )
    op.create_index("complaint_log_by_complaint", "complaint_log", ["complaint", "seq"])
    _append_only("complaint_log", "the complaint log")
    op.create_table(
        "complaints",
        sa.Column("id", text, primary_key=True),
        sa.Column("received_at", big, nullable=False),
        sa.Column("channel", text, nullable=False),
        sa.Column("hall", text, nullable=False),
        *(sa.Column(name, text) for name in ("ticket", "window", "officer", "unit", "handler")),
        sa.Column("visit_from", big),
        sa.Column("visit_to", big),
        sa.Column("visit_problem", text),
        sa.Column("summary", text, nullable=False),
        sa.Column("state", text, nullable=False),
        sa.Column("due_at", big, nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("answered_at", big),
        sa.Column("answer", text),
    )
    op.create_table(
        "complaint_holds",
        sa.Column("hold", text, primary_key=True),
        sa.Column("complaint", text, nullable=False),
        sa.Column("hall", text, nullable=False),
        sa.Column("device", text, primary_key=True),
        sa.Column("window", text, nullable=False),
        sa.Column("start_ms", big, nullable=False),
        sa.Column("end_ms", big, nullable=False),
        sa.Column("requested_at", big, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("confirmed_at", big),
        sa.Column("cameras", text),
        sa.Column("held_segments", big, nullable=False, server_default="0"),
    )
    op.create_table(
        "sms_feed_cursor",
        sa.Column("source", text, primary_key=True),
        sa.Column("position", big, nullable=False),
        sa.Column("updated_at", big, nullable=False),
    )


def _append_only(table: str, what: str) -> None:
    """Refuse UPDATE, DELETE and TRUNCATE on `table`, as the event log does (0001's function)."""
    op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION hallwatch_refuse_change('{what}')")
    op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION hallwatch_refuse_change('{what}')")


def downgrade() -> None:
    for table in ("sms_feed_cursor", "complaint_holds", "complaints", "complaint_log", "booking_log",
                  "bookings", "rating_followup_log", "rating_followups", "ratings", "video_exports",
                  "video_cameras", "queue_contacts", "queue_segments", "personal_erasures", "personal_meta",
                  "personal_index", "personal_keys"):
        op.drop_table(table)

"""The ratings book's tables in SQLAlchemy Core: its statements' tables, and what migration 0003
makes on PostgreSQL (on SQLite the book makes them from `book.SCHEMA` and `followups.SCHEMA`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, Table, Text

RATING_TABLES = MetaData()
RATINGS = Table(
    "ratings", RATING_TABLES,
    Column("hall", Text, primary_key=True),
    Column("rating", Text, primary_key=True),
    Column("terminal", Text, nullable=False),
    Column("window", Text),
    Column("officer", Text),
    Column("officer_name", Text),
    Column("department", Text),
    Column("service", Text),
    Column("day", Text),
    Column("ticket", Text),
    Column("grade", Text),
    Column("rated_at", BigInteger, nullable=False),
    Column("how", Text, nullable=False),
    Column("reason", Text),
    Column("reason_label", Text),
    Column("event_id", Text, nullable=False),
    Index("ratings_by_time", "rated_at"),
)
RATING_FOLLOWUPS = Table(
    "rating_followups", RATING_TABLES,
    Column("hall", Text, primary_key=True),
    Column("rating", Text, primary_key=True),
    Column("opened_at", BigInteger, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("due_estimated", Integer, nullable=False, server_default="0"),
    Column("state", Text, nullable=False),
    Column("rectified_at", BigInteger),
    Column("rectification", Text),
    Column("called_back_at", BigInteger),
    Column("callback_result", Text),
    Column("closed_at", BigInteger),
    Index("rating_followups_open", "state", "due_at"),
)
RATING_FOLLOWUP_LOG = Table(
    "rating_followup_log", RATING_TABLES,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("hall", Text, nullable=False),
    Column("rating", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
)
"""The follow-up log: its id is the record's position in the hash chain, given by the writer
(`Link.after`), never by the database."""

"""The ratings book's tables in SQLAlchemy Core: its statements' tables, and what migration 0003
makes on PostgreSQL (on SQLite the book makes them from `book.SCHEMA` and `followups.SCHEMA`),
and the follow-up log (`central.ledger`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, Table, Text

from central.ledger import Layout, Ledger

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
FOLLOWUP_LOG = Ledger("rating_followup_log", "the follow-up log", Layout(
    subject=("hall", "rating"), position="id", type="action", body="note",
    order=("subject", "type", "actor", "body", "at"), by_subject=False))
"""The follow-up log: `rating_followup_log(id, hall, rating, action, actor, note, at, prev_hash, hash)`;
its id is the record's position in the hash chain, given by the writer, never by the database."""
RATING_FOLLOWUP_LOG = FOLLOWUP_LOG.table

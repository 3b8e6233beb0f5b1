"""The SMS platform's tables: in its own `sms.sqlite` beside a SQLite central, or in central's
PostgreSQL database (revision 0009), where every central process's worker shares them.

`SCHEMA` makes them in a SQLite file (and `upgrade_file` adds what older files lack); on
PostgreSQL they are the migration's. The SQLAlchemy tables below are the same columns, for
the outbox's statements, written once for both (`spine.statement`).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, Table, Text

SCHEMA = """
CREATE TABLE IF NOT EXISTS sms_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sms_messages (
    id INTEGER PRIMARY KEY,
    fact_id TEXT NOT NULL,
    fact_type TEXT NOT NULL,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    subject TEXT NOT NULL,
    phone TEXT,
    phone_key TEXT,
    phone_masked TEXT NOT NULL,
    text TEXT NOT NULL,
    parts INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    hold TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sender TEXT,
    units_total INTEGER,
    units_sent INTEGER NOT NULL DEFAULT 0,
    concat_ref INTEGER NOT NULL,
    sent_at INTEGER,
    delivered_at INTEGER,
    sender_process TEXT,
    lease_until INTEGER,
    UNIQUE (fact_id, recipient, template)
);
CREATE INDEX IF NOT EXISTS sms_messages_due ON sms_messages (not_before, id) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS sms_messages_by_phone ON sms_messages (phone_key, sent_at);
CREATE INDEX IF NOT EXISTS sms_messages_by_sent ON sms_messages (sent_at);
CREATE TABLE IF NOT EXISTS sms_units (
    message_id INTEGER NOT NULL REFERENCES sms_messages (id),
    unit INTEGER NOT NULL,
    reference TEXT,
    sent_at INTEGER NOT NULL,
    report TEXT,
    reported_at INTEGER,
    PRIMARY KEY (message_id, unit)
);
CREATE INDEX IF NOT EXISTS sms_units_by_reference ON sms_units (reference, sent_at);
CREATE TABLE IF NOT EXISTS sms_attempts (
    message_id INTEGER NOT NULL REFERENCES sms_messages (id),
    at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS sms_opt_outs (
    phone_key TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    via TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sms_incoming (
    id INTEGER PRIMARY KEY,
    phone TEXT,
    phone_key TEXT,
    phone_masked TEXT NOT NULL,
    text TEXT,
    received_at INTEGER NOT NULL,
    action TEXT NOT NULL
);
"""
_ADDED_COLUMNS = (("sms_messages", "sender_process", "TEXT"), ("sms_messages", "lease_until", "INTEGER"))
"""Columns a file made by an earlier release lacks (who holds a message being sent, until when)."""
_SENDING_INDEX = "CREATE INDEX IF NOT EXISTS sms_messages_sending ON sms_messages (lease_until) " \
                 "WHERE state = 'sending'"


def upgrade_file(connection: sqlite3.Connection) -> None:
    """Make the tables in a SQLite file, and add to an older file what this release reads."""
    connection.executescript(SCHEMA)
    for table, column, kind in _ADDED_COLUMNS:
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    connection.execute(_SENDING_INDEX)


SMS_TABLES = MetaData()
SMS_META = Table(
    "sms_meta", SMS_TABLES,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
SMS_MESSAGES = Table(
    "sms_messages", SMS_TABLES,
    Column("id", BigInteger, primary_key=True),
    *(Column(name, Text, nullable=False)
      for name in ("fact_id", "fact_type", "recipient", "template", "subject")),
    Column("phone", Text),
    Column("phone_key", Text),
    Column("phone_masked", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("not_before", BigInteger, nullable=False),
    Column("hold", Text),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("sender", Text),
    Column("units_total", Integer),
    Column("units_sent", Integer, nullable=False),
    Column("concat_ref", Integer, nullable=False),
    Column("sent_at", BigInteger),
    Column("delivered_at", BigInteger),
    Column("sender_process", Text),
    Column("lease_until", BigInteger),
)
SMS_UNITS = Table(
    "sms_units", SMS_TABLES,
    Column("message_id", BigInteger, ForeignKey("sms_messages.id"), primary_key=True),
    Column("unit", Integer, primary_key=True),
    Column("reference", Text),
    Column("sent_at", BigInteger, nullable=False),
    Column("report", Text),
    Column("reported_at", BigInteger),
)
SMS_ATTEMPTS = Table(
    "sms_attempts", SMS_TABLES,
    # On PostgreSQL the attempts' order is this id; a SQLite file keeps it in its rowid.
    Column("id", BigInteger, primary_key=True),
    Column("message_id", BigInteger, ForeignKey("sms_messages.id"), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("detail", Text),
)
SMS_OPT_OUTS = Table(
    "sms_opt_outs", SMS_TABLES,
    Column("phone_key", Text, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("via", Text, nullable=False),
)
SMS_INCOMING = Table(
    "sms_incoming", SMS_TABLES,
    Column("id", BigInteger, primary_key=True),
    Column("phone", Text),
    Column("phone_key", Text),
    Column("phone_masked", Text, nullable=False),
    Column("text", Text),
    Column("received_at", BigInteger, nullable=False),
    Column("action", Text, nullable=False),
)
ERASED_TABLES = ("sms_messages", "sms_incoming")
"""Where an erasure overwrites or deletes a number (VACUUMed after it on PostgreSQL)."""

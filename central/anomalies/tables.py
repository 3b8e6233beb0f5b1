"""The supervision office's tables in SQLAlchemy Core: what its statements are written against,
once for SQLite and PostgreSQL (`spine.statement`).

In `supervision.sqlite` their owners make them as they open (the `SCHEMA` texts beside each:
`watch`, `book`, the detectors, `central.projects`); on PostgreSQL migration 0010 makes them,
with the anomaly and project logs' append-only triggers. These definitions mirror both.
The detectors' own state tables are defined beside each detector, the logs by `central.ledger`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Identity, Index, MetaData, Table, Text, UniqueConstraint

SUPERVISION_TABLES = MetaData()

ANOMALY_CURSORS = Table(
    "anomaly_cursors", SUPERVISION_TABLES,
    Column("feed", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)

ANOMALY_PENDING = Table(
    "anomaly_pending", SUPERVISION_TABLES,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("source", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("fact", Text, nullable=False),
    Index("anomaly_pending_due", "source", "at"),
)

ANOMALIES = Table(
    "anomalies", SUPERVISION_TABLES,
    Column("id", Text, primary_key=True),
    Column("rule", Text, nullable=False),
    Column("hit_key", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("risk", Text, nullable=False),
    Column("notify", Text, nullable=False),
    Column("hall", Text),
    Column("unit", Text),
    Column("case_id", Text),
    Column("subject", Text),
    Column("summary", Text, nullable=False),
    Column("happened_at", BigInteger, nullable=False),
    Column("raised_at", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("assignee", Text),
    Column("finding", Text),
    Column("cause", Text),
    Column("closed_at", BigInteger),
    Column("corrections", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("rule", "hit_key"),
    Index("anomalies_by_state", "state", "risk", "raised_at"),
    Index("anomalies_by_case", "case_id"),
    Index("anomalies_by_time", "raised_at"),
)

ANOMALY_NUMBERS = Table(
    "anomaly_numbers", SUPERVISION_TABLES,
    Column("day", Text, primary_key=True),
    Column("last", BigInteger, nullable=False),
)

"""The case store's tables in SQLAlchemy Core: what its statements are written against, once for
SQLite and PostgreSQL (`spine.statement`).

On SQLite the store makes its tables itself as it opens (the `SCHEMA` texts beside each
part: `eventlog`, `projection`, `sources`); on PostgreSQL migration 0006 makes them, with
the case log's append-only triggers. These definitions mirror both and are what every
statement names.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, Table, Text, literal_column

CASE_TABLES = MetaData()

CASE_EVENTS = Table(
    "case_events", CASE_TABLES,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),  # the position in the chain
    Column("case_id", Text),
    Column("kind", Text, nullable=False),
    Column("at", BigInteger),
    Column("recorded_at", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("case_events_case", "case_id", "seq"),
)

STEP_COLUMNS = ("yellow_light_at", "red_light_at", "yellow_card_at", "red_card_at",
                "supervision_letter_at")
"""The instant each step of the ladder is reached (`central.cases.stages.LADDER`, in order)."""

CASES = Table(
    "cases", CASE_TABLES,
    Column("case_id", Text, primary_key=True),
    Column("hall", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("matter", Text, nullable=False),
    Column("officer", Text, nullable=False),
    Column("accepted_at", BigInteger, nullable=False),
    Column("limit_amount", Integer, nullable=False),
    Column("limit_unit", Text, nullable=False),
    Column("holds", Text),
    Column("completed_at", BigInteger),
    Column("confirmed_at", BigInteger),
    Column("file", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Column("stage", Text, nullable=False),
    Column("due_day", Integer),
    *(Column(name, BigInteger) for name in STEP_COLUMNS),
    Column("uncertain_from", BigInteger),
    Column("frozen_since", BigInteger),
    Column("on_time", Integer),
    Column("days_taken", Integer),
    Column("next_at", BigInteger),
    Column("last_seq", BigInteger, nullable=False),
    Column("source", Text, nullable=False, server_default=""),
    Column("held_by", Text),
    Index("cases_hall_stage", "hall", "stage"),
    Index("cases_unit_stage", "unit", "stage"),
    Index("cases_accepted", "accepted_at"),
    Index("cases_completed", "completed_at", sqlite_where=literal_column("completed_at IS NOT NULL"),
          postgresql_where=literal_column("completed_at IS NOT NULL")),
    Index("cases_due", "source", "next_at", sqlite_where=literal_column("next_at IS NOT NULL"),
          postgresql_where=literal_column("next_at IS NOT NULL")),
    Index("cases_held", "held_by", sqlite_where=literal_column("held_by IS NOT NULL"),
          postgresql_where=literal_column("held_by IS NOT NULL")),
)

CASE_ISSUED = Table(
    "case_issued", CASE_TABLES,
    # The single-issue key: whoever ticks, a case gets each escalation or reminder once.
    Column("case_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("due_at", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("escalation", Integer, nullable=False),
    Index("case_issued_due", "due_at"),
)

CASE_PERSONAL = Table(
    "case_personal", CASE_TABLES,
    # Clear phones a store written before sealing kept aside (read and erased, never written now).
    Column("seq", BigInteger, primary_key=True),
    Column("field", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

CASE_META = Table(
    "case_meta", CASE_TABLES,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

CASE_DAY_COUNTS = Table(
    "case_day_counts", CASE_TABLES,
    # Cases per Shanghai day, hall and unit, kept by triggers on `cases` (`central.cases.daycounts`).
    Column("measure", Text, primary_key=True),  # received, completed, on_time
    Column("day", Integer, primary_key=True),
    Column("hall", Text, primary_key=True),
    Column("unit", Text, primary_key=True),
    Column("n", Integer, nullable=False),
)

CASE_OPEN_COUNTS = Table(
    "case_open_counts", CASE_TABLES,
    # Open cases (confirmed_at IS NULL) per light and place, kept by triggers on `cases`
    # (`central.cases.opencounts`); a count moved down to nothing stays, as n = 0.
    Column("stage", Text, primary_key=True),
    Column("hall", Text, primary_key=True),
    Column("unit", Text, primary_key=True),
    Column("n", Integer, nullable=False),
)

CASE_CARD_COUNTS = Table(
    "case_card_counts", CASE_TABLES,
    # Escalations issued per kind, Shanghai day of due_at, and the case's hall and unit, and of
    # those how many the case's record disowns for good; kept by triggers on `case_issued` and
    # `cases` (`central.cases.cardcounts`).
    Column("day", Integer, primary_key=True),  # first: a period is a range of the key
    Column("hall", Text, primary_key=True),
    Column("unit", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("issued", Integer, nullable=False),
    Column("disowned", Integer, nullable=False),
)

CASE_CARDS_PUSHED = Table(
    "case_cards_pushed", CASE_TABLES,
    # Issued escalations whose stage a correction pushed past their due_at: disowned until that
    # instant (`central.cases.cardcounts`), kept by the same triggers.
    Column("case_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("due_at", BigInteger, nullable=False),
)

CASE_SOURCES = Table(
    "case_sources", CASE_TABLES,
    Column("source", Text, primary_key=True),
    Column("watermark", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

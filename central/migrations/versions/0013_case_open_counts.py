"""Open cases per light and place (`case_open_counts`), kept by statement-level triggers.

Revision ID: 0013
Revises: 0012 (issue #17's branch openc; the lead chains it at merge)
Create Date: 2026-12-02

The big screen counted a province's million open cases by light, hall and unit from the
partial index `cases_open_places` at every refresh, about 0.4 s a time; it now reads these
counts (`central/cases/opencounts.py`, `central/web/screen/sqltally.py`). Written out as it is
at this revision: the table, the open cases already stored counted into it, and the trigger
function that keeps it as `cases` changes. The triggers are per statement, with transition
tables: a tick's batch of lights is one UPDATE (`central/cases/bulk.py`), so the counts cost one
grouped upsert a batch rather than one a case. On SQLite the case store makes the same table
with row triggers as it opens, so this revision only marks the file.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_UPSERT = ("INSERT INTO case_open_counts (stage, hall, unit, n)"
           " SELECT stage, hall, unit, sum(d) FROM ({moves}) AS m GROUP BY stage, hall, unit"
           " HAVING sum(d) <> 0 ORDER BY stage, hall, unit"  # one order: no two writers cross
           " ON CONFLICT (stage, hall, unit) DO UPDATE SET n = case_open_counts.n + EXCLUDED.n")
_IN = "SELECT stage, hall, unit, 1 AS d FROM moved_in WHERE confirmed_at IS NULL"
_OUT = "SELECT stage, hall, unit, -1 AS d FROM moved_out WHERE confirmed_at IS NULL"
_TRIGGERS = (
    ("cases_open_counted_insert", "INSERT", "NEW TABLE AS moved_in"),
    ("cases_open_counted_update", "UPDATE", "OLD TABLE AS moved_out NEW TABLE AS moved_in"),
    ("cases_open_counted_delete", "DELETE", "OLD TABLE AS moved_out"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("CREATE TABLE case_open_counts (stage TEXT NOT NULL, hall TEXT NOT NULL,"
               " unit TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (stage, hall, unit))")
    op.execute("INSERT INTO case_open_counts (stage, hall, unit, n)"
               " SELECT stage, hall, unit, count(*) FROM cases WHERE confirmed_at IS NULL"
               " GROUP BY stage, hall, unit")
    # A transition table takes no WHEN clause nor column list: the function filters the open
    # rows itself, and an update moving no case between places nets out to nothing written.
    op.execute(f"""
CREATE FUNCTION case_open_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_UPSERT.format(moves=_IN)};
    ELSIF TG_OP = 'DELETE' THEN
        {_UPSERT.format(moves=_OUT)};
    ELSE
        {_UPSERT.format(moves=f"{_OUT} UNION ALL {_IN}")};
    END IF;
    RETURN NULL;
END $$""")
    for name, event, tables in _TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON cases REFERENCING {tables}"
                   " FOR EACH STATEMENT EXECUTE FUNCTION case_open_counts_move()")
    # TRUNCATE (the owner's, never central's) leaves no open case to count.
    op.execute("""
CREATE FUNCTION case_open_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM case_open_counts;
    RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER cases_open_counted_truncate AFTER TRUNCATE ON cases"
               " FOR EACH STATEMENT EXECUTE FUNCTION case_open_counts_clear()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, _, _ in (*_TRIGGERS, ("cases_open_counted_truncate", "", "")):
        op.execute(f"DROP TRIGGER {name} ON cases")
    op.execute("DROP FUNCTION case_open_counts_clear()")
    op.execute("DROP FUNCTION case_open_counts_move()")
    op.execute("DROP TABLE case_open_counts")

"""The day counts (`case_day_counts`) kept by statement-level triggers, as the open counts are.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Revision 0012 kept the day counts with a row trigger: up to three upserts per case inserted,
about 120 us more per case on PostgreSQL, so a bulk load (`hall central move-cases`, an import
of a province's history, COPY) paid it row by row: a million cases' COPY with it ran for more
than twenty minutes where it takes seconds without. This revision replaces it by triggers per
statement with transition tables: a statement's moves are added up and written in one grouped
upsert (keys in one order, so writers never cross), an update moving no count nets out to
nothing written, and an INSERT of a million rows is one aggregate. The counts mean the same
(`central/cases/daycounts.py`); `tests/cases/test_day_counts.py` compares them with the cases'
own count on both databases. SQLite keeps its row triggers (in process, a few microseconds);
this revision only marks the file there.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_DAY = "(({t} + 28800) / 86400)"
_DONE = "confirmed_at IS NOT NULL AND completed_at IS NOT NULL"


def _moves(rows: str, sign: str) -> str:
    """The measures each row of the transition table `rows` counts in, with `sign` 1 each."""
    return (f"SELECT 'received' AS measure, {_DAY.format(t='accepted_at')} AS day, hall, unit,"
            f" {sign}1 AS d FROM {rows}"
            f" UNION ALL SELECT 'completed', {_DAY.format(t='completed_at')}, hall, unit, {sign}1"
            f" FROM {rows} WHERE {_DONE}"
            f" UNION ALL SELECT 'on_time', {_DAY.format(t='completed_at')}, hall, unit, {sign}1"
            f" FROM {rows} WHERE {_DONE} AND on_time = 1")


def _upsert(moves: str) -> str:
    return ("INSERT INTO case_day_counts (measure, day, hall, unit, n)"
            f" SELECT measure, day, hall, unit, sum(d) FROM ({moves}) AS m"
            " GROUP BY measure, day, hall, unit HAVING sum(d) <> 0"
            " ORDER BY measure, day, hall, unit"  # one order: no two writers cross
            " ON CONFLICT (measure, day, hall, unit) DO UPDATE SET n = case_day_counts.n + EXCLUDED.n")


_TRIGGERS = (
    ("cases_day_counted_insert", "INSERT", "NEW TABLE AS moved_in"),
    ("cases_day_counted_update", "UPDATE", "OLD TABLE AS moved_out NEW TABLE AS moved_in"),
    ("cases_day_counted_delete", "DELETE", "OLD TABLE AS moved_out"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER cases_counted_update ON cases")
    op.execute("DROP TRIGGER cases_counted ON cases")
    op.execute("DROP FUNCTION case_day_counts_move()")
    op.execute("DROP FUNCTION case_day_counts_add(bigint, bigint, bigint, integer, text, text, integer)")
    # A transition table takes no WHEN clause: a tick's update of lights only nets out (each
    # row's moves out and in cancel) and the HAVING leaves nothing to write.
    op.execute(f"""
CREATE FUNCTION case_day_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert(_moves('moved_in', '+'))};
    ELSIF TG_OP = 'DELETE' THEN
        {_upsert(_moves('moved_out', '-'))};
    ELSE
        {_upsert(_moves('moved_out', '-') + ' UNION ALL ' + _moves('moved_in', '+'))};
    END IF;
    RETURN NULL;
END $$""")
    for name, event, tables in _TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON cases REFERENCING {tables}"
                   " FOR EACH STATEMENT EXECUTE FUNCTION case_day_counts_move()")
    # TRUNCATE (the owner's, never central's) leaves no case to count.
    op.execute("""
CREATE FUNCTION case_day_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM case_day_counts;
    RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER cases_day_counted_truncate AFTER TRUNCATE ON cases"
               " FOR EACH STATEMENT EXECUTE FUNCTION case_day_counts_clear()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, _, _ in (*_TRIGGERS, ("cases_day_counted_truncate", "", "")):
        op.execute(f"DROP TRIGGER {name} ON cases")
    op.execute("DROP FUNCTION case_day_counts_clear()")
    op.execute("DROP FUNCTION case_day_counts_move()")
    # Revision 0012's row trigger again, as it was.
    op.execute(f"""
CREATE FUNCTION case_day_counts_add(accepted bigint, completed bigint, confirmed bigint,
                                    timely integer, at_hall text, at_unit text, delta integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_day_counts (measure, day, hall, unit, n)
    VALUES ('received', {_DAY.format(t='accepted')}, at_hall, at_unit, delta)
    ON CONFLICT (measure, day, hall, unit) DO UPDATE SET n = case_day_counts.n + EXCLUDED.n;
    IF confirmed IS NOT NULL AND completed IS NOT NULL THEN
        INSERT INTO case_day_counts (measure, day, hall, unit, n)
        VALUES ('completed', {_DAY.format(t='completed')}, at_hall, at_unit, delta)
        ON CONFLICT (measure, day, hall, unit) DO UPDATE SET n = case_day_counts.n + EXCLUDED.n;
        IF timely = 1 THEN
            INSERT INTO case_day_counts (measure, day, hall, unit, n)
            VALUES ('on_time', {_DAY.format(t='completed')}, at_hall, at_unit, delta)
            ON CONFLICT (measure, day, hall, unit) DO UPDATE SET n = case_day_counts.n + EXCLUDED.n;
        END IF;
    END IF;
END $$""")
    op.execute("""
CREATE FUNCTION case_day_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM case_day_counts_add(OLD.accepted_at, OLD.completed_at, OLD.confirmed_at,
                                    OLD.on_time, OLD.hall, OLD.unit, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM case_day_counts_add(NEW.accepted_at, NEW.completed_at, NEW.confirmed_at,
                                    NEW.on_time, NEW.hall, NEW.unit, 1);
    END IF;
    RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER cases_counted AFTER INSERT OR DELETE ON cases"
               " FOR EACH ROW EXECUTE FUNCTION case_day_counts_move()")
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in (
        "accepted_at", "completed_at", "confirmed_at", "on_time", "hall", "unit"))
    op.execute(f"CREATE TRIGGER cases_counted_update AFTER UPDATE ON cases FOR EACH ROW"
               f" WHEN ({changed}) EXECUTE FUNCTION case_day_counts_move()")

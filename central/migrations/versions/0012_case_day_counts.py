"""Cases received and completed per day, hall and unit (`case_day_counts`), kept by triggers.

Revision ID: 0012
Revises: 0010 (issue #17's branch pgF; the lead chains it after 0011 at merge)
Create Date: 2026-12-02

The month x unit statistics counted a province's month of cases (about a million) one by one,
for seconds on either database; they now add up these counts (`central/cases/daycounts.py`,
`central/cases/stats.py`). Written out as it is at this revision: the table, the cases already
stored counted into it, and the trigger functions that keep it as `cases` changes. On SQLite
the case store makes the same table and triggers as it opens, so this revision only marks the
file.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_DAY = "(({t} + 28800) / 86400)"
_ADD = "ON CONFLICT (measure, day, hall, unit) DO UPDATE SET n = case_day_counts.n + EXCLUDED.n"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("CREATE TABLE case_day_counts (measure TEXT NOT NULL, day INTEGER NOT NULL,"
               " hall TEXT NOT NULL, unit TEXT NOT NULL, n INTEGER NOT NULL,"
               " PRIMARY KEY (measure, day, hall, unit))")
    op.execute(
        "INSERT INTO case_day_counts (measure, day, hall, unit, n)"
        f" SELECT 'received', {_DAY.format(t='accepted_at')}, hall, unit, count(*) FROM cases"
        " GROUP BY 2, 3, 4"
        f" UNION ALL SELECT 'completed', {_DAY.format(t='completed_at')}, hall, unit, count(*)"
        " FROM cases WHERE confirmed_at IS NOT NULL AND completed_at IS NOT NULL GROUP BY 2, 3, 4"
        f" UNION ALL SELECT 'on_time', {_DAY.format(t='completed_at')}, hall, unit, count(*)"
        " FROM cases WHERE confirmed_at IS NOT NULL AND completed_at IS NOT NULL AND on_time = 1"
        " GROUP BY 2, 3, 4")
    op.execute(f"""
CREATE FUNCTION case_day_counts_add(accepted bigint, completed bigint, confirmed bigint,
                                    timely integer, at_hall text, at_unit text, delta integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_day_counts (measure, day, hall, unit, n)
    VALUES ('received', {_DAY.format(t='accepted')}, at_hall, at_unit, delta) {_ADD};
    IF confirmed IS NOT NULL AND completed IS NOT NULL THEN
        INSERT INTO case_day_counts (measure, day, hall, unit, n)
        VALUES ('completed', {_DAY.format(t='completed')}, at_hall, at_unit, delta) {_ADD};
        IF timely = 1 THEN
            INSERT INTO case_day_counts (measure, day, hall, unit, n)
            VALUES ('on_time', {_DAY.format(t='completed')}, at_hall, at_unit, delta) {_ADD};
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


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER cases_counted_update ON cases")
    op.execute("DROP TRIGGER cases_counted ON cases")
    op.execute("DROP FUNCTION case_day_counts_move()")
    op.execute("DROP FUNCTION case_day_counts_add(bigint, bigint, bigint, integer, text, text, integer)")
    op.execute("DROP TABLE case_day_counts")

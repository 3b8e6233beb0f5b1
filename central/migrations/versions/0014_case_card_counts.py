"""Cards and letters issued per kind, day, hall and unit (`case_card_counts`), and the cards a
correction pushed past their stage (`case_cards_pushed`), kept by triggers.

Revision ID: 0014
Revises: 0013 (issue #17's branch cardc, chained after 0013 at merge)
Create Date: 2026-12-02

A month's statistics joined every card of the month to its case for the case's unit and its
false alarms; they now add up these counts and read the few pushed cards
(`central/cases/cardcounts.py`, `central/cases/stats.py`). Written out as it is at this
revision: the tables, the cards already stored counted into them, and the trigger functions
that keep them as `case_issued` and `cases` change, once per statement (transition tables: a
tick writes a batch's issued rows, and its lights, with one statement each). On SQLite the case
store makes the same tables with row triggers as it opens, so this revision only marks the file.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_DAY = "(({t} + 28800) / 86400)"
_ADD = ("ON CONFLICT (day, hall, unit, kind) DO UPDATE SET issued = case_card_counts.issued"
        " + EXCLUDED.issued, disowned = case_card_counts.disowned + EXCLUDED.disowned")
_STAGE = ("(CASE i.kind WHEN 'yellow_card' THEN c.yellow_card_at WHEN 'red_card' THEN c.red_card_at"
          " WHEN 'supervision_letter' THEN c.supervision_letter_at END)")
_FOR_GOOD = f"({_STAGE} IS NULL OR (c.completed_at IS NOT NULL AND c.completed_at < {_STAGE}))"
_PUSHED = (f"({_STAGE} IS NOT NULL AND (c.completed_at IS NULL OR c.completed_at >= {_STAGE})"
           f" AND {_STAGE} > i.due_at)")
_CHANGED = " OR ".join(f"o.{column} IS DISTINCT FROM n.{column}" for column in (
    "hall", "unit", "yellow_card_at", "red_card_at", "supervision_letter_at", "completed_at"))


def _count(issued: str, cases: str, sign: str) -> str:
    """Add (sign '') or take out (sign '-') the contribution of the issued rows joined to the
    cases, a row per key in the key's order (so two writers could never cross)."""
    return (f"INSERT INTO case_card_counts (kind, day, hall, unit, issued, disowned)"
            f" SELECT i.kind, {_DAY.format(t='i.due_at')}, c.hall, c.unit, {sign}count(*),"
            f" {sign}sum(CASE WHEN {_FOR_GOOD} THEN 1 ELSE 0 END)"
            f" FROM {issued} i JOIN {cases} c ON c.case_id = i.case_id WHERE i.escalation = 1"
            f" GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 {_ADD}")


def _push(issued: str, cases: str) -> str:
    return (f"INSERT INTO case_cards_pushed (case_id, kind, due_at) SELECT i.case_id, i.kind, i.due_at"
            f" FROM {issued} i JOIN {cases} c ON c.case_id = i.case_id"
            f" WHERE i.escalation = 1 AND {_PUSHED}")


_OLD_CHANGED = f"(SELECT o.* FROM old_cases o JOIN new_cases n ON n.case_id = o.case_id WHERE {_CHANGED})"
_NEW_CHANGED = f"(SELECT n.* FROM old_cases o JOIN new_cases n ON n.case_id = o.case_id WHERE {_CHANGED})"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("CREATE TABLE case_card_counts (kind TEXT NOT NULL, day INTEGER NOT NULL,"
               " hall TEXT NOT NULL, unit TEXT NOT NULL, issued INTEGER NOT NULL,"
               " disowned INTEGER NOT NULL, PRIMARY KEY (day, hall, unit, kind))")
    op.execute("CREATE TABLE case_cards_pushed (case_id TEXT NOT NULL, kind TEXT NOT NULL,"
               " due_at BIGINT NOT NULL, PRIMARY KEY (case_id, kind))")
    op.execute(_count("case_issued", "cases", ""))
    op.execute(_push("case_issued", "cases"))
    op.execute(f"""
CREATE FUNCTION case_cards_issued_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_count('old_issued', 'cases', '-')};
        DELETE FROM case_cards_pushed p USING old_issued i
            WHERE p.case_id = i.case_id AND p.kind = i.kind;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        {_count('new_issued', 'cases', '')};
        {_push('new_issued', 'cases')};
    END IF;
    RETURN NULL;
END $$""")
    op.execute(f"""
CREATE FUNCTION case_cards_cases_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_count('case_issued', 'new_cases', '')};
        {_push('case_issued', 'new_cases')};
    ELSIF TG_OP = 'DELETE' THEN
        {_count('case_issued', 'old_cases', '-')};
        DELETE FROM case_cards_pushed p USING old_cases c WHERE p.case_id = c.case_id;
    ELSE
        -- Only the cases whose counted columns changed: a tick's lights change none of them.
        PERFORM 1 FROM old_cases o JOIN new_cases n ON n.case_id = o.case_id WHERE {_CHANGED} LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        {_count('case_issued', _OLD_CHANGED, '-')};
        {_count('case_issued', _NEW_CHANGED, '')};
        DELETE FROM case_cards_pushed p USING {_OLD_CHANGED} c WHERE p.case_id = c.case_id;
        {_push('case_issued', _NEW_CHANGED)};
    END IF;
    RETURN NULL;
END $$""")
    for table, function, prefix in (("case_issued", "case_cards_issued_moved", "issued"),
                                    ("cases", "case_cards_cases_moved", "cases")):
        for event, referencing in (("INSERT", f"NEW TABLE AS new_{prefix}"),
                                   ("DELETE", f"OLD TABLE AS old_{prefix}"),
                                   ("UPDATE", f"OLD TABLE AS old_{prefix} NEW TABLE AS new_{prefix}")):
            op.execute(f"CREATE TRIGGER {table}_carded_{event.lower()} AFTER {event} ON {table}"
                       f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table in ("case_issued", "cases"):
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {table}_carded_{event} ON {table}")
    op.execute("DROP FUNCTION case_cards_cases_moved()")
    op.execute("DROP FUNCTION case_cards_issued_moved()")
    op.execute("DROP TABLE case_cards_pushed")
    op.execute("DROP TABLE case_card_counts")

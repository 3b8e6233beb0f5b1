"""The big screen's index of open cases by light and place (`cases_open_places`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

The screen's counts and its alarm list read open cases only, by stage, hall and unit
(`central/web/screen/sqltally.py`). A case store in a SQLite file gets this partial index
when the screen first opens it; on PostgreSQL the case tables are made by revision 0006,
which lacked it, so a province's million open cases were counted through
`cases_hall_stage`, closed cases and all. Written out as it is at this revision. On SQLite
this revision only marks the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.create_index("cases_open_places", "cases", ["stage", "hall", "unit"],
                    postgresql_where=sa.text("confirmed_at IS NULL"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_index("cases_open_places", table_name="cases")

"""The queue statistics' month figures (`central.queue_stats`, `queue_month_figures`): per month,
hall and service the sums a report is made of, filled here from the segments already kept.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Written out as it is at this revision (a migration never follows later code). On SQLite
the projection makes and fills the table itself as it opens, so this revision only marks
the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WAIT_TARGET_MS = 15 * 60_000
"""The default wait target the month figures count against, at this revision."""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    text, big = sa.Text(), sa.BigInteger()
    op.create_table(
        "queue_month_figures",
        sa.Column("month", text, primary_key=True),
        sa.Column("hall", text, primary_key=True),
        sa.Column("service", text, primary_key=True),
        *(sa.Column(name, big, nullable=False) for name in ("segments", "called", "served", "no_shows",
                                                            "wait_sum")),
        sa.Column("wait_max", big),
        *(sa.Column(name, big, nullable=False) for name in ("above_target", "service_sum", "service_count",
                                                            "ended")),
    )
    # The months so far, from the segments the queue statistics already hold (in this same
    # transaction: an ingest that commits after it adds its own events to these sums).
    op.execute(f"""
INSERT INTO queue_month_figures (month, hall, service, segments, called, served, no_shows, wait_sum,
                                 above_target, service_sum, service_count, ended, wait_max)
SELECT substr(day, 1, 7), hall, service, count(*), count(called_at),
       sum(CASE WHEN outcome = 'served' THEN 1 ELSE 0 END),
       sum(CASE WHEN outcome = 'no_show' THEN 1 ELSE 0 END),
       coalesce(sum(called_at - waiting_since), 0),
       sum(CASE WHEN called_at IS NOT NULL AND called_at - waiting_since > {WAIT_TARGET_MS}
                THEN 1 ELSE 0 END),
       coalesce(sum(CASE WHEN outcome = 'served' THEN service_ms END), 0),
       sum(CASE WHEN outcome = 'served' AND service_ms IS NOT NULL THEN 1 ELSE 0 END),
       sum(CASE WHEN outcome IN ('served', 'no_show', 'transferred') THEN 1 ELSE 0 END),
       max(called_at - waiting_since)
FROM queue_segments
GROUP BY substr(day, 1, 7), hall, service
""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_table("queue_month_figures")

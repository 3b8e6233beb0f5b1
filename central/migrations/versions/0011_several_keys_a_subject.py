"""A personal-data subject may hold several keys on PostgreSQL (`central.personal.vault`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

`hall central move-cases` copies a `cases.sqlite` into central's database. A hall's events
about a case were sealed there already, under the case's subject, with a key of the
database's vault; the file holds the case's own key, whose tokens sit in the hash-chained
case log (they cannot be sealed again without breaking the chain). So the file's key goes
beside the database's: `personal_keys.subject` loses the UNIQUE revision 0003 gave it
(PostgreSQL named it `personal_keys_subject_key`) and gets a plain index, for the look-ups by
subject (sealing, erasure). On SQLite the files keep their UNIQUE (nothing there can have
two keys of one subject), so this revision only marks the file.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_constraint("personal_keys_subject_key", "personal_keys", type_="unique")
    op.create_index("personal_keys_by_subject", "personal_keys", ["subject"])


def downgrade() -> None:
    # Refused by PostgreSQL while a subject holds two keys: erase, or keep the revision.
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_index("personal_keys_by_subject", "personal_keys")
    op.create_unique_constraint("personal_keys_subject_key", "personal_keys", ["subject"])

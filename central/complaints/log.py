"""The complaint log: every step of every complaint, appended once, hash-chained, never edited.

The `complaints` and `complaint_holds` tables are views of it. The log keeps the
complainant's name and phone (the officer calling back needs them), and the
phones and ID numbers found in the summary and the answer, only sealed with the
complaint's key (`central.personal`): every read but `contact` masks them, and
erasing the key erases them without touching the chain. Its statements are written
once for SQLite and PostgreSQL (`spine.statement`); on PostgreSQL the table and its
append-only triggers are made by `central/migrations` (revision 0003).
"""

from __future__ import annotations

from typing import Any

from central.cases.timebase import format_instant
from central.ledger import Layout, Ledger
from central.personal import Reader, complaint_subject, vault
from central.reads import Source
from contract.privacy import PersonalKind, phone_kind
from spine.statement import Tx

LOG = Ledger("complaint_log", "the complaint log", Layout(subject=("complaint",)))
"""`complaint_log(seq, complaint, type, at, actor, body, prev_hash, hash)`."""
COMPLAINT_LOG = LOG.table
"""The table in SQLAlchemy Core (made on PostgreSQL by migration 0003; the supervision office's
complaint feed joins it to `complaints`)."""
SCHEMA = LOG.schema
RECEIVED = "complaint.received"


class UnknownComplaint(LookupError):
    pass


def sealed_intake(tx: Tx, complaint: str, complainant: str | None, phone: str | None,
                  summary: str) -> dict[str, Any]:
    """The complainant's name and phone, and the summary with its phones and ID numbers, sealed
    with the complaint's key inside the transaction that records the complaint."""
    sealer = vault.Sealer(tx, complaint_subject(complaint))
    return {
        "complainant": sealer.value(PersonalKind.NAME, complainant) if complainant else None,
        "phone": sealer.value(phone_kind(phone), phone) if phone else None,
        "summary": sealer.text(summary),
    }


def sealed_text(tx: Tx, complaint: str, text: str) -> str:
    """Free text of a later step (the answer), its personal data sealed with the complaint's key."""
    return vault.seal_text(tx, complaint_subject(complaint), text)


def history(read: Source, complaint: str, *, personal: bool = False) -> list[dict[str, Any]]:
    """Every step of a complaint in order; personal data masked unless `personal`."""
    steps = LOG.steps(read, complaint)
    if not steps:
        raise UnknownComplaint(complaint)
    subject, reader = complaint_subject(complaint), Reader(read)
    reader.prefetch([step.body for step in steps])
    return [{"seq": step.seq, "type": step.type, "at": iso(step.at), "actor": step.actor,
             "body": (reader.clear_body if personal else reader.masked_body)(subject, step.body)}
            for step in steps]


def contact(read: Source, complaint: str) -> dict[str, Any]:
    """The complainant's name and phone, unmasked: for the officer who calls back only."""
    received = [step for step in LOG.steps(read, complaint) if step.type == RECEIVED]
    if not received:
        raise UnknownComplaint(complaint)
    body = received[0].body
    subject, reader = complaint_subject(complaint), Reader(read)
    return {"complainant": reader.clear(subject, body.get("complainant")),
            "phone": reader.clear(subject, body.get("phone"))}


def verify(read: Source) -> dict[str, Any]:
    """Recompute the hash chain; name the first row that does not match."""
    return LOG.verify(read).as_dict()


def iso(ms: int) -> str:
    """An instant of the complaint desk (ms) as people read it: ISO 8601, +08:00, to the second."""
    return format_instant(ms // 1000)


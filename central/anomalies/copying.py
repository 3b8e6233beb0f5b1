"""Copying a `supervision.sqlite` into central's PostgreSQL database, once, when central moves there.

A central that kept the office's records in its file and now runs on PostgreSQL refuses to
start while the database has none of them (`central.supervision_store.SupervisionLeftBehind`).
`hall central anomalies copy-office` copies every table of the office in one transaction: the
logs row for row (positions and hashes as they are, so each chain is the same chain), the views,
the watch's cursors, parked facts and rules' state, the projects and passes, and the notes'
keys. The keys' phone index is made afresh (a digest of the database's own index key, not the
file's: the notes are opened with the copied keys and their phones indexed again), so a
citizen's erasure finds them. Both chains are verified in the database, and their heads
compared with the file's, before the transaction commits: a copy is whole or nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table, bindparam, select

from central.anomalies.book import LOG as ANOMALY_LOG
from central.anomalies.book import anomaly_subject
from central.anomalies.detectors.footage import ANOMALY_CAMERA_GAPS, ANOMALY_COMPLAINT_VISITS
from central.anomalies.detectors.pairs import ANOMALY_PAIRS
from central.anomalies.detectors.queue import ANOMALY_WINDOW_DAYS
from central.anomalies.detectors.ratings import ANOMALY_RATING_STREAKS
from central.anomalies.tables import ANOMALIES, ANOMALY_CURSORS, ANOMALY_NUMBERS, ANOMALY_PENDING
from central.anomalies.watch import WATCH_LOCK
from central.ledger import Ledger
from central.personal import Reader, vault
from central.personal.vault import PERSONAL_ERASURES, PERSONAL_KEYS, PERSONAL_META
from central.projects.desk import LOG as PROJECT_LOG
from central.projects.desk import PROJECT_CASES, PROJECTS
from central.projects.green_channel import PROJECT_PASSES
from central.supervision_store import SupervisionStore, kept_records
from contract.privacy import find_personal_data
from spine.statement import Statement, Tx, insert_for

LOGS: tuple[Ledger, ...] = (ANOMALY_LOG, PROJECT_LOG)
TABLES: tuple[Table, ...] = (
    ANOMALY_LOG.table, ANOMALIES, ANOMALY_NUMBERS, ANOMALY_CURSORS, ANOMALY_PENDING, ANOMALY_PAIRS,
    ANOMALY_COMPLAINT_VISITS, ANOMALY_CAMERA_GAPS, ANOMALY_WINDOW_DAYS, ANOMALY_RATING_STREAKS,
    PROJECT_LOG.table, PROJECTS, PROJECT_CASES, PROJECT_PASSES, PERSONAL_KEYS, PERSONAL_ERASURES)
"""What is copied row for row (the parked facts and the erasure log renumbered by the database)."""
_RENUMBERED = {ANOMALY_PENDING.name: "id", PERSONAL_ERASURES.name: "id"}
_CHUNK = 1000
_APPLICANT_KEY = Statement(lambda _dialect: select(PERSONAL_META.c.value).where(
    PERSONAL_META.c.name == "applicant_key"))
_SET_APPLICANT_KEY = Statement(lambda dialect: insert_for(dialect, PERSONAL_META).values(
    name="applicant_key", value=bindparam("value")).on_conflict_do_update(
    index_elements=["name"], set_={"value": bindparam("value")}))


class CopyRefused(RuntimeError):
    """The database holds supervision records already, or the copy did not verify; nothing copied."""


@dataclass(frozen=True)
class Copied:
    rows: dict[str, int]
    heads: dict[str, int]
    """Each log's head position, the same in the file and in the database."""


def copy_office(own_file: Path, target: SupervisionStore) -> Copied:
    """Copy the office's records from `own_file` into `target` (central's PostgreSQL database, empty
    of them), verified, in one transaction."""
    source = sqlite3.connect(f"file:{own_file}?mode=ro", uri=True)
    try:
        return _copy(source, target)
    finally:
        source.close()


def _copy(source: sqlite3.Connection, target: SupervisionStore) -> Copied:
    heads = {log.name: log.head(source) for log in LOGS}
    for log in LOGS:
        report = log.verify(source)
        if not report.ok:
            raise CopyRefused(f"{log.name} in the file does not verify (first bad row {report.first_bad}: "
                              f"{report.problem}): nothing copied")
    copied: dict[str, int] = {}
    holding = (WATCH_LOCK, ANOMALY_LOG.lock_key, PROJECT_LOG.lock_key)
    with target.transaction(holding=tuple(sorted(holding))) as tx:
        if kept_records(tx):
            raise CopyRefused("central's database holds supervision records already: nothing copied")
        for table in TABLES:
            copied[table.name] = _copy_table(source, tx, table)
        key = _APPLICANT_KEY.run(source).fetchone()
        if key is not None:  # the pairs' pseudonyms were made with it: keep it
            _SET_APPLICANT_KEY.run(tx, {"value": bytes(key[0])})
        _index_notes(source, tx)
        for log in LOGS:
            report = log.verify(tx)
            if not report.ok or log.head(tx) != heads[log.name]:
                raise CopyRefused(f"{log.name} copied does not verify ({report.problem}): nothing copied")
    return Copied(copied, heads)


def _copy_table(source: sqlite3.Connection, tx: Tx, table: Table) -> int:
    names = [c.name for c in table.columns if c.name != _RENUMBERED.get(table.name)]
    order = [table.c[_RENUMBERED[table.name]]] if table.name in _RENUMBERED else list(table.primary_key)
    read = Statement(lambda _dialect: select(*(table.c[n] for n in names)).order_by(*order))
    write = Statement(lambda _dialect: table.insert().values({n: bindparam(n) for n in names}))
    try:
        rows = read.run(source).fetchall()
    except sqlite3.OperationalError as error:  # a table the office never made (a rule never on)
        if "no such table" in str(error):
            return 0
        raise
    for start in range(0, len(rows), _CHUNK):
        write.run_many(tx, [dict(zip(names, row, strict=True)) for row in rows[start:start + _CHUNK]])
    return len(rows)


def _index_notes(source: sqlite3.Connection, tx: Tx) -> None:
    """The phones and ID numbers in the copied notes, indexed with the database's own index key."""
    reader = Reader(source)
    for step in ANOMALY_LOG.after(source, 0, ANOMALY_LOG.head(source), ("anomaly.assigned", "anomaly.closed"),
                                  limit=10 ** 9):
        note = step.body.get("note")
        subject = anomaly_subject(step.subject[0])
        clear = reader.clear(subject, note) if isinstance(note, str) and note else None
        if not clear or vault.kept_key(tx, subject) is None:  # no note, or erased: nothing to find
            continue
        sealer = vault.Sealer(tx, subject)
        for span in find_personal_data(clear):
            sealer.value(span.kind, span.value)

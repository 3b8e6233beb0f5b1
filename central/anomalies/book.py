"""The anomaly records: every hit raised once, then acknowledged, assigned and closed with a finding.

Each step is appended to the anomaly log (`central.ledger`: append-only,
hash-chained, verifiable by anyone who can read it); the `anomalies` table is
its current view. A hit is raised at most once per (rule, key), however often
its facts are judged again (a replay, a back-test, a restart). A supervisor's
notes are sealed with the anomaly's own key (`central.personal`) before they
are chained, and read back masked; summaries are masked before they are kept.

The trial's lesson (most alarms were false: wrong dates, completion not
confirmed) is built in twice: a correction of a case that has open anomalies
is noted on each of them (`anomaly.case_corrected`), and a false alarm is
closed with its cause, so each rule's false-alarm rate is counted.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from central.anomalies.facts import Fact, Hit
from central.anomalies.table import RuleSpec
from central.cases.timebase import day_of, format_day, format_instant
from central.ledger import Ledger, Step
from central.personal import Reader, vault
from central.reads import Read
from central.supervision_store import SupervisionStore
from central.where import Where
from contract.privacy import redact

LOG = Ledger("anomaly_log", "the anomaly log")

SCHEMA = LOG.schema + """
CREATE TABLE IF NOT EXISTS anomalies (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    hit_key TEXT NOT NULL,
    title TEXT NOT NULL,
    risk TEXT NOT NULL,
    notify TEXT NOT NULL,
    hall TEXT,
    unit TEXT,
    case_id TEXT,
    subject TEXT,
    summary TEXT NOT NULL,
    happened_at INTEGER NOT NULL,
    raised_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    assignee TEXT,
    finding TEXT,
    cause TEXT,
    closed_at INTEGER,
    corrections INTEGER NOT NULL DEFAULT 0,
    UNIQUE (rule, hit_key)
);
CREATE INDEX IF NOT EXISTS anomalies_by_state ON anomalies (state, risk, raised_at);
CREATE INDEX IF NOT EXISTS anomalies_by_case ON anomalies (case_id);
CREATE INDEX IF NOT EXISTS anomalies_by_time ON anomalies (raised_at);
CREATE TABLE IF NOT EXISTS anomaly_numbers (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
"""

STATES = ("open", "acknowledged", "assigned", "closed")
FINDINGS = ("confirmed", "false_alarm")
FALSE_ALARM_CAUSES = ("wrong_date", "completion_not_confirmed", "legitimate_reason", "device_fault",
                      "rule_too_strict", "other")
"""Why a hit was a false alarm: the first two are the trial's commonest, counted apart."""

_COLUMNS = ("id, rule, title, risk, notify, hall, unit, case_id, subject, summary, happened_at, raised_at, "
            "state, assignee, finding, cause, closed_at, corrections")


class AnomalyError(ValueError):
    """A step that does not apply to the anomaly as it stands; the message says why."""


class UnknownAnomaly(LookupError):
    pass


def anomaly_subject(anomaly: str) -> str:
    """The data subject of an anomaly's notes (sealed with its own key, erased as a whole)."""
    return f"anomaly:{anomaly}"


@dataclass(frozen=True)
class Raised:
    """A hit that became an anomaly just now."""

    id: str
    rule: str
    risk: str
    title: str
    hall: str | None
    unit: str | None
    summary: str


class AnomalyBook:
    """Raises, moves and reads anomaly records in the supervision file."""

    def __init__(self, store: SupervisionStore) -> None:
        store.ensure(SCHEMA)
        self.read: Read = store.query

    # --- raising (inside the watch's transaction) -----------------------------------------------

    def raise_hit(self, tx: sqlite3.Connection, rule: RuleSpec, hit: Hit, now_ms: int) -> Raised | None:
        """Record a hit as a new anomaly, or nothing if its rule raised it before."""
        if tx.execute("SELECT 1 FROM anomalies WHERE rule = ? AND hit_key = ?",
                      (rule.name, hit.key)).fetchone() is not None:
            return None
        anomaly = _next_id(tx, now_ms)
        summary = redact(hit.summary)
        LOG.append(tx, anomaly, "anomaly.raised", now_ms, "central", {
            "rule": rule.name, "title": rule.title, "risk": rule.risk.value, "notify": list(rule.notify),
            "explanation": rule.explanation, "summary": summary, "hall": hit.hall, "unit": hit.unit,
            "case_id": hit.case_id, "subject": hit.subject, "happened_at": hit.at, "refs": list(hit.refs),
            "details": dict(hit.details),
        })
        tx.execute(
            f"INSERT INTO anomalies (hit_key, {_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL, NULL, NULL, NULL, 0)",
            (hit.key, anomaly, rule.name, rule.title, rule.risk.value, json.dumps(list(rule.notify)),
             hit.hall, hit.unit, hit.case_id, hit.subject, summary, hit.at, now_ms))
        return Raised(anomaly, rule.name, rule.risk.value, rule.title, hit.hall, hit.unit, summary)

    def note_correction(self, tx: sqlite3.Connection, fact: Fact, now_ms: int) -> list[str]:
        """A case with anomalies still being handled was corrected: tell each of them (the facts a
        hit rested on may have been a wrong date)."""
        if fact.case_id is None:
            return []
        noted = [row[0] for row in tx.execute(
            "SELECT id FROM anomalies WHERE case_id = ? AND state != 'closed' ORDER BY id", (fact.case_id,))]
        for anomaly in noted:
            LOG.append(tx, anomaly, "anomaly.case_corrected", now_ms, "central", {
                "case_id": fact.case_id, "correction": fact.seq,
                "corrected_type": fact.body.get("corrected_type"),
                "changed": sorted(fact.body.get("changes") or {}), "by": fact.actor})
            tx.execute("UPDATE anomalies SET corrections = corrections + 1 WHERE id = ?", (anomaly,))
        return noted

    # --- the supervisor's workflow -----------------------------------------------------------------

    def acknowledge(self, tx: sqlite3.Connection, anomaly: str, actor: str, now_ms: int) -> None:
        """Someone has seen it and is on it."""
        if _state(tx, anomaly) != "open":
            raise AnomalyError(f"anomaly {anomaly} is already {_state(tx, anomaly)}")
        LOG.append(tx, anomaly, "anomaly.acknowledged", now_ms, actor, {})
        tx.execute("UPDATE anomalies SET state = 'acknowledged' WHERE id = ?", (anomaly,))

    def assign(self, tx: sqlite3.Connection, anomaly: str, assignee: str, actor: str, now_ms: int,
               note: str = "") -> None:
        """Hand it to a person or a unit to look into (again, to reassign)."""
        if _state(tx, anomaly) == "closed":
            raise AnomalyError(f"anomaly {anomaly} is already closed")
        LOG.append(tx, anomaly, "anomaly.assigned", now_ms, actor,
                   {"assignee": assignee, "note": _sealed(tx, anomaly, note)})
        tx.execute("UPDATE anomalies SET state = 'assigned', assignee = ? WHERE id = ?", (assignee, anomaly))

    def close(self, tx: sqlite3.Connection, anomaly: str, finding: str, cause: str | None, note: str,
              actor: str, now_ms: int) -> None:
        """The finding: confirmed, or a false alarm and why; the note says what was found."""
        if _state(tx, anomaly) == "closed":
            raise AnomalyError(f"anomaly {anomaly} is already closed")
        if finding not in FINDINGS:
            raise AnomalyError(f"finding {finding!r} is one of {list(FINDINGS)}")
        if finding == "false_alarm" and cause not in FALSE_ALARM_CAUSES:
            raise AnomalyError(f"a false alarm needs its cause, one of {list(FALSE_ALARM_CAUSES)}")
        if finding == "confirmed":
            cause = None
        if len(note.strip()) < 2:
            raise AnomalyError("say what was found (the note)")
        LOG.append(tx, anomaly, "anomaly.closed", now_ms, actor,
                   {"finding": finding, "cause": cause, "note": _sealed(tx, anomaly, note)})
        tx.execute("UPDATE anomalies SET state = 'closed', finding = ?, cause = ?, closed_at = ? "
                   "WHERE id = ?",
                   (finding, cause, now_ms, anomaly))

    # --- reading -------------------------------------------------------------------------------

    def find(self, *, state: str | None = None, open_only: bool = False, rule: str | None = None,
             risk: str | None = None, hall: str | None = None, unit: str | None = None,
             case_id: str | None = None, notify: str | None = None, limit: int = 200,
             offset: int = 0) -> list[dict[str, Any]]:
        where = (Where().equals("state", state).equals("rule", rule).equals("risk", risk)
                 .equals("hall", hall).equals("unit", unit).equals("case_id", case_id)
                 .holds("state != 'closed'", when=open_only)
                 .holds("notify LIKE ?", f'%"{notify}"%', when=notify is not None))
        rows = self.read(f"SELECT {_COLUMNS} FROM anomalies{where.sql} "
                         "ORDER BY raised_at DESC, id DESC LIMIT ? OFFSET ?", (*where.params, limit, offset))
        return [_view(row) for row in rows]

    def count(self, *, open_only: bool = False, risk: str | None = None) -> int:
        where = Where().equals("risk", risk).holds("state != 'closed'", when=open_only)
        return int(self.read(f"SELECT count(*) FROM anomalies{where.sql}", where.params)[0][0])

    def get(self, anomaly: str) -> dict[str, Any]:
        rows = self.read(f"SELECT {_COLUMNS} FROM anomalies WHERE id = ?", (anomaly,))
        if not rows:
            raise UnknownAnomaly(anomaly)
        return _view(rows[0])

    def history(self, anomaly: str) -> list[dict[str, Any]]:
        """Every step, as appended; notes masked."""
        steps = LOG.steps(self.read, anomaly)
        if not steps:
            raise UnknownAnomaly(anomaly)
        reader = Reader(self.read)
        reader.prefetch([step.body for step in steps])
        return [_step(step, reader) for step in steps]

    def statistics(self, by: tuple[str, ...] = ("unit", "rule"), since_ms: int | None = None,
                   until_ms: int | None = None) -> list[dict[str, Any]]:
        """Hits per unit and rule (or hall, risk): raised, still open, confirmed, false alarms and
        the commonest false-alarm causes."""
        columns = [c for c in by if c in ("unit", "rule", "hall", "risk")] or ["rule"]
        keys = ", ".join(columns)
        where = Where().at_least("raised_at", since_ms).below("raised_at", until_ms)
        rows = self.read(
            f"SELECT {keys}, count(*), sum(CASE WHEN state != 'closed' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN finding = 'confirmed' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN finding = 'false_alarm' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN cause = 'wrong_date' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN cause = 'completion_not_confirmed' THEN 1 ELSE 0 END) "
            f"FROM anomalies{where.sql} GROUP BY {keys} ORDER BY {keys}", where.params)
        out = []
        for row in rows:
            n = len(columns)
            group = dict(zip(columns, row[:n], strict=True))
            raised, still_open, confirmed, false, wrong_date, unconfirmed = (int(v or 0) for v in row[n:])
            out.append({**group, "raised": raised, "open": still_open, "confirmed": confirmed,
                        "false_alarms": false, "wrong_date": wrong_date,
                        "completion_not_confirmed": unconfirmed})
        return out

    def verify(self) -> dict[str, Any]:
        """Every chain check answers alike: {ok, checked, head: {seq, hash}, first_bad, problem}."""
        return LOG.verify(self.read).as_dict()


def _state(tx: sqlite3.Connection, anomaly: str) -> str:
    row = tx.execute("SELECT state FROM anomalies WHERE id = ?", (anomaly,)).fetchone()
    if row is None:
        raise UnknownAnomaly(anomaly)
    return str(row[0])


def _sealed(tx: sqlite3.Connection, anomaly: str, text: str) -> str:
    return vault.seal_text(tx, anomaly_subject(anomaly), text) if text else ""


def _next_id(tx: sqlite3.Connection, now_ms: int) -> str:
    """AN<yyyymmdd>-<nnnn>: numbered within the Shanghai day it was raised."""
    day = format_day(day_of(now_ms // 1000)).replace("-", "")
    tx.execute("INSERT INTO anomaly_numbers (day, last) VALUES (?, 1) "
               "ON CONFLICT (day) DO UPDATE SET last = anomaly_numbers.last + 1", (day,))
    (number,) = tx.execute("SELECT last FROM anomaly_numbers WHERE day = ?", (day,)).fetchone()
    return f"AN{day}-{number:04d}"


def _iso(ms: int | None) -> str | None:
    return format_instant(ms // 1000) if ms is not None else None


def _view(row: tuple[Any, ...]) -> dict[str, Any]:
    data = dict(zip(_COLUMNS.split(", "), row, strict=True))
    data["notify"] = json.loads(data["notify"])
    for key in ("happened_at", "raised_at", "closed_at"):
        data[key] = _iso(data[key])
    return data


def _step(step: Step, reader: Reader) -> dict[str, Any]:
    body = dict(step.body)
    if isinstance(body.get("note"), str):
        body["note"] = reader.masked(anomaly_subject(step.subject[0]), body["note"])
    if isinstance(body.get("happened_at"), int):
        body["happened_at"] = _iso(body["happened_at"])
    return {"seq": step.seq, "type": step.type, "at": _iso(step.at), "actor": step.actor, "body": body}

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, select, true, update

from central.anomalies.facts import Fact, Hit
from central.anomalies.keyed import Keyed
from central.anomalies.table import RuleSpec
from central.anomalies.tables import ANOMALIES, ANOMALY_NUMBERS
from central.cases.timebase import day_of, format_day, format_instant
from central.ledger import Ledger, Step
from central.personal import Reader, vault
from central.reads import built
from central.supervision_store import SupervisionStore
from contract.privacy import redact
from spine.statement import Statement, Tx, insert_for

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

_COLUMNS = ("id", "rule", "title", "risk", "notify", "hall", "unit", "case_id", "subject", "summary",
            "happened_at", "raised_at", "state", "assignee", "finding", "cause", "closed_at", "corrections")
_A = ANOMALIES.c
_VIEW = [_A[name] for name in _COLUMNS]

_RAISED_BEFORE = Keyed(ANOMALIES, ("rule", "hit_key"), ())
_NEW = Statement(lambda _dialect: ANOMALIES.insert().values(
    {name: bindparam(name) for name in ("hit_key", *_COLUMNS)}))
_OPEN_OF_CASE = Statement(lambda _dialect: select(_A.id).where(
    _A.case_id == bindparam("case_id"), _A.state != "closed").order_by(_A.id))
_CORRECTED = Statement(lambda _dialect: update(ANOMALIES).where(_A.id == bindparam("anomaly")).values(
    corrections=_A.corrections + 1))
_MOVED = Statement(lambda _dialect: update(ANOMALIES).where(_A.id == bindparam("anomaly")).values(
    state=bindparam("state"), assignee=bindparam("assignee"), finding=bindparam("finding"),
    cause=bindparam("cause"), closed_at=bindparam("closed_at")))
_STATE = Statement(lambda _dialect: select(_A.state, _A.assignee, _A.finding, _A.cause, _A.closed_at).where(
    _A.id == bindparam("anomaly")))
_ONE = Statement(lambda _dialect: select(*_VIEW).where(_A.id == bindparam("anomaly")))
_NUMBERS = Statement(lambda dialect: insert_for(dialect, ANOMALY_NUMBERS).values(
    day=bindparam("day"), last=bindparam("count")).on_conflict_do_update(
    index_elements=["day"], set_={"last": ANOMALY_NUMBERS.c.last + bindparam("count")}).returning(
    ANOMALY_NUMBERS.c.last))
"""Takes `count` numbers of the day at once; the last one taken comes back."""


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
        self.store = store

    # --- raising (inside the watch's transaction) -----------------------------------------------

    def raise_hit(self, tx: Tx, rule: RuleSpec, hit: Hit, now_ms: int) -> Raised | None:
        """Record a hit as a new anomaly, or nothing if its rule raised it before."""
        raised = self.raise_hits(tx, [(rule, hit)], now_ms)
        return raised[0] if raised else None

    def raise_hits(self, tx: Tx, hits: Sequence[tuple[RuleSpec, Hit]], now_ms: int) -> list[Raised]:
        """Record hits, in order, as new anomalies, leaving out each one its rule raised before
        (in this call too): what `raise_hit` one after the other would record, with the same
        numbers and the same chain, in a few statements whatever their number (which of them
        exist already is one read, the numbers one upsert, the log and the records one
        `executemany` each)."""
        seen: set[tuple[str, str]] = set()
        ordered: list[tuple[RuleSpec, Hit]] = []
        for rule, hit in hits:  # the first hit of a key is the one raised, as one at a time
            if (rule.name, hit.key) not in seen:
                seen.add((rule.name, hit.key))
                ordered.append((rule, hit))
        existing = _RAISED_BEFORE.read(tx, ((rule.name, hit.key) for rule, hit in ordered))
        new = [(rule, hit) for rule, hit in ordered if (rule.name, hit.key) not in existing]
        if not new:
            return []
        anomalies = _next_ids(tx, now_ms, len(new))
        summaries = [redact(hit.summary) for _rule, hit in new]
        each = list(zip(anomalies, summaries, new, strict=True))
        LOG.append_many(tx, [(anomaly, "anomaly.raised", now_ms, "central", {
            "rule": rule.name, "title": rule.title, "risk": rule.risk.value, "notify": list(rule.notify),
            "explanation": rule.explanation, "summary": summary, "hall": hit.hall, "unit": hit.unit,
            "case_id": hit.case_id, "subject": hit.subject, "happened_at": hit.at, "refs": list(hit.refs),
            "details": dict(hit.details),
        }) for anomaly, summary, (rule, hit) in each])
        _NEW.run_many(tx, [{
            "hit_key": hit.key, "id": anomaly, "rule": rule.name, "title": rule.title,
            "risk": rule.risk.value, "notify": json.dumps(list(rule.notify)), "hall": hit.hall,
            "unit": hit.unit, "case_id": hit.case_id,
            "subject": hit.subject, "summary": summary, "happened_at": hit.at, "raised_at": now_ms,
            "state": "open", "assignee": None, "finding": None, "cause": None, "closed_at": None,
            "corrections": 0} for anomaly, summary, (rule, hit) in each])
        return [Raised(anomaly, rule.name, rule.risk.value, rule.title, hit.hall, hit.unit, summary)
                for anomaly, summary, (rule, hit) in each]

    def note_correction(self, tx: Tx, fact: Fact, now_ms: int) -> list[str]:
        """A case with anomalies still being handled was corrected: tell each of them (the facts a
        hit rested on may have been a wrong date)."""
        if fact.case_id is None:
            return []
        noted = [row[0] for row in _OPEN_OF_CASE.run(tx, {"case_id": fact.case_id}).fetchall()]
        for anomaly in noted:
            LOG.append(tx, anomaly, "anomaly.case_corrected", now_ms, "central", {
                "case_id": fact.case_id, "correction": fact.seq,
                "corrected_type": fact.body.get("corrected_type"),
                "changed": sorted(fact.body.get("changes") or {}), "by": fact.actor})
            _CORRECTED.run(tx, {"anomaly": anomaly})
        return noted

    # --- the supervisor's workflow -----------------------------------------------------------------

    # Each step first holds the anomaly log (`Ledger.serialise`), then reads the record: two
    # supervisors at two central processes acting on one anomaly take turns, and the second
    # sees the first one's step (an anomaly is never closed twice, nor acknowledged after it).

    def acknowledge(self, tx: Tx, anomaly: str, actor: str, now_ms: int) -> None:
        """Someone has seen it and is on it."""
        LOG.serialise(tx)
        record = _record(tx, anomaly)
        if record["state"] != "open":
            raise AnomalyError(f"anomaly {anomaly} is already {record['state']}")
        LOG.append(tx, anomaly, "anomaly.acknowledged", now_ms, actor, {})
        _MOVED.run(tx, {**record, "anomaly": anomaly, "state": "acknowledged"})

    def assign(self, tx: Tx, anomaly: str, assignee: str, actor: str, now_ms: int,
               note: str = "") -> None:
        """Hand it to a person or a unit to look into (again, to reassign)."""
        LOG.serialise(tx)
        record = _record(tx, anomaly)
        if record["state"] == "closed":
            raise AnomalyError(f"anomaly {anomaly} is already closed")
        LOG.append(tx, anomaly, "anomaly.assigned", now_ms, actor,
                   {"assignee": assignee, "note": _sealed(tx, anomaly, note)})
        _MOVED.run(tx, {**record, "anomaly": anomaly, "state": "assigned", "assignee": assignee})

    def close(self, tx: Tx, anomaly: str, finding: str, cause: str | None, note: str,
              actor: str, now_ms: int) -> None:
        """The finding: confirmed, or a false alarm and why; the note says what was found."""
        LOG.serialise(tx)
        record = _record(tx, anomaly)
        if record["state"] == "closed":
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
        _MOVED.run(tx, {**record, "anomaly": anomaly, "state": "closed", "finding": finding, "cause": cause,
                        "closed_at": now_ms})

    # --- reading -------------------------------------------------------------------------------

    def find(self, *, state: str | None = None, open_only: bool = False, rule: str | None = None,
             risk: str | None = None, hall: str | None = None, unit: str | None = None,
             case_id: str | None = None, notify: str | None = None, limit: int = 200,
             offset: int = 0) -> list[dict[str, Any]]:
        where = _filters(state=state, rule=rule, risk=risk, hall=hall, unit=unit, case_id=case_id,
                         open_only=open_only)
        if notify is not None:
            where = and_(where, _A.notify.like(f'%"{notify}"%'))
        query = select(*_VIEW).where(where).order_by(_A.raised_at.desc(), _A.id.desc()).limit(
            limit).offset(offset)
        return [_view(row) for row in self.store.rows(built(query))]

    def count(self, *, open_only: bool = False, risk: str | None = None) -> int:
        query = select(func.count()).select_from(ANOMALIES).where(_filters(risk=risk, open_only=open_only))
        return int(self.store.rows(built(query))[0][0])

    def get(self, anomaly: str) -> dict[str, Any]:
        rows = self.store.rows(_ONE, {"anomaly": anomaly})
        if not rows:
            raise UnknownAnomaly(anomaly)
        return _view(rows[0])

    def history(self, anomaly: str) -> list[dict[str, Any]]:
        """Every step, as appended; notes masked."""
        with self.store.reading() as read:
            steps = LOG.steps(read, anomaly)
            if not steps:
                raise UnknownAnomaly(anomaly)
            reader = Reader(read)
            reader.prefetch([step.body for step in steps])
            return [_step(step, reader) for step in steps]

    def statistics(self, by: tuple[str, ...] = ("unit", "rule"), since_ms: int | None = None,
                   until_ms: int | None = None) -> list[dict[str, Any]]:
        """Hits per unit and rule (or hall, risk): raised, still open, confirmed, false alarms and
        the commonest false-alarm causes."""
        columns = [c for c in by if c in ("unit", "rule", "hall", "risk")] or ["rule"]
        keys = [_A[c] for c in columns]
        where: ColumnElement[bool] = true()
        if since_ms is not None:
            where = and_(where, _A.raised_at >= since_ms)
        if until_ms is not None:
            where = and_(where, _A.raised_at < until_ms)

        def counted(condition: ColumnElement[bool]) -> Any:
            return func.sum(case((condition, 1), else_=0))

        query = select(*keys, func.count(), counted(_A.state != "closed"), counted(_A.finding == "confirmed"),
                       counted(_A.finding == "false_alarm"), counted(_A.cause == "wrong_date"),
                       counted(_A.cause == "completion_not_confirmed")
                       ).where(where).group_by(*keys).order_by(*keys)
        rows = self.store.rows(built(query))
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
        with self.store.reading() as read:
            return LOG.verify(read).as_dict()


def _filters(*, open_only: bool, **equal: str | None) -> ColumnElement[bool]:
    """`column = value` for each value given, and "not closed" when `open_only`."""
    where: ColumnElement[bool] = true()
    for column, value in equal.items():
        if value is not None:
            where = and_(where, _A[column] == value)
    if open_only:
        where = and_(where, _A.state != "closed")
    return where


def _record(tx: Tx, anomaly: str) -> dict[str, Any]:
    """The anomaly's movable columns as they stand (what a step keeps of them)."""
    row = _STATE.run(tx, {"anomaly": anomaly}).fetchone()
    if row is None:
        raise UnknownAnomaly(anomaly)
    return dict(zip(("state", "assignee", "finding", "cause", "closed_at"), row, strict=True))


def _sealed(tx: Tx, anomaly: str, text: str) -> str:
    return vault.seal_text(tx, anomaly_subject(anomaly), text) if text else ""


def _next_ids(tx: Tx, now_ms: int, count: int) -> list[str]:
    """AN<yyyymmdd>-<nnnn>, `count` of them: numbered within the Shanghai day they were raised."""
    day = format_day(day_of(now_ms // 1000)).replace("-", "")
    (last,) = _NUMBERS.run(tx, {"day": day, "count": count}).fetchone()
    return [f"AN{day}-{number:04d}" for number in range(last - count + 1, last + 1)]


def _iso(ms: int | None) -> str | None:
    return format_instant(ms // 1000) if ms is not None else None


def _view(row: tuple[Any, ...]) -> dict[str, Any]:
    data = dict(zip(_COLUMNS, row, strict=True))
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

"""The watch judges its parked facts in batches (each rule's state read once per batch, the
anomalies raised together): the same facts judged one at a time and 500 at a time raise the
same anomalies, numbered alike, with the same anomaly log, to its chain head's hash."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.anomalies import watch as watch_module
from central.anomalies.book import AnomalyBook
from central.anomalies.facts import Fact
from central.anomalies.judging import MemoryCases
from central.anomalies.table import default_rules
from central.anomalies.watch import AnomalyWatch
from central.cases.calendar import load_calendar
from central.cases.rules import default_rules as case_rules
from central.supervision_store import SupervisionStore
from spine.storeurl import StoreUrl
from tests.central.stores import migrated

HALL = "hall-01"
T0 = 1_795_000_000_000


class Facts:
    name = "events"

    def __init__(self, facts: list[Fact]) -> None:
        self.facts = facts

    def read(self, after: int, limit: int) -> tuple[list[Fact], int]:
        chunk = self.facts[after:after + limit]
        return chunk, after + len(chunk)


def hall_facts() -> list[Fact]:
    """Ratings (bursts of 非常满意 and their breaks), skips and call-backs, and decisions out of range
    each followed by a correction of its case (noted on the anomaly the decision raised, which
    the batch holds unraised until the correction comes)."""
    rng = random.Random(3)
    facts, at = [], T0
    for n in range(1500):
        at += rng.randrange(1_000, 9_000)
        window = f"w{rng.randrange(6) + 1:02d}"
        if n % 50 == 7:
            case = f"BN-{n:05d}"
            facts.append(Fact("case.decided", at, "live", f"case:{n}",
                              {"within": False, "matter": "罚款", "circumstance": "一般", "amount": 9,
                               "standard": {"allowed": "1-5", "unit": "元"}},
                              hall=HALL, case_id=case, seq=n, actor="off-1"))
            facts.append(Fact("case.corrected", at + 1, "live", f"case:{n}b",
                              {"corrected_type": "case.decided", "changes": {"amount": 5}},
                              hall=HALL, case_id=case, seq=n + 1, actor="off-1"))
        elif n % 10:
            grade = rng.choices(("very_satisfied", "satisfied"), (85, 15))[0]
            facts.append(Fact("rating.recorded", at, f"hall:{HALL}", f"event:{n}",
                              {"window": window, "grade": grade}, hall=HALL))
        else:
            facts.append(Fact("queue.called", at, f"hall:{HALL}", f"event:{n}",
                              {"window": window, "day": "2026-11-19", "call_back": True}, hall=HALL))
    return facts


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    def fresh(name: str) -> Path | StoreUrl:
        if request.param == "postgresql":
            return migrated(request.getfixturevalue("pg_cluster").new_database())
        return tmp_path / f"{name}.sqlite"
    yield fresh


def judged_in_batches_of(size: int, where: Path | StoreUrl, monkeypatch: pytest.MonkeyPatch
                         ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, Any]]:
    """Every anomaly, every step of the log, and the chain's verification, after one pass."""
    monkeypatch.setattr(watch_module, "JUDGE_BATCH", size)
    store = SupervisionStore(where)
    try:
        facts = hall_facts()
        watch = AnomalyWatch(store, AnomalyBook(store), default_rules(), [Facts(facts)],
                             lambda now: {f"hall:{HALL}": now, "live": now}, cases=MemoryCases(),
                             calendar=load_calendar(None), ladder=case_rules().ladder,
                             pseudonym=lambda _case, _phone: None)
        report = watch.tick(facts[-1].at + 60_000)
        assert report.judged == len(facts)
        anomalies = store.query("SELECT id, rule, hit_key, summary, corrections FROM anomalies ORDER BY id")
        steps = store.query("SELECT seq, subject, type, body, hash FROM anomaly_log ORDER BY seq")
        return [tuple(row) for row in anomalies], [tuple(row) for row in steps], AnomalyBook(store).verify()
    finally:
        store.close()


def test_facts_judged_one_at_a_time_and_500_at_a_time_raise_the_same_anomalies_and_chain(
        where: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    one_anomalies, one_steps, one_chain = judged_in_batches_of(1, where("one"), monkeypatch)
    many_anomalies, many_steps, many_chain = judged_in_batches_of(500, where("many"), monkeypatch)
    rules = {row[1] for row in one_anomalies}
    assert {"rating_bursts", "queue_bending", "decision_out_of_range"} <= rules, rules
    assert any(row[4] for row in one_anomalies), "a correction was noted on an anomaly of its batch"
    assert many_anomalies == one_anomalies
    assert many_steps == one_steps
    assert one_chain["ok"] and many_chain == one_chain

"""What the supervision office reads of the case store, the same specification on a SQLite file and on
PostgreSQL (where central keeps its cases when its `[database]` is there): the case log forward from a
position with each case's hall and unit, one case's history, the member cases of a major project, and
an applicant's pseudonym opened from the case log's sealed phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.anomalies.casereads import CaseReads, member_cases
from central.anomalies.feeds import CaseLogFeed
from central.anomalies.horizons import SourceHorizons
from central.anomalies.judging import LogCases
from central.anomalies.pseudonyms import Pseudonyms
from central.cases.engine import Engine
from central.cases.sources import LIVE
from central.cases.timebase import parse_instant as at
from spine.storeurl import StoreUrl
from tests.cases.conftest import CONTACT_PHONE, SettableClock, entry

KEY = bytes(range(32))


@pytest.fixture
def engine(case_store: Path | StoreUrl) -> Iterator[Engine]:
    engine = Engine.open(case_store, clock=SettableClock("2026-11-23T10:05"))
    engine.store.submit(entry("JQ-1"), now=at("2026-11-23T10:05"))
    engine.store.submit(entry("JQ-2", hall="hall-east", unit="市场监管局"), now=at("2026-11-23T10:06"))
    yield engine
    engine.close()


@pytest.fixture
def reads(engine: Engine, case_store: Path | StoreUrl) -> Iterator[CaseReads]:
    reads = CaseReads.open(case_store)
    yield reads
    reads.close()


def test_the_case_feed_reads_the_case_log_forward_with_each_cases_hall_and_unit(reads: CaseReads) -> None:
    feed = CaseLogFeed(reads, {"case.accepted", "rating.recorded"})
    first, position = feed.read(0, 1)
    assert [(f.kind, f.case_id, f.hall, f.unit) for f in first] == [
        ("case.accepted", "JQ-1", "hall-centre", "自然资源局")]
    rest, end = feed.read(position, 10)
    assert [(f.kind, f.case_id, f.hall, f.unit) for f in rest] == [
        ("case.accepted", "JQ-2", "hall-east", "市场监管局")]
    assert end > position and feed.read(end, 10) == ([], end)
    assert CaseLogFeed(reads, {"rating.recorded"}).read(0, 10) == ([], 0)


def test_the_rules_read_a_cases_history_and_a_projects_member_cases(reads: CaseReads) -> None:
    (fact,), _ = CaseLogFeed(reads, {"case.accepted"}).read(0, 1)
    assert fact.seq is not None
    records = LogCases(reads).records("JQ-1", fact.seq)
    assert [(r.case_id, r.kind) for r in records] == [("JQ-1", "case.accepted")]
    assert LogCases(reads).records("JQ-1", fact.seq - 1) == []
    members = member_cases(reads)(["JQ-2", "JQ-404", "JQ-1"])
    assert sorted((m.case_id, m.hall, m.stage) for m in members) == [
        ("JQ-1", "hall-centre", "blue"), ("JQ-2", "hall-east", "blue")]


def test_an_applicants_pseudonym_opens_the_sealed_phone_of_the_case_log(reads: CaseReads) -> None:
    (fact,), _ = CaseLogFeed(reads, {"case.accepted"}).read(0, 1)
    sealed = fact.body["contact_phone"]
    assert CONTACT_PHONE not in str(sealed)
    assert Pseudonyms(KEY, reads)("JQ-1", sealed) == Pseudonyms(KEY, None)("JQ-1", CONTACT_PHONE)


def test_the_live_horizon_is_now_without_a_syncing_client(reads: CaseReads) -> None:
    assert SourceHorizons(None, reads, grace_ms=1000)(1_000_000) == {LIVE: 1_000_000}

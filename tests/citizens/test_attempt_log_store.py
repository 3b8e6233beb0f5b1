"""The public site's attempt log at central's store, the same specification on SQLite and on PostgreSQL:
counted per client and per subject since a time, the latest first as a supervisor reads them with the
address masked, one client key however many times the log opens, and old rows forgotten."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from central.public.attempts import AttemptLog
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl

T0 = 1_795_399_200_000


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


def test_attempts_are_counted_per_client_and_per_subject_since_a_time(store: CentralStore) -> None:
    attempts = AttemptLog(store)
    attempts.record("progress", "192.168.1.23", "JQ-1", "not found", T0)
    attempts.record("progress", "192.168.1.23", "JQ-2", "shown", T0 + 10)
    attempts.record("booking", "192.168.1.23", "JQ-2", "booked", T0 + 20)
    attempts.record("progress", "10.0.0.7", "JQ-2", "shown", T0 + 30)
    assert attempts.by_client(("progress",), "192.168.1.23", T0) == 2
    assert attempts.by_client(("progress", "booking"), "192.168.1.23", T0) == 3
    assert attempts.by_client(("progress", "booking"), "192.168.1.23", T0 + 11) == 1
    assert attempts.by_subject("progress", "JQ-2", T0) == 2
    assert attempts.by_subject("progress", "JQ-3", T0) == 0


def test_a_supervisor_reads_the_latest_attempts_first_with_addresses_masked(store: CentralStore) -> None:
    attempts = AttemptLog(store)
    for n in range(3):
        attempts.record("progress", "192.168.1.23", f"JQ-{n}", "not found", T0)  # one instant: by order
    latest = attempts.recent("progress", limit=2)
    assert [a["subject"] for a in latest] == ["JQ-2", "JQ-1"]
    assert {a["client"] for a in latest} == {"192.168.1.*"}
    assert "192.168.1.23" not in str(attempts.recent("progress"))


def test_the_client_key_stays_the_same_when_the_log_opens_again(store: CentralStore) -> None:
    first = AttemptLog(store).client_key("192.168.1.23")
    assert AttemptLog(store).client_key("192.168.1.23") == first
    assert AttemptLog(store).client_key("192.168.1.24") != first


def test_attempts_older_than_the_cutoff_are_forgotten(store: CentralStore) -> None:
    attempts = AttemptLog(store)
    attempts.record("progress", "192.168.1.23", "JQ-1", "shown", T0)
    attempts.record("progress", "192.168.1.23", "JQ-2", "shown", T0 + 1000)
    assert attempts.forget_before(T0 + 1000) == 1
    assert [a["subject"] for a in attempts.recent("progress")] == ["JQ-2"]

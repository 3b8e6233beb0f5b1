"""A member of a shared ingest group that gets a batch before its predecessor was stored, and
before the member storing that predecessor has even begun (the hall's lock is free): the store
finds the batch out of order inside its transaction (`OutOfOrder`), and the member waits for
the predecessor instead of asking the gateway for the window again (`_wait_for_predecessor`).
A batch that comes while the predecessor is being stored waits on the hall's lock instead;
`tests/central/test_shared_ingest_on_postgresql.py` drains a whole backlog so."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from central.config import CentralConfig
from central.ingest import CentralIngest
from central.store import CentralStore
from contract.authority import Author
from contract.envelope import Batch, Envelope, Received
from spine.clock import SimulatedClock
from spine.receiver import AcceptedEvent, IncomingBatch
from spine.storeurl import StoreUrl
from tests.central.conftest import central_config, on_database
from tests.central.stores import migrated
from tests.support import wait_until

T0 = 1_780_000_000_000
HALL = "hall-01"
GATEWAY = "gw-hall-01"
KIOSK = "kiosk-01"
TOPIC = f"central/{HALL}/events"


def tickets(first: int, count: int) -> Batch:
    """The kiosk's tickets `first`..`first + count - 1` as the hall's gateway forwards them, after
    position `first - 1` of its stream."""
    envelopes = [
        Envelope(v=1, id=uuid.uuid4().hex, device=KIOSK, seq=n, boot="boot0001", time=T0 + n, mono=n,
                 type="queue.ticket_issued",
                 body={"day": "2026-05-29", "ticket": f"A{n:03d}", "service": "A", "service_name": "Permits",
                       "number": n, "slot": n, "people_ahead": 0, "issued_at": T0 + n},
                 recv=Received(by=GATEWAY, at=T0 + n, est_time=T0 + n, kind=Author.KIOSK))
        for n in range(first, first + count)
    ]
    return Batch(v=1, batch=uuid.uuid4().hex, sender=GATEWAY, boot="boot0001", sent_at=T0, sent_mono=0,
                 events=[e.model_dump() for e in envelopes], after=first - 1 or None, last=first + count - 1)


def incoming(batch: Batch) -> IncomingBatch:
    envelopes = [Envelope.model_validate(event) for event in batch.events]
    return IncomingBatch(topic=TOPIC, batch=batch, received_at=T0,
                         events=[AcceptedEvent(e, e.model_dump_json(), True) for e in envelopes])


def shared_member(tmp_path: Path, url: StoreUrl) -> CentralConfig:
    config = central_config(tmp_path, broker_port=1)  # never connected: the test calls the ingest
    shared = config.ingest.model_copy(update={"shared_group": "central"})
    config = config.model_copy(update={"ingest": shared})
    return on_database(config, url)


def test_a_batch_ahead_of_its_predecessor_waits_for_the_other_member_instead_of_a_resend(
        tmp_path: Path, pg_database: StoreUrl) -> None:
    url = migrated(pg_database)
    mine, other = CentralStore(url, SimulatedClock(T0)), CentralStore(url, SimulatedClock(T0))
    ingest = CentralIngest(shared_member(tmp_path, url), mine, SimulatedClock(T0))
    first, second = tickets(1, 5), tickets(6, 5)
    try:
        # The other member stores the first batch once this one has found the second out of order.
        def other_member() -> None:
            wait_until(lambda: ingest.receiver.counters["out_of_order"] >= 1, 30,
                       "the second batch to be found out of order")
            other.commit(incoming(first), [])

        storing = threading.Thread(target=other_member)
        storing.start()
        ack = ingest._receive(TOPIC, HALL, second.model_dump_json().encode())
        storing.join(30)

        assert ack is not None and not ack.resend and (ack.stored, ack.duplicates) == (5, 0), ack
        assert ingest.waited_for_predecessor == 1
        assert ingest.receiver.counters["out_of_order"] == 0  # it was not answered as such
        assert mine.stream_position(GATEWAY) == 10
    finally:
        mine.close()
        other.close()

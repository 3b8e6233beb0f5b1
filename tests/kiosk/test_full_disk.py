"""A kiosk whose disk is full starts and keeps running: it refuses tickets for storage, and says so,
instead of exiting (under systemd, a crash loop every few seconds)."""

from __future__ import annotations

from pathlib import Path

from contract.events.queue import RefusalReason
from edge.queue_kiosk.kiosk import Kiosk, Refused
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from tests.kiosk.conftest import dead_port, kiosk_config


def test_a_kiosk_below_its_disk_floor_starts_and_refuses_tickets_for_storage(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    kiosk = Kiosk(kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port,
                               outbox={"min_free_disk_bytes": 1 << 62}))
    kiosk.start()
    try:
        for _ in range(2):
            refused = kiosk.issue("A")
            assert isinstance(refused, Refused) and refused.reason is RefusalReason.STORAGE
        assert kiosk.agent.diagnostics()["outbox"]["storage"]["state"] == "full"
        assert printer.jobs == []  # no ticket printed that was not recorded
    finally:
        kiosk.stop()

"""One secured hall for the whole authority suite: a device of every kind, each with its own login.

Window 7's officer `off-7` serves 自然资源局 and window 8's `off-8` 公安局 (central's
registry sync says so); kiosk-new is provisioned but never ran its self-test; a
citizen holds ticket A001, called to window 7.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.commands.registry import DeviceConfig, HallDevice, HallOfficer, HallState, HallWindow
from contract.kinds import DeviceKind, DeviceState
from gateway.queue import store as queue_store
from tests.support import wait_until
from tests.trust.hall import GATEWAY, Device, SecuredHall, start_secured_hall
from tests.trust.samples import HALL, OFFICER, OTHER_UNIT, UNIT, WINDOW, today

OTHER_WINDOW = "8"
OTHER_OFFICER = "off-8"
DEVICES = [
    Device("kiosk-1", "kiosk"),
    Device("caller-7", "caller", WINDOW),
    Device("display-1", "display"),
    Device("rating-7", "rating", WINDOW),
    Device("recorder-1", "recorder"),
    Device("sim-1", "sim"),
    Device("kiosk-other", "kiosk"),
    Device("caller-8", "caller", OTHER_WINDOW),
    Device("kiosk-new", "kiosk"),
    Device("kiosk-tampered", "kiosk", agent=False),
]
SPEAKER_OF_KIND = {"kiosk": "kiosk-1", "caller": "caller-7", "display": "display-1", "rating": "rating-7",
                   "recorder": "recorder-1", "sim": "sim-1"}


def registry_sync(version: int) -> HallState:
    """What central's registry sends: the windows' and officers' units, kiosk-new not yet tested."""
    return HallState(
        hall=HALL, gateway=GATEWAY, version=version, accounts=[],
        devices=[HallDevice(
            id="kiosk-new", kind=DeviceKind.KIOSK, window=None, state=DeviceState.PROVISIONED,
            credential_version=1,
            config=DeviceConfig(version=1, device="kiosk-new", hall=HALL, kind=DeviceKind.KIOSK))],
        windows=[HallWindow(id=WINDOW, name="7号窗口", department=UNIT),
                 HallWindow(id=OTHER_WINDOW, name="8号窗口", department=OTHER_UNIT)],
        officers=[HallOfficer(id=OFFICER, name="李四", department=UNIT, window=WINDOW),
                  HallOfficer(id=OTHER_OFFICER, name="王五", department=OTHER_UNIT, window=OTHER_WINDOW)],
    )


def login(hall: SecuredHall, caller: str, window: str, officer: str) -> None:
    hall.state(caller, "queue.window_action", {"action": "login", "window": window, "officer": officer,
                                               "request": f"login-{caller}"})
    wait_until(lambda: hall.gateway.db.read(lambda c: queue_store.load_window(c, window).officer) == officer,
               30, f"{officer} logged in at window {window}")


@pytest.fixture(scope="session")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredHall]:
    instance = start_secured_hall(Path(tmp_path_factory.mktemp("trust")), DEVICES)
    try:
        gateway = instance.gateway
        # The registry's part of a sync (its broker logins are this test's own files).
        gateway.store.run_in_transaction(
            lambda context: gateway.registry.apply_state(context.tx, registry_sync(1), context.now_ms))
        instance.state("kiosk-1", "queue.kiosk_ready", {"slot": 1, "slots": 1, "day": today(), "services": [
            {"prefix": "A", "name": "综合业务", "windows": [WINDOW, OTHER_WINDOW], "daily_limit": 500}]})
        instance.state("kiosk-1", "queue.ticket_issued", {
            "ticket": "A001", "day": today(), "service": "A", "service_name": "综合业务", "number": 1,
            "slot": 1, "people_ahead": 0, "issued_at": 0})
        wait_until(lambda: gateway.db.query("SELECT 1 FROM queue_visits WHERE ticket = 'A001'"), 30,
                   "ticket A001 in the hall's queue")
        login(instance, "caller-7", WINDOW, OFFICER)
        instance.state("caller-7", "queue.window_action", {"action": "call_next", "window": WINDOW,
                                                           "request": "call-0001"})
        wait_until(lambda: gateway.db.read(
            lambda c: queue_store.visit_at_window(c, today(), "A001", WINDOW)), 30, "A001 called to window 7")
        login(instance, "caller-8", OTHER_WINDOW, OTHER_OFFICER)
        yield instance
    finally:
        instance.stop()

"""Pushing a hall's registry to its gateway over central's broker (the gateway's command topic)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from contract.commands.registry import HallState
from contract.topics import gateway_link
from spine.config import BrokerSettings
from spine.mqtt import make_client, reason_text

log = logging.getLogger(__name__)


class PushFailed(Exception):
    pass


def push_hall_state(state: HallState, broker: BrokerSettings, *, timeout: float = 20.0) -> None:
    """Publish the hall's registry at QoS 1 and wait for central's broker to take it.

    The gateway's forwarder holds a persistent session, so the broker keeps the
    message for a gateway that is away; a newer sync supersedes an older one.
    """
    if not broker.username:
        raise PushFailed("no provisioner login configured for central's broker")
    client = make_client(broker.username, broker)
    connected = threading.Event()
    outcome: dict[str, Any] = {}

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        outcome["connect"] = reason
        connected.set()

    client.on_connect = on_connect
    client.on_publish = lambda _c, _u, _mid, reason, _p: outcome.__setitem__("puback", reason)
    client.connect_async(broker.host, broker.port, keepalive=broker.keepalive_s)
    client.loop_start()
    try:
        if not connected.wait(timeout):
            raise PushFailed(f"central's broker at {broker.host}:{broker.port} did not answer")
        if outcome["connect"].is_failure:
            raise PushFailed(f"central's broker refused the provisioner: {reason_text(outcome['connect'])}")
        info = client.publish(gateway_link(state.hall).commands, state.model_dump_json(), qos=1)
        info.wait_for_publish(timeout)
        puback = outcome.get("puback")
        if not info.is_published() or puback is None:
            raise PushFailed("central's broker did not confirm the registry sync")
        if puback.is_failure:
            raise PushFailed(f"central's broker refused the registry sync: {reason_text(puback)}")
    finally:
        client.disconnect()
        client.loop_stop()
    log.info("registry of %s pushed: %s", state.hall, state.summary())

"""Central's receiving end: the gateways' store-and-forward stream, acknowledged after commit.

Each gateway is trusted for its own hall only, and only for what the authority
table lets it state or forward (`central.authority.HallTrust`).

Several central processes over one PostgreSQL share the halls' streams when their
`[ingest] shared_group` is set: the events topic is subscribed as the MQTT 5 shared
subscription `$share/<group>/central/+/events`, so the broker hands each batch to one live
member. A hall's batches may then reach two processes at once; the hall's advisory lock
(`central.hall_lock`) stores them one after the other, and a batch that arrives before its
predecessor is committed is answered with a resend (the sender's `after`), so each hall's
stream is stored once and in order whichever process gets which batch. Statuses and
heartbeats stay plain subscriptions in every process (see `_subscriptions`).

In a group, a batch usually arrives while another member is still storing its predecessor
(the sender keeps a window of batches in flight, dealt out in turn). Answered at once, each
such batch would have the sender resend its whole window; so a member first waits, a
moment at most, for the predecessor's commit (`_wait_for_predecessor`), and asks for the
resend only if it does not come (the predecessor was lost with a member that died).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import OperationalError

from central.authority import HallTrust
from central.config import CentralConfig
from central.hall_lock import hold_hall
from central.store import CentralStore
from contract.authority import CaseScope
from contract.envelope import Ack
from contract.text import printable
from contract.topics import every_hall_link, gateway_link, parse_central_topic
from spine.clock import Clock
from spine.mqtt import acknowledge_after, connect_clean, connect_persistent, make_client, reason_text
from spine.receiver import BatchReceiver, stream_position
from spine.statement import Statement

log = logging.getLogger(__name__)


HeartbeatListener = Callable[[str, dict[str, Any]], None]
"""(hall, the gateway's heartbeat) -> None: e.g. the hall's watermark (`central.hall_watermarks`)."""
StatusListener = Callable[[str, bool], None]
"""(hall, online) -> None, at each status its gateway publishes (retained: also when central
connects): e.g. the hall's booking lists, sent again (`central.booking.lists`)."""


PREDECESSOR_WAIT_S = 1.0
"""How long a member of a shared group waits for another member to commit a batch's predecessor
before it asks the sender for the gap. A batch of 500 events commits in well under this; a
longer wait would hold up the member's other halls (paho hands it one message at a time)
whenever the predecessor is truly gone, or dealt to a member that waits on this one."""
_POLL_S = 0.02
"""Between two looks at the sender's stream, while no member holds the hall yet (the
predecessor's member is still reading it)."""


def events_filter(shared_group: str | None) -> str:
    """What central subscribes to for the halls' batches: every hall's, or its group's share."""
    every = every_hall_link().events
    return every if shared_group is None else f"$share/{shared_group}/{every}"


class CentralIngest:
    def __init__(self, config: CentralConfig, store: CentralStore, clock: Clock,
                 case_scope: CaseScope | None = None,
                 on_heartbeat: HeartbeatListener | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.on_heartbeat = on_heartbeat
        self.on_status: StatusListener | None = None
        gateways = {entry.hall: entry.gateway for entry in config.ingest.halls}
        if not gateways:
            log.warning("no halls configured: central accepts any gateway (demo only)")
        self.trust = HallTrust(gateways, case_scope)
        store.admit = self.trust.admit
        store.judges = self.trust.judges
        self.receiver = BatchReceiver(
            store, clock, authorize=self.trust.authorize, check_event=self.trust.check
        )
        self.client = make_client(f"{config.id}-ingest", config.broker, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self._stopping = False
        self._halls_heard: set[str] = set()
        """Halls this process has stored a batch of since it started (said once in the log)."""
        self.waited_for_predecessor = 0
        """Batches that arrived before their predecessor was committed (by another member of the
        group) and were stored after waiting for it, instead of asking the sender to resend."""

    def start(self) -> None:
        if self.config.ingest.shared_group is None:
            connect_persistent(self.client, self.config.broker, self.config.ingest.session_expiry_s)
        else:
            # A member that died must not keep a share of the streams queued for itself: the
            # broker would go on dealing it every other batch (see `connect_clean`).
            connect_clean(self.client, self.config.broker)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
        counts = self.receiver.counters
        log.info("central ingest stops: %d batches committed (%d events stored, %d duplicates), "
                 "%d answered with a resend, %d stored after waiting for their predecessor, "
                 "%d refused",
                 counts["batches"], counts["stored"], counts["duplicates"],
                 counts["out_of_order"], self.waited_for_predecessor,
                 counts["rejected"])

    def _subscriptions(self) -> list[tuple[str, int]]:
        """The batches, shared in a group or not; a hall's status and heartbeat in every process.

        A shared subscription gets no retained message (MQTT 5 4.8.2): a status that went
        retained while every process was down (a gateway's will: offline) would never be
        heard. And a hall's status row is written by whoever hears it last: heard by every
        process, each in the gateway's order, every process leaves the latest; dealt out
        among processes, an older heartbeat stored late could undo a newer "offline". Both
        are small and idempotent upserts, so each process pays for them once per message.
        """
        every = every_hall_link()
        return [(events_filter(self.config.ingest.shared_group), 1), (every.status, 1),
                (every.heartbeat, 0)]

    def send_command(self, hall: str, command: dict[str, Any]) -> None:
        """Publish on `central/<hall>/cmd`; the hall's gateway runs it or relays it to its device."""
        topic = gateway_link(hall).commands
        self.client.publish(topic, json.dumps(command, ensure_ascii=False), qos=1)
        log.info("sent %r to hall %s (%s)", command.get("command"), hall, command.get("device", "gateway"))

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("central broker refused central: %s", reason_text(reason))
            return
        client.subscribe(self._subscriptions())
        group = self.config.ingest.shared_group
        log.info("central connected to its broker (session %s)%s",
                 "resumed" if flags.session_present else "new",
                 f"; shares the halls' streams in group {group!r}" if group else "")

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._stopping:
            return
        log.warning("central lost its broker (%s); reconnecting", reason_text(reason))

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        acknowledge_after(client, message, lambda m: self._handle(client, m))

    def _handle(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        parsed = parse_central_topic(message.topic)
        if parsed is None:
            return
        hall, channel = parsed
        if channel == "events":
            ack = self._receive(message.topic, hall, message.payload)
            if ack is not None:
                client.publish(gateway_link(hall).ack, ack.model_dump_json(), qos=1)
                if hall not in self._halls_heard and not ack.resend and ack.error is None:
                    # Which process stores which halls, once each: with a shared group, every
                    # member should say it for the busy halls.
                    self._halls_heard.add(hall)
                    log.info("hall %s: this process stores its batches (first since start)", hall)
        elif channel in ("status", "heartbeat") and message.payload:
            try:
                data = json.loads(message.payload)
            except ValueError:
                return
            if isinstance(data, dict):
                online = data.get("state") == "online"
                heartbeat = message.payload.decode() if channel == "heartbeat" else None
                reason = data.get("reason")
                # Said by the gateway, kept as text: a NUL would fail on PostgreSQL.
                reason = printable(reason) if isinstance(reason, str) else None
                self.store.set_hall_status(hall, online, reason, heartbeat)
                if channel == "heartbeat" and self.on_heartbeat is not None:
                    self.on_heartbeat(hall, data)
                if channel == "status" and self.on_status is not None:
                    self.on_status(hall, online)

    def _receive(self, topic: str, hall: str, payload: bytes | bytearray) -> Ack | None:
        ack = self.receiver.receive(topic, hall, payload)
        if ack is None or not ack.resend or self.config.ingest.shared_group is None:
            return ack
        position = _stream_position_wanted(payload)
        if position is None or not self._wait_for_predecessor(hall, *position):
            return ack
        again = self.receiver.receive(topic, hall, payload)
        if again is not None and not again.resend:
            self.waited_for_predecessor += 1
            # Counted once as out of order by the receiver: it was not answered as such.
            self.receiver.counters["out_of_order"] -= 1
        return again

    def _wait_for_predecessor(self, hall: str, sender: str, after: int) -> bool:
        """Whether `sender`'s stream reached `after` within `PREDECESSOR_WAIT_S`: a member
        storing the hall holds its advisory lock, so waiting for the lock waits for its commit."""
        deadline = time.monotonic() + PREDECESSOR_WAIT_S
        while True:
            try:
                with self.store.sql_transaction() as sql:
                    if sql.dialect.name == "postgresql":
                        # A member frozen inside its transaction holds the hall until the server
                        # ends its session: wait no longer than promised, then ask the sender.
                        _WAIT_NO_LONGER.run(sql, {"timeout": f"{int(PREDECESSOR_WAIT_S * 1000)}ms"})
                    hold_hall(sql, hall)
                    held = stream_position(sql, sender)
            except OperationalError as exc:
                if _lock_timed_out(exc):
                    return False
                raise
            if held is not None and held >= after:
                return True
            if time.monotonic() + _POLL_S > deadline:
                return False
            time.sleep(_POLL_S)


_WAIT_NO_LONGER = Statement(lambda _dialect: select(
    func.set_config("lock_timeout", bindparam("timeout"), True)))
"""`SET LOCAL lock_timeout`: for this transaction only."""


def _lock_timed_out(exc: OperationalError) -> bool:
    # SQLSTATE 55P03, lock_not_available: what `lock_timeout` raises.
    return getattr(exc.orig, "sqlstate", None) == "55P03"


def _stream_position_wanted(payload: bytes | bytearray) -> tuple[str, int] | None:
    """(sender, after) of a batch the receiver has already read as valid (only on the rare path
    of a batch that came early: reading it again costs less than asking for the window)."""
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    sender, after = raw.get("sender"), raw.get("after")
    if isinstance(sender, str) and isinstance(after, int) and not isinstance(after, bool):
        return sender, after
    return None

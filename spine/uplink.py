"""Draining an outbox to the next hop over MQTT, deleting only what the receiver has committed.

A PUBACK only says the broker has a message; the receiver's application-level
`Ack` (published after its durable commit) is what lets a row leave the
outbox. Batches go out in outbox order, a window of a few in flight at once;
a batch less than half full waits until nothing is in flight, so a slow sender's
batches grow with its receiver's round trip instead of costing one commit each.

What goes out is bounded by what can be acknowledged. While the receiver is
silent (a gateway down for an hour), nothing more is sent: the outbox is the
buffer, not the broker. After `ack_timeout_s` without an ack the sender probes
with one small batch (its oldest event), again on a doubling wait up to
`probe_max_s`. The probe's ack says the receiver is back; batches sent before
the probe and still unacknowledged then were lost on the way, and only then is
the window sent again. The window is also resent from the oldest event after a
reconnect, and when the receiver asks (it lacks an earlier batch). Resends are
harmless: receivers deduplicate by event id.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from contract import PROTOCOL_VERSION
from contract.envelope import Ack, dump_envelope
from contract.topics import LinkTopics
from spine.clock import Clock
from spine.config import BrokerSettings, UplinkSettings
from spine.mqtt import Will, connect_persistent, make_client, reason_text
from spine.outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)

_REMEMBERED_BATCHES = 128  # late acks beyond this are answered by a harmless resend
_FORGET_RETRY_S = 1.0  # how often acknowledged rows a full disk kept are deleted again


@dataclass
class UplinkStats:
    connected: bool = False
    connects: int = 0
    batches_sent: int = 0
    events_sent: int = 0
    events_acked: int = 0
    resends: int = 0
    """Times the window was sent again from the oldest event (reconnect, lost batches, asked)."""
    probes: int = 0
    """One-event batches sent to a receiver that had stopped acknowledging."""
    rejected: int = 0
    last_ack_at: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Uplink:
    """One sender's link to the next hop: publish batches, apply acks, heartbeat, last will."""

    def __init__(
        self,
        *,
        sender_id: str,
        client_id: str,
        outbox: Outbox,
        topics: LinkTopics,
        broker: BrokerSettings,
        settings: UplinkSettings,
        clock: Clock,
        heartbeat_extra: Callable[[], dict[str, Any]] | None = None,
        status_extra: Callable[[], dict[str, Any]] | None = None,
        subscriptions: dict[str, Callable[[mqtt.MQTTMessage], None]] | None = None,
    ) -> None:
        """`status_extra`: what the sender says of itself in its retained online status and in
        every heartbeat (an edge agent: whether its disk is full); `heartbeat_extra`: heartbeat only."""
        self.sender_id = sender_id
        self.outbox = outbox
        self.topics = topics
        self.settings = settings
        self.clock = clock
        self.stats = UplinkStats()
        self._heartbeat_extra = heartbeat_extra or (lambda: {})
        self._status_extra = status_extra or (lambda: {})
        self._subscriptions = dict(subscriptions or {})
        self._on_command: Callable[[mqtt.MQTTMessage], None] | None = None
        self._lock = threading.Lock()
        self._cursor = 0  # last outbox position handed to the broker
        self._inflight: OrderedDict[str, float] = OrderedDict()  # window batch id -> monotonic send time
        self._sent: OrderedDict[str, list[int]] = OrderedDict()  # batch id -> positions
        self._probes: dict[str, frozenset[str]] = {}  # probe id -> window batches sent before it
        self._last_progress = time.monotonic()  # the last ack, or the last probe
        self._probe_wait = settings.ack_timeout_s  # silence before the next probe
        self._silent_since: float | None = None  # the receiver stopped answering (monotonic)
        self._forget_failing = False  # a full disk refused the delete of acknowledged rows
        self._next_forget = 0.0
        # (SUBSCRIBE's mid, its topics, whether the broker resumed our session) until the SUBACK
        self._awaited_suback: tuple[int | None, list[str], bool] | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = make_client(
            client_id,
            broker,
            will=Will(topics.status, dump_envelope({"state": "offline", "reason": "connection lost"})),
            reconnect_min_s=settings.reconnect_min_s,
            reconnect_max_s=settings.reconnect_max_s,
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._broker = broker

    @property
    def client(self) -> mqtt.Client:
        """The MQTT client, for publishing replies on this link's connection."""
        return self._client

    # --- life cycle ------------------------------------------------------

    def start(self) -> None:
        connect_persistent(self._client, self._broker, self.settings.session_expiry_s)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name=f"uplink-{self.sender_id}", daemon=True)
        self._thread.start()

    def stop(self, reason: str = "stopped") -> None:
        """Say goodbye (retained offline status) and disconnect; the outbox keeps the rest."""
        self._stopping.set()
        self.outbox.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.stats.connected:
            info = self._client.publish(
                self.topics.status, dump_envelope({"state": "offline", "reason": reason}), qos=1, retain=True
            )
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()

    # --- MQTT callbacks (paho's network thread) ---------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        """Subscribe; the link is connected only once the broker has granted the subscriptions.

        Until the SUBACK, an ack or a command published to us may find no subscription and be
        lost (a new session has none; a resumed one is only as old as the broker's disk), so
        nothing is sent and nobody is told we are online before it.
        """
        if reason.is_failure:
            log.warning("uplink %s: broker refused the connection: %s", self.sender_id, reason_text(reason))
            return
        topics = [self.topics.ack, self.topics.commands, *self._subscriptions]
        result, mid = client.subscribe([(topic, 1) for topic in topics])
        if result != mqtt.MQTT_ERR_SUCCESS:
            log.warning("uplink %s: could not subscribe (%s); waiting for a reconnect",
                        self.sender_id, mqtt.error_string(result))
            return
        with self._lock:
            # SUBACK runs on this same thread, after this callback: it cannot come first.
            self._awaited_suback = (mid, topics, bool(flags.session_present))

    def _on_subscribe(self, client: mqtt.Client, _u: Any, mid: int, reasons: list[Any], _p: Any) -> None:
        with self._lock:
            if self._awaited_suback is None or self._awaited_suback[0] != mid:
                return  # the SUBACK of a connection that has since been lost
            _mid, topics, session_present = self._awaited_suback
            self._awaited_suback = None
        refused = {topic: reason_text(code) for topic, code in zip(topics, reasons, strict=False)
                   if code.is_failure}
        if refused:
            log.error("uplink %s: the broker refused subscriptions %s (check its ACL)",
                      self.sender_id, refused)
        if self.topics.ack in refused:
            # Without acks nothing could ever leave the outbox: stay offline, keep every event,
            # and try again on the next connection.
            return
        self._announce(client)
        with self._lock:
            # Whatever was in flight may or may not have reached the receiver:
            # send it all again from the oldest unacknowledged row.
            self._inflight.clear()
            self._probes.clear()
            self._cursor = 0
            self._answered()
            self.stats.connected = True
            self.stats.connects += 1
        log.info(
            "uplink %s connected to %s:%s (session %s)",
            self.sender_id, self._broker.host, self._broker.port,
            "resumed" if session_present else "new",
        )
        self.outbox.notify()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._lock:
            was_connected = self.stats.connected
            self.stats.connected = False
            self._awaited_suback = None
            self._inflight.clear()
        if was_connected and not self._stopping.is_set():
            log.warning(
                "uplink %s lost the broker (%s); events stay in the outbox and go out on reconnect",
                self.sender_id, reason_text(reason),
            )

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topics.ack:
            try:
                self._apply_ack(message.payload)
            except Exception:  # raised in paho's thread, it would end the link for good
                log.exception("uplink %s: could not apply an acknowledgement", self.sender_id)
            return
        if message.topic == self.topics.commands:
            handler = self._on_command
        else:
            handler = self._subscriptions.get(message.topic)
        if handler is None:
            return
        try:
            handler(message)
        except Exception:  # a bad command must not take the link down
            log.exception("uplink %s: handler for %s failed", self.sender_id, message.topic)

    def on_commands(self, handler: Callable[[mqtt.MQTTMessage], None]) -> None:
        """Handle what arrives on this link's commands topic (set before `start()`)."""
        self._on_command = handler

    def _apply_ack(self, payload: bytes | bytearray) -> None:
        try:
            ack = Ack.model_validate_json(payload)
        except ValidationError as exc:
            log.warning("uplink %s: ignoring a malformed ack: %s", self.sender_id, exc.errors()[:1])
            return
        with self._lock:
            silent_for = self._answered()
        if silent_for is not None:
            log.warning("uplink %s: the receiver answers again after %.0f s of silence",
                        self.sender_id, silent_for)
        if ack.resend:
            self._restart_stream(ack.batch)
            return
        with self._lock:
            positions = self._sent.pop(ack.batch, None)
            self._inflight.pop(ack.batch, None)
            before_probe = self._probes.pop(ack.batch, frozenset())
            lost = [batch for batch in before_probe if batch in self._inflight]
        if lost:
            self._resend_window(
                f"{len(lost)} batch(es) sent before the probe were lost while the receiver was away"
            )
        if positions is None:
            return  # an ack for a batch sent before a restart: its resend will be acked too
        if ack.error:
            log.error(
                "uplink %s: receiver refused batch %s as a whole (%s); it keeps it as a dead letter",
                self.sender_id, ack.batch, ack.error,
            )
        for rejection in ack.rejected:
            log.error(
                "uplink %s: receiver refused event %s: %s", self.sender_id, rejection.id, rejection.reason
            )
        self._forget(positions)
        with self._lock:
            self.stats.events_acked += len(positions)
            self.stats.rejected += len(ack.rejected)
            self.stats.last_ack_at = self.clock.wall_ms()

    def _answered(self) -> float | None:
        """(Holding the lock.) The receiver spoke: probing stops and its wait starts over.
        Returns how long it had been silent, if it had."""
        now = time.monotonic()
        silent_for = None if self._silent_since is None else now - self._silent_since
        self._silent_since = None
        self._last_progress = now
        self._probe_wait = self.settings.ack_timeout_s
        return silent_for

    def _forget(self, positions: list[int]) -> None:
        """Forget acknowledged rows: the outbox never sends them again and deletes them now or
        with a later write. On a full disk the delete is retried (`_tidy`): the ack is never
        lost and the link never stops over it."""
        self._deleting(lambda: self.outbox.delete(positions))

    def _tidy(self) -> None:
        """Delete the acknowledged rows a busy writer or a full disk left; while the disk
        refuses, at most every `_FORGET_RETRY_S`."""
        with self._lock:
            if self._forget_failing and time.monotonic() < self._next_forget:
                return
        self._deleting(self.outbox.tidy)

    def _deleting(self, delete: Callable[[], int]) -> None:
        try:
            delete()
        except sqlite3.Error as exc:
            with self._lock:
                first, self._forget_failing = not self._forget_failing, True
                self._next_forget = time.monotonic() + _FORGET_RETRY_S
            if first:
                log.error("uplink %s: cannot delete acknowledged events (%s); retrying every %.0f s",
                          self.sender_id, exc, _FORGET_RETRY_S)
            return
        with self._lock:
            recovered, self._forget_failing = self._forget_failing, False
        if recovered:
            log.warning("uplink %s: acknowledged events can be deleted again", self.sender_id)

    def _restart_stream(self, batch_id: str) -> None:
        """The receiver lacks what comes before `batch_id` (lost with a crashed broker):
        send again from the oldest unacknowledged event, once per gap."""
        with self._lock:
            if batch_id not in self._inflight:
                return  # an echo of a stream already restarted
        self._resend_window("the receiver missed earlier events")

    def _resend_window(self, why: str) -> None:
        with self._lock:
            self._inflight.clear()
            self._cursor = 0
            self.stats.resends += 1
        log.warning("uplink %s: %s; resending from the oldest unacknowledged event", self.sender_id, why)
        self.outbox.notify()

    # --- the sender thread -----------------------------------------------

    def _run(self) -> None:
        next_heartbeat = time.monotonic()
        while not self._stopping.is_set():
            sent = False
            seen = self.outbox.version
            try:
                if self._forget_failing:
                    self._tidy()
                if self.stats.connected:
                    self._probe_if_silent()
                    sent = self._send_one_batch()
                    if time.monotonic() >= next_heartbeat:
                        self._heartbeat()
                        next_heartbeat = time.monotonic() + self.settings.heartbeat_s
            except Exception:
                log.exception("uplink %s: sender failed; retrying", self.sender_id)
                self._stopping.wait(1.0)
            if not sent:
                # Acknowledged rows a writer was too busy to take along go now, if it is done.
                self._tidy()
                # Disconnected, the heartbeat is not due at all: only a reconnect or a new
                # event can give us work, so never spin (a Pi cut off must stay idle).
                due = next_heartbeat - time.monotonic() if self.stats.connected else 0.5
                self.outbox.wait_for_change(min(0.5, max(0.01, due)), since=seen)

    def _probe_if_silent(self) -> None:
        """With batches awaiting acks and none coming, send one small batch of the oldest event,
        on a doubling wait: a receiver away for an hour costs a few dozen events, not the window
        every `ack_timeout_s` (each copy queued by the broker and written to its disk)."""
        now = time.monotonic()
        with self._lock:
            if not self._inflight:
                self._last_progress = now  # nothing awaited: silence is not a fault
                return
            if now - self._last_progress < self._probe_wait:
                return
            started = self._silent_since is None
            silent_since = self._last_progress if self._silent_since is None else self._silent_since
            self._silent_since = silent_since
            waited = now - silent_since
            self._last_progress = now
            self._probe_wait = min(self._probe_wait * 2, self.settings.probe_max_s)
            window = frozenset(self._inflight)
        rows = self.outbox.read_after(0, 1, self.settings.batch_max_bytes)
        if not rows:
            return
        batch_id = secrets.token_hex(8)
        # No stream positions: the probe repeats an event the receiver may already hold, so it
        # must not move the receiver's idea of how far this sender's stream got.
        payload = build_batch(batch_id, self.sender_id, self.clock, [rows[0].payload])
        with self._lock:
            self._probes[batch_id] = window
            while len(self._probes) > _REMEMBERED_BATCHES:  # probes that were lost on the way
                del self._probes[next(iter(self._probes))]
            self._sent[batch_id] = [rows[0].pos]
            self.stats.probes += 1
            self.stats.batches_sent += 1
            self.stats.events_sent += 1
        if started:
            log.warning(
                "uplink %s: no acknowledgement for %.0f s; probing with one event, then every %.0f s "
                "at most, until the receiver answers (the outbox keeps the rest)",
                self.sender_id, waited, self.settings.probe_max_s,
            )
        self._client.publish(self.topics.events, payload, qos=1)

    def _send_one_batch(self) -> bool:
        with self._lock:
            if len(self._inflight) >= self.settings.inflight_batches or self._silent_since is not None:
                return False  # a full window, or a silent receiver: only probes go until it answers
            cursor = self._cursor
        rows = self.outbox.read_after(
            cursor, self.settings.batch_max_events, self.settings.batch_max_bytes
        )
        if not rows or not self._worth_sending_now(rows):
            return False
        batch_id = secrets.token_hex(8)
        payload = build_batch(
            batch_id, self.sender_id, self.clock, [r.payload for r in rows],
            last=rows[-1].pos, after=self.outbox.position_before(rows[0].pos),
        )
        with self._lock:
            if self._cursor != cursor:  # a reconnect or timeout reset the cursor meanwhile
                return True
            self._inflight[batch_id] = time.monotonic()
            self._sent[batch_id] = [r.pos for r in rows]
            while len(self._sent) > _REMEMBERED_BATCHES:
                self._sent.popitem(last=False)
            self._cursor = rows[-1].pos
            self.stats.batches_sent += 1
            self.stats.events_sent += len(rows)
        self._client.publish(self.topics.events, payload, qos=1)
        return True

    def _worth_sending_now(self, rows: list[OutboxRow]) -> bool:
        """A batch at least half full goes out at once, as long as the window has room; a
        smaller one waits until nothing is in flight, gathering what comes meanwhile.

        A lone event still leaves at once. But a hall of many slow senders no longer asks its
        gateway for one commit (one fsync) per event of every device: each device's batches
        grow with the gateway's round trip, so the gateway's commits follow its own pace.
        """
        if len(rows) >= self.settings.batch_max_events:
            return True
        if 2 * sum(len(row.payload) for row in rows) >= self.settings.batch_max_bytes:
            return True
        with self._lock:
            return not self._inflight

    def _status(self, state: str) -> dict[str, Any]:
        return {
            "state": state,
            "boot": self.clock.boot_id(),
            "at": self.clock.wall_ms(),
            "mono": self.clock.mono_ms(),
        }

    def _announce(self, client: mqtt.Client) -> None:
        status = self._status("online") | self._status_extra()
        client.publish(self.topics.status, dump_envelope(status), qos=1, retain=True)

    def announce(self) -> None:
        """Republish the retained online status now (what `status_extra` says has changed)."""
        if self.stats.connected:
            self._announce(self._client)

    def _heartbeat(self) -> None:
        waiting, waiting_bytes = self.outbox.depth()
        beat = self._status("online") | {
            "outbox_events": waiting,
            "outbox_bytes": waiting_bytes,
            "dropped": self.outbox.drop_totals(),
            "resends": self.stats.resends,
            "probes": self.stats.probes,
        }
        beat.update(self._status_extra())
        beat.update(self._heartbeat_extra())
        self._client.publish(self.topics.heartbeat, dump_envelope(beat), qos=0)

    def drained(self) -> bool:
        return self.outbox.depth()[0] == 0

    def wait_drained(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.outbox.version
            if self.drained():
                return True
            self.outbox.wait_for_change(0.2, since=seen)
        return self.drained()


def build_batch(
    batch_id: str,
    sender: str,
    clock: Clock,
    events: list[str],
    *,
    last: int | None = None,
    after: int | None = None,
) -> str:
    """A batch message around already-serialised envelopes (no re-encoding of each event)."""
    header = dump_envelope(
        {
            "v": PROTOCOL_VERSION,
            "batch": batch_id,
            "sender": sender,
            "boot": clock.boot_id(),
            "sent_at": clock.wall_ms(),
            "sent_mono": clock.mono_ms(),
            "last": last,
            "after": after,
        }
    )
    return header[:-1] + ',"events":[' + ",".join(events) + "]}"

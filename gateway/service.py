"""The running hall gateway: its parts built in dependency order, started and stopped together.

Wiring only. The database comes first (every part lives in its file), then the
registry (who may speak), the hall's authority (what each may say, and the
alarm a refusal raises), presence (whose clock is known), the hall client
through which live messages leave, the domain handlers (each handed the narrow
callables it needs), the store that feeds them every new event, central's
commands, and last the two links: ingest from the hall broker, the forwarder
to central.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from contract.commands.queue import QueueAppointments
from contract.commands.registry import HallState
from contract.topics import gateway_link
from gateway.authority import HallAuthority
from gateway.commands import CentralCommands
from gateway.config import GatewayConfig
from gateway.hall_presence import HallPresence, PresenceReports
from gateway.ingest import HallIngest, LiveMessages, hall_client
from gateway.presence import PresenceTracker
from gateway.queue import store as queue_store
from gateway.queue.appointments import AppointmentBook
from gateway.queue.board import BoardPublisher
from gateway.queue.handler import QueueHandler
from gateway.ratings import store as rating_store
from gateway.ratings.handler import RatingDesk
from gateway.refusals import SCHEMA as REFUSALS_SCHEMA
from gateway.refusals import RefusalDesk
from gateway.registry.directory import UnitDirectory
from gateway.registry.handler import RegistryHandler
from gateway.registry.store import DeviceRegistry
from gateway.registry.sync import RegistrySync
from gateway.store import GatewayStore
from gateway.video.recorders import registered_recorders
from gateway.video.relay import GatewayVideo
from spine.broker.security import reloader
from spine.clock import Clock, SystemClock
from spine.database import Database
from spine.handlers import EventHandler
from spine.outbox import Outbox
from spine.receiver import BatchReceiver
from spine.service import Periodic
from spine.uplink import Uplink

log = logging.getLogger(__name__)


class GatewayService:
    def __init__(self, config: GatewayConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.hall = config.gateway.hall
        self.id = config.gateway.id
        self.clock = clock or SystemClock()
        self._stop = threading.Event()

        self.db = Database(config.store_path)
        # What the gateway forwards is in its event log already: the outbox refers to it.
        self.outbox = Outbox(self.db, config.outbox, payloads_in="events")
        self.registry = DeviceRegistry(self.db, config.devices)
        ratings = config.ratings
        self.authority = HallAuthority(
            self.hall, self.registry, open_enrolment=config.devices.open_enrolment,
            terminal_windows={t: w for w, info in ratings.windows.items() for t in info.terminals},
            configured_units=UnitDirectory(
                {o: p.department for o, p in ratings.officers.items() if p.department},
                {w: info.department for w, info in ratings.windows.items() if info.department}),
        )
        self.db.ensure_schema(REFUSALS_SCHEMA)
        self.refusals = RefusalDesk(config.security, self.registry)
        self.presence = HallPresence(
            PresenceTracker(config.devices.silence_s, config.devices.skew_threshold_ms), self.db
        )
        self.client = hall_client(self.id, config.hall_broker)
        self.live = LiveMessages(self.client)

        for schema in (queue_store.SCHEMA, rating_store.SCHEMA):
            self.db.ensure_schema(schema)
        with self.db.transaction() as tx:
            rating_store.upgrade(tx)
        self.board = BoardPublisher(self.hall, self.db.read, self.live.publish_latest, self.clock.wall_ms,
                                    config.queue.board_delay_ms)
        self.rating_desk = RatingDesk(config.ratings, self.hall, self.id)
        handlers: list[EventHandler] = [
            QueueHandler(config.queue, self.hall, self.board, self.presence.clock_known),
            self.rating_desk,  # after the queue: it reads the facts the queue just wrote
            RegistryHandler(self.hall, self.registry),
        ]
        self.store = GatewayStore(self.db, self.outbox, gateway_id=self.id, hall=self.hall, clock=self.clock,
                                  handlers=handlers, publish=self.live.publish, admit=self.authority.admit,
                                  refused=self.refusals.refused)

        self.commands = (
            CentralCommands(self.hall, self.live.publish, self.registry.refusal)
            .carry_out(QueueAppointments, AppointmentBook(self.hall, self.store.run_in_transaction))
            .carry_out(HallState, RegistrySync(
                self.hall, self.registry, self.store.run_in_transaction, self.live.publish,
                config.broker_access_dir, reloader(config.broker_access.reload),
            ))
        )
        self.presence_reports = PresenceReports(self.presence, self.store.record_own, self.clock)
        # The sweeper is a thread the systemd watchdog watches: if it dies, the gateway is restarted.
        self.sweeper = Periodic("presence", 1.0, self._sweep, self._stop, fatal=True)
        self.settler = Periodic("rating-settle", min(5.0, config.ratings.defer_s / 4),
                                lambda: self.store.run_in_transaction(self.rating_desk.flush), self._stop)

        self.receiver = BatchReceiver(
            self.store,
            self.clock,
            authorize=self.authority.authorize,
            check_event=self.authority.check,
            stamp_by=self.id,
            clock_reference=self.presence.clock_reference,
            author_of=self.authority.author_of,
        )
        self.ingest = HallIngest(self.client, self.hall, self.receiver, self.presence_reports,
                                 self.registry.refusal, self._stop, self.db)
        self.forwarder = Uplink(
            sender_id=self.id,
            client_id=f"{self.id}-forward",
            outbox=self.outbox,
            topics=gateway_link(self.hall),
            broker=config.central_broker,
            settings=config.uplink,
            clock=self.clock,
            heartbeat_extra=self._heartbeat_extra,
        )
        self.forwarder.on_commands(self.commands.on_message)
        # Live video and evidence for central: pulled over HTTP on demand, never over MQTT.
        self.video = (GatewayVideo(config.video, registered_recorders(self.registry))
                      if config.video is not None else None)

    # --- life cycle ------------------------------------------------------

    def start(self) -> None:
        self.forwarder.start()
        self.ingest.start(self.config.hall_broker, self.config.uplink.session_expiry_s)
        self.sweeper.start()
        self.settler.start()
        if self.video is not None:
            self.video.start()
        log.info("gateway %s serving hall %s", self.id, self.hall)

    def stop(self) -> None:
        self._stop.set()
        if self.video is not None:
            self.video.stop()
        self.ingest.stop()
        # Both write to the store: let them finish before it closes.
        self.sweeper.join(timeout=5)
        self.settler.join(timeout=5)
        self.forwarder.stop()
        self.db.close()

    def _sweep(self) -> None:
        """Every second: devices gone silent, and quarantines a technician released meanwhile."""
        self.presence_reports.sweep()
        if self.registry.has_unreported_releases():
            self.store.run_in_transaction(self.refusals.report_releases)

    # --- reporting -------------------------------------------------------

    def _heartbeat_extra(self) -> dict[str, Any]:
        return {"kind": "gateway", "hall": self.hall, "devices": self.presence.snapshot(),
                "ingest": dict(self.receiver.counters)}

    def diagnostics(self) -> dict[str, Any]:
        waiting, waiting_bytes = self.outbox.depth()
        return {
            "gateway": self.id,
            "hall": self.hall,
            "ingest": dict(self.receiver.counters),
            "forward_outbox": {"events_waiting": waiting, "bytes_waiting": waiting_bytes},
            "forwarder_connected": self.forwarder.stats.connected,
            "devices": self.presence.snapshot(),
            "video": self.video.diagnostics() if self.video is not None else None,
        }

"""The running central service: the gateways' stream in, the supervision engine, the API."""

from __future__ import annotations

import logging

from central.config import CentralConfig
from central.ingest import CentralIngest
from central.store import CentralHandler, CentralStore
from edge.runtime.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class CentralService:
    def __init__(
        self,
        config: CentralConfig,
        *,
        clock: Clock | None = None,
        handlers: list[CentralHandler] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.store = CentralStore(config.events_path, self.clock, handlers)
        self.ingest = CentralIngest(config, self.store, self.clock)

    def start(self) -> None:
        self.ingest.start()
        log.info("central receiving on %s:%s", self.config.broker.host, self.config.broker.port)

    def stop(self) -> None:
        self.ingest.stop()
        self.store.close()

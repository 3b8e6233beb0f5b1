"""A hall gateway's store with the rating desk, driven event by event without a broker."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from contract.catalog import validate_body
from contract.envelope import Envelope, Received
from gateway.ratings import store as rating_store
from gateway.ratings.handler import RatingDesk
from gateway.ratings.settings import RatingGatewaySettings
from gateway.store import GatewayStore
from spine.clock import SimulatedClock
from spine.config import OutboxSettings
from spine.database import Database
from spine.handlers import HandlerContext
from spine.outbox import Outbox
from spine.receiver import AcceptedEvent

GATEWAY = "gw-hall-01"
DAY = "2026-11-26"


class GatewayHall:
    """The gateway half of a hall: queue facts written as the queue would, terminal events in."""

    def __init__(self, root: Path, **settings: Any) -> None:
        self.clock = SimulatedClock()
        self.db = Database(root / "gateway.sqlite")
        self.outbox = Outbox(self.db, OutboxSettings(path=root / "gateway.sqlite"))
        self.db.ensure_schema(rating_store.SCHEMA)
        defaults: dict[str, Any] = {
            "officers": {"x001": {"name": "王小明", "department": "市场监管局"},
                         "y002": {"name": "李红", "department": "公安局"}},
            "windows": {"3": {"terminals": ["rating-w3"]}, "4": {"terminals": ["rating-w4"]}},
        }
        defaults.update(settings)
        self.desk = RatingDesk(RatingGatewaySettings.model_validate(defaults), "hall-01", GATEWAY)
        self.published: list[tuple[str, str, bool]] = []
        self.store = GatewayStore(self.db, self.outbox, gateway_id=GATEWAY, hall="hall-01", clock=self.clock,
                                  handlers=[self.desk],
                                  publish=lambda t, p, r: self.published.append((t, p, r)))
        self.seq: dict[str, int] = {}

    # --- the queue's facts (what gateway/queue emits) ----------------------------------

    def login(self, window: str, officer: str | None) -> None:
        state = "open" if officer else "closed"
        self.store.record_own("queue.window_changed", {"window": window, "officer": officer, "state": state,
                                                       "at": self.clock.wall_ms()})
        self.store.run_in_transaction(self.desk.catch_up)

    def serve(self, window: str, ticket: str, officer: str | None = "x001") -> None:
        now = self.clock.wall_ms()
        self.store.record_own("queue.served", {"day": DAY, "ticket": ticket, "service": "A", "window": window,
                                               "officer": officer, "at": now, "called_at": now - 60_000,
                                               "service_ms": 60_000})
        self.store.run_in_transaction(self.desk.catch_up)

    # --- terminal events -----------------------------------------------------------------

    def device_event(self, device: str, type: str, body: dict[str, Any], skew_ms: int = 0,
                     happened_at: int | None = None) -> str:
        """An event from `device` arriving now; `happened_at` is the gateway's estimate of when
        it happened (the receiver's `est_time`), default now."""
        validate_body(type, body)
        self.seq[device] = self.seq.get(device, 0) + 1
        now = self.clock.wall_ms()
        at = now if happened_at is None else happened_at
        envelope = Envelope(v=1, id=uuid.uuid4().hex, device=device, seq=self.seq[device], boot="boot0001",
                            time=at - skew_ms, mono=0, type=type, body=body,
                            recv=Received(by=GATEWAY, at=now, est_time=at, skew_ms=skew_ms))
        event = AcceptedEvent(envelope, envelope.model_dump_json(), True)

        def handle(context: HandlerContext) -> None:
            self.desk.handle(context, event)

        self.store.run_in_transaction(handle)
        return envelope.id

    def flush(self) -> int:
        return int(self.store.run_in_transaction(self.desk.flush))

    # --- what the gateway recorded -------------------------------------------------------

    def emitted(self, type: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT payload FROM events WHERE type = ? ORDER BY id", (type,))
        return [json.loads(row[0])["body"] for row in rows]

    def arms(self) -> list[tuple[str, dict[str, Any]]]:
        return [(topic, json.loads(payload)) for topic, payload, _ in self.published
                if topic.endswith("/cmd") and json.loads(payload).get("command") == "rating.arm"]

    def close(self) -> None:
        self.db.close()


def given(rating: str, grade: str, visit: dict[str, str] | None, *, armed_at: int, rated_at: int,
          key: str = "2", trigger: str | None = None) -> dict[str, Any]:
    return {"rating": rating, "visit": visit,
            "trigger": trigger or ("visit_completed" if visit else "officer_request"),
            "armed_at": armed_at, "grade": grade, "key": key, "rated_at": rated_at,
            "reason_pending": grade in ("dissatisfied", "very_dissatisfied")}

"""Fixtures of the rating suite: terminal configurations, and a terminal whose records a test can read."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from edge.rating_terminal.agent import RatingTerminal
from edge.rating_terminal.config import RatingTerminalConfig

HALL = "hall-01"
FAST_UPLINK = {"ack_timeout_s": 2.0, "heartbeat_s": 1.0, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0}


def terminal_config(root: Path, *, broker_port: int, window: str = "3", device: str | None = None,
                    keypad: dict[str, Any] | None = None, **sections: Any) -> RatingTerminalConfig:
    device = device or f"rating-w{window}"
    raw: dict[str, Any] = {
        "device": {"id": device, "hall": HALL, "kind": "rating", "window": window},
        "broker": {"port": broker_port},
        "outbox": {"path": str(root / device / "outbox.sqlite")},
        "uplink": FAST_UPLINK,
        "data_dir": str(root / device),
        "keypad": keypad or {"kind": "simulated"},
    }
    raw.update(sections)
    return RatingTerminalConfig.model_validate(raw)


class Spy:
    """Everything a terminal recorded, acknowledged upstream or not."""

    def __init__(self, terminal: RatingTerminal) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        record = terminal.agent.record

        def spy(type: str, body: Any) -> Any:
            with self._lock:
                self.records.append((type, dict(body)))
            return record(type, body)

        terminal.agent.record = spy  # type: ignore[method-assign]

    def of(self, type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for kind, body in self.records if kind == type]

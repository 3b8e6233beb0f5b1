"""A hall around central for a test: its gateway (in this process) and its devices' configurations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig
from gateway.service import GatewayService

HALL = "hall-01"
GATEWAY = "gw-hall-01"


def start_gateway(root: Path, broker_port: int, devices: list[dict[str, Any]],
                  **sections: Any) -> GatewayService:
    gateway = GatewayService(GatewayConfig.model_validate({
        "gateway": {"id": GATEWAY, "hall": HALL},
        "store_path": str(root / "gateway" / "gateway.sqlite"),
        "hall_broker": {"port": broker_port},
        "central_broker": {"port": broker_port},
        "uplink": {"heartbeat_s": 1, "ack_timeout_s": 3},
        "devices": {"known": devices, "silence_s": 30},
        **sections,
    }))
    gateway.start()
    return gateway


def recorder_config(root: Path, broker_port: int, device: str, windows: dict[str, str]) -> Path:
    """A recorder whose cameras (camera id -> window) point at nothing: no footage, holds still work."""
    cameras = "".join(
        f'[[cameras]]\nid = "{camera}"\nurl = "tcp://127.0.0.1:9"\nwindows = ["{window}"]\n'
        for camera, window in windows.items()
    )
    path = root / f"{device}.toml"
    path.write_text(
        f'data_dir = "{root / device}"\n'
        f'[device]\nid = "{device}"\nhall = "{HALL}"\nkind = "recorder"\n'
        f"[broker]\nport = {broker_port}\n"
        f'[outbox]\npath = "{root / device / "outbox.sqlite"}"\n'
        f"[uplink]\nack_timeout_s = 3\nheartbeat_s = 1\n"
        f"[recorder]\nsegment_s = 2\nrestart_max_s = 5\nmin_free_bytes = 0\n"
        f"{cameras}"
    )
    return path


def served(ticket: str, window: str, officer: str, called_at: int, ended_at: int) -> dict[str, Any]:
    """The gateway's fact that a ticket was served (as its queue logic records it)."""
    return {"day": "2026-11-23", "ticket": ticket, "service": ticket[0], "window": window,
            "officer": officer, "at": ended_at, "called_at": called_at,
            "service_ms": ended_at - called_at}

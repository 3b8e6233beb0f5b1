"""What the demo's simulated agents share: the sections every agent's configuration has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spine.config import BrokerSettings


def agent_sections(broker: BrokerSettings, hall: str, device: str, kind: str, root: Path,
                   window: str | None = None) -> dict[str, Any]:
    """`[device]`, `[broker]`, `[outbox]`, `[uplink]` and `data_dir` of a demo agent under `root/device`."""
    identity = {"id": device, "hall": hall, "kind": kind}
    if window is not None:
        identity["window"] = window
    return {
        "device": identity,
        "broker": broker.model_dump(mode="json", exclude_none=True),
        "outbox": {"path": str(root / device / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 5.0, "ack_timeout_s": 5.0},
        "data_dir": str(root / device),
    }

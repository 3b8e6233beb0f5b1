"""Configuration files for a hall in a test: one broker, central, a gateway, simulated devices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HallLayout:
    root: Path
    broker_port: int
    hall: str = "hall-01"
    gateway: str = "gw-hall-01"

    def central(self) -> Path:
        path = self.root / "central.toml"
        path.write_text(
            f'data_dir = "{self.root}/central"\n'
            f"[broker]\nport = {self.broker_port}\n"
            f'[ingest]\nhalls = [{{hall = "{self.hall}", gateway = "{self.gateway}"}}]\n'
        )
        return path

    @property
    def central_db(self) -> Path:
        return self.root / "central" / "events.sqlite"

    @property
    def gateway_db(self) -> Path:
        return self.root / "gateway" / "gateway.sqlite"

    def gateway_config(self, devices: list[str], ack_timeout_s: float = 3.0) -> Path:
        known = ", ".join(f'{{id = "{d}"}}' for d in devices)
        path = self.root / "gateway.toml"
        path.write_text(
            f'store_path = "{self.gateway_db}"\n'
            f'[gateway]\nid = "{self.gateway}"\nhall = "{self.hall}"\n'
            f"[hall_broker]\nport = {self.broker_port}\n"
            f"[central_broker]\nport = {self.broker_port}\n"
            f"[uplink]\nack_timeout_s = {ack_timeout_s}\nheartbeat_s = 1\n"
            f"[devices]\nknown = [{known}]\nsilence_s = 5\n"
        )
        return path

    def device(self, device: str, kind: str = "sim", ack_timeout_s: float = 3.0) -> Path:
        path = self.root / f"{device}.toml"
        path.write_text(
            f'[device]\nid = "{device}"\nhall = "{self.hall}"\nkind = "{kind}"\n'
            f"[broker]\nport = {self.broker_port}\n"
            f'[outbox]\npath = "{self.outbox(device)}"\n'
            f"[uplink]\nack_timeout_s = {ack_timeout_s}\nheartbeat_s = 1\n"
        )
        return path

    def outbox(self, device: str) -> Path:
        return self.root / device / "outbox.sqlite"

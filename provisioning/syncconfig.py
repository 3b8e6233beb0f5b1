"""How this provisioning home reaches the halls' gateways: `<home>/sync.toml`.

    mode = "mqtt"      # through central's broker (written by 'hall provision central bundle')
    [broker]           # BrokerSettings of the provisioner's login
    ...

    mode = "local"     # a broker on this machine (a single-box hall, the demo)
    broker_dir = "/var/lib/hallwatch/broker"
    gateway_store = "/var/lib/hallwatch/gateway.sqlite"
    reload = "systemd:hallwatch-broker.service"

Without the file nothing is pushed: carry `hall provision hall state` to the gateway.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from contract.commands.registry import HallState
from provisioning.home import Home
from provisioning.local import LocalHallSync
from provisioning.push import push_hall_state
from spine.broker.security import reload_pid, systemd_reload
from spine.config import BrokerSettings, ConfigError, format_validation_error


def reloader(spec: str) -> Callable[[], bool]:
    """`systemd:UNIT`, `pid:PID` or `none`: how to make a broker reread its access files."""
    method, _, arg = spec.partition(":")
    if method == "pid":
        return lambda: reload_pid(int(arg))
    if method == "none":
        return lambda: False
    if method == "systemd":
        return lambda: systemd_reload(arg or "hallwatch-broker.service")
    raise ConfigError(f"reload {spec!r}: use systemd:UNIT, pid:PID or none")


def load_sync(home: Home) -> Callable[[HallState], None] | None:
    path = home.root / "sync.toml"
    if not path.exists():
        return None
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    mode = data.get("mode")
    if mode == "mqtt":
        from pydantic import ValidationError

        try:
            broker = BrokerSettings.model_validate(data.get("broker", {}))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, str(path))) from exc
        return lambda state: push_hall_state(state, broker)
    if mode == "local":
        store = data.get("gateway_store")
        return LocalHallSync(
            Path(data["broker_dir"]), reloader(str(data.get("reload", "none"))),
            gateway_store=Path(store) if store else None,
        )
    raise ConfigError(f"{path}: mode must be \"mqtt\" or \"local\"")

"""How this provisioning home reaches the halls' gateways: `<home>/sync.toml`.

    mode = "mqtt"      # through central's broker (written by 'hall provision central bundle')
    [broker]           # BrokerSettings of the provisioner's login
    ...

    mode = "local"     # a broker on this machine (a single-box hall, the demo)
    broker_dir = "/var/lib/hallwatch/broker"
    gateway_store = "/var/lib/hallwatch/gateway.sqlite"   # handed over by `hall gateway apply-registry`
    reload = "systemd:hallwatch-broker.service"

Without the file nothing is pushed: carry `hall provision hall state` to the gateway.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from contract.commands.registry import HallState
from provisioning.home import Home
from provisioning.local import LocalHallSync, gateway_command
from provisioning.push import push_hall_state
from spine.broker.security import BrokerReload, reloader
from spine.config import BrokerSettings, ConfigError, format_validation_error


def broker_reload(spec: str, source: str = "reload") -> BrokerReload:
    """`reloader(spec)`, with a wrong spec reported as the configuration error it is."""
    try:
        return reloader(spec)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from exc


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
        broker_dir = Path(data["broker_dir"])
        store = data.get("gateway_store")
        return LocalHallSync(
            broker_dir, broker_reload(str(data.get("reload", "none")), str(path)),
            gateway=gateway_command(Path(store), broker_dir) if store else None,
        )
    raise ConfigError(f"{path}: mode must be \"mqtt\" or \"local\"")

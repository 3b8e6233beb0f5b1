"""Applying a hall's registry on the machine where its broker runs, without going through MQTT.

Used by a single-box hall (`mode = "local"` in the home's sync.toml), the demo
and the tests. The broker's password file and ACL are rewritten here and the
broker reloaded. The gateway's own tables are the gateway's business:
provisioning hands the state across the process boundary, exactly as a
technician would (`hall gateway apply-registry FILE`), or to a callable the
composition root gives it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from contract.commands.registry import HallState
from spine.broker.access import Account, hall_accounts
from spine.broker.security import write_access_files

GatewayApply = Callable[[HallState], None]
"""Hands the hall's registry to the gateway on this machine."""


@dataclass
class LocalHallSync:
    """A `HallSync` for a broker on this machine: the gateway's registry, access files, reload."""

    broker_dir: Path
    reload: Callable[[], object]
    gateway: GatewayApply | None = None
    """None: no gateway on this machine (or its registry is carried there by other means)."""
    extra_accounts: Callable[[], list[Account]] = field(default=lambda: [])
    """Logins of other roles on the same broker (central's, when one broker serves both)."""

    def __call__(self, state: HallState) -> None:
        if self.gateway is not None:
            self.gateway(state)
        write_access_files(self.broker_dir, hall_accounts(state) + self.extra_accounts())
        self.reload()


class GatewayApplyFailed(Exception):
    pass


def gateway_command(store: Path, broker_dir: Path) -> GatewayApply:
    """`hall gateway apply-registry` in a process of its own, as a technician runs it on the gateway.

    The broker is not reloaded there: `LocalHallSync` rewrites the files with every
    login this broker serves and reloads it once, after.
    """

    def apply(state: HallState) -> None:
        fd, name = tempfile.mkstemp(prefix="hall-state-", suffix=".json")  # 0600: it holds password hashes
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(state.model_dump_json())
            result = subprocess.run(
                [sys.executable, "-m", "hallwatch", "gateway", "apply-registry", name, "--store", str(store),
                 "--broker-dir", str(broker_dir), "--reload", "none"],
                capture_output=True, text=True, timeout=120, check=False,
            )
        finally:
            os.unlink(name)
        if result.returncode != 0:
            raise GatewayApplyFailed(f"hall gateway apply-registry failed: {result.stderr.strip()[-500:]}")

    return apply

"""The provisioning home at central: the registry file and each hall's CA, in one private directory.

    <home>/registry.sqlite           the registry (no device passwords, only hashes)
    <home>/halls/<hall>/ca.crt|key   the hall CA (the key never leaves this directory)
    <home>/halls/<hall>/server.*     the hall broker's certificate
    <home>/central/ca.crt|key        central's broker CA
    <home>/secrets/provisioner.password   this tool's own login at central's broker
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from provisioning.pki import KeyPair, make_hall_ca, make_server_cert
from spine.files import write_file_atomic

DEFAULT_HOME = Path(os.environ.get("HALLWATCH_PROVISIONING_HOME", "var/provisioning"))


@dataclass(frozen=True)
class Home:
    root: Path

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    @property
    def registry_path(self) -> Path:
        return self.root / "registry.sqlite"

    def hall_dir(self, hall: str) -> Path:
        return self.root / "halls" / hall

    def _pair(self, directory: Path, name: str) -> KeyPair | None:
        cert, key = directory / f"{name}.crt", directory / f"{name}.key"
        if cert.exists() and key.exists():
            return KeyPair(cert.read_bytes(), key.read_bytes())
        return None

    def _save(self, directory: Path, name: str, pair: KeyPair) -> None:
        write_file_atomic(directory / f"{name}.key", pair.key_pem, secret=True)
        write_file_atomic(directory / f"{name}.crt", pair.cert_pem)

    def hall_ca(self, hall: str) -> KeyPair:
        """The hall's CA, made on first use."""
        pair = self._pair(self.hall_dir(hall), "ca")
        if pair is None:
            pair = make_hall_ca(hall)
            self._save(self.hall_dir(hall), "ca", pair)
        return pair

    def server_cert(self, hall: str, hosts: list[str], *, renew: bool = False) -> KeyPair:
        pair = None if renew else self._pair(self.hall_dir(hall), "server")
        if pair is None:
            pair = make_server_cert(self.hall_ca(hall), hall, hosts)
            self._save(self.hall_dir(hall), "server", pair)
        return pair

    def central_ca(self) -> KeyPair:
        pair = self._pair(self.root / "central", "ca")
        if pair is None:
            pair = make_hall_ca("central")
            self._save(self.root / "central", "ca", pair)
        return pair

    def central_server_cert(self, hosts: list[str], *, renew: bool = False) -> KeyPair:
        pair = None if renew else self._pair(self.root / "central", "server")
        if pair is None:
            pair = make_server_cert(self.central_ca(), "central", hosts)
            self._save(self.root / "central", "server", pair)
        return pair

    @property
    def provisioner_password_path(self) -> Path:
        return self.root / "secrets" / "provisioner.password"

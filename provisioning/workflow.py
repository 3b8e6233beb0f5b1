"""The technician's operations on the registry, each all-or-nothing.

Every operation that hands out credentials follows one path: new random
password, its hash and the device record in one registry transaction, the
bundle written (or sealed for an enrolment code) *before* that transaction
commits. Anything that fails or is interrupted in between rolls the
transaction back and removes what was written: no device is left with
credentials nobody holds, or a bundle nobody registered. Only then is the
hall's gateway told (a sync that may be retried at any time).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from contract.commands.registry import HallState
from contract.kinds import BrokerRole
from provisioning import enrolment
from provisioning.bundle import Layout, device_bundle, write_bundle
from provisioning.hallstate import build_hall_state
from provisioning.home import Home
from provisioning.label import write_label
from provisioning.model import WINDOW_KINDS, Device, DeviceKind, DeviceState, Hall
from provisioning.passwords import mosquitto_hash, new_password
from provisioning.pki import make_client_cert
from provisioning.registry import Registry, RegistryError, now_ms
from provisioning.roles import SettingsError
from spine.broker.access import gateway_forward_user, gateway_ingest_user
from spine.files import FileEntry

log = logging.getLogger(__name__)

HallSync = Callable[[HallState], None]


@dataclass(frozen=True)
class Delivery:
    """How a device's bundle reaches it: written to a directory, or sealed for an enrolment code."""

    directory: Path | None = None
    enrol: bool = False
    enrol_ttl_s: int = enrolment.DEFAULT_TTL_S
    client_cert: bool = False

    def __post_init__(self) -> None:
        if (self.directory is None) == (not self.enrol):
            raise ValueError("deliver the bundle either to a directory or by enrolment code")


@dataclass(frozen=True)
class Handover:
    """What the technician gets, once. `enrolment_code` is a secret shown at this moment only."""

    device: Device
    action: str
    bundle_dir: Path | None
    enrolment_code: str | None
    enrolment_expires_at: int | None
    label: Path | None
    synced: bool


class Provisioner:
    def __init__(
        self,
        home: Home,
        *,
        layout: Layout | None = None,
        sync: HallSync | None = None,
        labels_dir: Path | None = None,
    ) -> None:
        self.home = home
        self.registry = Registry(home.registry_path)
        self.layout = layout or Layout()
        self.sync = sync
        self.labels_dir = labels_dir or home.root / "labels"

    def close(self) -> None:
        self.registry.close()

    # --- halls -----------------------------------------------------------

    def create_hall(
        self, hall: str, name: str, gateway: str, hosts: list[str], port: int = 8883, *, by: str
    ) -> Hall:
        with self.registry.transaction() as tx:
            created = self.registry.add_hall(tx, hall, name, gateway, hosts, port)
            self.registry.audit(tx, by, "hall.create", hall, gateway=gateway, hosts=hosts, port=port)
        self.home.server_cert(hall, hosts)  # makes the hall CA too
        return created

    def add_windows(self, hall: str, windows: list[tuple[str, str, str | None]], *, by: str) -> None:
        self.registry.hall(hall)
        with self.registry.transaction() as tx:
            for window, name, department in windows:
                self.registry.add_window(tx, hall, window, name, department)
                self.registry.audit(
                    tx, by, "window.set", f"{hall}/{window}", name=name, department=department
                )

    def gateway_logins(self, hall: str, *, by: str) -> dict[str, str]:
        """New passwords for the hall's gateway on both brokers (for its bundle); old ones die."""
        info = self.registry.hall(hall)
        passwords = {
            gateway_ingest_user(info.gateway): new_password(),
            gateway_forward_user(info.gateway): new_password(),
        }
        with self.registry.transaction() as tx:
            for user, role in ((gateway_ingest_user(info.gateway), BrokerRole.GATEWAY_INGEST),
                               (gateway_forward_user(info.gateway), BrokerRole.GATEWAY_FORWARD)):
                self.registry.set_account(tx, user, role, hall, mosquitto_hash(passwords[user]))
            self.registry.bump_sync_version(tx, hall)
            self.registry.audit(tx, by, "gateway.credentials", hall, gateway=info.gateway)
        return passwords

    def central_login(self, username: str, role: BrokerRole, *, by: str) -> str:
        password = new_password()
        with self.registry.transaction() as tx:
            self.registry.set_account(tx, username, role, None, mosquitto_hash(password))
            self.registry.audit(tx, by, "central.credentials", username, role=role.value)
        return password

    # --- devices ---------------------------------------------------------

    def add_device(
        self,
        hall: str,
        kind: DeviceKind,
        delivery: Delivery,
        *,
        by: str | None,
        window: str | None = None,
        serial: str | None = None,
        hardware: dict[str, Any] | None = None,
    ) -> Handover:
        """Register a new device and provision it in one step."""
        actor = self.registry.authorise(by, hall)
        self._check_window(hall, kind, window)
        if serial:
            existing = self.registry.device_by_serial(serial)
            if existing is not None:
                raise RegistryError(
                    f"serial {serial!r} is already {existing.id} ({existing.state.value}). "
                    f"To set it up again (after a factory reset, a new SD card) run "
                    f"'hall provision device reprovision {existing.id}': it gets a new secret "
                    "and must pass its self-test again"
                )

        def make(tx: sqlite3.Connection) -> Device:
            device_id = self.registry.next_device_id(tx, hall, kind)
            now = now_ms()
            device = Device(
                id=device_id, hall=hall, kind=kind, window=window, serial=serial,
                state=DeviceState.REGISTERED, hardware=dict(hardware or {}), created_at=now, updated_at=now,
            )
            self.registry.insert_device(tx, device, None)
            self.registry.audit(tx, actor, "device.register", device_id, kind=kind.value, window=window,
                                serial=serial)
            return device

        return self._provision(hall, make, delivery, actor, "device.add")

    def reprovision(self, device_id: str, delivery: Delivery, *, by: str | None) -> Handover:
        """Set a known device up again (factory reset, new SD card): explicit, authorised, new secret."""
        device = self.registry.device(device_id)
        self._live(device)
        actor = self.registry.authorise(by, device.hall, reprovision=True)
        return self._provision(device.hall, lambda tx: self.registry.device(device_id, tx), delivery, actor,
                               "device.reprovision")

    def replace(self, device_id: str, new_serial: str, delivery: Delivery, *, by: str | None) -> Handover:
        """New hardware takes over the role and identity; the old hardware's credentials die."""
        device = self.registry.device(device_id)
        self._live(device)
        actor = self.registry.authorise(by, device.hall, reprovision=True)
        holder = self.registry.device_by_serial(new_serial)
        if holder is not None and holder.id != device_id:
            raise RegistryError(f"serial {new_serial!r} belongs to {holder.id}; retire that one first")

        def take_over(tx: sqlite3.Connection) -> Device:
            current = self.registry.device(device_id, tx)
            self.registry.audit(tx, actor, "device.replace", device_id, old_serial=current.serial,
                                new_serial=new_serial)
            return replace(current, serial=new_serial)

        return self._provision(device.hall, take_over, delivery, actor, "device.replace")

    def rotate(self, device_id: str, delivery: Delivery, *, by: str | None) -> Handover:
        """A new secret for the same hardware (suspected leak, routine): the old one dies at the sync."""
        device = self.registry.device(device_id)
        self._live(device)
        actor = self.registry.authorise(by, device.hall)
        keep = device.state

        def same(tx: sqlite3.Connection) -> Device:
            return self.registry.device(device_id, tx)

        return self._provision(device.hall, same, delivery, actor, "device.rotate", keep_state=keep)

    def retire(self, device_id: str, *, by: str | None, reason: str) -> Device:
        device = self.registry.device(device_id)
        actor = self.registry.authorise(by, device.hall)
        if device.state == DeviceState.RETIRED:
            return device
        with self.registry.transaction() as tx:
            retired = replace(device, state=DeviceState.RETIRED, config_version=device.config_version + 1,
                              updated_at=now_ms())
            self.registry.update_device(tx, retired, None)
            self.registry.bump_sync_version(tx, device.hall)
            self.registry.audit(tx, actor, "device.retire", device_id, reason=reason, serial=device.serial)
        self._sync(device.hall)
        return retired

    def configure(
        self, device_id: str, *, by: str | None, window: str | None = None,
        hardware: dict[str, Any] | None = None,
    ) -> Device:
        """Change a device's window or hardware settings: a new configuration version, pushed retained."""
        device = self.registry.device(device_id)
        self._live(device)
        actor = self.registry.authorise(by, device.hall)
        new_window = window if window is not None else device.window
        self._check_window(device.hall, device.kind, new_window)
        changed = replace(device, window=new_window,
                          hardware=device.hardware if hardware is None else dict(hardware),
                          config_version=device.config_version + 1, updated_at=now_ms())
        with self.registry.transaction() as tx:
            self.registry.update_device(tx, changed, self.registry.password_hash(device_id))
            self.registry.bump_sync_version(tx, device.hall)
            self.registry.audit(tx, actor, "device.configure", device_id, window=new_window,
                                config_version=changed.config_version)
        self._sync(device.hall)
        return changed

    # --- the one path that hands out credentials --------------------------

    def _provision(
        self,
        hall: str,
        make: Callable[[sqlite3.Connection], Device],
        delivery: Delivery,
        actor: str,
        action: str,
        *,
        keep_state: DeviceState | None = None,
    ) -> Handover:
        info = self.registry.hall(hall)
        ca = self.home.hall_ca(hall)
        password = new_password()
        code = enrolment.new_code() if delivery.enrol else None
        expires_at = now_ms() + delivery.enrol_ttl_s * 1000 if delivery.enrol else None
        written: Path | None = None
        try:
            with self.registry.transaction() as tx:
                base = make(tx)
                device = replace(
                    base,
                    state=keep_state or DeviceState.PROVISIONED,
                    credential_version=base.credential_version + 1,
                    config_version=base.config_version + 1,
                    updated_at=now_ms(),
                )
                self.registry.update_device(tx, device, mosquitto_hash(password))
                self.registry.bump_sync_version(tx, hall)
                self.registry.audit(tx, actor, action, device.id, serial=device.serial,
                                    credential_version=device.credential_version,
                                    delivery="enrolment" if code else "directory")
                client = None
                if delivery.client_cert:
                    pair = make_client_cert(ca, hall, device.id)
                    client = (pair.cert_pem, pair.key_pem)
                try:
                    files = device_bundle(device, info, password, ca.cert_pem, self.layout,
                                          client_cert=client)
                except SettingsError as exc:
                    raise RegistryError(f"{device.id} not provisioned: {exc}") from exc
                if code is not None:
                    self._seal(tx, device.id, files, code, expires_at or 0)
                else:
                    assert delivery.directory is not None
                    written = delivery.directory
                    write_bundle(written, files)
        except BaseException:
            # The transaction is rolled back; a bundle written for it must not survive either.
            if written is not None:
                shutil.rmtree(written, ignore_errors=True)
            log.warning("%s for hall %s did not complete: nothing was changed", action, hall)
            raise
        del password
        label = write_label(device, self.labels_dir)
        synced = self._sync(hall)
        log.info("%s: %s is %s (credentials v%d)", action, device.id, device.state.value,
                 device.credential_version)
        return Handover(device, action, written, code, expires_at, label, synced)

    def _seal(
        self, tx: sqlite3.Connection, device: str, files: dict[str, FileEntry], code: str, expires_at: int
    ) -> None:
        # One live code per device: a new one voids the old.
        tx.execute("DELETE FROM enrolments WHERE device = ?", (device,))
        tx.execute(
            "INSERT INTO enrolments (lookup, device, sealed, expires_at) VALUES (?, ?, ?, ?)",
            (enrolment.lookup_of(code), device, enrolment.seal(files, code), expires_at),
        )

    def _check_window(self, hall: str, kind: DeviceKind, window: str | None) -> None:
        if kind in WINDOW_KINDS and window is None:
            raise RegistryError(f"a {kind.value} device serves one window: give --window")
        if window is not None and window not in {w.id for w in self.registry.windows(hall)}:
            raise RegistryError(
                f"hall {hall!r} has no window {window!r}; create it with 'hall provision window add'"
            )

    @staticmethod
    def _live(device: Device) -> None:
        if device.state == DeviceState.RETIRED:
            raise RegistryError(f"{device.id} is retired; its id is not reused. Add a new device instead")

    def sync_hall(self, hall: str) -> bool:
        """Send the hall's registry to its gateway again (after an outage, a new gateway)."""
        self.registry.hall(hall)
        return self._sync(hall)

    def _sync(self, hall: str) -> bool:
        if self.sync is None:
            return False
        try:
            self.sync(build_hall_state(self.registry, hall))
        except Exception as exc:  # the registry holds the truth; the sync can be repeated
            log.warning("could not update the gateway of %s (%s); run 'hall provision hall sync %s'",
                        hall, exc, hall)
            return False
        return True

    # --- the device's first contact --------------------------------------

    def take_sealed(self, lookup: str, *, by: str) -> bytes:
        """The sealed bundle filed under `lookup`, once; the registry keeps no copy after.

        Raises EnrolmentError with a reason a technician can act on.
        """
        with self.registry.transaction() as tx:
            row = tx.execute(
                "SELECT device, sealed, expires_at, fetched_at FROM enrolments WHERE lookup = ?", (lookup,)
            ).fetchone()
            if row is None:
                raise enrolment.EnrolmentError(
                    "unknown enrolment code (mistyped, or replaced by a newer one)"
                )
            device, sealed, expires_at, fetched_at = row
            if fetched_at is not None:
                raise enrolment.EnrolmentError(
                    f"this code was already used for {device}; if that was not you, rotate the device"
                )
            if now_ms() > expires_at:
                raise enrolment.EnrolmentError(f"this code for {device} has expired; issue a new one")
            tx.execute("UPDATE enrolments SET fetched_at = ?, fetched_by = ?, sealed = x'' WHERE lookup = ?",
                       (now_ms(), by, lookup))
            self.registry.audit(tx, by, "device.enrolled", device)
        return bytes(sealed)

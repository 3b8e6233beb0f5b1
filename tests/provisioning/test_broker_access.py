"""A real Mosquitto running the generated configuration: no device can speak for another."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from provisioning.model import DeviceKind
from provisioning.passwords import mosquitto_hash, verify
from provisioning.pki import make_hall_ca
from provisioning.workflow import Delivery
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.broker.security import ListenerPlan, current_user, security_lines
from tests.provisioning.conftest import HALL, TECHNICIAN, ProvisionedHall, connect, password_in
from tests.support import wait_until

ACCEPTED = ("Success", "No matching subscribers")


def own(device: str, channel: str) -> str:
    return f"hall/{HALL}/dev/{device}/{channel}"


def test_our_password_hashes_match_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    path = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "kiosk-1", "correct horse"], check=True)
    written = path.read_text().strip().split(":", 1)[1]
    assert written.startswith("$7$101$")
    assert verify("correct horse", written)
    assert not verify("wrong horse", written)
    ours = mosquitto_hash("correct horse")
    assert ours.split("$")[1:3] == ["7", "101"] and verify("correct horse", ours)


def test_a_device_publishes_its_own_events_and_the_gateway_receives_them(hall: ProvisionedHall) -> None:
    kiosk = hall.add()
    gateway = hall.gateway()
    gateway.subscribe(f"hall/{HALL}/dev/+/events")
    device = hall.connect_device(kiosk)
    assert str(device.connack) == "Success"
    assert str(device.publish(own(kiosk.device.id, "events"), "ticket")) in ACCEPTED
    wait_until(lambda: own(kiosk.device.id, "events") in gateway.topics(), 10, "the gateway to receive it")


@pytest.mark.parametrize("where", ["another device", "another hall", "its own ack", "its own config"])
def test_a_device_cannot_publish_outside_its_own_upward_topics(hall: ProvisionedHall, where: str) -> None:
    kiosk, other = hall.add(), hall.add()
    topic = {
        "another device": own(other.device.id, "events"),
        "another hall": f"hall/hall-02/dev/{kiosk.device.id}/events",
        "its own ack": own(kiosk.device.id, "ack"),
        "its own config": own(kiosk.device.id, "config"),
    }[where]
    gateway = hall.gateway()
    gateway.subscribe("hall/#")
    device = hall.connect_device(kiosk)
    assert str(device.publish(topic, "forged")) == "Not authorized"
    # The same device, reconnected, is still heard on its own topic, after the forgery was refused.
    again = hall.connect_device(kiosk)
    again.publish(own(kiosk.device.id, "events"), "genuine")
    wait_until(lambda: own(kiosk.device.id, "events") in gateway.topics(), 10, "the genuine event")
    assert topic not in gateway.topics()


def test_a_device_cannot_read_another_devices_commands(hall: ProvisionedHall) -> None:
    kiosk, other = hall.add(), hall.add()
    device = hall.connect_device(kiosk)
    device.subscribe(own(other.device.id, "cmd"), f"hall/{HALL}/dev/+/cmd", f"hall/{HALL}/#", "#")
    gateway = hall.gateway()
    gateway.publish(own(other.device.id, "cmd"), "secret order for the other")
    gateway.publish(own(kiosk.device.id, "cmd"), "order for me")
    wait_until(lambda: own(kiosk.device.id, "cmd") in device.topics(), 10, "its own command")
    assert own(other.device.id, "cmd") not in device.topics()
    assert all(b"other" not in payload for _, payload in device.messages)


def test_a_client_id_is_pinned_to_its_login_so_nobody_takes_over_another_session(
    hall: ProvisionedHall,
) -> None:
    kiosk, other = hall.add(), hall.add()
    victim = hall.connect_device(other)
    intruder = hall.connect_device(kiosk, client_id=other.device.id)
    assert str(intruder.connack) == "Success"
    intruder.publish(own(kiosk.device.id, "events"))
    assert victim.connected and victim.disconnects == []


def test_a_wrong_password_is_refused(hall: ProvisionedHall) -> None:
    kiosk = hall.add()
    probe = hall.connect(kiosk.device.id, password_in(kiosk) + "x")
    assert str(probe.connack) in ("Not authorized", "Bad user name or password")


def test_a_retired_device_is_refused_while_the_others_stay_connected(hall: ProvisionedHall) -> None:
    kiosk, other = hall.add(), hall.add()
    doomed = hall.connect_device(kiosk)
    bystander = hall.connect_device(other)
    gateway = hall.gateway()
    hall.provisioner.retire(kiosk.device.id, by=TECHNICIAN, reason="stolen")

    # Mosquitto rechecks connected logins when it reloads (SIGHUP): the retired one is dropped...
    wait_until(lambda: not doomed.connected, 15, "the broker to drop the retired device")

    def refused() -> bool:
        probe = connect(hall.broker.port, kiosk.device.id, password_in(kiosk))
        probe.close()
        return str(probe.connack) != "Success"

    # ...and refused when it tries again, while everyone else stayed connected throughout.
    wait_until(refused, 15, "the broker to refuse the retired device's login")
    assert bystander.connected and bystander.disconnects == []
    assert gateway.connected and gateway.disconnects == []
    assert str(bystander.publish(own(other.device.id, "events"))) in ACCEPTED


def test_tls_with_the_generated_certificates_works(hall: ProvisionedHall) -> None:
    kiosk = hall.add()
    probe = connect(hall.tls_port, kiosk.device.id, password_in(kiosk), ca=hall.ca_path)
    hall.probes.append(probe)
    assert str(probe.connack) == "Success"
    assert str(probe.publish(own(kiosk.device.id, "events"))) in ACCEPTED


def test_tls_with_a_ca_of_another_hall_fails(hall: ProvisionedHall, tmp_path: Path) -> None:
    kiosk = hall.add()
    stranger = tmp_path / "other-ca.crt"
    stranger.write_bytes(make_hall_ca("hall-99").cert_pem)
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(hall.tls_port, kiosk.device.id, password_in(kiosk), ca=stranger)



def test_a_hall_that_requires_client_certificates_admits_only_devices_holding_one(
    hall: ProvisionedHall, tmp_path: Path
) -> None:
    card = tmp_path / "cert-card"
    holder = hall.provisioner.add_device(HALL, DeviceKind.SIM, Delivery(directory=card, client_cert=True),
                                         by=TECHNICIAN)
    plain = hall.add()
    port = free_port()
    lines = security_lines(hall.root / "broker-auth",
                           ListenerPlan(tls_port=port, tls_bind="127.0.0.1", require_client_cert=True),
                           run_as=current_user())
    strict = MosquittoBroker(BrokerOptions(free_port(), tmp_path / "strict", extra_lines=lines))
    strict.start()
    try:
        admitted = connect(port, holder.device.id, password_in(holder), ca=hall.ca_path,
                           cert=card / "client.crt", key=card / "secrets" / "client.key")
        hall.probes.append(admitted)
        assert str(admitted.connack) == "Success"
        try:
            refused = connect(port, plain.device.id, password_in(plain), ca=hall.ca_path, wait=False)
        except ssl.SSLError:
            return  # TLS 1.2: refused within the handshake
        # TLS 1.3: the certificate is checked after the handshake; the broker hangs up unanswered.
        hall.probes.append(refused)
        wait_until(lambda: refused.disconnects, 10, "the broker to hang up on a device without certificate")
        assert refused.connack is None or str(refused.connack) != "Success"
    finally:
        strict.kill()

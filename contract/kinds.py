"""Who speaks on the wire: the kinds of hall device, their states, and the broker's login roles.

Every fact carries an author; these are the names authors go by. They live in
the contract because the gateway, central and provisioning all decide by them.
"""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    KIOSK = "kiosk"  # the ticket kiosk and its printer
    CALLER = "caller"  # a window officer's call keypad
    DISPLAY = "display"  # the hall's call display
    RATING = "rating"  # the window satisfaction terminal
    RECORDER = "recorder"  # the camera recorder
    SIM = "sim"  # simulated devices (demo, tests, benchmarks)


class DeviceState(StrEnum):
    REGISTERED = "registered"  # known, no credentials yet
    PROVISIONED = "provisioned"  # has credentials; must pass its self-test
    ACTIVE = "active"  # passed its self-test: what it records counts
    RETIRED = "retired"  # credentials gone; its id is never reused


WINDOW_KINDS = frozenset({DeviceKind.RATING, DeviceKind.CALLER})
"""Kinds that serve one window and cannot be added without it."""


class Author(StrEnum):
    """Who may state a fact: a kind of hall device, or one of the system's own parts.

    Every event type names the authors allowed to state it (`contract.authority`);
    the gateway and central decide who is speaking from identities they verified
    (a broker login and the registry, a gateway's stamp, an API token), never
    from what the fact says about itself.
    """

    KIOSK = "kiosk"
    CALLER = "caller"
    DISPLAY = "display"
    RATING = "rating"
    RECORDER = "recorder"
    SIM = "sim"
    GATEWAY = "gateway"  # the hall gateway: what it saw and what it decided
    CENTRAL = "central"  # central's own engine: escalations and reminders
    API_CLIENT = "api_client"  # an approval system or the supervision office, through central's API

    @classmethod
    def of_device(cls, kind: DeviceKind) -> Author:
        return cls(kind.value)


DEVICE_AUTHORS = frozenset(Author.of_device(kind) for kind in DeviceKind)
"""Authors that are hall devices: what they state reaches central only through their hall's gateway."""


class BrokerRole(StrEnum):
    """What one broker login is for; the ACL follows from it."""

    DEVICE = "device"
    GATEWAY_INGEST = "gateway-ingest"  # the gateway on its hall broker
    GATEWAY_FORWARD = "gateway-forward"  # the gateway on central's broker
    CENTRAL = "central"  # central's ingest
    PROVISIONER = "provisioner"  # the technicians' tool pushing a hall's registry

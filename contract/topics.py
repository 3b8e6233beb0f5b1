"""The MQTT topic tree: data flows up on a device's own topics, commands flow down on theirs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator

IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def check_identifier(value: str, what: str) -> str:
    """Hall and device ids become topic levels, so they must not contain `/`, `+` or `#`."""
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid id: use 1-63 lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    return value


TopicLevel = Annotated[str, AfterValidator(lambda value: check_identifier(value, "id"))]
"""A hall or device id in a configuration or message: checked to be a valid topic level."""


class Channel(StrEnum):
    EVENTS = "events"  # up: batches of event envelopes, QoS 1
    ACK = "ack"  # down: the receiver's durable-commit acknowledgement
    STATUS = "status"  # up, retained: online / offline (the last will)
    HEARTBEAT = "heartbeat"  # up, QoS 0: liveness, counters, clock
    CMD = "cmd"  # down: commands to the device
    CONFIG = "config"  # down, retained: the device's versioned configuration
    REPLY = "reply"  # up: answers to commands


@dataclass(frozen=True)
class LinkTopics:
    """The topics one sender uses on one hop."""

    events: str
    ack: str
    status: str
    heartbeat: str
    commands: str


def device_topic(hall: str, device: str, channel: Channel) -> str:
    return f"hall/{hall}/dev/{device}/{channel.value}"


def device_link(hall: str, device: str) -> LinkTopics:
    """A hall device talking to its hall gateway."""
    return LinkTopics(
        events=device_topic(hall, device, Channel.EVENTS),
        ack=device_topic(hall, device, Channel.ACK),
        status=device_topic(hall, device, Channel.STATUS),
        heartbeat=device_topic(hall, device, Channel.HEARTBEAT),
        commands=device_topic(hall, device, Channel.CMD),
    )


def gateway_link(hall: str) -> LinkTopics:
    """A hall gateway forwarding to central."""
    return LinkTopics(
        events=f"central/{hall}/events",
        ack=f"central/{hall}/ack",
        status=f"central/{hall}/status",
        heartbeat=f"central/{hall}/heartbeat",
        commands=f"central/{hall}/cmd",
    )


def every_hall_link() -> LinkTopics:
    """Every gateway's link to central, as subscription filters (central's side)."""
    return gateway_link("+")


def hall_devices_filter(hall: str, channel: Channel) -> str:
    """What a gateway subscribes to, to hear every device of its hall on one channel."""
    return f"hall/{hall}/dev/+/{channel.value}"


def hall_tree_filter(hall: str) -> str:
    """Everything of one hall: what the hall's gateway may read and write on its broker."""
    return f"hall/{hall}/#"


def hall_topic(hall: str, name: str) -> str:
    """Hall-wide announcements (ticket calls for displays and voice, queue boards)."""
    return f"hall/{hall}/{name}"


def hall_announcements_filter(hall: str) -> str:
    """The hall-wide announcements one level below the hall (what every device may read)."""
    return hall_topic(hall, "+")


def hall_calls(hall: str) -> str:
    """Ticket calls, for the hall's displays and voice."""
    return hall_topic(hall, "calls")


def hall_board(hall: str) -> str:
    """The hall's queue board (`queue.board`), retained for displays."""
    return hall_topic(hall, "queue/board")


def parse_device_topic(topic: str) -> tuple[str, str, str] | None:
    """`hall/H/dev/D/CHANNEL` -> (H, D, CHANNEL), or None for anything else."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "hall" or parts[2] != "dev":
        return None
    return parts[1], parts[3], parts[4]


def parse_central_topic(topic: str) -> tuple[str, str] | None:
    """`central/H/CHANNEL` -> (H, CHANNEL)."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "central":
        return None
    return parts[1], parts[2]

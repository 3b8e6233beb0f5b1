"""Online appointments: central sends each hall its day's bookings; kiosks redeem them by code.

Central publishes `contract.commands.queue.QueueAppointments` on the gateway's
command topic (`central_topic`). It replaces that day's list; codes already
redeemed stay redeemed. No personal data travels with it: the citizen is known
to the booking system, the hall needs only the code. The gateway keeps the
list in its queue tables and hands it, with the ticket each redeemed code
became, to every kiosk of the hall.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from contract.commands.queue import Booking, QueueAppointments
from contract.topics import Channel, device_topic, gateway_link
from gateway.queue import store
from spine.handlers import HandlerContext

log = logging.getLogger(__name__)

RunInTransaction = Callable[[Callable[[HandlerContext], Any]], Any]


def appointments_command(day: str, bookings: list[dict[str, Any]]) -> str:
    """The payload central publishes on `central_topic(hall)`: one hall's bookings of one day.
    Central never knows which codes were redeemed: only the gateway says so, to its kiosks."""
    command = QueueAppointments(day=day, appointments=[Booking.model_validate(b) for b in bookings])
    return command.model_dump_json(exclude={"appointments": {"__all__": {"redeemed_ticket"}}})


def central_topic(hall: str) -> str:
    """Where central publishes commands for `hall`'s gateway."""
    return gateway_link(hall).commands


def kiosk_message(tx: sqlite3.Connection, day: str) -> str:
    """What kiosks get: the day's bookings as the gateway holds them, redeemed tickets included."""
    return QueueAppointments(day=day, appointments=store.appointments(tx, day)).model_dump_json()


class AppointmentBook:
    """Carries out central's `queue.appointments`: keep the day's bookings, tell every kiosk."""

    def __init__(self, hall: str, run_in_transaction: RunInTransaction) -> None:
        self.hall = hall
        self.run_in_transaction = run_in_transaction

    def __call__(self, command: QueueAppointments) -> None:
        def work(context: HandlerContext) -> None:
            store.replace_appointments(context.tx, command.day, command.appointments)
            message = kiosk_message(context.tx, command.day)
            for device in store.kiosks(context.tx):
                context.publish_after_commit(device_topic(self.hall, device, Channel.CMD), message)

        self.run_in_transaction(work)
        log.info("%d appointment(s) for %s received from central", len(command.appointments), command.day)

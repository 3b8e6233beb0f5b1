"""SMS senders: a GSM modem through Gammu, an HTTP SMS platform, and a simulation for tests and the demo."""

from central.sms.senders.base import DeliveryReport, IncomingSms, OutgoingSms, SendOutcome, SmsSender
from central.sms.senders.simulated import SimulatedSender

__all__ = ["DeliveryReport", "IncomingSms", "OutgoingSms", "SendOutcome", "SimulatedSender", "SmsSender"]

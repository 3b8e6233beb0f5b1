"""The citizen notification platform (市民短信通知): SMS on a case's progress, complaints, bookings,
and reminders to officers and units, sent exactly once per fact.

    facts --notify()--> planning (pure) --> templates --> SmsOutbox (SQLite) --> SmsWorker --> sender
                                                                       ^                 |
                                                      opt-outs, reports +-- poll() -----+

Build one `SmsPlatform(settings, phone_book=...)`; see docs/citizens.md.
"""

from central.sms.planning import Notice, Recipient, plan
from central.sms.platform import SmsPlatform
from central.sms.settings import SmsSettings

__all__ = ["Notice", "Recipient", "SmsPlatform", "SmsSettings", "plan"]

"""Online booking (网上预约): department -> matter -> window officer -> a free slot -> a code.

The booking is kept at central (`store`, with its hash-chained `log`; the phone
sealed with the booking's key), told to the citizen by SMS (central's SMS feed
follows the booking log), and sent to the hall as that day's list of codes
(`lists`: `queue.appointments`, again whenever the hall's gateway comes back
online, so a hall offline at booking time still gets it). The kiosk redeems the
code; the ticket it issues tells central the citizen came (`checkins`), and a
booking whose day ended without one, once the hall's facts are known past that
day, is a no-show. `desk.BookingDesk` is what the public site calls.
"""

from central.booking.desk import BookingDesk, BookingRefused, Receipt
from central.booking.settings import BookingHours, BookingSettings

__all__ = ["BookingDesk", "BookingHours", "BookingRefused", "BookingSettings", "Receipt"]

"""What feeds central's SMS platform: every committed fact that a citizen, officer or unit hears of.

Each kind of fact lives in its own append-only log: the case log (`cases.sqlite`:
acceptances, suspensions, resumptions, completions, the engine's reminders),
the complaint log, the rating follow-up log and the booking log (central's event
store). The feed follows each log by its position, hands every new fact to
`SmsPlatform.notify` and only then moves its cursor on. So a fact is told only
once it is committed, whichever door it came in by (a hall's event, the API, an
import, the engine's tick), and a crash between the two tells it again, which
the SMS outbox turns into nothing (it keeps one message per fact and recipient).

Numbers: a stored body carries personal data only sealed, so the feed opens the
phone a notice needs (the case's contact through the case store's `contact()`, a
complainant's or booker's through its desk) or leaves it to the platform's phone
book (`phones.CentralPhoneBook`: a case's contact or officer, a unit's duty phone).
"""

from central.sms_feed.feed import SmsFeed
from central.sms_feed.phones import CentralPhoneBook
from central.sms_feed.settings import SmsFeedSettings

__all__ = ["CentralPhoneBook", "SmsFeed", "SmsFeedSettings"]

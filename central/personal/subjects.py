"""The data subjects central seals personal data for: each has one key, erased as a whole.

A subject is a record whose personal data lives and dies together: the contact
of one case, one complaint's complainant, the phone given at one visit, the
notes of one rating follow-up, the phone of one online booking. Retention
erases a subject when its record has been closed long enough; a citizen's
request erases every subject whose sealed data holds their number (found
through the vault's keyed index).
"""

from __future__ import annotations


def case_subject(case_id: str) -> str:
    return f"case:{case_id}"


def complaint_subject(complaint: str) -> str:
    return f"complaint:{complaint}"


def visit_subject(hall: str, day: str, ticket: str) -> str:
    return f"visit:{hall}/{day}/{ticket}"


def followup_subject(hall: str, rating: str) -> str:
    return f"followup:{hall}/{rating}"


def booking_subject(code: str) -> str:
    """An online booking's phone (`central.booking`)."""
    return f"booking:{code}"

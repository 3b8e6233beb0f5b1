"""The SMS platform's phone book at central: numbers for notices whose fact carries none.

A case's contact and first-responsible officer are read from the case store
(sealed there; opened here for the notice only, never shown or logged); a unit's
duty phone comes from `[sms_feed] unit_phones`. Complaint and booking notices
carry their number in the body the feed hands over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

from central.cases.store import CaseStore, UnknownCase
from central.personal import case_subject
from central.sms.planning import Recipient
from contract.privacy import ERASED

Alone = Callable[[], AbstractContextManager[CaseStore]]


class CentralPhoneBook:
    def __init__(self, cases: Alone | None, unit_phones: Mapping[str, str]) -> None:
        self.cases = cases
        self.unit_phones = dict(unit_phones)

    def __call__(self, recipient: Recipient, subject: str) -> str | None:
        if recipient is Recipient.UNIT:
            return self.unit_phones.get(subject)
        if self.cases is None:
            return None
        with self.cases() as store:
            try:
                if recipient is Recipient.CITIZEN:
                    phone = store.contact_phone(subject)
                else:
                    sealed = store.file(subject).officer_phone
                    phone = store.personal.reader().clear(case_subject(subject), sealed)
            except UnknownCase:
                return None
        return None if not phone or phone == ERASED else phone

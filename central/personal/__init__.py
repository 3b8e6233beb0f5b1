"""Personal data at central: sealed where it is kept, opened only for those who need it, erasable.

Every chained log keeps personal data only sealed: encrypted (AES-GCM) with a
key of its data subject (one case, one complaint, one visit's contact, one
rating follow-up). The keys live in a table of the same SQLite file, outside
the chain (`vault`). Erasing a subject deletes its key: every sealed copy of its
data, in every log and every projection of that file, becomes unreadable at
once, and the chain still verifies because the sealed text it covers never
changes (crypto-shredding). Readers see masks (`reading.Reader`); the few who
must see the clear value (the officer calling a complainant back, the SMS
sender) open it through the same reader. See docs/security.md ("Personal data").
"""

from central.personal.reading import Reader
from central.personal.subjects import case_subject, complaint_subject, followup_subject, visit_subject
from central.personal.tokens import is_sealed

__all__ = ["Reader", "case_subject", "complaint_subject", "followup_subject", "is_sealed", "visit_subject"]

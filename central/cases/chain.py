"""Tamper evidence for the case log: each record's hash covers its content and the previous hash.

Pure functions; the store keeps the rows. Anyone with read access can run
`verify` over the rows: an edited record breaks its own hash, a deleted one
breaks the sequence, and a rewritten tail no longer extends a head hash that
was published outside the system.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# One encoder each, made once: json.dumps with options builds a new one per call.
_BODY = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_HEADER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical_body(body: Mapping[str, Any]) -> str:
    """The one text form of a body: sorted keys, no spaces, Han characters as themselves."""
    return _BODY.encode(body)


def record_hash(
    prev_hash: str,
    seq: int,
    case_id: str | None,
    kind: str,
    at: int | None,
    recorded_at: int,
    actor: str,
    body_text: str,
) -> str:
    # The header is a JSON array, so it delimits itself from the body text.
    header = _HEADER.encode([seq, case_id, kind, at, recorded_at, actor])
    return hashlib.sha256(f"{prev_hash}{header}{body_text}".encode()).hexdigest()


@dataclass(frozen=True)
class LogRecord:
    """One row of the case log, exactly as stored."""

    seq: int
    case_id: str | None
    kind: str
    at: int | None
    recorded_at: int
    actor: str
    body_text: str
    prev_hash: str
    hash: str

    @property
    def body(self) -> dict[str, Any]:
        return dict(json.loads(self.body_text))

    def expected_hash(self) -> str:
        return record_hash(
            self.prev_hash, self.seq, self.case_id, self.kind, self.at, self.recorded_at,
            self.actor, self.body_text,
        )


@dataclass(frozen=True)
class Head:
    """The log's latest record: publish it, and a later verify proves the log still extends it."""

    seq: int
    hash: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash})

    @classmethod
    def from_json(cls, text: str) -> Head:
        data = json.loads(text)
        return cls(int(data["seq"]), str(data["hash"]))


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    head: Head
    first_bad: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None and self.problem is None


def verify_records(records: Iterable[LogRecord], published: Head | None = None) -> VerifyReport:
    """Check every link of the chain in order; stop at the first bad record and name it."""
    expected_seq = 1
    prev = GENESIS
    checked = 0
    published_seen = published is None
    for record in records:
        if record.seq != expected_seq:
            return VerifyReport(checked, Head(expected_seq - 1, prev), expected_seq,
                                f"record {expected_seq} is missing (next is {record.seq})")
        if record.prev_hash != prev:
            return VerifyReport(checked, Head(expected_seq - 1, prev), record.seq,
                                f"record {record.seq} does not link to record {record.seq - 1}")
        if record.expected_hash() != record.hash:
            return VerifyReport(checked, Head(expected_seq - 1, prev), record.seq,
                                f"record {record.seq} was changed after it was written")
        if published is not None and record.seq == published.seq:
            if record.hash != published.hash:
                return VerifyReport(checked, Head(record.seq, record.hash), record.seq,
                                    f"record {record.seq} differs from the published head: "
                                    "the log was rewritten")
            published_seen = True
        prev = record.hash
        expected_seq += 1
        checked += 1
    head = Head(expected_seq - 1, prev)
    if not published_seen and published is not None:
        return VerifyReport(checked, head, None,
                            f"the log ends at {head.seq}, before the published head "
                            f"{published.seq}: records were removed")
    return VerifyReport(checked, head)

"""Tamper evidence for central's append-only logs: how a record is linked, how a chain is verified.

Pure functions; each log keeps its own rows (cases, complaints, rating follow-ups).
A record's hash covers the previous record's hash, its position, the log's own
header fields and its body text. Anyone with read access can verify the rows:
an edited record breaks its own hash, a deleted one leaves a gap in the
positions, a reordered one no longer links to the record before it, and a
rewritten tail no longer extends a head hash that was published outside the system.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# One encoder each, made once: json.dumps with options builds a new one per call.
_BODY = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_HEADER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical_body(body: Mapping[str, Any]) -> str:
    """The one text form of a body: sorted keys, no spaces, Han characters as themselves."""
    return _BODY.encode(body)


def link_hash(prev_hash: str, header: Sequence[Any], body_text: str) -> str:
    """sha256 of the previous hash, the header as a JSON array, then the body text."""
    # The header is a JSON array, so it delimits itself from the body text.
    return hashlib.sha256(f"{prev_hash}{_HEADER.encode(header)}{body_text}".encode()).hexdigest()


@dataclass(frozen=True)
class Head:
    """A log's latest record: publish it, and a later verify proves the log still extends it."""

    seq: int
    hash: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash})

    @classmethod
    def from_json(cls, text: str) -> Head:
        data = json.loads(text)
        return cls(int(data["seq"]), str(data["hash"]))


EMPTY = Head(0, GENESIS)
"""The head of a log with no records yet."""


@dataclass(frozen=True)
class Link:
    """One record as the chain sees it: position, the log's header fields, body text, both hashes."""

    seq: int
    header: tuple[Any, ...]
    body_text: str
    prev_hash: str
    hash: str

    @classmethod
    def after(cls, head: Head, header: Sequence[Any], body_text: str) -> Link:
        """The record that extends `head`: the next position, chained to its hash."""
        seq = head.seq + 1
        return cls(seq, tuple(header), body_text, head.hash,
                   link_hash(head.hash, (seq, *header), body_text))

    def expected_hash(self) -> str:
        return link_hash(self.prev_hash, (self.seq, *self.header), self.body_text)


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    head: Head
    first_bad: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None and self.problem is None

    def as_dict(self) -> dict[str, Any]:
        """The one shape every chain check answers in (case log, complaint log): `VerifyResult`."""
        return {"ok": self.ok, "checked": self.checked,
                "head": {"seq": self.head.seq, "hash": self.head.hash},
                "first_bad": self.first_bad, "problem": self.problem}


def verify_chain(links: Iterable[Link], published: Head | None = None) -> VerifyReport:
    """Check every link in order from record 1; stop at the first bad record and name it."""
    head = EMPTY
    checked = 0
    published_seen = published is None
    for link in links:
        expected_seq = head.seq + 1
        if link.seq != expected_seq:
            return VerifyReport(checked, head, expected_seq,
                                f"record {expected_seq} is missing (next is {link.seq})")
        if link.prev_hash != head.hash:
            return VerifyReport(checked, head, link.seq,
                                f"record {link.seq} does not link to record {link.seq - 1}")
        if link.expected_hash() != link.hash:
            return VerifyReport(checked, head, link.seq,
                                f"record {link.seq} was changed after it was written")
        if published is not None and link.seq == published.seq:
            if link.hash != published.hash:
                return VerifyReport(checked, Head(link.seq, link.hash), link.seq,
                                    f"record {link.seq} differs from the published head: "
                                    "the log was rewritten")
            published_seen = True
        head = Head(link.seq, link.hash)
        checked += 1
    if not published_seen and published is not None:
        return VerifyReport(checked, head, None,
                            f"the log ends at {head.seq}, before the published head "
                            f"{published.seq}: records were removed")
    return VerifyReport(checked, head)

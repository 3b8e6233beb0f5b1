"""The hall's number space, shared by its kiosks without asking anyone (see docs/kiosk.md).

A hall with `slots` kiosk slots interleaves their numbers: the kiosk in slot
`k` issues k, k + slots, k + 2*slots, ... for each service each day. Two
kiosks can never print the same number, whatever the network does, and with
similar traffic the numbers still rise roughly in the order people arrived.
Pure arithmetic: no clock, no storage.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NumberPlan:
    slot: int
    slots: int
    width: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.slot <= self.slots:
            raise ValueError(f"slot {self.slot} is outside 1..{self.slots}")

    def number(self, index: int) -> int:
        """The number of this kiosk's `index`-th ticket of a service today (index from 0)."""
        if index < 0:
            raise ValueError("index must be >= 0")
        return self.slot + self.slots * index

    def owns(self, number: int) -> bool:
        return number >= self.slot and (number - self.slot) % self.slots == 0

    def index_of(self, number: int) -> int:
        """The index that issued `number`; raises if another slot owns it."""
        if not self.owns(number):
            raise ValueError(f"number {number} belongs to another slot than {self.slot}")
        return (number - self.slot) // self.slots

    def slot_of(self, number: int) -> int:
        return (number - 1) % self.slots + 1

    def label(self, prefix: str, number: int) -> str:
        """'A' and 7 -> 'A007'; numbers past the width simply grow a digit."""
        return f"{prefix}{number:0{self.width}d}"

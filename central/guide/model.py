"""The matter guide as typed records, checked as a whole when it is loaded. Pure."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, model_validator

from spine.config import Section

LimitUnit = Literal["workdays", "days", "months"]
LIMIT_WORDS = {"workdays": "个工作日", "days": "天", "months": "个月"}


class Hall(Section):
    """A service hall as citizens know it."""

    name: str = Field(min_length=1, max_length=60, description="市政务服务中心")
    address: str = Field("", max_length=120)
    hours: str = Field("", max_length=120, description="opening hours as people read them")


class OfficerDesk(Section):
    """A window officer citizens may book: the hall's officer id (what the window caller logs in
    with) and the name on the window's card. Never a phone number."""

    id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=20)
    window: str = Field(min_length=1, max_length=40)


class Place(Section):
    """Where a matter is handled: a hall, its windows, the kiosk service that queues for them,
    and the officers who may be booked there (none: no online booking at this place)."""

    hall: str = Field(min_length=1, max_length=40)
    service: str = Field(pattern=r"^[A-Z]{1,2}$", description="the kiosk service prefix for this matter")
    windows: list[str] = Field(min_length=1)
    officers: list[OfficerDesk] = Field(default_factory=list)

    @model_validator(mode="after")
    def _officers_sit_at_its_windows(self) -> Place:
        strangers = [o.id for o in self.officers if o.window not in self.windows]
        if strangers:
            raise ValueError(f"officers {strangers} sit at windows not listed in `windows`")
        return self


class Matter(Section):
    """One matter a citizen can apply for (申请事项)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$", description="stable id for addresses")
    name: str = Field(min_length=1, max_length=120)
    kind: str = Field("", max_length=20, description="行政许可, 公共服务, ...")
    documents: list[str] = Field(default_factory=list, description="what to bring (申请材料)")
    statutory_limit: int = Field(ge=1, le=3650, description="法定时限")
    statutory_unit: LimitUnit = "workdays"
    committed_limit: int | None = Field(None, ge=1, le=3650, description="承诺时限")
    committed_unit: LimitUnit = "workdays"
    fee: str = Field("不收费", max_length=120)
    places: list[Place] = Field(default_factory=list)

    @property
    def statutory(self) -> str:
        return f"{self.statutory_limit}{LIMIT_WORDS[self.statutory_unit]}"

    @property
    def committed(self) -> str | None:
        if self.committed_limit is None:
            return None
        return f"{self.committed_limit}{LIMIT_WORDS[self.committed_unit]}"

    def place_in(self, hall: str) -> Place | None:
        return next((place for place in self.places if place.hall == hall), None)


class Department(Section):
    """A unit (department) with the matters it handles."""

    name: str = Field(min_length=1, max_length=80)
    matters: list[Matter] = Field(default_factory=list)


class MatterGuide(Section):
    halls: dict[str, Hall] = Field(default_factory=dict, description="hall id -> how citizens know it")
    departments: list[Department] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> MatterGuide:
        problems: list[str] = []
        seen: set[str] = set()
        for department, matter in self.matters():
            if matter.id in seen:
                problems.append(f"matter id {matter.id!r} is used twice")
            seen.add(matter.id)
            for place in matter.places:
                if place.hall not in self.halls:
                    problems.append(f"{department.name}/{matter.id}: hall {place.hall!r} is not in [halls]")
            if (matter.committed_limit is not None and matter.committed_unit == matter.statutory_unit
                    and matter.committed_limit > matter.statutory_limit):
                problems.append(f"{department.name}/{matter.id}: the committed limit is longer than "
                                "the statutory one")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def matters(self) -> Iterator[tuple[Department, Matter]]:
        for department in self.departments:
            for matter in department.matters:
                yield department, matter

    def department(self, name: str) -> Department | None:
        return next((d for d in self.departments if d.name == name), None)

    def matter(self, matter_id: str) -> tuple[Department, Matter] | None:
        return next(((d, m) for d, m in self.matters() if m.id == matter_id), None)

    def hall_name(self, hall: str) -> str:
        known = self.halls.get(hall)
        return known.name if known is not None else hall

    def search(self, words: str) -> list[tuple[Department, Matter]]:
        """Matters whose name, department, kind or documents hold every word typed (any width)."""
        terms = [_fold(term) for term in words.split() if term.strip()]
        if not terms:
            return list(self.matters())
        found = []
        for department, matter in self.matters():
            text = _fold(" ".join([department.name, matter.name, matter.kind, *matter.documents]))
            if all(term in text for term in terms):
                found.append((department, matter))
        return found

    def bookable(self) -> Iterator[tuple[Department, Matter, Place]]:
        """Every place where an officer can be booked for a matter."""
        for department, matter in self.matters():
            for place in matter.places:
                if place.officers:
                    yield department, matter, place


def _fold(text: str) -> str:
    """Full-width letters and digits as half-width, lower case: what a phone keyboard types."""
    return unicodedata.normalize("NFKC", text).casefold()

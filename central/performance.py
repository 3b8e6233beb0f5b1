"""Performance evaluation of units, windows and officers: on time, cards, satisfaction, rectification.

Pure arithmetic over figures the case engine and the ratings projection
provide, so the ranking rule can be read and tested on its own. The rule
(documented in docs/central.md):

    score = 100 x weighted mean of the parts that have data
              on-time rate        weight 0.5   (completed cases finished within their limit)
              satisfaction        weight 0.3   (satisfied ratings / all ratings)
              rectified bad share weight 0.2   (bad ratings followed up / bad ratings)
            - 2 per yellow card, 5 per red card, 10 per supervision letter
    clamped to 0..100; ties ranked by fewer cards, then by name.

A key with no part that has data (nothing completed, no rating) has no score and
no rank: it is listed after the ranked ones, its cards shown, never first with
a perfect 100. Cards and letters that a correction has since disowned (false
alarms) still cost their points, as what was issued stays issued; each row says
how many there are and what they cost, so a supervisor sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WEIGHTS = {"on_time": 0.5, "satisfaction": 0.3, "rectified": 0.2}
PENALTY = {"yellow_cards": 2, "red_cards": 5, "letters": 10}


@dataclass(frozen=True)
class Evaluation:
    rank: int | None
    """None: nothing to judge yet (no completed case, no rating)."""
    key: str
    score: float | None
    cases_completed: int
    on_time_rate: float | None
    yellow_cards: int
    red_cards: int
    letters: int
    ratings: int
    satisfaction: float | None
    bad_ratings: int
    bad_rectified: int
    false_alarms: int = 0
    """Cards and letters (counted above) that the case's record as corrected no longer reaches."""
    false_alarm_points: int = 0
    """What those cost in the score."""


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def score(on_time: float | None, satisfaction: float | None, rectified: float | None,
          yellow_cards: int, red_cards: int, letters: int) -> float | None:
    """The score, or None when no part has data: no evidence is not a perfect record."""
    parts = {"on_time": on_time, "satisfaction": satisfaction, "rectified": rectified}
    present = {name: value for name, value in parts.items() if value is not None}
    if not present:
        return None
    weight = sum(WEIGHTS[name] for name in present)
    base = 100.0 * sum(WEIGHTS[name] * value for name, value in present.items()) / weight
    return round(max(0.0, min(100.0, base - penalty(yellow_cards, red_cards, letters))), 1)


def penalty(yellow_cards: int, red_cards: int, letters: int) -> int:
    return (PENALTY["yellow_cards"] * yellow_cards + PENALTY["red_cards"] * red_cards
            + PENALTY["letters"] * letters)


def evaluate(
    cases: Mapping[str, Mapping[str, Any]], ratings: Mapping[str, Mapping[str, int]]
) -> list[Evaluation]:
    """Rank every key that has cases or ratings; `cases` rows hold completed, on_time, cards and
    `false_alarms` ({yellow_cards, red_cards, letters}, as `/api/statistics` gives them)."""
    unranked: list[dict[str, Any]] = []
    for key in set(cases) | set(ratings):
        c = cases.get(key, {})
        r = ratings.get(key, {})
        completed, on_time = int(c.get("completed", 0)), int(c.get("on_time", 0))
        total, satisfied = int(r.get("ratings", 0)), int(r.get("satisfied", 0))
        bad, rectified = int(r.get("bad", 0)), int(r.get("bad_rectified", 0))
        cards = (int(c.get("yellow_cards", 0)), int(c.get("red_cards", 0)), int(c.get("letters", 0)))
        disowned = c.get("false_alarms") or {}
        false_cards = tuple(int(disowned.get(kind, 0)) for kind in ("yellow_cards", "red_cards", "letters"))
        on_time_rate = _ratio(on_time, completed)
        satisfaction = _ratio(satisfied, total)
        rectified_share = _ratio(rectified, bad) if total else None
        unranked.append(dict(
            key=key, score=score(on_time_rate, satisfaction, rectified_share, *cards),
            cases_completed=completed, on_time_rate=_round(on_time_rate),
            yellow_cards=cards[0], red_cards=cards[1], letters=cards[2], ratings=total,
            satisfaction=_round(satisfaction), bad_ratings=bad, bad_rectified=rectified,
            false_alarms=sum(false_cards), false_alarm_points=penalty(*false_cards),
        ))
    unranked.sort(key=lambda e: (e["score"] is None, -(e["score"] or 0.0), e["letters"], e["red_cards"],
                                 e["yellow_cards"], e["key"]))
    ranked = sum(e["score"] is not None for e in unranked)
    return [Evaluation(rank=i + 1 if i < ranked else None, **e) for i, e in enumerate(unranked)]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)

"""The `[ratings]` section of the gateway's configuration. Documented in docs/rating.md."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from spine.config import Section


class Officer(Section):
    name: str | None = Field(None, max_length=40)
    department: str | None = Field(None, max_length=60, description="the unit ratings count for")


class WindowInfo(Section):
    department: str | None = Field(None, max_length=60, description="for officers with none of their own")
    terminals: list[str] = Field(
        default_factory=list,
        description="rating terminals of this window, besides those the registry assigns to it",
    )


class RatingGatewaySettings(Section):
    officers: dict[str, Officer] = Field(
        default_factory=dict, description="officer id -> name, department")
    windows: dict[str, WindowInfo] = Field(
        default_factory=dict, description="window id -> department, terminals")
    sessions: Literal["queue_facts", "window_actions"] = Field(
        "queue_facts",
        description="who is logged in where: the queue's `queue.window_changed` facts, or the callers' "
        "login/logout presses (`queue.window_action`) for a hall without the queue",
    )
    arm_on_served: bool = Field(True, description="arm the window's terminal when the queue serves a visit")
    arm_max_age_s: float = Field(
        60.0, gt=0, description="a served visit older than this (catching up on history) is not armed"
    )
    match_window_s: float = Field(
        1800.0, gt=0,
        description="a rating without a named visit matches the visit served at its window at most this "
        "long before it was asked for",
    )
    defer_s: float = Field(
        60.0, gt=0, le=3600,
        description="a rating asked for before its visit was completed waits this long for the visit",
    )
    require_visit: bool = Field(
        False,
        description="refuse ratings that match no served visit (halls where every window uses the queue)",
    )

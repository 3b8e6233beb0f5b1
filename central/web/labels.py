"""The big screen's words: every state has a Chinese label, a colour and a shape, never colour alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class StageLook:
    label: str  # what the screen writes
    colour: str  # CSS colour of the badge
    shape: str  # a symbol read without colour vision
    severity: int  # for sorting: the worst first
    kind: Literal["light", "card", "letter", "state"] = "light"
    """light, card, letter or state: the screen draws lights as lamps and cards as cards, never alike."""


STAGE_LOOKS: dict[str, StageLook] = {
    "supervision_letter": StageLook("监察建议书", "#6b0f1a", "✉", 8, "letter"),
    # Two cards for the second card: yellow and red cards differ by shape too, not by shade alone.
    "red_card": StageLook("红牌", "#d7191c", "▮▮", 7, "card"),
    "yellow_card": StageLook("黄牌", "#f0b400", "▮", 6, "card"),
    "red_light": StageLook("红灯", "#e8462a", "■", 5),
    "yellow_light": StageLook("黄灯", "#ffd400", "▲", 4),
    "uncertain": StageLook("日历待定", "#8a8a8a", "?", 3, "state"),
    "blue": StageLook("蓝灯", "#1f6fd1", "●", 2),
    "suspended": StageLook("暂停计时", "#7a7f87", "‖", 1, "state"),
    "completed": StageLook("已办结", "#2e8b57", "✓", 0, "state"),
}


def look(stage: str) -> StageLook:
    return STAGE_LOOKS.get(stage, StageLook(stage, "#8a8a8a", "?", 3, "state"))

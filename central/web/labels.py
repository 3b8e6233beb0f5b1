"""The big screen's words: every state has a Chinese label, a colour and a shape, never colour alone."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageLook:
    label: str  # what the screen writes
    colour: str  # CSS colour of the badge
    shape: str  # a symbol read without colour vision
    severity: int  # for sorting: the worst first


STAGE_LOOKS: dict[str, StageLook] = {
    "supervision_letter": StageLook("监察建议书", "#6b0f1a", "✉", 8),
    "red_card": StageLook("红牌", "#d7191c", "▮", 7),
    "yellow_card": StageLook("黄牌", "#f0b400", "▮", 6),
    "red_light": StageLook("红灯", "#e8462a", "■", 5),
    "yellow_light": StageLook("黄灯", "#ffd400", "▲", 4),
    "uncertain": StageLook("日历待定", "#8a8a8a", "?", 3),
    "blue": StageLook("蓝灯", "#1f6fd1", "●", 2),
    "suspended": StageLook("暂停计时", "#7a7f87", "‖", 1),
    "completed": StageLook("已办结", "#2e8b57", "✓", 0),
}


def look(stage: str) -> StageLook:
    return STAGE_LOOKS.get(stage, StageLook(stage, "#8a8a8a", "?", 3))

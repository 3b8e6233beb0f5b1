"""The wall's saved layouts: a grid of 1, 4, 9 or 16 windows, a camera (or nothing) in each."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from central.store import CentralStore

GRIDS = (1, 4, 9, 16)

SCHEMA = """
CREATE TABLE IF NOT EXISTS video_layouts (
    name TEXT PRIMARY KEY,
    grid INTEGER NOT NULL,
    cells TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);
"""


class WallCell(BaseModel):
    """The camera one window shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hall: str = Field(min_length=1, max_length=63)
    device: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    camera: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")


class WallLayout(BaseModel):
    """A named layout: `grid` windows, row by row; a window without a camera is `null`.

    Cells past the grid are kept: a 16-window layout shown as 4 for a while keeps
    the other twelve choices for when it is 16 again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    grid: Literal[1, 4, 9, 16]
    cells: list[WallCell | None] = Field(default_factory=list, max_length=16)


class SavedLayout(WallLayout):
    saved_by: str
    saved_at: int


class WallLayouts:
    """Layouts kept in central's store, shared by every monitoring-room browser."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def save(self, layout: WallLayout, by: str, now_ms: int) -> SavedLayout:
        cells = json.dumps([c.model_dump() if c else None for c in layout.cells], ensure_ascii=False)
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO video_layouts (name, grid, cells, saved_by, saved_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET grid = excluded.grid, cells = excluded.cells, "
                "saved_by = excluded.saved_by, saved_at = excluded.saved_at",
                (layout.name, layout.grid, cells, by, now_ms),
            )
        return SavedLayout(**layout.model_dump(), saved_by=by, saved_at=now_ms)

    def all(self) -> list[SavedLayout]:
        return [_saved(row) for row in self.store.query(
            "SELECT name, grid, cells, saved_by, saved_at FROM video_layouts ORDER BY name")]

    def delete(self, name: str) -> bool:
        with self.store.transaction() as tx:
            return tx.execute("DELETE FROM video_layouts WHERE name = ?", (name,)).rowcount > 0


def _saved(row: tuple[str, int, str, str, int]) -> SavedLayout:
    name, grid, cells, by, at = row
    return SavedLayout.model_validate(
        {"name": name, "grid": grid, "cells": json.loads(cells), "saved_by": by, "saved_at": at})

"""The wall's saved layouts: a grid of 1, 4, 9 or 16 windows, a camera (or nothing) in each.

Its statements are written once for SQLite and PostgreSQL (`spine.statement`); on
PostgreSQL `video_layouts` is made by `central/migrations` (revision 0004).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, bindparam, delete, select

from central.store import CentralStore
from spine.statement import Statement, insert_for

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

LAYOUT_TABLES = MetaData()
VIDEO_LAYOUTS = Table(
    "video_layouts", LAYOUT_TABLES,
    Column("name", Text, primary_key=True),
    Column("grid", Integer, nullable=False),
    Column("cells", Text, nullable=False),
    Column("saved_by", Text, nullable=False),
    Column("saved_at", BigInteger, nullable=False),
)
"""`SCHEMA` in SQLAlchemy Core (made on PostgreSQL by migration 0004)."""
_L = VIDEO_LAYOUTS.c


def _saving(dialect: str) -> Any:
    insert = insert_for(dialect, VIDEO_LAYOUTS).values(
        {name: bindparam(name) for name in ("name", "grid", "cells", "saved_by", "saved_at")})
    return insert.on_conflict_do_update(index_elements=["name"], set_={
        name: insert.excluded[name] for name in ("grid", "cells", "saved_by", "saved_at")})


_SAVED = Statement(_saving)
_ALL = Statement(lambda _dialect: select(
    _L.name, _L.grid, _L.cells, _L.saved_by, _L.saved_at).order_by(_L.name))
_DELETED = Statement(lambda _dialect: delete(VIDEO_LAYOUTS).where(_L.name == bindparam("name")))


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
        with self.store.statements() as tx:
            _SAVED.run(tx, {"name": layout.name, "grid": layout.grid, "cells": cells, "saved_by": by,
                            "saved_at": now_ms})
        return SavedLayout(**layout.model_dump(), saved_by=by, saved_at=now_ms)

    def all(self) -> list[SavedLayout]:
        return [_saved(tuple(row)) for row in self.store.read(lambda tx: _ALL.run(tx).fetchall())]

    def delete(self, name: str) -> bool:
        with self.store.statements() as tx:
            return _DELETED.run(tx, {"name": name}).rowcount > 0


def _saved(row: tuple[str, int, str, str, int]) -> SavedLayout:
    name, grid, cells, by, at = row
    return SavedLayout.model_validate(
        {"name": name, "grid": grid, "cells": json.loads(cells), "saved_by": by, "saved_at": at})

"""The hall's windows and officers with the unit each serves, as central's registry sync brings them.

A window's caller may state case facts only of its logged-in officer's unit
(docs/security.md): the unit comes from here (the officer's department, else
the window's), and failing that from the gateway's `[ratings]` tables, which
name the same departments for attributing ratings. Units are named as cases
and ratings name them (the department's name).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from contract.commands.registry import HallState

SCHEMA = """
CREATE TABLE IF NOT EXISTS registry_windows (
    window TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department TEXT
);
CREATE TABLE IF NOT EXISTS registry_officers (
    officer TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department TEXT,
    window TEXT
);
"""


@dataclass(frozen=True)
class UnitDirectory:
    """Which unit an officer, or failing that a window, serves."""

    officers: Mapping[str, str] = field(default_factory=dict)
    windows: Mapping[str, str] = field(default_factory=dict)

    def unit_of(self, officer: str | None, window: str | None) -> str | None:
        if officer is not None and officer in self.officers:
            return self.officers[officer]
        return self.windows.get(window) if window is not None else None

    def or_else(self, fallback: UnitDirectory) -> UnitDirectory:
        """This directory, with `fallback` answering for whom it does not know."""
        return UnitDirectory({**fallback.officers, **self.officers}, {**fallback.windows, **self.windows})


def apply_directory(tx: sqlite3.Connection, state: HallState) -> None:
    """Central's windows and officers replace the ones it sent before (the sync is whole)."""
    tx.execute("DELETE FROM registry_windows")
    tx.execute("DELETE FROM registry_officers")
    tx.executemany("INSERT INTO registry_windows (window, name, department) VALUES (?, ?, ?)",
                   [(w.id, w.name, w.department) for w in state.windows])
    tx.executemany("INSERT INTO registry_officers (officer, name, department, window) VALUES (?, ?, ?, ?)",
                   [(o.id, o.name, o.department, o.window) for o in state.officers])


def read_directory(conn: sqlite3.Connection) -> UnitDirectory:
    officers = conn.execute(
        "SELECT officer, department FROM registry_officers WHERE department IS NOT NULL").fetchall()
    windows = conn.execute(
        "SELECT window, department FROM registry_windows WHERE department IS NOT NULL").fetchall()
    return UnitDirectory(dict(officers), dict(windows))

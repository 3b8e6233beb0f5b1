"""The fenced code blocks of README.md and docs/*.md, with the mark written before each.

A mark is an HTML comment on the line before the fence (invisible when rendered):

    <!-- toml: kiosk -->             a whole file of that role (examples/ names the roles)
    <!-- toml: kiosk fragment -->    sections of that role's file; the rest is examples/kiosk.toml
    <!-- needs: a running gateway --> `hall ...` lines that need what the reason says: checked
                                      against the command's options, not run
    <!-- synopsis -->                `hall ...` lines in synopsis form ([--option], A|B, ...)

Unmarked `hall ...` lines are run, block after block, in one scratch directory per page.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_MARK = re.compile(r"^<!--\s*(?P<text>.*?)\s*-->$")
_HALL_LINE = re.compile(r"^(?:sudo(?: -u \S+)? )?(?:\S*/)?hall (?P<args>[a-z].*)$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    """The line of the opening fence, counted from 1."""
    lang: str
    mark: str
    """The mark's text (`toml: kiosk`, `needs: ...`, `synopsis`), or ''."""
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[tuple[int, list[str]]]:
        """Each `hall ...` command of the block (continuation lines joined): its line and its
        arguments after `hall`, comments left out."""
        found: list[tuple[int, list[str]]] = []
        lines = self.text.split("\n")
        index = 0
        while index < len(lines):
            number, line = self.line + 1 + index, lines[index]
            while line.endswith("\\") and index + 1 < len(lines):
                index += 1
                line = line[:-1] + " " + lines[index].strip()
            index += 1
            match = _HALL_LINE.match(line.strip())
            if match:
                found.append((number, shlex.split(match["args"], comments=True)))
        return found


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").split("\n")
        index = 0
        while index < len(lines):
            fence = lines[index]
            if not fence.startswith("```"):
                index += 1
                continue
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            before = [line.strip() for line in lines[:index] if line.strip()]
            mark = _MARK.match(before[-1]) if before else None
            found.append(Block(page, index + 1, fence[3:].strip(), mark["text"] if mark else "",
                               "\n".join(lines[index + 1:end])))
            index = end + 1
    return found

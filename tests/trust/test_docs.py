"""docs/security.md's copy of the authority table is the code's table, row for row."""

from __future__ import annotations

import re
from pathlib import Path

from contract.authority import ABOUT_WORDS
from contract.catalog import all_specs

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROW = re.compile(r"^\| `([a-z_.]+)` \| ([a-z_, ]+) \| ([a-z ]+) \|$")


def test_the_documented_authority_table_is_the_declared_one() -> None:
    documented = {m.group(1): (m.group(2), m.group(3))
                  for m in map(ROW.match, DOC.read_text(encoding="utf-8").splitlines()) if m}
    declared = {name: (", ".join(sorted(a.value for a in spec.authority.authors)),
                       ABOUT_WORDS[spec.authority.about])
                for name, spec in all_specs().items()}
    assert documented == declared

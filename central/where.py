"""The WHERE clause of a filtered read: optional filters in, SQL text and its parameters out.

Central's listings (cases, ratings, follow-ups, queue figures, complaints) all
filter by "this hall, if given; from, if given; until, if given". A filter
whose value is None is no filter at all; every value travels as a parameter,
never as SQL text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Where:
    """Conditions joined by AND; `sql` is empty when there are none."""

    def __init__(self) -> None:
        self._clauses: list[str] = []
        self._params: list[Any] = []

    def equals(self, column: str, value: Any) -> Where:
        """`column = value`, unless `value` is None."""
        return self._compare(column, "=", value)

    def at_least(self, column: str, value: Any) -> Where:
        """`column >= value` (an inclusive start), unless `value` is None."""
        return self._compare(column, ">=", value)

    def at_most(self, column: str, value: Any) -> Where:
        """`column <= value` (an inclusive end), unless `value` is None."""
        return self._compare(column, "<=", value)

    def below(self, column: str, value: Any) -> Where:
        """`column < value` (an exclusive end), unless `value` is None."""
        return self._compare(column, "<", value)

    def one_of(self, column: str, values: Iterable[Any] | None) -> Where:
        """`column IN (...)`, unless `values` is None or empty."""
        chosen = list(values or ())
        if chosen:
            self._clauses.append(f"{column} IN ({', '.join('?' for _ in chosen)})")
            self._params.extend(chosen)
        return self

    def holds(self, clause: str, *params: Any, when: bool = True) -> Where:
        """A condition written out (`confirmed_at IS NULL`), added when `when` is true."""
        if when:
            self._clauses.append(clause)
            self._params.extend(params)
        return self

    @property
    def sql(self) -> str:
        """` WHERE a AND b`, with its leading space, or nothing."""
        return " WHERE " + " AND ".join(self._clauses) if self._clauses else ""

    @property
    def also(self) -> str:
        """` AND a AND b`, to follow a WHERE already written, or nothing."""
        return "".join(f" AND {clause}" for clause in self._clauses)

    @property
    def params(self) -> tuple[Any, ...]:
        return tuple(self._params)

    def _compare(self, column: str, operator: str, value: Any) -> Where:
        if value is not None:
            self._clauses.append(f"{column} {operator} ?")
            self._params.append(value)
        return self

"""A tick's batch of rows written with one statement on PostgreSQL, row by row on SQLite.

A batch of 2,000 due cases writes thousands of log records, issued keys and lights. SQLite
runs an `executemany` in-process at a few microseconds a row; on PostgreSQL every row of an
`executemany` is a statement the server parses, plans and runs (pipelined, still ~30 us a row,
most of a 10,000-case tick: `bench/countdown.py`). There the rows travel as one JSON array
and one INSERT ... SELECT or UPDATE ... FROM `json_to_recordset` writes them all. The
statements are made from the same table definitions (`central.cases.tables`), so both forms
name the same columns with the same types.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, Table, Text, text

from central.cases.database import dialect
from spine.statement import Statement, Tx

_PG_TYPES: tuple[tuple[type, str], ...] = ((BigInteger, "bigint"), (Integer, "integer"), (Text, "text"))


def _typed(table: Table, name: str) -> str:
    column_type = table.c[name].type
    for kind, spelled in _PG_TYPES:
        if isinstance(column_type, kind):
            return f"{name} {spelled}"
    raise TypeError(f"{table.name}.{name}: no PostgreSQL spelling for {column_type!r}")


def _record(table: Table, names: Sequence[str], key: str | None = None) -> str:
    key_column = [f"{key} text"] if key is not None else []
    return ", ".join(key_column + [_typed(table, name) for name in names])


class Rows:
    """Many rows into one table: `statement` per row, or one JSON array on PostgreSQL."""

    def __init__(self, statement: Statement, table: Table, names: Sequence[str], *,
                 key: tuple[str, str] | None = None) -> None:
        """`names`: the columns the rows give (by those names). `key`: for an UPDATE, the row's
        parameter naming the row to change and the column it matches (`("id", "case_id")`);
        None: an INSERT."""
        self.statement = statement
        columns = ", ".join(names)
        if key is None:
            sql = (f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM "
                   f"json_to_recordset(CAST(:rows AS json)) AS r({_record(table, names)})")
        else:
            param, column = key
            sets = ", ".join(f"{name} = r.{name}" for name in names)
            sql = (f"UPDATE {table.name} AS t SET {sets} FROM json_to_recordset(CAST(:rows AS json))"
                   f" AS r({_record(table, names, param)}) WHERE t.{column} = r.{param}")
        self.bulk = Statement(lambda _dialect: text(sql))

    def write(self, tx: Tx, rows: Sequence[Mapping[str, Any]]) -> None:
        if len(rows) > 1 and dialect(tx) == "postgresql":
            self.bulk.run(tx, {"rows": json.dumps(rows, ensure_ascii=False)})
        else:
            self.statement.run_many(tx, rows)

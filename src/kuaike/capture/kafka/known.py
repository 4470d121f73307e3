"""The business tables kuaike knows, as table structure for consumed topics (`Naming.known`).

A carrier's Canal or OGG topic for `tbl_express_bill` need not carry its types: kuaike ships
the DDL of the 48 logistics and 3 CRM tables, so their columns, types and key come from there.
The CRM tables are known under both names, `crm_address` and the replica's `tbl_address` (the
reference's `crm_` → `tbl_` rename). Types are the PostgreSQL DDL's, serials as their integers.

>>> key, types = known_table("tbl_express_bill")
>>> key, types["order_dt"], types["id"]
(('id',), 'timestamp(0)', 'bigint')
>>> known_table("tbl_address")[1]["detail_addr"], known_table("no_such_table")
('varchar(100)', None)
"""

from __future__ import annotations

import re
from functools import cache

from kuaike.business.schema import ddl, statements

KnownTable = tuple[tuple[str, ...], dict[str, str]]
"""A table's key columns and its column types (source type text, PostgreSQL dialect)."""

SERIALS = {"bigserial": "bigint", "serial": "integer", "smallserial": "smallint"}
_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*)\)", re.DOTALL)
_CONSTRAINTS = ("PRIMARY KEY", "KEY ", "UNIQUE", "CONSTRAINT", "FOREIGN KEY", "INDEX ")


def known_table(table: str) -> KnownTable | None:
    """The key and column types of a business table by its replica (or source) name."""
    return _known().get(table)


@cache
def _known() -> dict[str, KnownTable]:
    tables: dict[str, KnownTable] = {}
    for script in ("logistics.postgresql", "crm.postgresql"):
        for statement in statements(ddl(script)):
            match = _CREATE.match(statement)
            if match:
                tables[match[1]] = _table(match[2])
    for name in [n for n in tables if n.startswith("crm_")]:
        tables["tbl_" + name.removeprefix("crm_")] = tables[name]
    return tables


def _table(body: str) -> KnownTable:
    """Key and types from the column lines of one CREATE TABLE (one column per line)."""
    key: tuple[str, ...] = ()
    types: dict[str, str] = {}
    for line in (part.strip().rstrip(",") for part in body.splitlines()):
        if not line:
            continue
        if line.upper().startswith(_CONSTRAINTS):
            inner = re.search(r"PRIMARY KEY\s*\(([^)]*)\)", line, re.IGNORECASE)
            if inner:
                key = tuple(name.strip() for name in inner[1].split(","))
            continue
        name, _, rest = line.partition(" ")
        kind = re.split(r"\s+(?:PRIMARY|NOT|NULL|DEFAULT|REFERENCES|UNIQUE)\b", rest, maxsplit=1)[0]
        types[name] = SERIALS.get(kind.strip().lower(), kind.strip())
        if "PRIMARY KEY" in rest.upper():
            key = (name,)
    return key, types

"""What changed in the replica since a batch: rows written, keys deleted, tables truncated.

Reads the store contract: `_kuaike_batch` on every ODS row, `_kuaike.deleted_keys` and
`_kuaike.truncates` (see kuaike.store.migrations).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from kuaike.warehouse import incremental
from kuaike.warehouse.catalog import Model
from kuaike.warehouse.engines.duckdb import scalar, table_exists
from kuaike.warehouse.lookups import stored_name


@dataclass(frozen=True)
class TableChange:
    """How one ODS table changed after a batch."""

    written: int
    deleted: int
    truncated: bool

    @property
    def any(self) -> bool:
        return self.truncated or self.written > 0 or self.deleted > 0


def _bare(table: str) -> str:
    return table.split(".", 1)[1]


def table_change(con: Any, table: str, since: int) -> TableChange:
    """Rows of `table` (ods.x) written, deleted or truncated in batches after `since`."""
    written = 0
    if table_exists(con, table):
        written = int(scalar(con, f"SELECT count(*) FROM {table} WHERE _kuaike_batch > ?", [since]))
    deleted = int(
        scalar(
            con,
            "SELECT count(*) FROM _kuaike.deleted_keys WHERE table_name = ? AND batch > ?",
            [_bare(table), since],
        )
    )
    truncated = bool(
        scalar(
            con,
            "SELECT count(*) FROM _kuaike.truncates WHERE table_name = ? AND batch > ?",
            [_bare(table), since],
        )
    )
    return TableChange(written, deleted, truncated)


def changed_ids_sql(table: str, since: int) -> str:
    """SELECT the ids of rows of `table` written or deleted after `since`.

    Written rows count even when marked 'insert': the store marks a row deleted and inserted
    again in one batch as an insert, and records no deleted key for it.
    """
    return (
        f"SELECT id FROM {table} WHERE _kuaike_batch > {since} UNION ALL "
        "SELECT CAST(json_extract_string(key, '$.id') AS BIGINT) FROM _kuaike.deleted_keys "
        f"WHERE table_name = '{_bare(table)}' AND batch > {since}"
    )


def touched_sql(
    model: Model, since: int, changed: dict[str, TableChange], what: Literal["day", "key"]
) -> list[str]:
    """SELECTs of the days (`day`) or fact ids (`key`) of a DWD by_day model that the changes
    after `since` touch: the facts the query joins to rows written since (new side), and the
    rows whose lineage names a changed or deleted row (old side); see incremental."""
    tree = model.tree
    columns = incremental.lineage(tree)
    if what == "day":
        new_side, old_side = incremental.touched_days_query, "DISTINCT day"
    else:
        new_side, old_side = incremental.touched_facts_query, "id AS key"
    written = {
        alias
        for alias, table in incremental.aliases(tree).items()
        if table in changed and changed[table].written
    }
    walked = incremental.touched_facts_walk(tree, written, since) if what == "key" else None
    selects = [walked.sql("duckdb")] if walked is not None else []
    for alias, table in incremental.aliases(tree).items():
        change = changed.get(table)
        if change is None or not change.any:
            continue
        if change.written and walked is None:
            selects.append(new_side(tree, alias, since).sql("duckdb"))
        selects.append(
            f"SELECT {old_side} FROM {stored_name(model)} "
            f"WHERE {columns[alias]} IN ({changed_ids_sql(table, since)})"
        )
    return selects


def touched_days(
    con: Any, model: Model, since: int, changed: dict[str, TableChange]
) -> set[dt.date]:
    """Days of a DWD by_day model touched by the changes after `since`."""
    days: set[dt.date] = set()
    for select in touched_sql(model, since, changed, "day"):
        days |= {row[0] for row in con.execute(select).fetchall()}
    return {day for day in days if day is not None}

"""`kuaike export`: the replica as a Parquet lake (see kuaike.warehouse.lake), incrementally.

A fact table (the table a DWD `by_day` model reads in FROM) is written one folder per day of
its facts, the day as that model defines it; every other table as a whole. Since the last export
(its batch B), a table nothing changed is kept as it is; a table without days is rewritten when
anything changed; a fact table rewrites only the days touched:
- the days of its rows written after B (new or updated rows, where they are now), and
- the days the lake holds the rows changed or deleted after B on (where they were).
All of it is read in one transaction, so the rows agree with the positions the manifest records.

1. Remove what a killed export left (files the manifest does not name).
2. Write the new files beside the named ones.
3. Replace the manifest (one rename).
4. Remove the files the new manifest no longer names.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlglot import exp

from kuaike.types import DuckConnection
from kuaike.warehouse import changes, incremental, lake, state
from kuaike.warehouse.catalog import Model, load_models
from kuaike.warehouse.engines.duckdb import lake_errors, tables

Action = Literal["full", "days", "kept"]


@dataclass
class TableExport:
    """What one export did to one table."""

    table: str
    action: Action
    rows: int = 0  # rows written
    days: int = 0  # day folders written (fact tables)
    reason: str | None = None


@dataclass
class ExportSummary:
    """One export: its number, the replica batch and source positions it reflects, its tables."""

    export: int
    lake: str
    batch: int
    positions: dict[str, str]
    duration_ms: float = 0.0
    tables: list[TableExport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fact_days(models: dict[str, Model] | None = None) -> dict[str, str]:
    """`ods.<fact table>` → the SQL of its rows' day (the DWD by_day model's `day`, unaliased).

    >>> fact_days()["ods.tbl_express_bill"]
    'CAST(cdt AS DATE)'
    """
    found: dict[str, str] = {}
    for model in (models or load_models()).values():
        if model.layer != "dwd" or model.kind != "by_day":
            continue
        tree = model.tree
        day = incremental.day_expression(tree)
        for column in day.find_all(exp.Column):
            column.set("table", None)
        found[incremental.aliases(tree)[incremental.fact_alias(tree)]] = day.sql("duckdb")
    return found


class Exporter:
    """One export of the replica on `con` (a connection or cursor of the store) to `lake`."""

    def __init__(
        self, con: DuckConnection, to: Path, progress: Callable[[str], None] | None = None
    ) -> None:
        self.con = con
        self.lake = to
        self.progress = progress
        self.days = fact_days()
        self.previous: dict[str, Any] | None = None
        self.number = 1

    def run(self) -> ExportSummary:
        """Export; the previous lake stays readable whatever happens (see the module)."""
        started = time.perf_counter()
        with lake.locked(self.lake):
            self.previous = lake.read(self.lake)
            self.number = self.previous["export"] + 1 if self.previous else 1
            lake.remove_unnamed(self.lake, "ods", self._named(self.previous))  # 1.
            with lake_errors(self.lake):
                summary, entries = self._write_all()  # 2.
            manifest = {
                "export": self.number,
                "exported_at": dt.datetime.now(dt.UTC).isoformat(),
                "batch": summary.batch,
                "positions": summary.positions,
                "tables": entries,
            }
            lake.write(self.lake, manifest)  # 3.
            lake.remove_unnamed(self.lake, "ods", self._named(manifest))  # 4.
        summary.duration_ms = (time.perf_counter() - started) * 1000
        return summary

    @staticmethod
    def _named(manifest: dict[str, Any] | None) -> set[str]:
        if manifest is None:
            return set()
        return {file for table in manifest["tables"] for file in lake.table_files(manifest, table)}

    def _write_all(self) -> tuple[ExportSummary, dict[str, Any]]:
        self.con.execute("BEGIN TRANSACTION")  # one snapshot: rows and positions agree
        try:
            batch = state.last_batch(self.con)
            positions = dict(
                self.con.execute("SELECT source, position FROM _kuaike.positions").fetchall()
            )
            summary = ExportSummary(self.number, str(self.lake), batch, positions)
            if self.previous is not None and self.previous["batch"] > batch:
                # another (or a recreated) store: its batches say nothing about the lake's
                self.previous = {**self.previous, "tables": {}}
            entries: dict[str, Any] = {}
            for name in sorted(t for t in tables(self.con) if t.startswith("ods.")):
                if self.progress is not None:
                    self.progress(name)
                entry, done = self._table(name)
                entries[name.removeprefix("ods.")] = entry
                summary.tables.append(done)
        finally:
            self.con.execute("ROLLBACK")
        return summary, entries

    def _columns(self, table: str) -> list[list[str]]:
        rows = self.con.execute(f"DESCRIBE {table}").fetchall()
        return [[row[0], row[1]] for row in rows]

    def _table(self, table: str) -> tuple[dict[str, Any], TableExport]:
        """The manifest entry of `table` after this export, and what was done."""
        bare = table.removeprefix("ods.")
        columns = self._columns(table)
        old = (self.previous or {"tables": {}})["tables"].get(bare)
        reason = None
        if old is None:
            reason = "new in the lake (or the store's batches are behind the lake's)"
        elif old["columns"] != columns:
            reason = "its columns changed"
        elif old["day"] != self.days.get(table):
            reason = "its day changed"
        if reason is not None or self.previous is None or old is None:
            return self._full(table, columns, reason)
        change = changes.table_change(self.con, table, self.previous["batch"])
        if not change.any:
            return old, TableExport(bare, "kept")
        if table not in self.days:
            return self._full(table, columns, "it changed")
        if change.truncated:
            return self._full(table, columns, "it was truncated")
        return self._touched(table, old)

    def _full(
        self, table: str, columns: list[list[str]], reason: str | None
    ) -> tuple[dict[str, Any], TableExport]:
        bare = table.removeprefix("ods.")
        day = self.days.get(table)
        entry: dict[str, Any] = {"columns": columns, "day": day, "files": [], "partitions": None}
        if day is None:
            file = f"ods/{bare}/e{self.number}_{uuid.uuid4().hex}.parquet"
            (self.lake / file).parent.mkdir(parents=True, exist_ok=True)
            self.con.execute(f"COPY {table} TO '{self.lake / file}' (FORMAT parquet)")
            entry["files"] = [file]
        else:
            entry["partitions"] = self._write_days(table, f"SELECT * FROM {table}")
            if not entry["partitions"]:
                entry["partitions"] = self._empty(table)
        rows = self._count(f"SELECT count(*) FROM {table}")
        days = len(entry["partitions"] or {})
        return entry, TableExport(bare, "full", rows, days, reason)

    def _touched(self, table: str, old: dict[str, Any]) -> tuple[dict[str, Any], TableExport]:
        """Rewrite the day folders of `table` touched since the last export."""
        assert self.previous is not None
        since, day = self.previous["batch"], old["day"]
        touched = {
            _key(row[0])
            for row in self.con.execute(
                f"SELECT DISTINCT {day} FROM {table} WHERE _kuaike_batch > ?", [since]
            ).fetchall()
        }
        files = [str(self.lake / file) for file in lake.table_files(self.previous, table[4:])]
        if files:
            touched |= {
                _key(row[0])
                for row in self.con.execute(
                    f"SELECT DISTINCT {lake.DAY_COLUMN} FROM read_parquet(?, hive_partitioning ="
                    f" true) WHERE id IN ({changes.changed_ids_sql(table, since)})",
                    [files],
                ).fetchall()
            }
        listed = ", ".join(f"DATE '{key}'" for key in sorted(touched - {lake.NULL_DAY}))
        where = [f"{day} IN ({listed})"] if listed else []
        if lake.NULL_DAY in touched:
            where.append(f"{day} IS NULL")
        condition = " OR ".join(where) or "false"
        written = self._write_days(table, f"SELECT * FROM {table} WHERE {condition}")
        partitions = {k: v for k, v in old["partitions"].items() if k not in touched}
        partitions.update(written)
        if not partitions:
            partitions = self._empty(table)
        rows = self._count(f"SELECT count(*) FROM {table} WHERE {condition}")
        entry = {**old, "partitions": dict(sorted(partitions.items()))}
        return entry, TableExport(table[4:], "days", rows, len(touched))

    def _count(self, sql: str) -> int:
        row = self.con.execute(sql).fetchone()
        return int(row[0]) if row else 0

    def _empty(self, table: str) -> dict[str, list[str]]:
        """A fact table without rows keeps one empty file (in the NULL day), so readers still
        learn its columns."""
        bare = table.removeprefix("ods.")
        folder = self.lake / "ods" / bare / f"{lake.DAY_COLUMN}={lake.NULL_DAY}"
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / f"e{self.number}_empty.parquet"
        self.con.execute(f"COPY (SELECT * FROM {table} LIMIT 0) TO '{file}' (FORMAT parquet)")
        return {lake.NULL_DAY: [file.relative_to(self.lake).as_posix()]}

    def _write_days(self, table: str, select: str) -> dict[str, list[str]]:
        """Write the rows of `select` one folder a day; return day → its new files."""
        bare = table.removeprefix("ods.")
        folder = self.lake / "ods" / bare
        folder.mkdir(parents=True, exist_ok=True)
        day = self.days[table]
        self.con.execute(
            f"COPY (SELECT *, {day} AS {lake.DAY_COLUMN} FROM ({select})) TO '{folder}'"
            f" (FORMAT parquet, PARTITION_BY ({lake.DAY_COLUMN}), APPEND,"
            f" FILENAME_PATTERN 'e{self.number}_{{uuid}}')"
        )
        written: dict[str, list[str]] = {}
        for path in sorted(folder.glob(f"{lake.DAY_COLUMN}=*/e{self.number}_*.parquet")):
            key = path.parent.name.split("=", 1)[1]
            written.setdefault(key, []).append(path.relative_to(self.lake).as_posix())
        return written


def _key(day: dt.date | str | None) -> str:
    """The partition name of a day."""
    if day is None:
        return lake.NULL_DAY
    return day.isoformat() if isinstance(day, dt.date) else str(day)


def export(
    con: DuckConnection, to: Path, progress: Callable[[str], None] | None = None
) -> ExportSummary:
    """Export the replica on `con` to the lake `to`; see `Exporter`."""
    return Exporter(con, to, progress).run()

"""The model catalog: one SQL file per table, read from `models/{dwd,dws}/`.

A model file is a SELECT with a few header comments:

    -- kind: by_day | by_key | full | snapshot
    -- key: id                   (columns that identify a row; audited not null and unique)
    -- not_null: day             (optional: the key columns that must not be null; default all)
    -- key_from: dwd.x.cid       (by_key: the column of a by_day model that names our key)

Dependencies are never listed by hand: they are the `ods.*`, `dwd.*` and `dws.*` tables the
SQL reads, found with SQLGlot. Kinds:
- `by_day`: rows belong to the day of their fact (`day` column); rebuilt day by day. A DWD
  `by_day` model reads ODS, its fact table is the one in FROM and its `day` is a projection.
- `by_key`: one row per entity of the table in FROM (e.g. a customer, key `id`); rebuilt for the
  entities whose own row changed or that appear (before or after) in the rebuilt days of the
  `key_from` models; in full when another table it reads changed.
- `full`: rebuilt as a whole when anything it reads changed.
- `snapshot`: one picture per reference date (`day` = the build's reference date).
"""

from __future__ import annotations

import functools
import graphlib
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import sqlglot
from sqlglot import exp

from kuaike.errors import WarehouseError

Kind = Literal["by_day", "by_key", "full", "snapshot"]
KINDS = ("by_day", "by_key", "full", "snapshot")
LAYERS = ("dwd", "dws")
SCHEMAS = ("ods", "dwd", "dws")
# Bumped when the runner changes what it stores for a model beyond its SQL (2: a detail
# table's lineage reuses its projected id columns; 3: detail tables are stored narrow and read
# through a view, see lookups): tables built before are rebuilt in full.
STORED_LAYOUT = 3


@dataclass(frozen=True)
class Model:
    """One warehouse table and the SELECT that builds it."""

    name: str  # schema-qualified, e.g. dwd.tbl_express_bill_detail
    sql: str
    kind: Kind
    key: tuple[str, ...]
    not_null: tuple[str, ...]
    depends_on: frozenset[str] = field(default_factory=frozenset)
    key_from: tuple[tuple[str, str], ...] = ()  # (model, column) pairs, by_key only

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    @functools.cached_property
    def _parsed(self) -> exp.Query:
        parsed = sqlglot.parse_one(self.sql, read="duckdb")
        if not isinstance(parsed, exp.Query):
            raise WarehouseError(f"{self.name} is not a SELECT; a model file holds one query")
        return parsed

    @property
    def tree(self) -> exp.Query:
        """A fresh parsed copy of the SELECT (callers may transform it)."""
        return self._parsed.copy()

    @property
    def fingerprint(self) -> str:
        """Changes when the SQL or the stored layout changes, so the model is rebuilt in full."""
        return hashlib.sha256(f"{STORED_LAYOUT}\n{self.sql}".encode()).hexdigest()[:16]


def table_name(table: exp.Table) -> str:
    """`schema.table` of a table reference, lower case."""
    return f"{table.db}.{table.name}".lower()


def dependencies(tree: exp.Query) -> frozenset[str]:
    """The ods/dwd/dws tables a query reads (CTE names excluded)."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    found = set()
    for table in tree.find_all(exp.Table):
        if table.db.lower() in SCHEMAS and table.name.lower() not in ctes:
            found.add(table_name(table))
    return frozenset(found)


def _header(sql: str, name: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in sql.splitlines():
        text = line.strip()
        if not text.startswith("--"):
            continue
        head, sep, value = text[2:].partition(":")
        if sep and head.strip() in ("kind", "key", "not_null", "key_from"):
            values[head.strip()] = value.strip()
    if values.get("kind") not in KINDS:
        raise WarehouseError(f"model {name} needs a header line `-- kind: {'|'.join(KINDS)}`")
    if values["kind"] == "by_key" and "key_from" not in values:
        raise WarehouseError(f"by_key model {name} needs a header line `-- key_from: dwd.x.col`")
    if not values.get("key"):
        raise WarehouseError(f"model {name} needs a header line `-- key: <columns>`")
    return values


def _columns(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_model(name: str, sql: str) -> Model:
    """Build a Model from its name (`dwd.x`) and SQL text."""
    header = _header(sql, name)
    key = _columns(header["key"])
    kind: Kind = header["kind"]  # type: ignore[assignment]
    not_null = _columns(header["not_null"]) if "not_null" in header else key
    key_from = tuple(
        (item.rsplit(".", 1)[0], item.rsplit(".", 1)[1])
        for item in _columns(header.get("key_from", ""))
    )
    model = Model(name, sql, kind, key, not_null)
    deps = dependencies(model._parsed)
    parsed = Model(name, sql, kind, key, not_null, deps, key_from)
    parsed.__dict__["_parsed"] = model._parsed  # parsed once (a tenth of a second per 20)
    return parsed


def load_models() -> dict[str, Model]:
    """Every model shipped in `kuaike/warehouse/models`, by qualified name."""
    return dict(_shipped_models())


@functools.cache
def _shipped_models() -> dict[str, Model]:
    root = resources.files("kuaike.warehouse") / "models"
    models: dict[str, Model] = {}
    for layer in LAYERS:
        for entry in sorted((root / layer).iterdir(), key=lambda item: item.name):
            if entry.name.endswith(".sql"):
                name = f"{layer}.{entry.name.removesuffix('.sql')}"
                models[name] = parse_model(name, entry.read_text(encoding="utf-8"))
    return models


def build_order(models: dict[str, Model]) -> list[str]:
    """Model names so that every model comes after the models it reads."""
    graph = {
        name: {dep for dep in model.depends_on if dep in models} for name, model in models.items()
    }
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise WarehouseError(f"models depend on each other in a cycle: {exc.args[1]}") from exc


def downstream(models: dict[str, Model], names: set[str]) -> set[str]:
    """`names` and every model that reads them, directly or not."""
    result = set(names)
    changed = True
    while changed:
        changed = False
        for name, model in models.items():
            if name not in result and model.depends_on & result:
                result.add(name)
                changed = True
    return result

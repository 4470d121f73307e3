"""What the SQL console lets through, decided from DuckDB's own parse tree, never from the text.

1. `extract_statements`: exactly one statement, of type SELECT (DuckDB also calls `FROM t`,
   `DESCRIBE`, `SUMMARIZE`, `VALUES`, `WITH … SELECT` so), or EXPLAIN without ANALYZE.
2. `json_serialize_sql`: the statement's tree, walked node by node. Every function, aggregate
   and window function must be on the allow-list (`allowed_functions.txt`); table functions only
   `range`, `generate_series`, `unnest`, `repeat`; tables only `ods.*`, `dwd.*`, `dws.*` or a CTE
   in scope. A node of a kind not known here refuses the statement (fail closed).

Why not a deny-list or a SELECT-only filter: `SELECT * FROM enable_logging(...)` is a SELECT,
passes DuckDB's configuration lock and breaks every later query of the instance, the writer's
included (shared/reference/serving.md §1); deny-lists of file readers leaked elsewhere (Arc).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from functools import cache
from importlib import resources
from typing import Any

import duckdb

from kuaike.errors import QueryRefused
from kuaike.types import DuckConnection

SCHEMAS = frozenset({"ods", "dwd", "dws"})
"""The schemas the console reads: the replica and the warehouse, not `_kuaike` nor `main`."""

TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "repeat"})
"""Table functions that only generate rows from their arguments."""

EXPRESSIONS = frozenset(
    {
        "FUNCTION", "WINDOW", "COLUMN_REF", "CONSTANT", "CAST", "CASE", "COMPARISON",
        "CONJUNCTION", "OPERATOR", "STAR", "SUBQUERY", "BETWEEN", "LAMBDA", "LAMBDA_REF",
        "COLLATE", "POSITIONAL_REFERENCE",
    }
)  # fmt: skip
"""Expression classes of the parse tree the walk knows; any other refuses the statement."""

TABLE_REFS = frozenset(
    {"BASE_TABLE", "TABLE_FUNCTION", "JOIN", "SUBQUERY", "EXPRESSION_LIST", "EMPTY", "SHOW_REF"}
)
"""Kinds of FROM items the walk knows (PIVOT, for one, is not among them)."""

QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})

_TABLE_KEYS = ("from_table", "left", "right", "source")  # where a FROM item can sit
_EXPLAIN = re.compile(r"\s*explain\s+(?!analy[sz]e\b)(?P<query>.*)", re.IGNORECASE | re.DOTALL)


@cache
def allowed_functions() -> frozenset[str]:
    """The function names of `allowed_functions.txt` (whitespace-separated, `#` comments)."""
    text = resources.files("kuaike.serve").joinpath("allowed_functions.txt").read_text("utf-8")
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return frozenset(name for line in lines for name in line.split())


_parser = duckdb.connect()  # parsing needs no catalog: a private in-memory instance does it
_parser_lock = threading.Lock()


@functools.lru_cache(maxsize=4_096)
def check(sql: str) -> str:
    """The one read-only statement of `sql`, or QueryRefused saying why not.

    The verdict depends on the text alone, so it is cached (a dashboard repeats its queries).

    >>> check("select 1 + 1")
    'select 1 + 1'
    """
    with _parser_lock:
        return _check(_parser, sql)


def _check(con: DuckConnection, sql: str) -> str:
    statement = _one_statement(con, sql)
    query = str(statement.query)
    if statement.type == duckdb.StatementType.EXPLAIN:
        explained = _EXPLAIN.fullmatch(query)
        if explained is None:
            raise QueryRefused("EXPLAIN ANALYZE runs the statement; use EXPLAIN alone")
        inner = _one_statement(con, explained["query"])
        if inner.type != duckdb.StatementType.SELECT:
            raise QueryRefused(f"the console explains SELECT queries only, not {_kind(inner)}")
        _walk_tree(con, str(inner.query))
        return query
    if statement.type != duckdb.StatementType.SELECT:
        raise QueryRefused(f"{_kind(statement)} statements are refused; the console only reads")
    _walk_tree(con, query)
    return query


def _one_statement(con: DuckConnection, sql: str) -> Any:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"the SQL does not parse: {first_line(exc)}") from exc
    if len(statements) != 1:
        raise QueryRefused(f"send one statement at a time (got {len(statements)})")
    return statements[0]


def _kind(statement: Any) -> str:
    return str(statement.type.name).replace("_STATEMENT", "")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _walk_tree(con: DuckConnection, query: str) -> None:
    row = con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True, "error_message": "no tree"}
    if tree.get("error"):
        raise QueryRefused(f"the console cannot check this query: {tree.get('error_message')}")
    _Walk(allowed_functions()).node(tree["statements"], frozenset(), None)


class _Walk:
    """One walk over a serialized statement; raises QueryRefused at the first node refused."""

    def __init__(self, functions: frozenset[str]) -> None:
        self.functions = functions

    def node(self, node: Any, ctes: frozenset[str], key: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                self.node(item, ctes, key)
            return
        if not isinstance(node, dict):
            return
        ctes = ctes | _cte_names(node)
        self._check(node, ctes, key)
        for child_key, child in node.items():
            if isinstance(child, dict | list):
                self.node(child, ctes, child_key)

    def _check(self, node: dict[str, Any], ctes: frozenset[str], key: str | None) -> None:
        kind, type_ = node.get("class"), node.get("type")
        if kind is not None and kind not in EXPRESSIONS:
            raise QueryRefused(f"expressions of kind {kind} are not allowed in the console")
        if kind in ("FUNCTION", "WINDOW"):
            self._function(node)
        elif kind is None and key in _TABLE_KEYS and type_ is not None:
            self._table_ref(node, ctes)
        elif key == "node" and type_ not in QUERY_NODES:
            raise QueryRefused(f"queries of kind {type_} are not allowed in the console")

    def _function(self, node: dict[str, Any]) -> None:
        name = str(node.get("function_name", ""))
        # DuckDB writes list literals as system.main.list_value; any other schema is a user's
        if node.get("schema", "") not in ("", "main") or node.get("catalog", "") not in (
            "",
            "system",
        ):
            raise QueryRefused(f"call {name} without a schema; the console has no user functions")
        if name.lower() not in self.functions:
            raise QueryRefused(f"function {name} is not allowed in the console")

    def _table_ref(self, node: dict[str, Any], ctes: frozenset[str]) -> None:
        type_ = node["type"]
        if type_ in QUERY_NODES:
            return  # the two sides of a UNION sit under "left" and "right" too
        if type_ not in TABLE_REFS:
            raise QueryRefused(f"FROM items of kind {type_} are not allowed in the console")
        if type_ == "TABLE_FUNCTION":
            name = str(node["function"].get("function_name", ""))
            if name.lower() not in TABLE_FUNCTIONS or node["function"].get("schema"):
                raise QueryRefused(f"table function {name} is not allowed in the console")
            # its arguments are walked as expressions; the node itself is not a scalar call
            node["function"] = {"children": node["function"].get("children", [])}
        elif type_ == "BASE_TABLE":
            _table(node.get("catalog_name", ""), node.get("schema_name", ""), node, ctes)
        elif type_ == "SHOW_REF" and node.get("query") is None:
            _shown_table(str(node.get("table_name", "")), node.get("schema_name", ""), ctes)


def _cte_names(node: dict[str, Any]) -> frozenset[str]:
    entries = (
        node.get("cte_map", {}).get("map", []) if isinstance(node.get("cte_map"), dict) else []
    )
    return frozenset(str(entry.get("key", "")).lower() for entry in entries)


def _table(catalog: str, schema: str, node: dict[str, Any], ctes: frozenset[str]) -> None:
    name = str(node.get("table_name", ""))
    if not schema and not catalog and name.lower() in ctes:
        return
    if catalog or schema.lower() not in SCHEMAS:
        raise QueryRefused(
            f"table {name!r} is not readable here; name it with its schema (ods., dwd. or dws.)"
        )


def _shown_table(name: str, schema: str, ctes: frozenset[str]) -> None:
    """DESCRIBE/SUMMARIZE of a table: `ods.x` or a CTE; SHOW TABLES and the like are refused."""
    _table("", schema, {"table_name": name.strip('"')}, ctes)

"""Detail tables are stored narrow and read wide.

A DWD `by_day` model's SELECT defines a wide row: the fact's own columns and columns of the
dimension rows it joins (a dot's name, a route's stations). Writing text is most of what a
detail table costs — at 10 M waybills, the twelve dimension text columns took 7 of its 18 s —
and a dimension's text is the same for every fact that names it. So the runner stores
`<model>_facts`: every column of the model except the dimension text, plus the lineage (the id
of every joined row, see incremental). `<model>` itself is a view that joins those ids back to
the dimension tables for the text, so readers see the model's columns, in its order.

A column is looked up when it is text (VARCHAR) computed from the columns of one joined table
other than the fact table (`d.dot_name`, `rt.start_station || '-' || rt.end_station`) and is
not a key. The view reads the dimension rows as they are now: a renamed dot shows its new name
at once, in every row that names it. Models that read a detail table read the stored table
when they use no looked-up column (what the summaries do), the view otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from kuaike.warehouse import incremental
from kuaike.warehouse.catalog import Model, table_name

STORED_SUFFIX = "_facts"
_STORED_ALIAS = "_facts"


def is_narrow(model: Model) -> bool:
    """Whether the model is stored narrow (a DWD by_day detail table)."""
    return model.layer == "dwd" and model.kind == "by_day"


def stored_name(model: Model) -> str:
    """The table the model's rows are stored in."""
    return model.name + STORED_SUFFIX if is_narrow(model) else model.name


@dataclass(frozen=True)
class Split:
    """A narrow model: the query of its stored table, and the view that reads it wide."""

    stored: exp.Query  # the model's SELECT without the looked-up columns (lineage not added)
    looked_up: frozenset[str]
    view: str  # SELECT of the wide rows from the stored table


def split(con: Any, model: Model, keep: set[str], facts: set[str]) -> Split:
    """Split a narrow model. The columns in `keep` (read by other models' key_from) are stored,
    and so are the columns of the tables in `facts` (the fact tables of the detail models): a
    view joining 10 M express bills to give a parcel its bill number would cost every reader
    what the build saved."""
    tree = model.tree
    fact = incremental.fact_alias(tree)
    tables = incremental.aliases(tree)
    ids = incremental.lineage(tree)
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {model.sql}").fetchall()}
    keep = keep | set(model.key) | set(model.not_null) | {"day"}
    stored: list[exp.Expr] = []
    wide: list[exp.Expr] = []
    joined: dict[str, None] = {}  # the dimension aliases the view joins, in order
    for projection in incremental.select_of(tree).expressions:
        name = projection.alias_or_name
        alias = _dimension_of(projection, fact)
        text = types.get(name) == "VARCHAR"
        if alias is None or tables[alias] in facts or name in keep or not text:
            stored.append(projection)
            wide.append(exp.column(name, table=_STORED_ALIAS))
            continue
        joined[alias] = None
        wide.append(
            projection.copy()
            if isinstance(projection, exp.Alias)
            else exp.alias_(projection.copy(), name)
        )
    narrow = incremental.select_of(tree.copy())
    narrow.set("expressions", [projection.copy() for projection in stored])
    view = exp.select(*wide).from_(exp.to_table(stored_name(model)).as_(_STORED_ALIAS))
    for alias in joined:
        on = exp.EQ(
            this=exp.column("id", table=alias),
            expression=exp.column(ids[alias], table=_STORED_ALIAS),
        )
        view = view.join(exp.to_table(tables[alias]).as_(alias), on=on, join_type="LEFT")
    names = {p.alias_or_name for p in incremental.select_of(tree).expressions}
    return Split(narrow, frozenset(names - {p.alias_or_name for p in stored}), view.sql("duckdb"))


def _dimension_of(projection: exp.Expression, fact: str) -> str | None:
    """The one joined table (not the fact table) whose columns make `projection`, if any."""
    inner = projection.this if isinstance(projection, exp.Alias) else projection
    columns = list(inner.find_all(exp.Column))
    if not columns or any(isinstance(node, exp.Subquery | exp.Select) for node in inner.walk()):
        return None
    owners = {column.table for column in columns}
    if len(owners) != 1 or "" in owners or fact in owners:
        return None
    if isinstance(inner, exp.Column) and inner.name == "id":
        return None
    return str(owners.pop())


def read_stored(tree: exp.Query, splits: dict[str, Split], reads: exp.Query) -> exp.Query:
    """Read each narrow detail table named in `tree` from its stored table, unless the model's
    own query `reads` uses a column the stored table does not have, or `*` (then the view,
    which has every column and no lineage)."""
    used = {column.name for column in reads.find_all(exp.Column)}
    star = any(isinstance(s.parent, exp.Select | exp.Column) for s in reads.find_all(exp.Star))

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table):
            found = splits.get(table_name(node))
            if found is not None and not star and not (found.looked_up & used):
                name = node.name + STORED_SUFFIX
                return exp.table_(name, db=node.db, alias=node.alias_or_name)
        return node

    rewritten = tree.transform(replace)
    assert isinstance(rewritten, exp.Query)
    return rewritten

"""Rewrite model SQL (with SQLGlot) to rebuild only some facts or days, and to find them.

A DWD `by_day` model reads a fact table (the one in FROM) joined to dimension tables. Each DWD row
carries lineage: the `id` of the row of every joined table it was built from, in the column that
already projects `<alias>.id` (`dot_id`) or else in an added `_src_<alias>` column.
Since the last build (batch L), the facts (and so the days) to rebuild are:
- new side: the rows the query produces when restricted to ODS rows written after L
  (`<alias>._kuaike_batch > L`), for the fact and for every dimension;
- old side: the DWD rows whose lineage names a changed or deleted ODS row.
Both sides together cover an update that moves a fact to another day, a deleted fact, a renamed
dot (every row that names it), and a dimension row that starts or stops matching.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlglot
from sqlglot import exp

from kuaike.errors import WarehouseError
from kuaike.warehouse.catalog import table_name

LINEAGE_PREFIX = "_src_"
FROM = "from_" if "from_" in exp.Select.arg_types else "from"  # renamed in sqlglot 28


def select_of(tree: exp.Query) -> exp.Select:
    """The query as a plain SELECT (a DWD by_day model must be one)."""
    if not isinstance(tree, exp.Select):
        raise WarehouseError("a by_day DWD model must be a plain SELECT ... FROM ... JOIN ...")
    return tree


def aliases(tree: exp.Query) -> dict[str, str]:
    """Alias → `schema.table` for the tables in the top-level FROM and JOINs (fact first)."""
    select = select_of(tree)
    sources: list[exp.Expression] = []
    from_ = select.args.get(FROM)
    if from_ is not None:
        sources.append(from_.this)
    sources += [join.this for join in select.args.get("joins") or []]
    found: dict[str, str] = {}
    for source in sources:
        if isinstance(source, exp.Table):
            found[source.alias_or_name] = table_name(source)
    return found


def fact_alias(tree: exp.Query) -> str:
    """The alias of the fact table (the table in FROM)."""
    return next(iter(aliases(tree)))


def day_expression(tree: exp.Query) -> exp.Expression:
    """The expression the model projects as `day`."""
    for projection in select_of(tree).expressions:
        if projection.alias_or_name == "day":
            found: exp.Expression = projection
            if isinstance(projection, exp.Alias):
                found = projection.this.copy()
            return found
    raise WarehouseError("a by_day model must project a `day` column")


def lineage(tree: exp.Query) -> dict[str, str]:
    """Alias → the column holding the `id` of that table's row each output row was built from:
    the model's own projection of `<alias>.id` when it has one (every id column stored twice
    would cost a tenth of a detail table's write), else `_src_<alias>` (see with_lineage)."""
    projected: dict[str, str] = {}
    for projection in select_of(tree).expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Column) and inner.name == "id" and inner.table:
            projected.setdefault(inner.table, projection.alias_or_name)
    return {alias: projected.get(alias, LINEAGE_PREFIX + alias) for alias in aliases(tree)}


def with_lineage(tree: exp.Query) -> exp.Query:
    """Add `<alias>.id AS _src_<alias>` for every joined table whose id is not projected yet."""
    select = select_of(tree)
    for alias, column in lineage(tree).items():
        if column.startswith(LINEAGE_PREFIX):
            select = select.select(exp.alias_(exp.column("id", table=alias), column), copy=False)
    return select


def _day_list(days: Iterable[dt.date]) -> list[exp.Expression]:
    return [exp.cast(exp.Literal.string(day.isoformat()), "DATE") for day in sorted(days)]


def restrict_days(tree: exp.Query, days: Iterable[dt.date] | None) -> exp.Query:
    """Keep only the facts whose day is in `days`, or that have a day at all when None.

    The filter applies before QUALIFY, so the row picked per fact stays the same.
    """
    condition: exp.Expression
    if days is None:
        condition = exp.Not(this=exp.Is(this=day_expression(tree), expression=exp.Null()))
    else:
        condition = exp.In(this=day_expression(tree), expressions=_day_list(days))
    return select_of(tree).where(condition, copy=False)


def touched_days_query(tree: exp.Query, alias: str, last_batch: int) -> exp.Query:
    """SELECT the days of the facts joined to rows of `alias` written after `last_batch`."""
    return _touched_query(tree, alias, last_batch, exp.alias_(day_expression(tree), "day"))


def touched_facts_query(tree: exp.Query, alias: str, last_batch: int) -> exp.Query:
    """SELECT the ids of the facts joined to rows of `alias` written after `last_batch`."""
    key = exp.alias_(exp.column("id", table=fact_alias(tree)), "key")
    return _touched_query(tree, alias, last_batch, key)


def restrict_facts(tree: exp.Query, rows: str) -> exp.Query:
    """Build only the facts held in the table `rows` (rows of the fact table; those with a day).

    The caller copies the facts to rebuild into `rows` first: DuckDB then knows how few they
    are and joins each dimension by scanning it against them. Filtering the fact table in the
    query instead, it guessed millions of facts and hashed whole 10 M-row tables to join them
    (at 10 M bills, 2 s instead of 0.3 s for the departures of one day of changes), and as a
    filter on the whole query it applied it after the joins.
    """
    select = restrict_days(tree, None)
    table = select.args[FROM].this
    select.args[FROM].set("this", exp.to_table(rows).as_(table.alias_or_name))
    return select


def touched_facts_walk(tree: exp.Query, changed: set[str], last_batch: int) -> exp.Query | None:
    """SELECT the ids (`key`) of the facts joined to rows of the `changed` aliases written after
    `last_batch`, walking back from the changed rows: each table on the way is scanned once.

    One query per changed table (touched_facts_query) scans the tables between it and the fact
    table again for each: at 10 M bills the departures reached by four changed tables took
    2 s that way. Only for models whose joins are LEFT JOINs of equalities (see _inner_path)
    each naming one earlier table; None otherwise.
    """
    select = select_of(tree)
    tables = aliases(tree)
    parents: dict[str, str] = {}
    ons: dict[str, exp.Expression] = {}
    for join in select.args.get("joins") or []:
        alias = join.this.alias_or_name
        stripped = _without_subqueries(join)
        if join.side != "LEFT" or alias not in tables or not _null_rejecting(stripped):
            return None
        on = stripped.args["on"]
        others = {column.table for column in on.find_all(exp.Column)} - {alias}
        if len(others) != 1 or "" in others:
            return None
        parents[alias], ons[alias] = others.pop(), on
    batch = exp.Literal.number(last_batch)

    def reaching(alias: str) -> exp.Query | None:
        """SELECT the rows of `alias` that are changed or join to such rows."""
        table = exp.to_table(tables[alias]).as_(alias)
        parts: list[exp.Query] = []
        if alias in changed:
            written = exp.GT(this=exp.column("_kuaike_batch", table=alias), expression=batch)
            parts.append(exp.select(f"{alias}.*").from_(table.copy()).where(written))
        for child in [name for name, parent in parents.items() if parent == alias]:
            below = reaching(child)
            if below is not None:
                query = exp.select(f"{alias}.*").from_(table.copy())
                parts.append(query.join(below.subquery(child), on=ons[child].copy()))
        if not parts:
            return None
        result = parts[0]
        for part in parts[1:]:
            result = exp.union(result, part, distinct=False)
        return result

    fact = fact_alias(tree)
    found = reaching(fact)
    if found is None:
        return None
    key = exp.alias_(exp.column("id"), "key")
    return exp.select(key).distinct().from_(found.subquery("_touched"))


def _touched_query(tree: exp.Query, alias: str, last_batch: int, projection: exp.Expr) -> exp.Query:
    select = select_of(tree)
    query = exp.select(projection).distinct()
    query.set(FROM, select.args[FROM].copy())
    joins = select.args.get("joins") or []
    if all(join.side == "LEFT" for join in joins):
        # LEFT JOINs never drop a fact: only the joins that lead from the fact to `alias`
        # matter (none for the fact itself); the others could only repeat rows
        needed = _path_to(joins, alias)
        joins = [join for join in joins if join.this.alias_or_name in needed]
        query.set("joins", _inner_path([_without_subqueries(join) for join in joins]))
    else:
        query.set("joins", [_without_subqueries(join) for join in joins])
    batch = exp.column("_kuaike_batch", table=alias)
    return query.where(exp.GT(this=batch, expression=exp.Literal.number(last_batch)), copy=False)


def correlate_picks(tree: exp.Query) -> exp.Query:
    """Rewrite each lowest-id pick `LEFT JOIN t AS x ON x.id IN (SELECT min(id) FROM t GROUP BY
    k) AND x.k = ...` as `LEFT JOIN LATERAL (SELECT * FROM t WHERE k = ... ORDER BY id LIMIT 1)
    AS x`: the same rows, but looked up for the facts being rebuilt only, instead of aggregating
    the whole table. (A correlated `x.id = (SELECT min(id) ...)` was 8 times slower at 10 M
    rows: DuckDB then joined the whole table again to find the row of that id.) Run it last:
    the other rewrites know tables, not lateral subqueries."""
    for join in select_of(tree).args.get("joins") or []:
        on = join.args.get("on")
        table = join.this
        if on is None or not isinstance(table, exp.Table):
            continue
        flat = list(on.flatten()) if isinstance(on, exp.And) else [on]
        conjuncts = [c for c in flat if isinstance(c, exp.Expression)]
        picks = [c for c in conjuncts if isinstance(c, exp.In) and c.args.get("query")]
        rest = [c for c in conjuncts if c not in picks]
        if len(picks) != 1 or not rest or len(conjuncts) != len(flat):
            continue
        alias = table.alias_or_name
        inner = [_rename_table(c.copy(), alias, "_pick") for c in rest]
        pick = exp.select("*").from_(exp.to_table(table_name(table)).as_("_pick"))
        pick = pick.where(exp.and_(*inner)).order_by("_pick.id").limit(1)
        join.set(
            "this",
            exp.Lateral(this=pick.subquery(), alias=exp.TableAlias(this=exp.to_identifier(alias))),
        )
        join.set("on", exp.true())
    return tree


def _rename_table(node: exp.Expression, old: str, new: str) -> exp.Expression:
    for column in node.find_all(exp.Column):
        if column.table == old:
            column.set("table", exp.to_identifier(new))
    return node


def _without_subqueries(join: exp.Join) -> exp.Join:
    """A copy of `join` without its `x IN (SELECT ...)` conditions (the lowest-id pick): finding
    touched days, matching more rows only finds more days, and spares aggregating the table."""
    copied = join.copy()

    def strip(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            return exp.true()
        return node

    transformed = copied.transform(strip)
    assert isinstance(transformed, exp.Join)
    return transformed


def _inner_path(joins: list[exp.Join]) -> list[exp.Join]:
    """The path's LEFT JOINs as INNER JOINs when that keeps the same rows.

    The query keeps only rows where the changed table matched (its `_kuaike_batch` is not
    null), and every other table on the path is named by a join further along it. When every
    condition is an equality of columns (or constants), a table named in a matched condition
    matched too, so INNER JOINs keep exactly those rows — and let DuckDB start from the few
    changed rows instead of joining the whole fact table to each dimension first.
    """
    if not all(_null_rejecting(join) for join in joins):
        return joins
    inner = [join.copy() for join in joins]
    for join in inner:
        join.set("side", None)
    return inner


def _null_rejecting(join: exp.Join) -> bool:
    """Whether the ON clause is a conjunction of `a = b` over columns, casts and constants."""
    on = join.args.get("on")
    if on is None:
        return False
    for conjunct in on.flatten() if isinstance(on, exp.And) else [on]:
        if isinstance(conjunct, exp.Boolean) and conjunct.this is True:
            continue
        if not isinstance(conjunct, exp.EQ):
            return False
        for side in (conjunct.this, conjunct.expression):
            plain = side.this if isinstance(side, exp.Cast) else side
            if not isinstance(plain, exp.Column | exp.Literal):
                return False
    return True


def _path_to(joins: list[exp.Join], alias: str) -> set[str]:
    """Aliases of the joins needed to reach `alias` from the fact table."""
    refers = {
        join.this.alias_or_name: {
            column.table for column in join.find_all(exp.Column) if column.table
        }
        for join in joins
    }
    needed: set[str] = set()
    todo = [alias]
    while todo:
        current = todo.pop()
        if current in refers and current not in needed:
            needed.add(current)
            todo += list(refers[current] - {current})
    return needed


def restrict_sources(tree: exp.Query, days: Iterable[dt.date]) -> exp.Query:
    """Replace every `dwd.*` table a DWS model reads by its rows of `days` only."""
    day_list = _day_list(days)

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.db.lower() == "dwd":
            inner = exp.select("*").from_(exp.table_(node.name, db=node.db))
            inner = inner.where(
                exp.In(this=exp.column("day"), expressions=[d.copy() for d in day_list])
            )
            return inner.subquery(node.alias_or_name)
        return node

    rewritten = tree.transform(replace)
    assert isinstance(rewritten, exp.Query)
    return rewritten


def restrict_keys(tree: exp.Query, sources: dict[str, str], keys_sql: str) -> exp.Query:
    """A by_key model for the keys `keys_sql` returns only.

    The entity table in FROM is filtered on its `id`, and each model of `sources`
    (model -> column naming the key) is replaced by its rows naming one of the keys.
    """
    keys = sqlglot_parse(keys_sql)

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and table_name(node) in sources:
            column = exp.column(sources[table_name(node)])
            inner = exp.select("*").from_(exp.table_(node.name, db=node.db))
            inner = inner.where(exp.In(this=column, query=keys.copy().subquery()))
            return inner.subquery(node.alias_or_name)
        return node

    rewritten = tree.transform(replace)
    assert isinstance(rewritten, exp.Select)
    entity = exp.column("id", table=fact_alias(rewritten))
    return rewritten.where(exp.In(this=entity, query=keys.copy().subquery()), copy=False)


def sqlglot_parse(sql: str) -> exp.Query:
    """Parse one DuckDB query."""
    parsed = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(parsed, exp.Query)
    return parsed

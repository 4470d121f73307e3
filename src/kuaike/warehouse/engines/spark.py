"""The Spark engine: the same model files, transpiled by SQLGlot, over the Parquet lake.

The differences between DuckDB and Spark are data, below: the types Spark spells otherwise
(TYPES), the functions it lacks or means differently (FUNCTIONS), the session settings
(SETTINGS). `transpile` applies them to a model's parsed SELECT; no model knows its engine.
What each entry fixes was measured (docs/spark.md): SQLGlot alone gets these wrong.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from kuaike.errors import WarehouseError
from kuaike.warehouse.catalog import SCHEMAS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL = "pip install 'kuaike[spark]'"
"""What `--engine spark` says to run when PySpark is missing (it needs Java 17 too)."""

Rewrite = Callable[[exp.Expression], exp.Expression]

TYPES: dict[object, str] = {  # by SQLGlot's DataType.Type
    # SQLGlot writes HUGEINT as INT128, which Spark has not: 38 digits hold every HUGEINT the
    # models compute (dws.tbl_customer_tag packs a time and an id into one sortable number)
    exp.DataType.Type.INT128: "DECIMAL(38, 0)",
}


def _epoch_us(node: exp.Expression) -> exp.Expression:
    """epoch_us(ts) passes through SQLGlot unchanged; Spark has UNIX_MICROS of a TIMESTAMP."""
    return exp.Anonymous(
        this="UNIX_MICROS", expressions=[exp.cast(node.expressions[0], "TIMESTAMP")]
    )


def _boundaries(node: exp.Expression) -> exp.Expression:
    """DuckDB's date_diff(unit, a, b) counts the unit boundaries crossed, Spark's DATEDIFF the
    whole units elapsed (10:00:59 → 10:01:00: 1 minute in DuckDB, 0 in Spark). Both agree on
    values truncated to the unit, so the arguments are truncated first."""
    unit = node.args.get("unit")
    name = (unit.name if unit is not None else "DAY").upper()
    truncated = node.copy()
    for arg in ("this", "expression"):
        value = node.args[arg]
        truncated.set(arg, exp.TimestampTrunc(this=value.copy(), unit=exp.var(name)))
    truncated.set("date_part_boundary", None)
    return truncated


FUNCTIONS: dict[str, Rewrite] = {
    "EPOCH_US": _epoch_us,
    "DATEDIFF": _boundaries,
}
"""By SQLGlot's function name (an `Anonymous` call's own name): the rewrite for Spark."""

SETTINGS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",  # the replica's times are local times without a zone
    "spark.sql.catalogImplementation": "in-memory",  # no Hive metastore, no Derby folder
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",  # DuckDB reads it as is
    "spark.sql.sources.partitionColumnTypeInference.enabled": "true",
}
"""Every session's settings (the master and shuffle partitions come from `[spark]`)."""


def _name(node: exp.Func) -> str:
    """A function's name: an unknown one's own (`EPOCH_US`), else SQLGlot's (`DATEDIFF`)."""
    return str(node.this).upper() if isinstance(node, exp.Anonymous) else node.sql_name()


def view_name(table: str) -> str:
    """The Spark view of a lake table (`ods.tbl_x` → `ods__tbl_x`)."""
    return table.replace(".", "__")


def transpile(tree: exp.Query, variables: dict[str, dt.date]) -> str:
    """A model's SELECT as Spark SQL: variables bound, tables read from their views, the
    TYPES and FUNCTIONS above applied.

    >>> import sqlglot
    >>> query = sqlglot.parse_one("SELECT CAST(epoch_us(t) AS HUGEINT) FROM ods.x", "duckdb")
    >>> transpile(query, {})
    'SELECT CAST(UNIX_MICROS(CAST(t AS TIMESTAMP)) AS DECIMAL(38, 0)) FROM ods__x'
    """

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "getvariable":
            return _bound(node, variables)
        if isinstance(node, exp.Table) and node.db.lower() in SCHEMAS:
            renamed = exp.table_(view_name(f"{node.db}.{node.name}".lower()))
            if node.alias:
                renamed.set("alias", node.args["alias"].copy())
            return renamed
        if isinstance(node, exp.DataType) and node.this in TYPES:
            return exp.DataType.build(TYPES[node.this], dialect="spark")
        return node

    def functions(node: exp.Expression) -> exp.Expression:
        fix = FUNCTIONS.get(_name(node)) if isinstance(node, exp.Func) else None
        return fix(node) if fix is not None else node

    # two passes: a rewritten node's arguments are not visited again by the same pass
    return tree.copy().transform(bind).transform(functions).sql("spark")


def _bound(node: exp.Anonymous, variables: dict[str, dt.date]) -> exp.Expression:
    name = node.expressions[0].name
    if name not in variables:
        raise WarehouseError(f"a model reads getvariable('{name}'), which no build sets")
    return exp.cast(exp.Literal.string(variables[name].isoformat()), "DATE")


def session(master: str, shuffle_partitions: int, driver_memory: str) -> SparkSession:
    """A Spark session with SETTINGS (the one running in this process, when there is one)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise WarehouseError(
            f"the Spark engine needs PySpark: {INSTALL} (and Java 17 on the PATH)"
        ) from None
    builder: Any = SparkSession.builder.master(master).appName("kuaike")
    settings = {
        **SETTINGS,
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.driver.memory": driver_memory,
        "spark.sql.warehouse.dir": tempfile.mkdtemp(prefix="kuaike-spark-"),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    with spark_errors("starting Spark"):
        spark: SparkSession = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def running() -> bool:
    """Whether this process runs a Spark session already (`session` then returns it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return False
    return SparkSession.getActiveSession() is not None


@contextmanager
def spark_errors(what: str) -> Iterator[None]:
    """A Spark (JVM or analysis) error while doing `what` as a WarehouseError, first line only."""
    try:
        yield
    except WarehouseError:
        raise
    except Exception as exc:
        module = type(exc).__module__
        if not module.startswith(("pyspark", "py4j")):
            raise
        text = str(exc).strip().splitlines()
        first = text[0] if text else type(exc).__name__
        raise WarehouseError(f"{what} failed in Spark: {first}") from exc

"""`kuaike load-warehouse`: the DWS tables of the lake's last Spark build, into the store.

In one transaction: every `dws.*` table is replaced by the Spark build's rows, and their model
states are forgotten, so the next DuckDB build (if any) rebuilds them in full instead of
patching days onto rows it did not compute. The DWD tables stay in the lake: the KPI routes and
reports read DWS only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kuaike.errors import WarehouseError
from kuaike.types import DuckConnection
from kuaike.warehouse import lake, state
from kuaike.warehouse.engines.duckdb import lake_errors


def load_warehouse(con: DuckConnection, root: Path) -> dict[str, Any]:
    """Replace the store's DWS tables by the lake's; return what was loaded."""
    with lake.locked(root):
        built = lake.read(root, lake.WAREHOUSE)
        if built is None:
            raise WarehouseError(
                f"{root} holds no Spark build yet; run `kuaike build --engine spark --lake {root}`"
            )
        loaded: dict[str, int] = {}
        state.ensure(con)
        con.execute("BEGIN TRANSACTION")
        try:
            with lake_errors(root):
                con.execute("CREATE SCHEMA IF NOT EXISTS dws")
                for table, folder in sorted(built["tables"].items()):
                    if not table.startswith("dws."):
                        continue
                    files = str(root / folder / "*.parquet")
                    con.execute(
                        f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet(?)", [files]
                    )
                    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
                    loaded[table] = int(row[0]) if row else 0
                    con.execute("DELETE FROM _kuaike.model_state WHERE model = ?", [table])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return {
        "lake": str(root),
        "build": built["build"],
        "reference_date": built["reference_date"],
        "positions": built["positions"],
        "tables": loaded,
    }

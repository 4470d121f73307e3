"""What /api/pipeline reports besides each source's status: schema changes and builds."""

from __future__ import annotations

from typing import Any

import duckdb

from kuaike.serve.service import Service
from kuaike.types import DuckConnection

RECENT = 20  # schema changes and builds listed


def _rows(cur: DuckConnection, sql: str) -> list[dict[str, Any]]:
    """Rows as dicts; an internal table not created yet (no build so far) gives none."""
    try:
        cur.execute(sql)
    except duckdb.CatalogException:
        return []
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def overview(service: Service) -> dict[str, Any]:
    """What /api/pipeline and the pipeline page show: sources, schema changes, builds."""
    cur = service.cursor()
    try:
        return {
            "started_at": service.started_at.isoformat(),
            "sources": service.status(),
            "schema_changes": schema_changes(cur),
            "builds": builds(cur),
            "search_index": service.search_index.status() if service.search_index else None,
        }
    finally:
        cur.close()


def schema_changes(cur: DuckConnection) -> list[dict[str, Any]]:
    """The newest schema changes applied to the replica."""
    return _rows(
        cur,
        "SELECT source, table_name, change, detail, position, applied_at "
        f"FROM _kuaike.schema_changes ORDER BY applied_at DESC LIMIT {RECENT}",
    )


def builds(cur: DuckConnection) -> list[dict[str, Any]]:
    """The newest warehouse builds, each with its failed model runs (audits included)."""
    found = _rows(
        cur,
        "SELECT build, mode, reference_date, to_batch, status, error, started_at, finished_at, "
        "date_diff('millisecond', started_at, finished_at) AS duration_ms "
        f"FROM _kuaike.builds ORDER BY build DESC LIMIT {RECENT}",
    )
    failed = _rows(
        cur,
        "SELECT build, model, action, status, error FROM _kuaike.runs "
        "WHERE status NOT IN ('ok', 'skipped') ORDER BY build DESC, model",
    )
    for build in found:
        build["failed_runs"] = [run for run in failed if run["build"] == build["build"]]
    return found


def build_totals(cur: DuckConnection) -> list[tuple[str, int, float]]:
    """Per build status: how many builds and their seconds in all (for /metrics)."""
    rows = _rows(
        cur,
        "SELECT status, count(*) AS n, "
        "coalesce(sum(date_diff('millisecond', started_at, finished_at)), 0) / 1000 AS s "
        "FROM _kuaike.builds GROUP BY status",
    )
    return [(str(r["status"]), int(r["n"]), float(r["s"])) for r in rows]


def batch_totals(cur: DuckConnection) -> list[tuple[str, int, int]]:
    """Per source: batches and row changes applied (for /metrics)."""
    rows = _rows(
        cur,
        "SELECT source, count(*) AS n, coalesce(sum(changes), 0) AS c "
        "FROM _kuaike.batches GROUP BY source",
    )
    return [(str(r["source"]), int(r["n"]), int(r["c"])) for r in rows]

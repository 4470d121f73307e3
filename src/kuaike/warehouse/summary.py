"""What a build did: its summary (printed by `kuaike build`) and its record in `_kuaike`."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["full", "days", "keys", "snapshot", "skipped"]
Status = Literal["ok", "failed", "skipped", "waiting", "rolled_back"]


@dataclass
class ModelRun:
    """What one build did to one model."""

    model: str
    action: Action
    days: int = 0
    rows: int = 0
    duration_ms: float = 0.0
    status: Status = "ok"
    error: str | None = None
    reason: str | None = None  # why it was rebuilt in full


@dataclass
class BuildSummary:
    """What a build did, as `kuaike build --json` prints it."""

    build: int
    mode: str  # incremental / backfill / full: every model that ran was rebuilt in full
    reference_date: dt.date
    batch: int
    status: Literal["ok", "failed"] = "ok"
    reason: str | None = None  # why models were rebuilt in full (first build, SQL changed, ...)
    error: str | None = None
    duration_ms: float = 0.0
    runs: list[ModelRun] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["reference_date"] = self.reference_date.isoformat()
        return data


def record(con: Any, summary: BuildSummary) -> None:
    """Write the build and its runs (inside the build's transaction, or after a rollback)."""
    con.execute(
        "INSERT INTO _kuaike.builds (build, mode, reference_date, to_batch, status, error,"
        " started_at, finished_at, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, now() - to_milliseconds(?), now(), ?)",
        [
            summary.build,
            summary.mode,
            summary.reference_date,
            summary.batch,
            summary.status,
            summary.error,
            int(summary.duration_ms),
            summary.reason,
        ],
    )
    rows = [
        [
            summary.build,
            r.model,
            r.action,
            r.days,
            r.rows,
            r.duration_ms,
            r.status,
            r.error,
            r.reason,
        ]
        for r in summary.runs
    ]
    con.executemany(
        "INSERT INTO _kuaike.runs (build, model, action, days, rows, duration_ms, status, error,"
        " started_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
        rows,
    )

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


@dataclass
class BuildSummary:
    """What a build did, as `kuaike build --json` prints it."""

    build: int
    mode: str
    reference_date: dt.date
    batch: int
    status: Literal["ok", "failed"] = "ok"
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
        "INSERT INTO _kuaike.builds VALUES (?, ?, ?, ?, ?, ?, now() - to_milliseconds(?), now())",
        [
            summary.build,
            summary.mode,
            summary.reference_date,
            summary.batch,
            summary.status,
            summary.error,
            int(summary.duration_ms),
        ],
    )
    rows = [
        [summary.build, r.model, r.action, r.days, r.rows, r.duration_ms, r.status, r.error]
        for r in summary.runs
    ]
    con.executemany("INSERT INTO _kuaike.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())", rows)

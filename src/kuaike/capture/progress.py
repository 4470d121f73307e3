"""What a capture run did, shared by every source kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kuaike.capture.events import Position


@dataclass
class CaptureProgress:
    """What a capture run did, for the CLI and tests."""

    snapshot_rows: int = 0
    batches: int = 0
    changes: int = 0
    position: Position | None = None
    reconnects: int = 0
    first_read: float = 0.0
    """time.monotonic() when the first change message of the run was read (0: none yet)."""
    last_applied: float = 0.0
    """time.monotonic() when the last batch was committed to the store (0: none yet)."""
    on_table: Callable[[str, int], None] | None = field(default=None, repr=False)

    def snapshotted(self, table: str, rows: int) -> None:
        """Count a table's snapshot rows and tell `on_table`."""
        self.snapshot_rows += rows
        if self.on_table is not None:
            self.on_table(table, rows)

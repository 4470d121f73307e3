"""bench/warehouse.py still runs: its phases call kuaike's build as users do, so a change to the
build's checks (the plausibility audits did) can break it without any other test noticing.
120,000 bills over a year is the smallest replica whose days are big enough for those audits to
judge them (warehouse.plausibility_min_volume)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "warehouse.py"


def test_the_warehouse_bench_runs_every_phase_on_a_small_replica(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--bills", "120000"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    phases = re.findall(r"^(generate|full|changes|incremental) +[0-9.]+ s", done.stdout, re.M)
    assert phases == ["generate", "full", "changes", "incremental"]
    assert re.search(r"bills 120,000: full build [0-9.]+ s .* incremental [0-9.]+ s", done.stdout)

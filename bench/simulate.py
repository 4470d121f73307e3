"""Benchmark the simulator against a private PostgreSQL started here (and stopped by its pid).

Prints history rows/s (COPY) and live business operations/s (one transaction per event), with
the CPU the machine had to spare (the load average) so figures from a busy machine read right.

    python bench/simulate.py                      # defaults: 2 history days, 10 s live
    python bench/simulate.py --history-days 3 --orders-per-day 30000 --live-seconds 20

Targets (docs/simulate.md): ≥ 50,000 history rows/s, ≥ 5,000 live operations/s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from kuaike.business.servers import PrivatePostgres
from kuaike.business.simulate import Options, Simulator, Sizes


def _server(directory: Path, durable: bool) -> PrivatePostgres:
    # The tests' settings: no fsync, so the figures measure the simulator, not this disk.
    settings = {} if durable else {"fsync": "off", "synchronous_commit": "off"}
    settings |= {"max_wal_size": "4GB", "shared_buffers": "256MB"}
    return PrivatePostgres(directory, settings=settings).start()


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process, its reaped children and its live children (PostgreSQL backends)."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(p: int, reaped: bool) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        own = int(fields[11]) + int(fields[12])
        return (own + (int(fields[13]) + int(fields[14]) if reaped else 0)) / tick

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return stat(pid, True) + sum(stat(int(child), False) for child in children)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _run(
    server: PrivatePostgres,
    database: str,
    args: argparse.Namespace,
    history_days: int,
    label: str,
    live: bool = True,
) -> None:
    url = server.url_for(database)
    cpu_before = (_own_cpu(), _cpu_seconds(server.pid or 0))
    end = datetime.now().replace(microsecond=0) - timedelta(days=args.backlog_days)
    options = Options(
        seed=1,
        history_days=history_days,
        end=end,
        orders_per_day=args.orders_per_day,
        rate=args.rate if live else None,
        duration=args.live_seconds if live else None,
        connections=args.connections,
        workers=args.workers,
        sizes=Sizes(),
    )
    summary = Simulator(url, url, options).run().as_dict()
    history, live_part = summary["history"], summary["live"]
    ours = _own_cpu() - cpu_before[0]
    database_cpu = _cpu_seconds(server.pid or 0) - cpu_before[1]
    if history_days:
        mode = f"{args.workers} processes" if not live else "1 process, live follows"
        print(
            f"history ({mode}): {history['orders']:,} orders, {history['rows_total']:,} rows in "
            f"{history['seconds']:.1f} s = {history['rows_per_second']:,.0f} rows/s (COPY)"
        )
    if live:
        changes = sum(live_part["row_changes"].values())
        print(
            f"live ({label}): {live_part['operations']:,} business operations ({changes:,} row "
            f"changes, {live_part['orders']:,} new orders) in {live_part['seconds']:.1f} s = "
            f"{live_part['operations_per_second']:,.0f} operations/s"
        )
    print(
        f"  CPU used: simulator {ours:.1f} s, PostgreSQL {database_cpu:.1f} s; "
        f"load average now {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-days", type=int, default=2)
    parser.add_argument("--orders-per-day", type=int, default=30_000)
    parser.add_argument(
        "--backlog-days",
        type=int,
        default=2,
        help="history ends this many days ago: its parcels in flight are due",
    )
    parser.add_argument("--live-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20_000.0, help="new orders/s asked for")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--durable", action="store_true", help="fsync and synchronous commit on")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="kuaike-bench-sim-") as tmp:
        server = _server(Path(tmp), args.durable)
        try:
            _run(server, "history", args, args.history_days, "", live=False)
            label = "after 1 day of history: its parcels in flight, new orders queued behind them"
            _run(server, "flight", args, 1, label)
            _run(server, "fresh", args, 0, "new orders only")
        finally:
            server.stop()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

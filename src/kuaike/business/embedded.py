"""The embedded demo database: a private PostgreSQL in the data directory, used when no logistics
URL is configured. It keeps its data between runs and keeps running between commands until
`kuaike db stop`; databases `logistics` and `crm` live in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kuaike.business.servers import PrivatePostgres, _port_open
from kuaike.config import Settings

PORT_FILE = "kuaike-port"


@dataclass(frozen=True)
class Sources:
    """The two business databases kuaike works with, after the demo defaults are applied."""

    logistics_url: str
    crm_url: str
    embedded: bool


def server(data_dir: Path) -> PrivatePostgres:
    """The embedded server's handle (not started)."""
    return PrivatePostgres(data_dir.resolve() / "postgres")


def status(data_dir: Path) -> PrivatePostgres | None:
    """The running embedded server, or None."""
    handle = server(data_dir)
    handle.pid = handle.running_pid()
    return handle if handle.pid else None


def start(data_dir: Path) -> PrivatePostgres:
    """Start the embedded server unless it runs; prefer the port it had last time."""
    running = status(data_dir)
    if running is not None:
        return running
    handle = server(data_dir)
    port_file = handle.directory / PORT_FILE
    if port_file.exists():
        previous = int(port_file.read_text().strip() or 0)
        handle.port = previous if previous and not _port_open(previous) else 0
    handle.start()
    port_file.write_text(str(handle.port))
    return handle


def stop(data_dir: Path) -> bool:
    """Stop the embedded server; False when it was not running."""
    running = status(data_dir)
    if running is None:
        return False
    running.stop()
    return True


def resolve(settings: Settings, start_server: bool = True) -> Sources:
    """The configured sources, starting the embedded server for whatever is not configured.

    With `start_server=False` (commands that only look, like `kuaike status`) a stopped
    embedded server stays stopped: its URLs name the port it had last, and connecting fails.
    """
    if settings.logistics_url:
        crm = settings.crm_url or _sibling(settings.logistics_url, "crm")
        return Sources(settings.logistics_url, crm, embedded=False)
    handle = start(settings.data_dir) if start_server else _last_known(settings.data_dir)
    return Sources(handle.url_for("logistics"), settings.crm_url or handle.url_for("crm"), True)


def _last_known(data_dir: Path) -> PrivatePostgres:
    """The embedded server as it runs, or as it ran last (not started)."""
    running = status(data_dir)
    if running is not None:
        return running
    handle = server(data_dir)
    port_file = handle.directory / PORT_FILE
    handle.port = int(port_file.read_text().strip() or 0) if port_file.exists() else 0
    return handle


def _sibling(url: str, database: str) -> str:
    """The same server's URL with another database name."""
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{database}" + (f"?{query}" if query else "")

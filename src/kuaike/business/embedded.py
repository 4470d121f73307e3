"""The embedded demo database: a private PostgreSQL in the data directory, used when no logistics
URL is configured. It keeps its data between runs and keeps running between commands until
`kuaike db stop`; databases `logistics` and `crm` live in it.

`kuaike demo` may keep the CRM in a private MariaDB beside it instead (when MariaDB is installed),
so the binlog path runs too: `start_mariadb` / `stop_mariadb`, data in `<data dir>/mariadb`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from kuaike.business.servers import PrivateMariaDB, PrivatePostgres, _pid_alive, _port_open
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


def mariadb_installed() -> bool:
    """Whether this machine can run the demo's MariaDB."""
    return bool(shutil.which("mariadbd") or shutil.which("mysqld")) and bool(
        shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    )


def mariadb_dir(data_dir: Path) -> Path:
    """Where the demo's MariaDB keeps its data (its existence means the demo's CRM is there)."""
    return data_dir.resolve() / "mariadb"


def start_mariadb(data_dir: Path) -> tuple[PrivateMariaDB, bool]:
    """The demo's MariaDB, running (started unless it runs), and whether this call started it.
    It keeps the port it had last time when that port is free."""
    handle = PrivateMariaDB(mariadb_dir(data_dir))
    port_file = handle.directory / PORT_FILE
    previous = int(port_file.read_text().strip() or 0) if port_file.exists() else 0
    pid_file = handle.directory / "mariadbd.pid"
    if pid_file.exists() and previous:
        pid = int(pid_file.read_text().strip() or 0)
        if pid and _pid_alive(pid) and _port_open(previous):
            handle.pid, handle.port = pid, previous
            return handle, False
    handle.directory.mkdir(parents=True, exist_ok=True)
    handle.port = previous if previous and not _port_open(previous) else 0
    handle.start()
    port_file.write_text(str(handle.port))
    return handle, True


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

"""Private database servers started from the system's binaries: PostgreSQL and MariaDB.

The embedded demo database, the test fixtures and the benchmarks all use these: a server in a
directory of its own, listening on 127.0.0.1 (a free port) and a Unix socket in that directory, set
up for change data capture, stopped by its pid.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuaike.errors import KuaikeError

START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _is_root() -> bool:
    return os.geteuid() == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, sig: signal.Signals = signal.SIGINT, timeout: float = 30.0) -> None:
    """Signal a server and wait until it is gone (SIGKILL after `timeout`)."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.05)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server binaries here, or a KuaikeError saying what to install."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for candidate in reversed(candidates):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise KuaikeError(
        "PostgreSQL server binaries (initdb, postgres) not found; install them "
        "(Debian/Ubuntu: apt-get install postgresql) or set KUAIKE_LOGISTICS_URL to a server"
    )


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in `directory` with `wal_level=logical`.

    Runs as user `postgres` when kuaike runs as root (initdb refuses root).
    """

    directory: Path
    port: int = 0
    settings: dict[str, str] = field(default_factory=dict)
    pid: int | None = None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self) -> dict[str, Any]:
        """subprocess arguments that drop root for the `postgres` user, groups included."""
        if not _is_root():
            return {}
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def _let_postgres_in(self) -> None:
        """As root the server runs as `postgres`, which must be able to reach its directory."""
        if not _is_root():
            return
        for ancestor in self.directory.resolve().parents:
            mode = ancestor.stat().st_mode
            if not mode & 0o001:
                os.chmod(ancestor, mode | 0o001)

    def _chown(self, path: Path) -> None:
        if _is_root():
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def initdb(self) -> None:
        """Create the cluster unless it exists."""
        if (self.data / "PG_VERSION").exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(exist_ok=True)
        self._let_postgres_in()
        self._chown(self.directory)
        self._chown(self.data)
        command = [
            str(postgres_bin_dir() / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]
        result = subprocess.run(command, capture_output=True, text=True, **self._as_postgres())
        if result.returncode != 0:
            raise KuaikeError(f"initdb failed in {self.data}: {result.stderr.strip()}")

    def start(self) -> PrivatePostgres:
        """Start the server (initdb first if needed); wait until it accepts connections."""
        self.initdb()
        self.port = self.port or free_port()
        options = {
            "wal_level": "logical",
            "max_replication_slots": "20",
            "max_wal_senders": "20",
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "max_connections": "100",
            **self.settings,
        }
        command = [str(postgres_bin_dir() / "postgres"), "-D", str(self.data)]
        for key, value in options.items():
            command += ["-c", f"{key}={value}"]
        log = open(self.directory / "postgres.log", "ab")  # noqa: SIM115 - the server owns it
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self._as_postgres(),
        )
        log.close()
        self.pid = process.pid
        self._wait_ready(process)
        return self

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        ready = [str(postgres_bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = (self.directory / "postgres.log").read_text(errors="replace")[-2000:]
                raise KuaikeError(f"PostgreSQL in {self.data} did not start: {log.strip()}")
            if subprocess.run(ready, capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise KuaikeError(f"PostgreSQL in {self.data} did not start in {START_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        """Fast shutdown by pid (SIGINT), waiting until the server is gone."""
        if self.pid is not None:
            stop_pid(self.pid, signal.SIGINT)
            self.pid = None

    def running_pid(self) -> int | None:
        """The pid of a server already running on this data directory, if any."""
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return None
        lines = pidfile.read_text().splitlines()
        pid = int(lines[0])
        if not _pid_alive(pid):
            return None
        if len(lines) > 3 and lines[3].strip().isdigit():
            self.port = int(lines[3])
        return pid


@dataclass
class PrivateMariaDB:
    """A MariaDB server in `directory` with the binlog on, as row-based CDC needs it."""

    directory: Path
    port: int = 0
    server_id: int = 1
    settings: dict[str, str] = field(default_factory=dict)
    pid: int | None = None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def socket(self) -> Path:
        return self.directory / "mysqld.sock"

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/mysql"

    def url_for(self, database: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def install(self) -> None:
        """Create the system tables unless they exist."""
        if (self.data / "mysql").exists():
            return
        installer = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if installer is None:
            raise KuaikeError(
                "mariadb-install-db not found; install MariaDB (apt-get install mariadb-server)"
            )
        self.data.mkdir(parents=True, exist_ok=True)
        user = "root" if _is_root() else pwd.getpwuid(os.getuid()).pw_name
        command = [
            installer,
            "--no-defaults",
            f"--datadir={self.data}",
            f"--user={user}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise KuaikeError(f"mariadb-install-db failed in {self.data}: {result.stderr.strip()}")

    def start(self) -> PrivateMariaDB:
        """Start mariadbd (installing first if needed); wait until it accepts connections."""
        self.install()
        self.port = self.port or free_port()
        server = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        options = {
            "datadir": str(self.data),
            "port": str(self.port),
            "bind-address": "127.0.0.1",
            "socket": str(self.socket),
            "pid-file": str(self.directory / "mariadbd.pid"),
            "log-error": str(self.directory / "mariadbd.err"),
            "log-bin": str(self.data / "binlog"),
            "server-id": str(self.server_id),
            "binlog-format": "ROW",
            "binlog-row-image": "FULL",
            "binlog-row-metadata": "FULL",
            "character-set-server": "utf8mb4",
            "collation-server": "utf8mb4_general_ci",
            "innodb-buffer-pool-size": "256M",
            **self.settings,
        }
        command = [server, "--no-defaults"]
        if _is_root():
            command.append("--user=root")
        command += [f"--{key}={value}" for key, value in options.items()]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = process.pid
        self._wait_ready(process)
        return self

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = Path(self.directory / "mariadbd.err")
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise KuaikeError(f"mariadbd in {self.data} did not start: {tail.strip()}")
            if _port_open(self.port):
                return
            time.sleep(0.1)
        raise KuaikeError(f"mariadbd in {self.data} did not start in {START_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        """Shut down by pid (SIGTERM), waiting until the server is gone."""
        if self.pid is not None:
            stop_pid(self.pid, signal.SIGTERM, timeout=60)
            self.pid = None

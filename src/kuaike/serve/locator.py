"""The server file: `<store>.server.json` next to the store, naming the running server.

    {"url": "http://127.0.0.1:8765", "pid": 4242, "store": "/…/kuaike.duckdb"}

`kuaike run` writes it once it listens and removes it when it stops. A CLI command reads it to
talk to the process holding the store; a file whose pid is gone (a killed process) is stale:
it is removed and the command opens the store itself. The token is never written here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerInfo:
    """Where the server of one store listens, and which process it is."""

    url: str
    pid: int
    store: str


def server_file(store: Path) -> Path:
    """The server file of `store`."""
    return store.with_name(store.name + ".server.json")


def write(store: Path, info: ServerInfo) -> None:
    """Publish `info` atomically (readers never see half a file)."""
    path = server_file(store)
    partial = path.with_name(path.name + f".{os.getpid()}")
    partial.write_text(json.dumps(asdict(info)), encoding="utf-8")
    partial.replace(path)


def remove(store: Path, pid: int) -> None:
    """Remove the server file if it is still `pid`'s."""
    info = read(store)
    if info is not None and info.pid == pid:
        server_file(store).unlink(missing_ok=True)


def read(store: Path) -> ServerInfo | None:
    """The server file's content; None when there is none or it cannot be read."""
    try:
        data = json.loads(server_file(store).read_text(encoding="utf-8"))
        return ServerInfo(str(data["url"]), int(data["pid"]), str(data["store"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def alive(pid: int) -> bool:
    """Whether process `pid` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def running(store: Path) -> ServerInfo | None:
    """The live server of `store`, or None; a stale file (its pid gone) is removed."""
    info = read(store)
    if info is None:
        return None
    if not alive(info.pid):
        server_file(store).unlink(missing_ok=True)
        return None
    return info

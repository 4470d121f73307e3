"""Setup errors are recognised by SQLSTATE and by asking the server, never by message text: a
server whose lc_messages is German gives exactly the same kuaike errors as one speaking English.

The German locale is built privately (localedef into a temporary LOCPATH) from the system's
locale sources, so nothing on the machine changes; PostgreSQL's own German messages come with
its server package.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from pg_replica import CaptureThread, cli_env, kuaike, pg, settings

from kuaike import pipeline
from kuaike.business.servers import PrivatePostgres
from kuaike.errors import KuaikeError

GERMAN = "de_DE.UTF-8"


def _german_locale(root: Path) -> Path:
    """A directory holding a compiled de_DE.UTF-8 locale, for LOCPATH."""
    locales = root / "locales"
    locales.mkdir()
    subprocess.run(
        ["localedef", "-i", "de_DE", "-f", "UTF-8", str(locales / GERMAN)],
        check=True,
        capture_output=True,
    )
    for path in [locales, *locales.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # the server runs as user postgres
    return locales


def _start(directory: Path, settings: dict[str, str], locpath: Path | None) -> PrivatePostgres:
    previous = os.environ.get("LOCPATH")
    if locpath is not None:
        os.environ["LOCPATH"] = str(locpath)  # inherited by the server process only
    try:
        return PrivatePostgres(directory, settings=settings).start()
    finally:
        if previous is None:
            os.environ.pop("LOCPATH", None)
        else:
            os.environ["LOCPATH"] = previous


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, PrivatePostgres]]:
    """An English and a German server, each with a password user for the login tests."""
    root = tmp_path_factory.mktemp("languages")
    locpath = _german_locale(root)
    started = {
        "en": _start(root / "en", {"lc_messages": "C"}, None),
        "de": _start(root / "de", {"lc_messages": GERMAN}, locpath),
    }
    for server in started.values():
        _require_passwords(server)
    yield started
    for server in started.values():
        server.stop()


def _require_passwords(server: PrivatePostgres) -> None:
    """User `clerk` logs in with a password; everyone else as initdb set up (trust)."""
    conn = pg(server.url_for("postgres"))
    with conn.cursor() as cur:
        cur.execute("CREATE ROLE clerk LOGIN PASSWORD 'right'")
        cur.execute("CREATE DATABASE shop")
        cur.execute("SHOW hba_file")
        hba = Path(str(cur.fetchone()[0]))
    hba.write_text("host all clerk 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with conn.cursor() as cur:
        cur.execute("SELECT pg_reload_conf()")
    conn.close()


def test_the_german_server_really_speaks_german(servers: dict[str, PrivatePostgres]) -> None:
    conn = pg(servers["de"].url_for("postgres"))
    with conn.cursor() as cur, pytest.raises(psycopg2.Error) as raised:
        cur.execute("SELECT * FROM nirgends")
    conn.close()
    assert "existiert nicht" in str(raised.value)
    with pytest.raises(psycopg2.Error) as login:
        psycopg2.connect(host="127.0.0.1", port=servers["de"].port, user="clerk", password="x")
    assert "Passwort-Authentifizierung" in str(login.value)


def _same_line(servers: dict[str, PrivatePostgres], line_for: object) -> str:
    """`line_for(server)` on both servers, with ports and pids masked: the two must agree."""
    lines = {}
    for language, server in servers.items():
        line = line_for(server)  # type: ignore[operator]
        line = line.replace(str(server.port), "PORT")
        lines[language] = re.sub(r"pid \d+", "pid N", line)
    assert lines["de"] == lines["en"]
    return lines["en"]


def _cli_line(url: str, store: Path) -> str:
    result = kuaike(["capture", "--until-caught-up"], cli_env(url, store))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_wrong_password_is_the_same_error(
    servers: dict[str, PrivatePostgres], tmp_path: Path
) -> None:
    def line(server: PrivatePostgres) -> str:
        url = f"postgresql://clerk:wrong@127.0.0.1:{server.port}/shop"
        return _cli_line(url, tmp_path / f"{server.port}.db")

    assert "refused user 'clerk'; check the user and password" in _same_line(servers, line)


def test_a_missing_database_is_the_same_error(
    servers: dict[str, PrivatePostgres], tmp_path: Path
) -> None:
    def line(server: PrivatePostgres) -> str:
        return _cli_line(server.url_for("nowhere"), tmp_path / f"{server.port}.db")

    assert "database 'nowhere' does not exist" in _same_line(servers, line)


def test_an_unknown_user_is_the_same_error(
    servers: dict[str, PrivatePostgres], tmp_path: Path
) -> None:
    def line(server: PrivatePostgres) -> str:
        url = f"postgresql://nobody@127.0.0.1:{server.port}/shop"
        return _cli_line(url, tmp_path / f"{server.port}.db")

    assert "refused user 'nobody'" in _same_line(servers, line)


def test_a_user_without_replication_is_the_same_error(
    servers: dict[str, PrivatePostgres], tmp_path: Path
) -> None:
    def line(server: PrivatePostgres) -> str:
        url = f"postgresql://clerk:right@127.0.0.1:{server.port}/shop"
        return _cli_line(url, tmp_path / f"{server.port}.db")

    assert "lacks the REPLICATION privilege" in _same_line(servers, line)


def test_a_slot_in_use_is_the_same_error(
    servers: dict[str, PrivatePostgres], tmp_path: Path
) -> None:
    def line(server: PrivatePostgres) -> str:
        url = server.url_for("shop")
        first = CaptureThread(url, tmp_path / f"first-{server.port}.db")
        try:
            first.wait(lambda: _slot_active(url), "the first capture to stream")
            with pytest.raises(KuaikeError) as raised:
                second = settings(url, tmp_path / f"second-{server.port}.db")
                pipeline.run_capture(second, threading.Event())
            return str(raised.value)
        finally:
            first.stop()

    assert "is in use by another process (pid N)" in _same_line(servers, line)


def test_a_slot_of_another_database_is_the_same_error(
    servers: dict[str, PrivatePostgres], tmp_path: Path
) -> None:
    def line(server: PrivatePostgres) -> str:
        conn = pg(server.url_for("postgres"))
        with conn.cursor() as cur:
            cur.execute("SELECT pg_create_logical_replication_slot('taken', 'pgoutput')")
        conn.close()
        return _taken(server.url_for("shop"), tmp_path / f"{server.port}.db")

    assert "already exists on the server" in _same_line(servers, line)


def _taken(url: str, store: Path) -> str:
    env = {**cli_env(url, store), "KUAIKE_CAPTURE_SLOT_NAME": "taken"}
    result = kuaike(["capture", "--until-caught-up"], env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, lines
    return lines[0]


def _slot_active(url: str) -> bool:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_replication_slots WHERE active_pid IS NOT NULL")
        row = cur.fetchone()
    conn.close()
    return bool(row and row[0])

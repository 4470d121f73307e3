"""podman for the container tests: the repository's containers.conf, images built once per
session (the base image is kept in podman's storage between runs), containers removed by name.

Host networking throughout: this machine has no container DNS, and every server listens on
127.0.0.1 at a free port (never 5432 or 3306, which belong to other servers here).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg2
import pymysql

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "CONTAINERS_CONF": str(REPO / "containers" / "containers.conf")}
IMAGE = "localhost/kuaike:test"
POSTGRES_IMAGE = "localhost/kuaike-test/postgres:15"
MARIADB_IMAGE = "localhost/kuaike-test/mariadb:10.11"

# A carrier small enough to copy and capture in seconds.
SIMULATION = [
    "--seed", "11", "--orders-per-day", "300", "--companies", "2", "--warehouses", "8",
    "--dots", "15", "--couriers-per-dot", "2", "--customers", "150", "--workers", "1",
]  # fmt: skip


def podman(
    *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run podman with the repository's settings; raise with its stderr when it fails."""
    result = subprocess.run(
        ["podman", *args], env=ENV, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed: {result.stderr[-3000:]}")
    return result


def build_image(tag: str = IMAGE) -> float:
    """`make image`'s script; returns the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "containers/build-image.sh", tag],
        cwd=REPO, env=ENV, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return time.monotonic() - started


def build_database_images() -> None:
    """The PostgreSQL and MariaDB stand-ins for the official images (Debian packages)."""
    for tag, folder in [(POSTGRES_IMAGE, "postgres"), (MARIADB_IMAGE, "mariadb")]:
        podman("build", "--format", "docker", "--layers", "-q", "-t", tag,
               str(REPO / "containers" / folder))  # fmt: skip


def image_id(tag: str) -> str:
    return podman("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()


def inspect(name: str) -> dict[str, Any]:
    result: list[dict[str, Any]] = json.loads(podman("inspect", name).stdout)
    return result[0]


def run_detached(name: str, image: str, *args: str, env: dict[str, str] | None = None,
                 volumes: Sequence[str] = ()) -> None:  # fmt: skip
    """Start a container on the host network (removed first if one of that name is left)."""
    podman("rm", "--force", "--ignore", name)
    options = ["--detach", "--name", name, "--network", "host"]
    for key, value in (env or {}).items():
        options += ["--env", f"{key}={value}"]
    for volume in volumes:
        options += ["--volume", volume]
    podman("run", *options, image, *args)


def run_kuaike(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A one-off `kuaike ...` in the image (the simulator, say), on the host network."""
    options = ["--rm", "--network", "host", "--no-healthcheck"]
    for key, value in env.items():
        options += ["--env", f"{key}={value}"]
    return podman("run", *options, IMAGE, *args, timeout=300)


def connects(url: str) -> bool:
    """True once PostgreSQL at `url` accepts a login."""
    psycopg2.connect(url).close()
    return True


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> Any:
    """Poll `condition` until it returns something truthy (exceptions count as not yet)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def healthy(name: str) -> bool:
    """Run the image's HEALTHCHECK once (health checks never run by themselves here)."""
    return podman("healthcheck", "run", name, check=False).returncode == 0


def postgres_counts(url: str) -> dict[str, int]:
    """Rows per table in the public schema of `url`."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
            tables = [row[0] for row in cur.fetchall()]
            counts = {}
            for table in tables:
                cur.execute(f'SELECT count(*) FROM "{table}"')
                counts[table] = cur.fetchone()[0]  # type: ignore[index]
        return counts
    finally:
        conn.close()


def mysql_counts(host: str, port: int, user: str, password: str, database: str) -> dict[str, int]:
    """Rows per table of a MySQL/MariaDB database."""
    conn = pymysql.connect(host=host, port=port, user=user, password=password, database=database)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'")
            tables = [row[0] for row in cur.fetchall()]
            counts = {}
            for table in tables:
                cur.execute(f"SELECT count(*) FROM `{table}`")
                counts[table] = cur.fetchone()[0]  # type: ignore[index]
        return counts
    finally:
        conn.close()


def replica_table(source_table: str) -> str:
    """The replica's name of a source table (CRM tables are renamed crm_x -> tbl_x)."""
    return "tbl_" + source_table[4:] if source_table.startswith("crm_") else source_table


def replica_counts(
    api: str, token: str | None, tables: Sequence[str], absent_is_empty: bool = False
) -> dict[str, int]:
    """Rows per source table in its `ods.*` copy in the running kuaike, over its SQL console
    (a table not in the replica is an error, or 0 rows with `absent_is_empty`)."""
    import httpx

    sql = " UNION ALL ".join(
        f"SELECT '{t}' AS t, count(*) AS n FROM ods.{replica_table(t)}" for t in tables
    )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(f"{api}/api/sql", json={"sql": sql}, headers=headers, timeout=10)
    if absent_is_empty and answer.status_code == 403 and "does not exist" in answer.text:
        return dict.fromkeys(tables, 0)
    answer.raise_for_status()
    return {row[0]: row[1] for row in answer.json()["rows"]}

"""Session fixtures: real servers, started privately, stopped by their pid at the end.

- `pg_server`: a PostgreSQL cluster with wal_level=logical (system binaries, as user postgres
  when the tests run as root), 127.0.0.1 on a free port.
- `mariadb_server`: a mariadbd with the binlog on, ROW format, FULL row image and metadata.
- `pg_url` / `mysql_url`: a fresh, empty database on those servers for one test.
- `spark`: one PySpark session (local[2]) for the whole run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pymysql
import pytest

from kuaike.business.servers import PrivateMariaDB, PrivatePostgres
from tests.kafka_broker import Tansu

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(
        tmp_path_factory.mktemp("postgres"),
        settings={
            "fsync": "off",
            "full_page_writes": "off",
            "max_wal_size": "2GB",
            "max_replication_slots": "64",  # many tests capture from one server
            "max_wal_senders": "64",
        },
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateMariaDB]:
    server = PrivateMariaDB(
        tmp_path_factory.mktemp("mariadb"),
        settings={"innodb-flush-log-at-trx-commit": "2", "sync-binlog": "0"},
    ).start()
    yield server
    server.stop()


def new_pg_database(server: PrivatePostgres, prefix: str = "t") -> str:
    """Create an empty database on `server` and return its URL."""
    name = f"{prefix}_{next(_database_numbers)}"
    conn = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return server.url_for(name)


def new_mysql_database(server: PrivateMariaDB, prefix: str = "t") -> str:
    """Create an empty database on `server` and return its URL."""
    name = f"{prefix}_{next(_database_numbers)}"
    conn = pymysql.connect(host="127.0.0.1", port=server.port, user="root")
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` DEFAULT CHARSET utf8mb4")
    conn.close()
    return server.url_for(name)


@pytest.fixture
def pg_url(pg_server: PrivatePostgres) -> Iterator[str]:
    url = new_pg_database(pg_server)
    yield url
    drop_slots(pg_server, url.rsplit("/", 1)[1])


def drop_slots(server: PrivatePostgres, database: str) -> None:
    """Drop the idle replication slots of `database` (the shared server has a limited number)."""
    conn = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE database = %s AND NOT active",
            (database,),
        )
    conn.close()


@pytest.fixture
def mysql_url(mariadb_server: PrivateMariaDB) -> str:
    return new_mysql_database(mariadb_server)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working directory with no KUAIKE_* variables set."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("KUAIKE_")]:
        monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    """Tansu (memory only) on 127.0.0.1; tests use topics of their own names."""
    broker = Tansu(tmp_path_factory.mktemp("tansu") / "tansu.log").start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One Spark session for the whole test run (local[2], UI off, bound to 127.0.0.1): starting
    one costs about 10 s."""
    from kuaike.warehouse.engines.spark import session

    started = session("local[2]", shuffle_partitions=1, driver_memory="1g")
    yield started
    started.stop()

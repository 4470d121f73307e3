"""A carrier being captured by the pipeline process, its data service on a free port.

`carrier`: a PostgreSQL database with two days of simulated history up to now, captured by
`pipeline.run_capture(serve_at=...)` in a thread of this process (the real uvicorn server, the
real store), with one warehouse build done over HTTP.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

# capture's helpers (pg_replica) are imported by bare name, as in tests/capture itself
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "capture"))

from pg_replica import cli_env, kuaike, pg, slot_for, wait_for

from kuaike import pipeline
from kuaike.business.servers import PrivatePostgres
from kuaike.config import CaptureSettings, ServeSettings, Settings
from tests.conftest import new_pg_database

SIMULATION = [
    "--seed", "7", "--orders-per-day", "400", "--companies", "3", "--warehouses", "8",
    "--dots", "20", "--couriers-per-dot", "3", "--customers", "150", "--workers", "1",
]  # fmt: skip


def simulate(env: dict[str, str], *args: str) -> None:
    result = kuaike(["simulate", *args, *SIMULATION], env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


@dataclass
class Pipeline:
    """`pipeline.run_capture` serving on 127.0.0.1, in a thread, stopped by `stop()`."""

    settings: Settings
    stop_event: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    error: BaseException | None = None

    def start(self) -> Pipeline:
        self.thread = threading.Thread(target=self._run, name="test-pipeline")
        self.thread.start()
        wait_for(lambda: self.url or self.error, 60, "the server to listen")
        if self.error is not None:
            raise self.error
        return self

    def _run(self) -> None:
        try:
            pipeline.run_capture(
                self.settings,
                self.stop_event,
                serve_at=("127.0.0.1", 0),
                on_serving=lambda url: setattr(self, "url", url),
            )
        except BaseException as exc:
            self.error = exc

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the pipeline did not stop"
        if self.error is not None:
            raise self.error

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@dataclass
class Carrier:
    url: str
    crm: str
    store: Path
    env: dict[str, str]
    settings: Settings
    running: Pipeline
    built: dict[str, Any]


def carrier_settings(url: str, store: Path, crm: str | None = None, **serve: Any) -> Settings:
    return Settings(
        logistics_url=url,
        crm_url=crm,
        store=store,
        data_dir=store.parent / "data",
        capture=CaptureSettings(slot_name=slot_for(url)),
        serve=ServeSettings(**serve),
    )


def simulated_carrier(
    pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory, name: str, days: int
) -> tuple[str, str, Path, dict[str, str]]:
    """Logistics and CRM databases named after `name` with `days` of simulated history up to
    now, and a store path and CLI environment for them: (url, crm, store, env)."""
    tmp = tmp_path_factory.mktemp(name)
    url, crm = new_pg_database(pg_server, name), new_pg_database(pg_server, f"{name}_crm")
    store = tmp / "kuaike.duckdb"
    env = cli_env(url, store, KUAIKE_DATA_DIR=str(tmp / "data"), KUAIKE_CRM_URL=crm)
    end = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    simulate(env, "--history-days", str(days), "--end", end)
    return url, crm, store, env


def snapshotted(client: httpx.Client) -> bool:
    sources = client.get("/api/pipeline").json()["sources"]
    return all(s["phase"] == "streaming" for s in sources)


@pytest.fixture(scope="module")
def carrier(
    pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Carrier]:
    url, crm, store, env = simulated_carrier(pg_server, tmp_path_factory, "serve", days=2)
    running = Pipeline(carrier_settings(url, store, crm)).start()
    try:
        with running.client() as client:
            wait_for(lambda: snapshotted(client), 120, "the snapshot")
            built = client.post("/api/build", json={}).json()
        yield Carrier(url, crm, store, env, running.settings, running, built)
    finally:
        running.stop()


SERVE_DATABASES = ("serve%", "hostile%", "small%")  # the databases these tests create


@pytest.fixture(autouse=True, scope="module")
def _drop_our_slots(pg_server: PrivatePostgres) -> Iterator[None]:
    """Drop the replication slots this module's pipelines made: the session server has a
    fixed number of slots for every test of the suite."""
    yield
    conn = pg(pg_server.url_for("postgres"))
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE NOT active AND database LIKE ANY(%s)",
            (list(SERVE_DATABASES),),
        )
    conn.close()

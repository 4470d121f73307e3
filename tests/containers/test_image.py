"""The kuaike image: built from the Dockerfile on the local base, rebuilt from cache, run
against a PostgreSQL container while the simulator writes, stopped by SIGTERM, restarted."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kuaike.business.servers import free_port
from tests.containers.podman import (
    IMAGE,
    POSTGRES_IMAGE,
    SIMULATION,
    build_image,
    connects,
    healthy,
    image_id,
    inspect,
    podman,
    postgres_counts,
    replica_counts,
    run_detached,
    run_kuaike,
    wait_for,
)

pytestmark = pytest.mark.containers


def test_rebuild_without_source_change_is_served_from_cache(kuaike_image: str) -> None:
    before = image_id(kuaike_image)
    seconds = build_image()
    print(f"\nrebuild with no source change: {seconds:.1f}s")
    assert image_id(kuaike_image) == before
    assert seconds < 10


def test_image_runs_as_kuaike_with_tini_and_a_healthcheck(kuaike_image: str) -> None:
    config = podman("image", "inspect", kuaike_image).stdout
    assert '"User": "kuaike"' in config
    assert '"tini",' in config and '"run"' in config
    assert "/healthz" in config
    assert '"/var/lib/kuaike": {}' in config


@pytest.fixture
def postgres_container(database_images: None) -> Iterator[tuple[str, str]]:
    """A PostgreSQL container (wal_level=logical) on 127.0.0.1; its name and database URL."""
    port = free_port()
    name = f"kuaike-test-pg-{port}"
    run_detached(
        name,
        POSTGRES_IMAGE,
        *("postgres", "-c", "wal_level=logical", "-c", "listen_addresses=127.0.0.1"),
        *("-c", f"port={port}"),
        env={"POSTGRES_USER": "kuaike", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "logistics"},
    )
    url = f"postgresql://kuaike:pw@127.0.0.1:{port}/logistics"
    wait_for(lambda: connects(url), 60, "PostgreSQL in its container")
    yield name, url
    podman("rm", "--force", "--ignore", name)


def test_image_serves_live_figures_and_stops_on_sigterm_with_the_store_intact(
    kuaike_image: str, postgres_container: tuple[str, str], tmp_path: Path
) -> None:
    _, url = postgres_container
    env = {"KUAIKE_LOGISTICS_URL": url}
    result = run_kuaike("simulate", "--history-days", "2", *SIMULATION, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o777)  # the image's user (uid 10001) writes the store here
    port = free_port()
    name, simulator = f"kuaike-test-run-{port}", f"kuaike-test-sim-{port}"
    api = f"http://127.0.0.1:{port}"
    try:
        # The port by KUAIKE_SERVE_PORT, which the image's health check reads too.
        run_detached(name, IMAGE, env={**env, "KUAIKE_SERVE_PORT": str(port)},
                     volumes=[f"{data}:/var/lib/kuaike"])  # fmt: skip
        wait_for(lambda: healthy(name), 90, "kuaike's health check")
        run_detached(simulator, IMAGE, "simulate", "--rate", "20", *SIMULATION, env=env)

        def live_orders() -> int:
            answer = httpx.get(f"{api}/api/live", timeout=5).json()
            return int(answer["figures"]["orders"] or 0)

        wait_for(live_orders, 60, "today's orders in /api/live")

        started = time.monotonic()
        podman("kill", "--signal", "TERM", name)
        podman("wait", name, timeout=30)
        stopped_in = time.monotonic() - started
        print(f"\nSIGTERM to exit: {stopped_in:.2f}s")
        assert inspect(name)["State"]["ExitCode"] == 0, podman("logs", name).stderr[-2000:]
        assert stopped_in < 10
        assert (data / "kuaike.duckdb").exists()

        podman("rm", "--force", simulator)  # the sources stop changing
        podman("start", name)  # the same store: resumes from its stored positions
        wait_for(lambda: healthy(name), 90, "kuaike's health check after the restart")
        sources = postgres_counts(url) | postgres_counts(url.rsplit("/", 1)[0] + "/crm")
        wait_for(
            lambda: replica_counts(api, None, list(sources)) == sources,
            90,
            "the replica to match the sources after the restart",
        )
        assert sources["tbl_express_bill"] > 0
        log = podman("logs", name).stderr
        copies = log.count("logistics: snapshot of tbl_express_bill:")
        assert copies == 1, "the restart copied the tables again"
    finally:
        podman("rm", "--force", "--ignore", simulator)
        podman("rm", "--force", "--ignore", name)

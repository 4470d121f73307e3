"""compose.yaml brought up with podman-compose: PostgreSQL, MariaDB and kuaike, the simulator
writing into both sources, the replica matching them table by table, and `down` leaving
nothing behind. containers/compose.host.yaml puts every service on the host network at free
ports on 127.0.0.1; the env file picks the locally built database images."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from kuaike.business.servers import free_port
from tests.containers.podman import (
    ENV,
    MARIADB_IMAGE,
    POSTGRES_IMAGE,
    REPO,
    SIMULATION,
    healthy,
    mysql_counts,
    podman,
    postgres_counts,
    replica_counts,
    run_kuaike,
    wait_for,
)

pytestmark = pytest.mark.containers

COMPOSE = Path(sys.executable).with_name("podman-compose")


class Stack:
    """One compose project from compose.yaml + the host-network overlay."""

    def __init__(self, kuaike_image: str, tmp_path: Path) -> None:
        self.ports = {name: free_port() for name in ("kuaike", "postgres", "mariadb")}
        self.project = f"kuaike-test-{self.ports['kuaike']}"
        self.token = "compose-test-token"
        pg, my = self.ports["postgres"], self.ports["mariadb"]
        self.logistics_url = f"postgresql://kuaike:pg-secret@127.0.0.1:{pg}/logistics"
        self.crm_url = f"mysql://kuaike:crm-secret@127.0.0.1:{my}/crm"
        settings = {
            "KUAIKE_IMAGE": kuaike_image,
            "POSTGRES_IMAGE": POSTGRES_IMAGE,
            "MARIADB_IMAGE": MARIADB_IMAGE,
            "KUAIKE_SERVE_TOKEN": self.token,
            "KUAIKE_SERVE_PORT": str(self.ports["kuaike"]),
            "POSTGRES_PASSWORD": "pg-secret",
            "MARIADB_PASSWORD": "crm-secret",
            "MARIADB_ROOT_PASSWORD": "root-secret",
            "POSTGRES_PORT": str(pg),
            "MARIADB_PORT": str(my),
            "KUAIKE_LOGISTICS_URL": self.logistics_url,
            "KUAIKE_CRM_URL": self.crm_url,
        }
        self.env_file = tmp_path / "compose.env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(COMPOSE), "--env-file", str(self.env_file), "-p", self.project,
                   "-f", "compose.yaml", "-f", "containers/compose.host.yaml", *args]  # fmt: skip
        result = subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True,
                                timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result

    def left_behind(self) -> list[str]:
        """Containers, pods and volumes of this project that still exist."""
        label = f"label=io.podman.compose.project={self.project}"
        found = podman("ps", "--all", "--filter", label, "--format", "{{.Names}}").stdout.split()
        found += podman("pod", "ps", "--filter", f"name=pod_{self.project}", "--format",
                        "{{.Name}}").stdout.split()  # fmt: skip
        volumes = podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
        return found + [v for v in volumes if v.startswith(f"{self.project}_")]


@pytest.fixture
def stack(kuaike_image: str, database_images: None, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(kuaike_image, tmp_path)
    try:
        yield stack
    finally:
        if stack.left_behind():
            stack.compose("down", "--volumes")


def mariadb_ready(stack: Stack) -> bool:
    port = stack.ports["mariadb"]
    pymysql.connect(host="127.0.0.1", port=port, user="kuaike", password="crm-secret").close()
    return True


def test_compose_stack_replicates_both_sources_and_down_leaves_nothing(stack: Stack) -> None:
    stack.compose("up", "--detach")
    api = f"http://127.0.0.1:{stack.ports['kuaike']}"
    wait_for(lambda: postgres_counts(stack.logistics_url) == {}, 60, "the logistics database")
    wait_for(lambda: mariadb_ready(stack), 60, "the CRM database")
    wait_for(lambda: healthy(f"{stack.project}_kuaike_1"), 90, "kuaike's health check")

    env = {"KUAIKE_LOGISTICS_URL": stack.logistics_url, "KUAIKE_CRM_URL": stack.crm_url}
    history = run_kuaike("simulate", "--history-days", "1", *SIMULATION, env=env)
    assert history.returncode == 0, history.stderr[-2000:]
    live = run_kuaike("simulate", "--rate", "20", "--duration", "5", *SIMULATION, env=env)
    assert live.returncode == 0, live.stderr[-2000:]

    port = stack.ports["mariadb"]
    crm = mysql_counts("127.0.0.1", port, "kuaike", "crm-secret", "crm")
    sources = postgres_counts(stack.logistics_url) | crm
    assert set(crm) == {"crm_address", "crm_customer", "crm_consumer_address_map"}
    assert crm["crm_customer"] > 0 and sources["tbl_express_bill"] > 0
    # kuaike started before the simulator created the tables: a table created later appears in
    # the replica with its first change, so the tables still empty may not be there at all.
    filled = {table: rows for table, rows in sources.items() if rows}
    wait_for(
        lambda: replica_counts(api, stack.token, list(filled)) == filled,
        120,
        "the replica to match both sources, table by table",
    )
    for table in set(sources) - set(filled):
        assert replica_counts(api, stack.token, [table], absent_is_empty=True) == {table: 0}

    stack.compose("down", "--volumes")
    assert stack.left_behind() == []

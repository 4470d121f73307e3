"""The CRM is captured wherever `schema create` and `simulate` put it: with only the logistics URL
set, that is database `crm` on the logistics server, and capture reads it there too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_replica import cli_env, kuaike, replica_rows, source_columns, source_rows

from kuaike.business.servers import PrivatePostgres


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A server of this test's own: its database `crm` must not reach other tests' captures."""
    server = PrivatePostgres(tmp_path / "pg").start()
    yield server
    server.stop()


def test_only_a_logistics_url_captures_the_crm_beside_it(
    own_server: PrivatePostgres, tmp_path: Path
) -> None:
    url = own_server.url_for("logistics")
    store = tmp_path / "k.duckdb"
    env = cli_env(url, store)
    for command in (
        ["schema", "create"],
        ["simulate", "--history-days", "1", "--orders-per-day", "30", "--seed", "3"],
        ["capture", "--until-caught-up", "--json"],
    ):
        result = kuaike(command, env)
        assert result.returncode == 0, result.stderr
    assert '"crm"' in result.stdout
    crm = own_server.url_for("crm")
    for table in ("crm_customer", "crm_address"):
        _same(crm, store, table)


def _same(crm: str, store: Path, table: str) -> None:
    columns = source_columns(crm, table)
    expected = source_rows(crm, table, columns)
    assert expected, f"the simulator wrote no {table}"
    assert replica_rows(store, table.replace("crm_", "tbl_"), columns) == expected

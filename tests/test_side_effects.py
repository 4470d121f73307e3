"""Commands have no surprising side effects: looking starts nothing, a mistyped path creates
nothing, a failed first capture leaves no empty store, and mistakes are one line."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kuaike.business import embedded
from kuaike.business.servers import free_port
from kuaike.config import Settings
from tests.test_cli import assert_one_clear_line, kuaike


def test_status_never_starts_the_embedded_database(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / ".kuaike-store.duckdb")).close()  # a store, and no URL
    (tmp_path / ".kuaike").mkdir()
    result = kuaike("status", "--json", env={"KUAIKE_STORE": ".kuaike-store.duckdb"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert embedded.status(Settings(data_dir=tmp_path / ".kuaike").data_dir) is None
    assert not (tmp_path / ".kuaike" / "postgres").exists()  # no initdb either


def test_a_store_in_a_missing_directory_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    store = tmp_path / "no" / "such" / "dir" / "k.duckdb"
    env = {"KUAIKE_STORE": str(store), "KUAIKE_LOGISTICS_URL": "postgresql://u@127.0.0.1:1/x"}
    for command in ("capture", "build"):
        result = kuaike(command, env=env, cwd=tmp_path)
        assert_one_clear_line(result, str(store.parent))
    assert not (tmp_path / "no").exists()


def test_a_capture_that_cannot_connect_leaves_no_store_file(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    store = tmp_path / "k.duckdb"
    result = kuaike("capture", env={"KUAIKE_STORE": str(store), "KUAIKE_LOGISTICS_URL": url})
    assert_one_clear_line(result, "cannot connect to PostgreSQL")
    assert list(tmp_path.iterdir()) == []


def test_init_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    assert_one_clear_line(kuaike("init", str(tmp_path / "no" / "k.toml")), "cannot write")


def test_an_unknown_kuaike_variable_is_one_line_like_an_unknown_key(tmp_path: Path) -> None:
    result = kuaike("status", env={"KUAIKE_STOER": "x.duckdb"}, cwd=tmp_path)
    assert_one_clear_line(result, "unknown environment variable KUAIKE_STOER")
    assert result.returncode == 2

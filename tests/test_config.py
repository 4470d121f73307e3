"""Settings from kuaike.toml and KUAIKE_* variables, and one clear line per bad key or value."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuaike import config
from kuaike.errors import ConfigError


def test_defaults_without_file_or_environment(workdir: Path) -> None:
    settings = config.load(environ={})
    assert settings.logistics_url is None
    assert settings.store_path == Path(".kuaike") / "kuaike.duckdb"
    assert settings.capture.include == ["*"]


def test_the_four_operator_variables_are_honoured(workdir: Path) -> None:
    settings = config.load(
        environ={
            "KUAIKE_LOGISTICS_URL": "postgresql://u:p@db:5432/logistics",
            "KUAIKE_CRM_URL": "mysql://u:p@crm:3306/crm",
            "KUAIKE_STORE": "/srv/replica.duckdb",
            "KUAIKE_DATA_DIR": "/srv/kuaike",
        }
    )
    assert settings.logistics_url == "postgresql://u:p@db:5432/logistics"
    assert settings.crm_url == "mysql://u:p@crm:3306/crm"
    assert settings.store_path == Path("/srv/replica.duckdb")
    assert settings.data_dir == Path("/srv/kuaike")


def test_environment_overrides_the_file_and_sections_merge(workdir: Path) -> None:
    (workdir / "kuaike.toml").write_text(
        'data_dir = "from-file"\n[capture]\nslot_name = "file_slot"\nbatch_max_rows = 10\n'
    )
    settings = config.load(
        environ={"KUAIKE_DATA_DIR": "from-env", "KUAIKE_CAPTURE_INCLUDE": "tbl_a, tbl_b"}
    )
    assert settings.data_dir == Path("from-env")
    assert settings.capture.slot_name == "file_slot"
    assert settings.capture.batch_max_rows == 10
    assert settings.capture.include == ["tbl_a", "tbl_b"]


def test_each_bad_value_gets_one_line_naming_key_and_variable(workdir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(
            environ={"KUAIKE_CAPTURE_BATCH_MAX_ROWS": "lots", "KUAIKE_LOGISTICS_URL": "mysql://x"}
        )
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert any(
        "capture.batch_max_rows" in line and "KUAIKE_CAPTURE_BATCH_MAX_ROWS" in line
        for line in lines
    )
    assert any("logistics_url" in line and "postgresql://" in line for line in lines)


def test_unknown_key_and_bad_toml_are_reported(workdir: Path) -> None:
    (workdir / "kuaike.toml").write_text("[capture]\nslot = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'capture\.slot'"):
        config.load(environ={})
    (workdir / "kuaike.toml").write_text("logistics_url = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(environ={})


def test_missing_explicit_config_file(workdir: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(Path("nowhere.toml"), environ={})


def test_template_loads_back_to_the_defaults(workdir: Path) -> None:
    (workdir / "kuaike.toml").write_text(config.template())
    assert config.load(environ={}) == config.Settings()
    for key, variable, _ in config.all_keys():
        assert variable in config.template(), key

"""The docs keep up with the code: every CLI command and config key appears in docs/."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from kuaike import config
from kuaike.cli import cli

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _all_docs() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(DOCS.rglob("*.md")))


def _command_paths(group: click.Group, prefix: str = "kuaike") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths += _command_paths(command, path)
        else:
            paths.append(path)
    return paths


@pytest.mark.parametrize("command", _command_paths(cli))
def test_every_cli_command_is_documented(command: str) -> None:
    assert f"`{command}" in _all_docs(), f"{command!r} is not described in docs/"


@pytest.mark.parametrize("key", [key for key, _, _ in config.all_keys()])
def test_every_config_key_is_documented(key: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert f"`{key}`" in text, f"config key {key!r} is missing from docs/configuration.md"


@pytest.mark.parametrize("key", [key for key, _, _ in config.all_keys()])
def test_every_config_key_has_a_description(key: str) -> None:
    descriptions = {name: text for name, _, text in config.all_keys()}
    assert descriptions[key].strip(), f"config key {key!r} has no docstring"

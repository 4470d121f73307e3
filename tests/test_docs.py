"""The docs keep up with the code: every CLI command, config key and API route appears in docs/."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from kuaike import config
from kuaike.cli import cli
from kuaike.serve import api

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


def _routes() -> list[str]:
    """Every route of the data service as `METHOD /path`."""
    return sorted(
        f"{method} {getattr(route, 'path', '')}"
        for route in api.router.routes
        for method in getattr(route, "methods", set()) - {"HEAD"}
    )


def test_the_data_service_has_routes() -> None:
    assert "POST /api/sql" in _routes() and "GET /api/kpi/{table}" in _routes()


@pytest.mark.parametrize("route", _routes())
def test_every_api_route_is_documented(route: str) -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    assert f"### `{route}" in text, f"API route {route!r} has no section in docs/api.md"


def _page_routes() -> list[str]:
    """Every page as `GET /path`."""
    from kuaike.serve.pages import routes

    return sorted(f"GET {getattr(route, 'path', '')}" for route in routes.router.routes)


@pytest.mark.parametrize("route", _page_routes())
def test_every_page_is_documented(route: str) -> None:
    text = (DOCS / "pages.md").read_text(encoding="utf-8")
    assert f"### `{route}" in text, f"page {route!r} has no section in docs/pages.md"

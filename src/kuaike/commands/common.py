"""What every command shares: the App object (settings loaded on first use), `--json` output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from kuaike import config


@dataclass
class App:
    """Passed to every command: the settings, loaded on first use so `--help` never needs them."""

    config_path: Path | None
    _settings: config.Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> config.Settings:
        if self._settings is None:
            self._settings = config.load(self.config_path)
        return self._settings


pass_app = click.make_pass_decorator(App)


def print_json(data: Any) -> None:
    """Print `data` as JSON on stdout (what `--json` options do)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))

"""`kuaike capture --from kafka://HOST:PORT`: consume change topics into the replica.

The options are added to `kuaike capture` by `from_options`; the command hands over to
`consume` when `--from` is given, so the source databases are not needed at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from kuaike.commands.common import App, print_json
from kuaike.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


def from_options(command: F) -> F:
    """`--from`, `--format` and `--topics` on `kuaike capture`."""
    options = [
        click.option(
            "--topics",
            help="With --from: comma-separated topics to consume (default: kafka.topics).",
        ),
        click.option(
            "--format",
            "fmt",
            metavar="debezium|canal|ogg|maxwell",
            help="Change format on Kafka (default: kafka.format, debezium).",
        ),
        click.option(
            "--from",
            "from_url",
            metavar="kafka://HOST:PORT",
            help="Consume change topics from this Kafka broker instead of capturing the source "
            "databases; offsets are kept in the store with the data (exactly once).",
        ),
    ]
    for option in options:
        command = option(command)
    return command


def consume(
    app: App,
    kafka: tuple[str, str | None, str | None],
    until_caught_up: bool,
    resnapshot: tuple[bool, tuple[str, ...]],
    sources: tuple[str, ...],
    stop: threading.Event,
) -> dict[str, dict[str, Any]]:
    """Consume as `kafka` (--from, --format, --topics) says; what was applied, per stream."""
    from kuaike import pipeline
    from kuaike.capture.kafka.stream import split_topics

    if resnapshot[1] or sources:
        raise UsageError("--table and --source name source databases; --from reads Kafka only")
    console = Console(stderr=True)
    url, fmt, topics = kafka
    with console.status(f"consuming from {url} (Ctrl-C to stop)"):
        consumer = pipeline.consume_kafka(
            app.settings,
            url,
            fmt,
            split_topics(topics),
            stop,
            until_caught_up=until_caught_up,
            resnapshot=resnapshot[0],
        )
    progress = consumer.progress
    return {
        consumer.source: {
            "batches": progress.batches,
            "changes": progress.changes,
            "dead_letters": consumer.dead,
            "position": str(progress.position) if progress.position else None,
            "reconnects": progress.reconnects,
            "resets": consumer.resets,
        }
    }


def report(summary: dict[str, dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    for name, figures in summary.items():
        click.echo(
            f"{name}: {figures['changes']} changes in {figures['batches']} batches, "
            f"{figures['dead_letters']} dead letters, offsets {figures['position'] or '-'}"
        )

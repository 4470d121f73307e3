"""The facade that wires the stages: capture readers → the store → builds → the data service.

Commands call these functions; the stages themselves never import upward.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kuaike.capture.base import Capture, CaptureSource
from kuaike.capture.events import ChangeSink
from kuaike.capture.kafka import stream as kafka_stream
from kuaike.capture.kafka.client import KafkaURL
from kuaike.capture.kafka.consume import KafkaConsume
from kuaike.capture.kafka.producer import Publisher
from kuaike.capture.kafka.publish import KafkaPublish
from kuaike.capture.progress import CaptureProgress
from kuaike.capture.registry import KINDS
from kuaike.capture.retry import retry_transient
from kuaike.capture.sources import capture_sources
from kuaike.config import Settings
from kuaike.errors import SourceError, SourceUnreachable, StoreError, UsageError
from kuaike.serve.console import confine
from kuaike.serve.metrics import TimedStore
from kuaike.serve.server import Server
from kuaike.serve.service import Service
from kuaike.store.writer import SourceState, Store
from kuaike.warehouse import state as warehouse_state
from kuaike.warehouse.runner import build
from kuaike.warehouse.scheduler import Scheduler

log = logging.getLogger("kuaike.pipeline")


def _select(settings: Settings, names: list[str] | None) -> list[CaptureSource]:
    sources = capture_sources(settings)
    if names:
        unknown = sorted(set(names) - {s.name for s in sources})
        if unknown:
            known = ", ".join(s.name for s in sources)
            raise UsageError(f"unknown source {', '.join(unknown)}; choose from {known}")
        sources = [s for s in sources if s.name in names]
    return sources


def run_capture(
    settings: Settings,
    stop: threading.Event,
    *,
    until_caught_up: bool = False,
    resnapshot: bool = False,
    tables: tuple[str, ...] = (),
    names: list[str] | None = None,
    on_table: Callable[[str, str, int], None] | None = None,
    build_schedule: str | None = None,
    serve_at: tuple[str, int] | None = None,
    on_serving: Callable[[str], None] | None = None,
) -> dict[str, CaptureProgress]:
    """Capture every selected source into the store (one thread each) until `stop` is set, or
    until each caught up with its WAL position at start. Returns each source's progress.

    With `build_schedule` (a cron expression) the warehouse is built on that schedule in a
    thread of this process, through its own cursor on the same store: the pipeline process.
    With `serve_at` (host, port) the data service answers there too; `on_serving` gets its URL.
    """
    sources = _select(settings, names)
    _check_tables(sources, resnapshot, tables)
    created = not settings.store_path.exists()
    try:
        return _run_in_store(
            settings,
            stop,
            sources,
            until_caught_up,
            (resnapshot, tables),
            on_table,
            build_schedule,
            _Serving(serve_at, on_serving),
        )
    except BaseException:
        if created:
            _remove_if_empty(settings.store_path)  # a failed first start leaves no empty store
        raise


def _check_tables(sources: list[CaptureSource], resnapshot: bool, tables: tuple[str, ...]) -> None:
    """UsageError for --table without one --source, or without --resnapshot."""
    if tables and len(sources) > 1:
        raise UsageError(
            "--table needs --source: name the source the table belongs to "
            f"({', '.join(s.name for s in sources)})"
        )
    if tables and not resnapshot:
        raise UsageError("--table goes with --resnapshot: it names the tables to copy again")


@dataclass(frozen=True)
class _Serving:
    """Where to serve the HTTP API (None: nowhere) and whom to tell its URL."""

    at: tuple[str, int] | None
    on_serving: Callable[[str], None] | None


def _open_store(settings: Settings, timed: bool = False) -> Store:
    """The store of `settings`; the default one's directory (kuaike's own) is created."""
    if settings.store is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return (TimedStore if timed else Store).open(settings.store_path)


def _remove_if_empty(path: Path) -> None:
    """Delete a store file no source ever committed a position to, nor claimed a slot in (a
    claimed slot's store must stay: it knows the slot is its own unfinished snapshot)."""
    if not path.exists():
        return
    with Store.open(path) as store:
        empty = not store.states() and not store.claims_slots()
    if empty:
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)


def _run_in_store(
    settings: Settings,
    stop: threading.Event,
    sources: list[CaptureSource],
    until_caught_up: bool,
    resnapshot: tuple[bool, tuple[str, ...]],
    on_table: Callable[[str, str, int], None] | None,
    build_schedule: str | None,
    serving: _Serving,
) -> dict[str, CaptureProgress]:
    with _open_store(settings, timed=serving.at is not None) as store:
        if serving.at or build_schedule:
            # A build's first migration ends with a CHECKPOINT, which fails while capture has
            # a batch open ("other write transactions active"): migrate before capture starts.
            warehouse_state.ensure(store.con)
        service = Service(store, settings, status=lambda: store_status(store, settings))
        server = _serve(service, serving)
        scheduler = None
        if build_schedule:
            scheduler = _start_builds(service, build_schedule, [s.name for s in sources], stop)
        try:
            return _capture_into(
                store, settings, sources, stop, until_caught_up, resnapshot, on_table
            )
        finally:
            if server is not None:
                server.stop()  # first: the CLI goes back to opening the file itself
                service.stop_search_index()  # before the store closes under its cursor
            if scheduler is not None:
                scheduler.stop(timeout=5.0)  # a build still running is rolled back at close


def _serve(service: Service, serving: _Serving) -> Server | None:
    """Confine the store's DuckDB instance and start the HTTP server, when asked to serve."""
    if serving.at is None:
        return None
    confine(service.store.con)
    server = Server(service, *serving.at).start()
    # tracking's indexes now, not at the first lookup (tens of seconds at 10 M bills); lookups
    # answer without them meanwhile, only slower
    threading.Thread(
        target=service.indexes.ensure, name="kuaike-track-indexes", daemon=True
    ).start()
    service.start_search_index()
    if serving.on_serving is not None:
        serving.on_serving(server.url)
    return server


def _start_builds(
    service: Service, cron: str, sources: list[str], stop: threading.Event
) -> Scheduler:
    """Build the warehouse at every time of `cron`, in a thread, on a cursor of the store.

    The schedule starts once every source has committed its first snapshot: a build before
    that would find an empty replica and back off for minutes. Builds asked over HTTP take
    the same lock, so two never run at once.
    """
    store = service.store

    def scheduled_build() -> None:
        with service.build_lock:
            try:
                build(store.con.cursor(), settings=service.settings.warehouse)
            finally:
                service.generation += 1  # cached KPI answers are of the previous tables

    scheduler = Scheduler(scheduled_build, cron)

    def start_when_snapshotted() -> None:
        cursor = store.con.cursor()  # a connection of its own: capture threads use store.con
        query = (
            "SELECT count(DISTINCT source) FROM _kuaike.positions WHERE list_contains(?, source)"
        )
        while not stop.is_set():
            row = cursor.execute(query, [sources]).fetchone()
            if row is not None and row[0] >= len(sources):
                scheduler.start()
                return
            stop.wait(0.5)

    threading.Thread(target=start_when_snapshotted, name="kuaike-build-start", daemon=True).start()
    return scheduler


def _capture_into(
    store: ChangeSink,
    settings: Settings,
    sources: list[CaptureSource],
    stop: threading.Event,
    until_caught_up: bool,
    resnapshot: tuple[bool, tuple[str, ...]],
    on_table: Callable[[str, str, int], None] | None,
) -> dict[str, CaptureProgress]:
    """Run one capture per source into `store` until stopped (or caught up)."""
    captures: dict[str, Capture] = {}
    for source in sources:
        capture = KINDS[source.url.dialect].capture(source, store, settings.capture, stop)
        if on_table is not None:
            capture.progress.on_table = _bind(on_table, source.name)
        captures[source.name] = capture
    kafka = settings.kafka
    if kafka.consume_from:
        stream = kafka_stream.checked(kafka, kafka.consume_from, None, None)
        captures[kafka.source_name] = KafkaConsume(*stream, store, kafka, settings.capture, stop)
    errors = _run_all(list(captures.values()), stop, until_caught_up, resnapshot)
    if errors:
        raise errors[0]
    return {name: capture.progress for name, capture in captures.items()}


def _bind(callback: Callable[[str, str, int], None], source: str) -> Callable[[str, int], None]:
    return lambda table, rows: callback(source, table, rows)


def _run_all(
    captures: list[Capture],
    stop: threading.Event,
    until: bool,
    resnapshot: tuple[bool, tuple[str, ...]],
) -> list[BaseException]:
    """Run the captures in threads; the first failure stops the others. `resnapshot`: whether
    to copy again, and which tables only (none: all)."""
    errors: list[BaseException] = []
    again, tables = resnapshot

    def target(capture: Capture) -> None:
        try:
            capture.run(until_caught_up=until, resnapshot=again, tables=tables)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            stop.set()

    if len(captures) == 1:
        target(captures[0])
        return errors
    threads = [threading.Thread(target=target, args=(c,), name=c.source) for c in captures]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)  # keeps the main thread responsive to signals
    return errors


def consume_kafka(
    settings: Settings,
    url: str,
    fmt: str | None,
    topics: list[str] | None,
    stop: threading.Event,
    *,
    until_caught_up: bool = False,
    resnapshot: bool = False,
) -> KafkaConsume:
    """Consume `topics` in `fmt` from the broker at `url` into the store, until stopped (or
    caught up with the high watermarks at start). Returns the consumer (its progress)."""
    consume_args = kafka_stream.checked(settings.kafka, url, fmt, topics)
    created = not settings.store_path.exists()
    try:
        with _open_store(settings) as store:
            consume = KafkaConsume(*consume_args, store, settings.kafka, settings.capture, stop)
            consume.run(until_caught_up=until_caught_up, resnapshot=resnapshot)
            return consume
    except BaseException:
        if created:
            _remove_if_empty(settings.store_path)
        raise


def status(settings: Settings) -> list[dict[str, Any]]:
    """Per source: phase, position, lag bytes and seconds, retained WAL, changes/s, last error."""
    path = settings.store_path
    published = publish_status(settings)
    if not Path(path).exists():
        if published:
            return published
        raise StoreError(f"no store at {path} yet; run `kuaike capture` first")
    with Store.open(settings.store_path) as store:
        return store_status(store, settings) + published


def store_status(store: Store, settings: Settings) -> list[dict[str, Any]]:
    """`status` of an open store (what /api/pipeline reports while the pipeline runs)."""
    states = {state.source: state for state in store.states()}
    rows = []
    for source in capture_sources(settings, start_server=False):
        state = states.get(source.name)
        entry = {"source": source.name, **_state_fields(state)}
        entry["quarantined"] = [
            {"table": h.table, "line": h.line, "position": h.position}
            for h in store.quarantined()
            if h.source == source.name
        ]
        if state is not None:
            entry["changes_per_s"] = store.changes_per_s(source.name)
        position = state.position if state else None
        entry.update(KINDS[source.url.dialect].figures(source, position))
        entry["lag_s"] = _lag_seconds(state, entry)
        entry["dead_letters"] = store.dead_letters(source.name)
        rows.append(entry)
    configured = {row["source"] for row in rows}
    for state in states.values():
        if state.source not in configured and kafka_stream.is_stream(state.position.text):
            entry = {"source": state.source, **_state_fields(state)}
            entry["changes_per_s"] = store.changes_per_s(state.source)
            entry["dead_letters"] = store.dead_letters(state.source)
            entry["lag_s"] = None
            rows.append(entry)
    return rows


def _lag_seconds(state: SourceState | None, entry: dict[str, Any]) -> float | None:
    """Seconds since the last applied source commit while the source has more; else 0."""
    if state is None:
        return None
    if state.last_commit_ts is None or not entry.get("lag_bytes"):
        return 0.0
    return round((datetime.now(UTC) - state.last_commit_ts).total_seconds(), 1)


def _state_fields(state: SourceState | None) -> dict[str, Any]:
    if state is None:
        return {"phase": "never captured", "position": None, "last_error": None}
    return {
        "phase": state.phase,
        "position": state.position.text,
        "updated_at": state.updated_at.isoformat(),
        "last_commit_ts": state.last_commit_ts.isoformat() if state.last_commit_ts else None,
        "last_error": state.last_error,
    }


# Publishing: `kuaike capture --to kafka://...` drives the same readers into a KafkaPublish.


def publish_state_path(settings: Settings) -> Path:
    """The publisher's positions-only store, beside the replica: `kuaike.publish.duckdb`."""
    path = settings.store_path
    return path.with_name(f"{path.stem}.publish{path.suffix or '.duckdb'}")


def _publishing(source: CaptureSource) -> CaptureSource:
    """The source as the publisher reads it: a slot of its own (`<slot>_kafka`), so the
    publisher and a local replica never confirm each other's positions."""
    return CaptureSource(source.name, source.url, f"{source.slot}_kafka" if source.slot else "")


def run_publish(
    settings: Settings,
    stop: threading.Event,
    to: str,
    fmt: str | None = None,
    *,
    until_caught_up: bool = False,
    resnapshot: tuple[bool, tuple[str, ...]] = (False, ()),
    names: list[str] | None = None,
    on_table: Callable[[str, str, int], None] | None = None,
) -> dict[str, CaptureProgress]:
    """Capture every selected source into Kafka at `to` (`kafka://HOST:PORT`) in `fmt` until
    stopped (or caught up); positions are kept in `publish_state_path`. Returns the progress.

    No local replica is written: the publisher only needs its positions (a consumer, `kuaike
    capture --from`, builds replicas from the topics)."""
    url = KafkaURL.parse(to)
    sources = [_publishing(s) for s in _select(settings, names)]
    _check_tables(sources, *resnapshot)
    publisher = Publisher(url, settings.kafka.partitions, settings.kafka.delivery_timeout_s)
    if settings.store is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    with Store.open(publish_state_path(settings)) as state:
        sink = KafkaPublish(publisher, fmt or settings.kafka.format, settings.kafka, state)
        try:
            _wait_for_broker(publisher, settings, stop, lambda e: _note(state, sources, e))
            return _capture_into(
                sink, settings, sources, stop, until_caught_up, resnapshot, on_table
            )
        finally:
            publisher.reset()


def _note(state: Store, sources: list[CaptureSource], error: str) -> None:
    """A broker error as each published source's last error (those published before)."""
    for source in sources:
        state.set_phase(source.name, "streaming", error)


def _wait_for_broker(
    publisher: Publisher, settings: Settings, stop: threading.Event, note: Callable[[str], None]
) -> None:
    """Wait (with backoff, `capture.retry_give_up_s` at most) until the broker answers."""

    def on_retry(exc: Exception, pause: float) -> None:
        note(str(exc).splitlines()[0])
        log.warning("%s (next try in %.1fs)", exc, pause)

    try:
        retry_transient(
            publisher.check,
            stop,
            give_up_s=settings.capture.retry_give_up_s,
            healthy_s=settings.capture.retry_healthy_s,
            on_retry=on_retry,
        )
    except SourceUnreachable as exc:
        raise SourceError(
            f"Kafka broker {publisher.url} did not answer for "
            f"{settings.capture.retry_give_up_s:g} s; start it, or check the address in --to"
        ) from exc


def publish_status(settings: Settings) -> list[dict[str, Any]]:
    """`status` rows of the publisher (`<source> -> kafka`), none when it never ran; a
    publisher running now holds its state file, so it says so in one line."""
    path = publish_state_path(settings)
    if not path.exists():
        return []
    with Store.open(path) as state:
        states = {s.source: s for s in state.states()}
        rows = []
        for source in map(_publishing, capture_sources(settings, start_server=False)):
            found = states.get(source.name)
            if found is None:
                continue
            entry = {"source": f"{source.name} -> kafka", **_state_fields(found)}
            entry.update(KINDS[source.url.dialect].figures(source, found.position))
            entry["lag_s"] = _lag_seconds(found, entry)
            rows.append(entry)
        return rows

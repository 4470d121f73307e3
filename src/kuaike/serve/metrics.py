"""/metrics in Prometheus text format (prometheus_client), one registry per app.

Counted as they happen: HTTP latency per route, batch apply latency and freshness (a Store
that times its `apply`). Read at scrape time from the store and the sources: lag, changes/s,
retained WAL, batches and changes applied, builds and their durations by result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kuaike.capture.events import ChangeBatch
from kuaike.serve import report
from kuaike.store.writer import Store
from kuaike.types import DuckConnection

BATCH_SECONDS = Histogram(
    "kuaike_batch_apply_seconds",
    "Seconds to apply one batch to the store (one transaction)",
    ["source"],
    registry=None,  # registered per app, below: tests run several apps in one process
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

FRESHNESS_SECONDS = Histogram(
    "kuaike_freshness_seconds",
    "Seconds from a source transaction's commit to its commit in the store (MySQL/MariaDB "
    "commit times are whole seconds, so theirs read up to 1 s high)",
    ["source"],
    registry=None,
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30, 60),
)


class TimedStore(Store):
    """The store, timing each batch it applies for `kuaike_batch_apply_seconds` and each
    transaction's commit → store delay for `kuaike_freshness_seconds`."""

    def apply(self, batch: ChangeBatch) -> int:
        started = time.perf_counter()
        batch_id = super().apply(batch)
        if batch:
            BATCH_SECONDS.labels(batch.source).observe(time.perf_counter() - started)
            now = datetime.now(UTC)
            fresh = FRESHNESS_SECONDS.labels(batch.source)
            for ts in batch.commit_ts:
                if ts is not None:
                    fresh.observe(max(0.0, (now - ts).total_seconds()))
        return batch_id


class PipelineCollector(Collector):
    """Figures read when Prometheus scrapes, from the status and the store's own tables."""

    def __init__(
        self, status: Callable[[], list[dict[str, Any]]], cursor: Callable[[], DuckConnection]
    ) -> None:
        self.status = status
        self.cursor = cursor

    def collect(self) -> Iterator[Metric]:
        yield from self._sources(self.status())
        cur = self.cursor()
        try:
            yield from self._batches(report.batch_totals(cur))
            yield from self._builds(report.build_totals(cur))
        finally:
            cur.close()

    def _sources(self, rows: list[dict[str, Any]]) -> Iterator[Metric]:
        specs = {
            "lag_bytes": ("kuaike_source_lag_bytes", "Source log bytes not applied yet"),
            "lag_s": ("kuaike_source_lag_seconds", "Seconds since the last applied commit"),
            "changes_per_s": ("kuaike_source_changes_per_second", "Row changes applied/s"),
            "retained_wal_bytes": ("kuaike_source_retained_wal_bytes", "WAL the slot retains"),
        }
        for key, (name, text) in specs.items():
            gauge = GaugeMetricFamily(name, text, labels=["source"])
            for row in rows:
                if isinstance(row.get(key), int | float):
                    gauge.add_metric([row["source"]], float(row[key]))
            yield gauge

    def _batches(self, totals: list[tuple[str, int, int]]) -> Iterator[Metric]:
        batches = CounterMetricFamily("kuaike_batches", "Batches applied", labels=["source"])
        changes = CounterMetricFamily("kuaike_changes", "Row changes applied", labels=["source"])
        for source, n, c in totals:
            batches.add_metric([source], n)
            changes.add_metric([source], c)
        yield from (batches, changes)

    def _builds(self, totals: list[tuple[str, int, float]]) -> Iterator[Metric]:
        builds = CounterMetricFamily("kuaike_builds", "Warehouse builds", labels=["status"])
        seconds = CounterMetricFamily(
            "kuaike_build_seconds", "Seconds spent in warehouse builds", labels=["status"]
        )
        for status, n, s in totals:
            builds.add_metric([status], n)
            seconds.add_metric([status], s)
        yield from (builds, seconds)


def registry(
    status: Callable[[], list[dict[str, Any]]], cursor: Callable[[], DuckConnection]
) -> tuple[CollectorRegistry, Histogram]:
    """A registry of the pipeline's figures and the HTTP latency histogram it holds."""
    reg = CollectorRegistry()
    reg.register(BATCH_SECONDS)
    reg.register(FRESHNESS_SECONDS)
    reg.register(PipelineCollector(status, cursor))
    http = Histogram(
        "kuaike_http_request_seconds",
        "Seconds to answer an HTTP request",
        ["method", "route", "status"],
        registry=reg,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
    )
    return reg, http


def freshness_bound(source: str, share: float) -> float | None:
    """The smallest `kuaike_freshness_seconds` bucket bound within which `share` of the source's
    transactions reached the store (this process, since it started); None before any.

    >>> freshness_bound("no such source", 0.95) is None
    True
    """
    buckets: list[tuple[float, float]] = []
    for metric in FRESHNESS_SECONDS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("source") == source:
                buckets.append((float(sample.labels["le"]), sample.value))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    if not total:
        return None
    return next(bound for bound, count in buckets if count >= share * total)

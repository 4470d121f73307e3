"""Settings: `kuaike.toml` (working directory or `--config`) overlaid by `KUAIKE_*` variables.

Top-level keys map to `KUAIKE_<KEY>` (`KUAIKE_LOGISTICS_URL`, `KUAIKE_CRM_URL`, `KUAIKE_STORE`,
`KUAIKE_DATA_DIR`); keys of a section map to `KUAIKE_<SECTION>_<KEY>`
(`KUAIKE_CAPTURE_BATCH_MAX_ROWS`). The environment wins over the file.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from kuaike.errors import ConfigError

CONFIG_FILE = "kuaike.toml"
ENV_PREFIX = "KUAIKE_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class CaptureSettings(_Section):
    include: list[str] = ["*"]
    """Tables to capture, as shell patterns (`tbl_*`); every table by default."""
    exclude: list[str] = []
    """Tables never captured, as shell patterns; applied after `include`."""
    schemas: list[str] = ["public"]
    """PostgreSQL schemas to capture. Tables outside `public` are named `<schema>__<table>` in
    the replica (and in `include`/`exclude` patterns), so two schemas' tables never collide."""
    slot_name: str = "kuaike"
    """Name of the PostgreSQL logical replication slot kuaike creates and reads."""
    publication: str = "kuaike"
    """Name of the PostgreSQL publication kuaike creates (FOR ALL TABLES, filtered by include)."""
    batch_max_rows: int = Field(default=100_000, gt=0)
    """A batch is applied to the store once it holds this many row changes..."""
    batch_max_latency_ms: int = Field(default=200, gt=0)
    """...or once its oldest change waited this long (milliseconds), whichever comes first."""
    feedback_interval_s: float = Field(default=10.0, gt=0)
    """Seconds between standby status messages to PostgreSQL while idle, so the slot's confirmed
    position advances and retained WAL stays bounded (also psycopg2's status interval)."""
    receive_buffer_kb: int = Field(default=128, ge=0)
    """Fixed TCP receive buffer of the replication connection (Linux doubles it). Small, it makes
    the walsender queue instead of sending each message across (faster catch-up); 0 leaves the
    kernel's autotuning, for a source far away (a 256 kB window carries ~5 MB/s at 50 ms RTT)."""
    mysql_server_id: int = Field(default=5_400, gt=0)
    """Server id kuaike uses to read a MySQL/MariaDB binlog as a replica; unique per server."""
    retry_give_up_s: float = Field(default=120.0, gt=0)
    """Seconds of retry pauses one outage (server restart, dropped network) may take before capture
    gives up and exits with the error; the budget restarts after `retry_healthy_s` of streaming."""
    retry_healthy_s: float = Field(default=30.0, gt=0)
    """Seconds a source must stream without a failure for its next failure to count as a new
    outage (a fresh retry budget), so short outages spread over days never add up."""


class KafkaSettings(_Section):
    format: Literal["debezium", "canal", "ogg", "maxwell"] = "debezium"
    """Change format on Kafka when `--format` is not given."""
    topic_prefix: str = "kuaike."
    """Topics kuaike publishes to are `<topic_prefix><source>.<table>`."""
    topics: list[str] = []
    """Topics `kuaike capture --from kafka://...` consumes when `--topics` is not given."""
    consume_from: str | None = None
    """A broker (`kafka://HOST:PORT`) whose `kafka.topics` `kuaike run` and `kuaike capture`
    consume besides the source databases, as the stream `kafka.source_name`."""
    source_name: str = "kafka"
    """Name of the consumed stream in the store (its offsets, status and dead letters)."""
    renames: dict[str, str] = {}
    """Regex → replacement applied in order to table names in consumed messages
    (the reference: `{"^crm_" = "tbl_"}`; OGG's `SCHEMA.` prefix is never part of the name)."""
    keys: dict[str, list[str]] = {}
    """Key columns per replica table, for messages that carry none (default `id`)."""
    types: dict[str, dict[str, str]] = {}
    """Column types per replica table (`{tbl_company = {cdt = "timestamp"}}`) for formats
    without type hints (OGG, Maxwell, Debezium without schema)."""
    schemas: bool = True
    """Debezium messages kuaike publishes carry their schema (the JSON converter's
    `schemas.enable`)."""
    batch_max_messages: int = Field(default=50_000, gt=0)
    """Consumed messages applied to the store in one transaction at most."""
    partitions: int = Field(default=1, gt=0)
    """Partitions of each topic `kuaike capture --to kafka://...` creates (changes of one key
    always go to one partition, in order)."""
    delivery_timeout_s: float = Field(default=30.0, gt=0)
    """Seconds the publisher waits for Kafka to acknowledge a batch (and for the broker to
    answer) before the batch counts as not delivered: not confirmed, sent again."""


class WarehouseSettings(_Section):
    schedule: str | None = None
    """Cron expression for warehouse builds in the pipeline; default every 5 minutes for the demo
    database and `0 1 * * *` (01:00 daily) otherwise."""
    plausibility_min_volume: int = Field(default=200, gt=0)
    """Plausibility audits judge a day's KPI once it counts this many facts (orders, legs,
    deliveries): below it a few late trucks are not a broken day."""
    plausibility_on_time_floor: float = Field(default=0.8, ge=0, le=1)
    """A closed day whose legs arrived on time less often than this fails the build (carriers
    report on-time rates in the 90s %)."""
    plausibility_max_exception_rate: float = Field(default=0.2, ge=0, le=1)
    """A closed day with more cancelled orders, delayed or lost legs, or rejected deliveries
    than this share of their kind fails the build."""


class SparkSettings(_Section):
    master: str = "local[2]"
    """Where `kuaike build --engine spark` runs: `local[N]`, `spark://host:7077`, `yarn`, ...
    (`--master` overrides it)."""
    shuffle_partitions: int = Field(default=4, gt=0)
    """Spark's `spark.sql.shuffle.partitions`: 4 was 4-15 % faster than Spark's 200 on 2 cores
    (docs/spark.md); a cluster wants about 2-3 per core."""
    driver_memory: str = "2g"
    """The Spark driver's heap (`spark.driver.memory`); in `local[N]` it holds the executors too."""


class ServeSettings(_Section):
    host: str = "127.0.0.1"
    """Address `kuaike run` serves its HTTP API on; a non-loopback address needs `serve.token`."""
    port: int = Field(default=8765, ge=0, le=65535)
    """TCP port of the HTTP API (0: any free port, written to the server file next to the store)."""
    token: SecretStr | None = None
    """Access token every route but /healthz requires (`Authorization: Bearer <token>`) when set.
    Never logged nor echoed; required to bind a non-loopback address."""
    cors_origins: list[str] = []
    """Origins allowed to call the API from a browser page (CORS); none by default."""
    live_refresh_s: float = Field(default=5.0, gt=0)
    """Seconds between two computations of /api/live; every viewer shares the same figures."""
    sql_timeout_s: float = Field(default=5.0, gt=0)
    """Seconds a SQL console query may run before it is interrupted."""
    sql_max_rows: int = Field(default=10_000, gt=0)
    """Rows a SQL console query may return; more is refused (add a LIMIT)."""
    sql_max_bytes: int = Field(default=8_000_000, gt=0)
    """Bytes (as JSON) a SQL console result may take; more is refused."""


class TrackSettings(_Section):
    stuck_factor: float = Field(default=1.5, ge=1)
    """A parcel is stuck when its current step (a leg, a wait in a warehouse, the last mile)
    has lasted this many times the step's usual p90 without a new event."""
    history_weeks: int = Field(default=4, gt=0)
    """Weeks of history the ETAs and stuck thresholds are taken from (transit time p50/p90)."""
    history_refresh_s: float = Field(default=600.0, gt=0)
    """Seconds the transit-time figures are kept before they are computed again."""
    concurrency: int = Field(default=4, ge=1, le=40)
    """Lookups by number the HTTP server runs at once, and as many searches and stuck lists;
    more wait their turn. Fewer leave capture more of the CPU and the GIL (fresher replica
    under load), more answer more lookups per second on a contended machine."""
    search_index: bool = True
    """Keep a search index of the waybills' names, addresses and phone tails beside the store
    (`<store>.search/`, built by `kuaike run` at start: minutes at 10 M waybills), so that a
    search by name, address or the last 4 digits of a phone needs no scan of the replica."""
    search_refresh_s: float = Field(default=1.0, gt=0, le=60)
    """How often the search index takes in what capture wrote: a waybill changed at the source
    shows in searches this much later at most (in timelines at once)."""


class Settings(_Section):
    logistics_url: str | None = None
    """The logistics operations database, `postgresql://user:password@host:port/dbname`. Unset:
    kuaike starts its embedded demo PostgreSQL in the data directory."""
    crm_url: str | None = None
    """The CRM database, `mysql://user:password@host:port/crm` or `postgresql://...`. Unset: the
    CRM tables live in the logistics database's server (database `crm`)."""
    data_dir: Path = Path(".kuaike")
    """Directory for kuaike's own files: the embedded demo database, logs, the default store."""
    store: Path | None = None
    """The DuckDB file holding the replica and the warehouse; default `<data_dir>/kuaike.duckdb`."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Least severe log level written to stderr."""
    capture: CaptureSettings = CaptureSettings()
    """Change capture settings (section `[capture]`)."""
    warehouse: WarehouseSettings = WarehouseSettings()
    """Warehouse build settings (section `[warehouse]`)."""
    serve: ServeSettings = ServeSettings()
    """The data service of `kuaike run` (section `[serve]`)."""
    kafka: KafkaSettings = KafkaSettings()
    """Kafka as the change stream (section `[kafka]`)."""
    track: TrackSettings = TrackSettings()
    """Parcel tracking: ETAs and stuck parcels (section `[track]`)."""
    spark: SparkSettings = SparkSettings()
    """The Spark engine of `kuaike build --engine spark` (section `[spark]`)."""

    @field_validator("logistics_url")
    @classmethod
    def _postgres_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql://")
        return url

    @field_validator("crm_url")
    @classmethod
    def _crm_url(cls, url: str | None) -> str | None:
        schemes = ("mysql://", "mariadb://", "postgresql://", "postgres://")
        if url is not None and not url.startswith(schemes):
            raise ValueError("must start with mysql://, mariadb:// or postgresql://")
        return url

    @property
    def store_path(self) -> Path:
        """Where the DuckDB replica lives."""
        return self.store if self.store is not None else self.data_dir / "kuaike.duckdb"


SECTIONS: dict[str, type[_Section]] = {
    "capture": CaptureSettings,
    "warehouse": WarehouseSettings,
    "serve": ServeSettings,
    "kafka": KafkaSettings,
    "track": TrackSettings,
    "spark": SparkSettings,
}


def env_name(key: str, section: str | None = None) -> str:
    """The environment variable that sets a key: `env_name('batch_max_rows', 'capture')`."""
    parts = [section, key] if section else [key]
    return ENV_PREFIX + "_".join(parts).upper()


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in Settings.model_fields:
        if key in SECTIONS:
            section = {
                sub: environ[env_name(sub, key)]
                for sub in SECTIONS[key].model_fields
                if env_name(sub, key) in environ
            }
            if section:
                values[key] = section
        elif env_name(key) in environ:
            values[key] = environ[env_name(key)]
    return values


def _split_lists(section: dict[str, Any], model: type[_Section]) -> None:
    """Environment values for list keys come as `a,b,c`, for table keys as JSON objects."""
    for key, value in section.items():
        annotation = str(model.model_fields[key].annotation) if key in model.model_fields else ""
        if isinstance(value, str) and annotation.startswith("list"):
            section[key] = [item.strip() for item in value.split(",") if item.strip()]
        elif isinstance(value, str) and annotation.startswith("dict"):
            try:
                section[key] = json.loads(value)
            except ValueError as exc:
                variable = env_name(key, model.__name__.removesuffix("Settings").lower())
                raise ConfigError(f"{variable} must be a JSON object: {exc}") from exc


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _describe(error: Any, origin: str) -> str:
    location = ".".join(str(part) for part in error["loc"])
    section, _, key = location.rpartition(".")
    variable = env_name(key, section or None)
    if error["type"] == "extra_forbidden":
        return f"unknown config key {location!r} in {origin}; see docs/configuration.md"
    got = error.get("input")
    shown = f" (got {got!r})" if not isinstance(got, dict) else ""
    return f"config key {location}{shown}: {error['msg']}; fix it in {origin} or set {variable}"


def _refuse_unknown_variables(environ: dict[str, str]) -> None:
    """A KUAIKE_* variable that sets no key is a mistake (a typo would be ignored silently)."""
    known = {variable for _key, variable, _doc in all_keys()}
    unknown = sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)
    if unknown:
        raise ConfigError(
            "\n".join(
                f"unknown environment variable {name}: it sets no config key; see "
                "docs/configuration.md for the variables, or unset it"
                for name in unknown
            )
        )


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings from `path` (or ./kuaike.toml if present) and the environment.

    Raises ConfigError with one line per wrong key or value.
    """
    environ = dict(os.environ if environ is None else environ)
    explicit = path is not None
    path = path if path is not None else Path(CONFIG_FILE)
    file_values: dict[str, Any] = {}
    if path.exists():
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}; fix the file") from exc
    elif explicit:
        raise ConfigError(f"config file {path} does not exist; create it with `kuaike init`")
    _refuse_unknown_variables(environ)
    env_values = _from_env(environ)
    _split_lists(env_values, Settings)
    for name, model in SECTIONS.items():
        if isinstance(env_values.get(name), dict):
            _split_lists(env_values[name], model)
    origin = str(path)
    try:
        return Settings.model_validate(_merge(file_values, env_values))
    except ValidationError as exc:
        lines = [_describe(error, origin) for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from exc


def all_keys() -> list[tuple[str, str, str]]:
    """Every config key as (dotted name, environment variable, description), for docs and init."""
    keys: list[tuple[str, str, str]] = []
    for key, field in Settings.model_fields.items():
        if key in SECTIONS:
            for sub, subfield in SECTIONS[key].model_fields.items():
                keys.append((f"{key}.{sub}", env_name(sub, key), subfield.description or ""))
        else:
            keys.append((key, env_name(key), field.description or ""))
    return keys


def _toml_value(value: Any) -> str:
    if isinstance(value, Path):
        return f'"{value}"'
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return str(value)


def _commented(description: str) -> list[str]:
    return ["# " + line.strip() for line in description.splitlines()]


def template() -> str:
    """A commented kuaike.toml: every key, its meaning, its variable and its default."""
    lines = [
        "# kuaike configuration. Every key is optional; the commented value is the default.",
        "# Environment variables override this file (shown next to each key).",
        "",
    ]
    defaults = Settings()
    for key, field in Settings.model_fields.items():
        if key in SECTIONS:
            continue
        value = getattr(defaults, key)
        lines += _commented(field.description or "")
        lines.append(f"# ({env_name(key)})")
        shown = "..." if value is None else _toml_value(value)
        lines += [f"# {key} = {shown}", ""]
    for section, model in SECTIONS.items():
        lines.append(f"[{section}]")
        section_defaults = getattr(defaults, section)
        for key, field in model.model_fields.items():
            value = getattr(section_defaults, key)
            lines += _commented(field.description or "")
            lines.append(f"# ({env_name(key, section)})")
            shown = "..." if value is None else _toml_value(value)
            lines += [f"# {key} = {shown}", ""]
    return "\n".join(lines)

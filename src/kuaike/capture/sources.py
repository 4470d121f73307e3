"""Which sources `kuaike capture` reads, and what the source itself says about each slot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kuaike.business import embedded
from kuaike.capture.postgres import setup as pgsetup
from kuaike.config import Settings
from kuaike.errors import SourceError
from kuaike.databases import SourceURL


@dataclass(frozen=True)
class CaptureSource:
    """A source database kuaike captures: its store name, URL and slot."""

    name: str
    url: str
    slot: str


def capture_sources(settings: Settings) -> list[CaptureSource]:
    """The PostgreSQL sources: logistics always; the CRM when it is PostgreSQL and configured
    explicitly or embedded (its slot is `<slot_name>_crm`: slot names are per server)."""
    resolved = embedded.resolve(settings)
    sources = [CaptureSource("logistics", resolved.logistics_url, settings.capture.slot_name)]
    crm_is_pg = resolved.crm_url.startswith(("postgresql://", "postgres://"))
    if crm_is_pg and (settings.crm_url or resolved.embedded):
        sources.append(CaptureSource("crm", resolved.crm_url, f"{settings.capture.slot_name}_crm"))
    if is_mysql(resolved.crm_url):
        sources.append(CaptureSource("crm", resolved.crm_url, slot=""))  # binlog: no slot
    return sources


def is_mysql(url: str) -> bool:
    """Whether a source URL names a MySQL/MariaDB server (captured from its binlog)."""
    return url.startswith(("mysql://", "mariadb://"))


def slot_figures(source: CaptureSource) -> dict[str, Any]:
    """Lag and retained WAL bytes from the source, or `source_error` saying why not."""
    url = SourceURL.parse(source.url)
    try:
        conn = pgsetup.connect(url, source.slot)
    except SourceError as exc:
        return {"source_error": str(exc)}
    try:
        with pgsetup.pg_errors(url, source.slot), conn.cursor() as cur:
            cur.execute(
                "SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint, "
                "(pg_current_wal_lsn() - restart_lsn)::bigint, active_pid "
                "FROM pg_replication_slots WHERE slot_name = %s",
                (source.slot,),
            )
            row = cur.fetchone()
    except SourceError as exc:
        return {"source_error": str(exc)}
    finally:
        conn.close()
    if row is None:
        return {"source_error": f"replication slot {source.slot!r} does not exist"}
    return {"lag_bytes": int(row[0]), "retained_wal_bytes": int(row[1]), "reader_pid": row[2]}

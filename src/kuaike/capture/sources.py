"""Which sources `kuaike capture` reads: the logistics database always, and the CRM wherever
`kuaike schema create` and `kuaike simulate` put it.

One rule for the three commands: the CRM is `crm_url` when it is set, else database `crm` on
the logistics database's server (the embedded demo server included). Capture reads that CRM when
it is configured or embedded, or when database `crm` exists on the logistics server.
"""

from __future__ import annotations

from kuaike.business import embedded
from kuaike.capture.base import CaptureSource
from kuaike.config import Settings
from kuaike.databases import SourceURL, connect_postgres, postgres_errors
from kuaike.errors import SourceError


def capture_sources(settings: Settings, start_server: bool = True) -> list[CaptureSource]:
    """The sources to capture: logistics always; the CRM when it is MySQL, or PostgreSQL
    configured explicitly or embedded (its slot is `<slot_name>_crm`: slot names are per
    server). A MySQL source has no slot: its binlog is shared by every reader. With
    `start_server=False` the embedded demo server is not started (see `embedded.resolve`)."""
    resolved = embedded.resolve(settings, start_server)
    slot = settings.capture.slot_name
    sources = [CaptureSource("logistics", SourceURL.parse(resolved.logistics_url), slot)]
    crm = SourceURL.parse(resolved.crm_url)
    if crm.dialect == "mysql":
        sources.append(CaptureSource("crm", crm))
    elif settings.crm_url or resolved.embedded or _exists(sources[0].url, crm.database):
        sources.append(CaptureSource("crm", crm, f"{slot}_crm"))
    return sources


def _exists(server: SourceURL, database: str) -> bool:
    """Whether `database` exists on the server of `server` (False when it cannot be asked:
    capturing the logistics database then reports why)."""
    try:
        conn = connect_postgres(server)
    except SourceError:
        return False
    try:
        with postgres_errors(server), conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            return cur.fetchone() is not None
    except SourceError:
        return False
    finally:
        conn.close()

"""Which sources `kuaike capture` reads: the logistics database always, the CRM when it is
configured or embedded."""

from __future__ import annotations

from kuaike.business import embedded
from kuaike.capture.base import CaptureSource
from kuaike.config import Settings
from kuaike.databases import SourceURL


def capture_sources(settings: Settings) -> list[CaptureSource]:
    """The sources to capture: logistics always; the CRM when it is MySQL, or PostgreSQL
    configured explicitly or embedded (its slot is `<slot_name>_crm`: slot names are per
    server). A MySQL source has no slot: its binlog is shared by every reader."""
    resolved = embedded.resolve(settings)
    slot = settings.capture.slot_name
    sources = [CaptureSource("logistics", SourceURL.parse(resolved.logistics_url), slot)]
    crm = SourceURL.parse(resolved.crm_url)
    if crm.dialect == "mysql":
        sources.append(CaptureSource("crm", crm))
    elif settings.crm_url or resolved.embedded:
        sources.append(CaptureSource("crm", crm, f"{slot}_crm"))
    return sources

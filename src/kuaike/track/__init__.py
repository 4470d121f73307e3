"""Parcel tracking: the timeline of one parcel, its ETA, stuck parcels, search.

    timeline = lookup(cur, "7000012345")          # Timeline; NotFound for an unknown number
    timeline.as_dict()                            # what /api/track/{number} answers
    hits = search(cur, "张 1234 文三路")           # SearchPage, best matches first
    page = stuck(cur, transit)                    # StuckPage, newest first

Everything reads the replica (`ods.*`) on a cursor of the caller's (in `kuaike run`: a cursor
of the writer's connection, so a committed batch is visible to the next lookup). indexes.py
keeps the ART indexes the lookups need; history.py the transit times behind ETAs and stuck
parcels. docs/track.md describes every shape returned here.
"""

from __future__ import annotations

from kuaike.track.history import TransitTimes
from kuaike.track.indexes import ensure_indexes
from kuaike.track.model import Event, Place, Timeline
from kuaike.track.search import SearchPage, search
from kuaike.track.stuck import StuckPage, stuck
from kuaike.track.timeline import lookup

__all__ = [
    "Event",
    "Place",
    "SearchPage",
    "StuckPage",
    "Timeline",
    "TransitTimes",
    "ensure_indexes",
    "lookup",
    "search",
    "stuck",
]

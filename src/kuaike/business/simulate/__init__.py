"""The operations simulator: a realistic parcel carrier writing into the business databases.

master.py, customers.py   master data (generated once per database) and CRM registrations
lifecycle.py              one parcel's life as business events (inserts, updates, deletes)
timing.py                 daily curve, weekends, sale days
writers.py                COPY for history, one transaction per event for live operation
load.py                   reading an existing carrier back from its databases
engine.py                 the facade: master data → history → live
cli.py                    `kuaike simulate`
"""

from __future__ import annotations

from kuaike.business.simulate.engine import Options, Simulator, Summary
from kuaike.business.simulate.model import Sizes

__all__ = ["Options", "Simulator", "Sizes", "Summary"]

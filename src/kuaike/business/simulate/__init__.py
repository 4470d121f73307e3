"""The operations simulator: a realistic parcel carrier writing into the business databases.

master.py, staff.py       master data, generated once per database (people.py: names, places)
customers.py              CRM registrations, the first customers and new ones over time
lifecycle.py, journey.py  one parcel's life as business events (inserts, updates, deletes)
timing.py                 daily curve, weekends, sale days
history.py, live.py       the two modes, each in several processes
sql.py, writers.py        rows as COPY text and SQL; COPY for history, one transaction per
                          business event for live operation
load.py, resume.py        reading an existing carrier and its parcels in flight back
model.py, tables.py       what the simulator knows of the carrier; the tables' columns
engine.py                 the facade: master data → history → live
cli.py                    `kuaike simulate`
"""

from __future__ import annotations

from kuaike.business.simulate.engine import Simulator, Summary
from kuaike.business.simulate.model import Sizes
from kuaike.business.simulate.options import Options

__all__ = ["Options", "Simulator", "Sizes", "Summary"]

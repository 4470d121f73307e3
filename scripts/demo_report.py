"""Print the demo's headline KPIs from the store (read-only): on-time rate, backlog, exceptions
and revenue over the last days, then the day-by-day figures. Definitions: docs/warehouse.md."""

from __future__ import annotations

import argparse
import decimal
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from kuaike import config

# The last N days (?) of the warehouse, summed; every rate is a division of two sums.
HEADLINE = """
WITH e AS (SELECT * FROM dws.tbl_exception_summary ORDER BY day DESC LIMIT ?),
t AS (SELECT sum(on_time) AS on_time, sum(arrived) AS arrived FROM dws.tbl_transit_area_summary
      WHERE day IN (SELECT day FROM e)),
r AS (SELECT sum(parcels) AS parcels, sum(revenue) AS revenue FROM dws.tbl_revenue_summary
      WHERE day IN (SELECT day FROM e)),
b AS (SELECT day, sum(in_transit) AS in_transit, sum(overdue) AS overdue FROM dws.tbl_hub_backlog
      WHERE day = (SELECT max(day) FROM dws.tbl_hub_backlog) GROUP BY day)
SELECT min(e.day), max(e.day), any_value(t.on_time), any_value(t.arrived),
    any_value(b.day), any_value(b.in_transit), any_value(b.overdue),
    sum(e.orders), sum(e.cancelled), sum(e.delayed), sum(e.lost), sum(e.legs),
    sum(e.deliveries), sum(e.rejected), any_value(r.parcels), any_value(r.revenue)
FROM e, t, r LEFT JOIN b ON TRUE
"""

DAILY = """
SELECT e.day, coalesce(x.total, 0) AS bills, e.legs,
    round(100 * sum(t.on_time) / nullif(sum(t.arrived), 0), 1) AS on_time,
    e.cancelled, e.delayed, e.lost, e.rejected, round(any_value(r.revenue)) AS revenue
FROM dws.tbl_exception_summary AS e
LEFT JOIN dws.tbl_express_bill_summary AS x ON x.day = e.day
LEFT JOIN dws.tbl_transit_area_summary AS t ON t.day = e.day
LEFT JOIN (SELECT day, sum(revenue) AS revenue FROM dws.tbl_revenue_summary GROUP BY day) AS r
    ON r.day = e.day
GROUP BY ALL ORDER BY e.day DESC LIMIT ?
"""


def percent(part: Any, whole: Any) -> str:
    """`part` of `whole` as a percentage with its counts, or 'n/a' when there is nothing."""
    if not whole:
        return "n/a"
    return f"{100 * part / whole:.2f} %  ({part:,} of {whole:,})"


def cell(value: Any) -> str:
    """A table cell: numbers with thousands separators, anything else as text."""
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, (int, float, decimal.Decimal)) else str(value)


def yuan(value: Any) -> str:
    return "n/a" if value is None else f"¥{value:,.2f}"


def headline(con: duckdb.DuckDBPyConnection, days: int) -> Table:
    """The carrier's headline figures over the last `days` days."""
    row = con.execute(HEADLINE, [days]).fetchone()
    assert row is not None
    first, last, on_time, arrived, as_of, on_road, overdue, *rest = row
    orders, cancelled, delayed, lost, legs, deliveries, rejected, parcels, revenue = rest
    table = Table("KPI", "value", title=f"headline KPIs, {first} to {last}")
    table.add_row("on-time rate (legs arrived no later than predicted)", percent(on_time, arrived))
    table.add_row(f"backlog on {as_of}: legs on the road", f"{on_road or 0:,}")
    table.add_row("  of which overdue (due, not arrived)", percent(overdue or 0, on_road))
    table.add_row("cancelled orders (before pick-up)", percent(cancelled, orders))
    table.add_row("delayed legs (arrived late)", percent(delayed, arrived))
    table.add_row("lost legs", percent(lost, legs))
    table.add_row("rejected deliveries (refused by the receiver)", percent(rejected, deliveries))
    table.add_row("revenue (paid by customers, after coupons)", yuan(revenue))
    table.add_row(
        "  parcels / revenue per parcel",
        f"{parcels or 0:,} / {yuan(revenue / parcels) if parcels else 'n/a'}",
    )
    return table


def daily(con: duckdb.DuckDBPyConnection, days: int) -> Table:
    """The same figures day by day, newest first."""
    result = con.execute(DAILY, [days])
    table = Table(
        "day", "bills", "legs", "on time %", "cancel", "late", "lost", "reject", "revenue ¥",
        title="day by day: bills, legs, on time, exceptions (counts), revenue",
    )  # fmt: skip
    for row in result.fetchall():
        table.add_row(*[cell(value) for value in row])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=7, help="most recent days to show")
    days = parser.parse_args().days
    con = duckdb.connect(str(config.load().store_path), read_only=True)
    console = Console(width=max(Console().width, 100))  # a day and ¥ figures stay whole
    console.print(headline(con, days))
    console.print(daily(con, days))
    con.close()


if __name__ == "__main__":
    main()

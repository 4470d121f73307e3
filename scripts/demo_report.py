"""Print the demo's daily KPIs from the store (read-only): express bills, waybills, customers."""

from __future__ import annotations

import argparse

import duckdb
from rich.console import Console
from rich.table import Table

from kuaike import config

QUERIES = {
    "express bills per day (dws.tbl_express_bill_summary)": (
        "SELECT day, total, max_channel_total AS max_channel, min_channel_total AS min_channel, "
        "avg_dot_total AS avg_dot FROM dws.tbl_express_bill_summary ORDER BY day DESC LIMIT ?"
    ),
    "waybills per day (dws.tbl_waybill_summary)": (
        "SELECT day, total, avg_area_total AS avg_area, avg_company_total AS avg_company, "
        "avg_route_total AS avg_route FROM dws.tbl_waybill_summary ORDER BY day DESC LIMIT ?"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=7, help="most recent days to show")
    days = parser.parse_args().days
    con = duckdb.connect(str(config.load().store_path), read_only=True)
    console = Console()
    for title, sql in QUERIES.items():
        result = con.execute(sql, [days])
        table = Table(*[column[0] for column in result.description], title=title)
        for row in result.fetchall():
            table.add_row(*[str(value) for value in row])
        console.print(table)
    con.close()


if __name__ == "__main__":
    main()

"""Example queries the SQL console offers, one or two per theme (a test runs every one)."""

from __future__ import annotations

EXAMPLES: list[tuple[str, str, str]] = [
    (
        "今日订单(按小时)",
        "Orders today by hour",
        "SELECT hour(cdt) AS hour, count(*) AS orders FROM ods.tbl_express_bill\n"
        "WHERE cdt >= current_date GROUP BY 1 ORDER BY 1",
    ),
    (
        "线路准点率(近 7 天,最差 10 条)",
        "On-time rate by route, last 7 days (worst 10)",
        "SELECT route_id, sum(departures) AS departures, sum(on_time) AS on_time,\n"
        "       round(sum(on_time) / nullif(sum(arrived), 0), 3) AS on_time_rate\n"
        "FROM dws.tbl_transit_route_summary WHERE day >= current_date - 7\n"
        "GROUP BY 1 ORDER BY on_time_rate NULLS LAST LIMIT 10",
    ),
    (
        "平均运输时长(按区域)",
        "Average transit time by area",
        "SELECT area_id, round(avg(avg_transit_minutes), 1) AS avg_transit_minutes\n"
        "FROM dws.tbl_transit_area_summary GROUP BY 1 ORDER BY 2 DESC LIMIT 20",
    ),
    (
        "转运中心积压",
        "Hub backlog",
        "SELECT b.warehouse_id, w.name, b.in_transit, b.overdue\n"
        "FROM dws.tbl_hub_backlog b LEFT JOIN ods.tbl_warehouse w ON w.id = b.warehouse_id\n"
        "WHERE b.day = (SELECT max(day) FROM dws.tbl_hub_backlog) ORDER BY b.in_transit DESC",
    ),
    (
        "每日收入",
        "Revenue per day",
        "SELECT day, sum(parcels) AS parcels, sum(revenue) AS revenue\n"
        "FROM dws.tbl_revenue_summary GROUP BY 1 ORDER BY 1",
    ),
    (
        "客户手机运营商",
        "Customers by phone carrier",
        "SELECT phone_carrier, count(*) AS customers FROM dws.tbl_customer_tag\n"
        "GROUP BY 1 ORDER BY 2 DESC",
    ),
    (
        "每日异常",
        "Exceptions per day",
        "SELECT day, cancelled, delayed, lost, rejected FROM dws.tbl_exception_summary\n"
        "ORDER BY day DESC LIMIT 14",
    ),
    (
        "快递员揽派(今日前 10)",
        "Top couriers today",
        "SELECT courier_id, bills, deliveries, signed FROM dws.tbl_courier_summary\n"
        "WHERE day = (SELECT max(day) FROM dws.tbl_courier_summary)\n"
        "ORDER BY bills DESC LIMIT 10",
    ),
]
"""(Chinese title, English title, SQL)."""

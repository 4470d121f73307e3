"""Every DWS table's numbers recomputed on the business databases themselves (PostgreSQL; the
CRM tables `crm_*` read from their database through postgres_fdw), written from the definitions in
docs/warehouse.md, not from the warehouse's SQL: what a carrier's analyst would type into the
source to check the dashboard.

Shared rules of the definitions: the day of a fact is the date of its `cdt`; where a fact names
several rows (a waybill with several legs), the lowest id is used; a dimension is known when the
row it names exists; the spread of a day's facts over a dimension is taken over the known groups.
"""

from __future__ import annotations

# Lowest-id picks, as the definitions ask (one row per name).
FIRST_LEG = (
    "(SELECT DISTINCT ON (pw_waybill_number) * FROM tbl_transport_record"
    " ORDER BY pw_waybill_number, id)"
)
FIRST_WAYBILL = (
    "(SELECT DISTINCT ON (waybill_number) * FROM tbl_waybill ORDER BY waybill_number, id)"
)
FIRST_BILL = (
    "(SELECT DISTINCT ON (express_number) * FROM tbl_express_bill ORDER BY express_number, id)"
)
FIRST_PKG = "(SELECT DISTINCT ON (pw_bill) * FROM tbl_pkg ORDER BY pw_bill, id)"
SENDER_OF_BILL = (
    "(SELECT DISTINCT ON (express_bill_id) * FROM tbl_consumer_sender_info"
    " ORDER BY express_bill_id, id)"
)
SENDER_OF_PARCEL = (
    "(SELECT DISTINCT ON (pkg_id) * FROM tbl_consumer_sender_info ORDER BY pkg_id, id)"
)
WAREHOUSE_COMPANY = (
    "(SELECT DISTINCT ON (warehouse_id) * FROM tbl_company_warehouse_map ORDER BY warehouse_id, id)"
)
DOT_COMPANY = "(SELECT DISTINCT ON (dot_id) * FROM tbl_company_dot_map ORDER BY dot_id, id)"

CARRIERS = {
    "移动": "134 135 136 137 138 139 147 150 151 152 157 158 159 172 178 182 183 184 187 188 195 "
    "197 198",
    "联通": "130 131 132 145 155 156 166 171 175 176 185 186 196",
    "电信": "133 149 153 173 177 180 181 189 190 191 193 199",
}


def spread(facts: str, groups: list[tuple[str, str]], with_sum: bool = False) -> str:
    """Per day: `total` facts, and for each (column, name) the largest, smallest and average
    (rounded, halves up) count per known group; `facts` selects `day` and the columns."""
    parts, joins = [], []
    for column, name in groups:
        aggregates = [f"max(n) AS max_{name}_total", f"min(n) AS min_{name}_total"]
        aggregates.append(f"round(avg(n))::bigint AS avg_{name}_total")
        if with_sum:
            aggregates.insert(0, f"sum(n)::bigint AS sum_{name}_total")
        parts.append(
            f"g_{name} AS (SELECT day, {', '.join(aggregates)} FROM (SELECT day, {column}, count(*)"
            f" AS n FROM f WHERE {column} IS NOT NULL GROUP BY 1, 2) AS x GROUP BY day)"
        )
        joins.append(f"LEFT JOIN g_{name} USING (day)")
    return (
        f"WITH f AS ({facts}), t AS (SELECT day, count(*) AS total FROM f GROUP BY day), "
        + ", ".join(parts)
        + " SELECT * FROM t "
        + " ".join(joins)
    )


EXPRESS_BILLS = spread(
    "SELECT eb.cdt::date AS day, c.type, d.id AS dot, eb.order_channel_id AS channel, "
    "eb.order_terminal_type AS terminal FROM tbl_express_bill AS eb "
    "LEFT JOIN crm_customer AS c ON c.id = eb.cid "
    f"LEFT JOIN {FIRST_PKG} AS p ON p.pw_bill = eb.express_number "
    "LEFT JOIN tbl_dot AS d ON d.id = p.pw_dot_id",
    [("type", "type"), ("dot", "dot"), ("channel", "channel"), ("terminal", "terminal")],
)

WAYBILLS = spread(
    "SELECT w.cdt::date AS day, ar.id AS area, co.id AS company, d.id AS dot, "
    "rt.id AS route, tt.id AS tool, c.type AS ctype FROM tbl_waybill AS w "
    "LEFT JOIN tbl_courier AS k ON k.id = w.eid LEFT JOIN tbl_dot AS d ON d.id = k.dot_id "
    "LEFT JOIN tbl_areas AS ar ON ar.id = d.manage_area_id "
    "LEFT JOIN crm_customer AS c ON c.id = w.cid "
    f"LEFT JOIN {FIRST_LEG} AS leg ON leg.pw_waybill_number = w.waybill_number "
    "LEFT JOIN tbl_warehouse AS sw ON sw.id = leg.sw_id "
    f"LEFT JOIN {WAREHOUSE_COMPANY} AS m ON m.warehouse_id = sw.id "
    "LEFT JOIN tbl_company AS co ON co.id = m.company_id "
    "LEFT JOIN tbl_route AS rt ON rt.id = leg.route_id "
    "LEFT JOIN tbl_transport_tool AS tt ON tt.id = leg.transport_tool_id",
    [(n, n) for n in ("area", "company", "dot", "route", "tool", "ctype")],
)

# A leg with everything the departures theme groups it by.
LEGS = (
    "SELECT tr.*, tr.cdt::date AS day, co.id AS company, ar.id AS area, d.id AS dot, "
    "ep.id AS package, c.type AS ctype FROM tbl_transport_record AS tr "
    f"LEFT JOIN {WAREHOUSE_COMPANY} AS m ON m.warehouse_id = tr.sw_id "
    "LEFT JOIN tbl_company AS co ON co.id = m.company_id "
    "LEFT JOIN tbl_areas AS ar ON ar.id = co.city_id "
    "LEFT JOIN tbl_push_warehouse AS pw ON pw.id = tr.pw_id "
    "LEFT JOIN tbl_dot AS d ON d.id = pw.pw_dot_id "
    f"LEFT JOIN {FIRST_WAYBILL} AS w ON w.waybill_number = tr.pw_waybill_number "
    f"LEFT JOIN {FIRST_BILL} AS eb ON eb.express_number = w.express_bill_number "
    f"LEFT JOIN {SENDER_OF_BILL} AS s ON s.express_bill_id = eb.id "
    "LEFT JOIN tbl_express_package AS ep ON ep.id = s.pkg_id "
    "LEFT JOIN crm_customer AS c ON c.id = eb.cid"
)

DEPARTURES = spread(
    "SELECT day, sw_id AS ws, dot, route_id AS route, ctype, package, area, company "
    f"FROM ({LEGS}) AS l",
    [(n, n) for n in ("ws", "dot", "route", "ctype", "package", "area", "company")],
)

DOT_VEHICLES = spread(
    "SELECT a.cdt::date AS day, d.id AS dot, co.city_id AS city, co.id AS company "
    "FROM tbl_dot_transport_tool AS a LEFT JOIN tbl_dot AS d ON d.id = a.dot_id "
    f"LEFT JOIN {DOT_COMPANY} AS m ON m.dot_id = d.id "
    "LEFT JOIN tbl_company AS co ON co.id = m.company_id",
    [("dot", "dot"), ("city", "city"), ("company", "company")],
    with_sum=True,
)

WAREHOUSE_VEHICLES = spread(
    "SELECT a.cdt::date AS day, w.id AS ws, co.city_id AS city, co.id AS company "
    "FROM tbl_warehouse_transport_tool AS a LEFT JOIN tbl_warehouse AS w ON w.id = a.warehouse_id "
    f"LEFT JOIN {WAREHOUSE_COMPANY} AS m ON m.warehouse_id = w.id "
    "LEFT JOIN tbl_company AS co ON co.id = m.company_id",
    [("ws", "ws"), ("city", "city"), ("company", "company")],
    with_sum=True,
)

# A parcel with its sender (the customer) and the dot of the courier who took the order.
PARCELS = (
    "SELECT ep.id, ep.cdt, ep.actual_amount, ep.send_address_id, ep.recv_address_id, "
    "ep.cdt::date AS day, s.ciid AS cid, d.id AS dot, d.manage_area_id AS area, "
    "co.id AS company FROM tbl_express_package AS ep "
    f"LEFT JOIN {SENDER_OF_PARCEL} AS s ON s.pkg_id = ep.id "
    "LEFT JOIN tbl_express_bill AS eb ON eb.id = s.express_bill_id "
    "LEFT JOIN tbl_courier AS k ON k.id = eb.eid LEFT JOIN tbl_dot AS d ON d.id = k.dot_id "
    f"LEFT JOIN {DOT_COMPANY} AS m ON m.dot_id = d.id "
    "LEFT JOIN tbl_company AS co ON co.id = m.company_id"
)

CUSTOMERS = f"""
WITH sent AS (
    SELECT cid, count(*) AS n, sum(actual_amount) AS paid, max(cdt) AS last
    FROM ({PARCELS}) AS p WHERE cid IS NOT NULL GROUP BY cid
), c AS (
    SELECT c.*, coalesce(s.n, 0) AS n, coalesce(s.paid, 0) AS paid,
           %(ref)s::date - s.last::date AS idle
    FROM crm_customer AS c LEFT JOIN sent AS s ON s.cid = c.id
)
SELECT %(ref)s::date AS day, count(*) AS customer_count,
    count(*) FILTER (WHERE reg_dt::date = %(ref)s::date) AS addition_customer_count,
    count(*) FILTER (WHERE reg_dt::date BETWEEN date_trunc('month', %(ref)s::date)::date
        AND %(ref)s::date) AS month_of_new_customer_count,
    count(*) FILTER (WHERE idle <= 10) AS active_customer_count,
    count(*) FILTER (WHERE idle BETWEEN 90 AND 180) AS sleep_customer_count,
    count(*) FILTER (WHERE idle >= 270) AS lose_customer_count,
    round(count(*) FILTER (WHERE idle < 180)::numeric / count(*), 4) AS preserve_rate,
    count(*) FILTER (WHERE n >= 1) AS customer_bill_count,
    round(sum(paid) / nullif(sum(n), 0), 2) AS customer_avg_amount,
    round(sum(n)::numeric / count(*), 2) AS avg_customer_bill_count
FROM c
"""

_CARRIER_CASE = " ".join(
    f"WHEN left(c.mobile, 3) = ANY(string_to_array('{prefixes}', ' ')) THEN '{name}'"
    for name, prefixes in CARRIERS.items()
)
CUSTOMER_TAGS = f"""
WITH p AS (SELECT * FROM ({PARCELS}) AS p WHERE cid IS NOT NULL),
first AS (SELECT DISTINCT ON (cid) cid, cdt, send_address_id FROM p ORDER BY cid, cdt, id),
received AS (
    SELECT p.cid, split_part(ar.mername, ',', 2) AS province, count(*) AS n
    FROM p JOIN crm_address AS a ON a.id = p.recv_address_id
    JOIN tbl_areas AS ar ON ar.id = a.area_id
    WHERE split_part(ar.mername, ',', 2) <> '' GROUP BY 1, 2
),
top AS (SELECT DISTINCT ON (cid) cid, province FROM received ORDER BY cid, n DESC, province DESC)
SELECT c.id, c.name, first.cdt AS first_order_dt, sa.detail_addr AS first_order_address,
    top.province AS top_receive_province, c.mobile,
    CASE {_CARRIER_CASE} ELSE '其他' END AS phone_carrier
FROM crm_customer AS c LEFT JOIN first ON first.cid = c.id
LEFT JOIN crm_address AS sa ON sa.id = first.send_address_id
LEFT JOIN top ON top.cid = c.id
"""


def _transit(column: str, name: str) -> str:
    return f"""
SELECT day, {column} AS {name}, count(*) AS departures, count(actual_arrivals_dt) AS arrived,
    count(*) FILTER (WHERE actual_arrivals_dt <= predict_arrivals_dt) AS on_time,
    round(count(*) FILTER (WHERE actual_arrivals_dt <= predict_arrivals_dt)::numeric
        / nullif(count(actual_arrivals_dt), 0), 4) AS on_time_rate,
    round(avg(extract(epoch FROM actual_arrivals_dt - start_vehicle_dt) / 60), 1)
        AS avg_transit_minutes
FROM ({LEGS}) AS l GROUP BY day, {column}
"""


# The replica's clock: the newest change to a leg; "as of" is the end of the reference date or
# that clock when it is earlier.
_AS_OF = (
    "least(%(ref)s::date + interval '1 day', "
    "(SELECT max(greatest(cdt, udt)) FROM tbl_transport_record) + interval '1 second')"
)
BACKLOG = f"""
SELECT %(ref)s::date AS day, ew_id AS warehouse_id, count(*) AS in_transit,
    count(*) FILTER (WHERE predict_arrivals_dt < {_AS_OF}) AS overdue
FROM tbl_transport_record
WHERE start_vehicle_dt < {_AS_OF}
  AND (actual_arrivals_dt IS NULL OR actual_arrivals_dt >= {_AS_OF})
  AND NOT (state = 3 AND udt < {_AS_OF})
GROUP BY ew_id
"""

EXCEPTIONS = """
WITH o AS (
    SELECT cdt::date AS day, count(*) AS orders, count(*) FILTER (WHERE state = 4) AS cancelled
    FROM tbl_collect_package GROUP BY 1
), l AS (
    SELECT cdt::date AS day, count(*) AS legs, count(actual_arrivals_dt) AS arrived,
        count(*) FILTER (WHERE actual_arrivals_dt > predict_arrivals_dt) AS delayed,
        count(*) FILTER (WHERE state = 3) AS lost
    FROM tbl_transport_record GROUP BY 1
), d AS (
    SELECT cdt::date AS day, count(*) FILTER (WHERE state IN (3, 4)) AS deliveries,
        count(*) FILTER (WHERE state = 4) AS rejected
    FROM tbl_deliver_package GROUP BY 1
)
SELECT day, coalesce(orders, 0) AS orders, coalesce(cancelled, 0) AS cancelled,
    coalesce(legs, 0) AS legs, coalesce(arrived, 0) AS arrived,
    coalesce(delayed, 0) AS delayed, coalesce(lost, 0) AS lost,
    coalesce(deliveries, 0) AS deliveries, coalesce(rejected, 0) AS rejected
FROM o FULL JOIN l USING (day) FULL JOIN d USING (day)
"""

COURIERS = """
SELECT day, courier_id, count(*) FILTER (WHERE bill) AS bills,
    count(*) FILTER (WHERE NOT bill) AS deliveries, count(*) FILTER (WHERE state = 3) AS signed
FROM (
    SELECT cdt::date AS day, eid AS courier_id, TRUE AS bill, NULL::int AS state
    FROM tbl_express_bill
    UNION ALL
    SELECT cdt::date, emp_id, FALSE, state FROM tbl_deliver_package
) AS a GROUP BY 1, 2
"""

REVENUE = f"""
SELECT day, company AS company_id, area AS area_id, count(*) AS parcels,
    coalesce(sum(actual_amount), 0) AS revenue
FROM ({PARCELS}) AS p GROUP BY 1, 2, 3
"""

# Every DWS table and the source query giving its rows (%(ref)s: the reference date).
SOURCE_KPIS: dict[str, str] = {
    "dws.tbl_express_bill_summary": EXPRESS_BILLS,
    "dws.tbl_waybill_summary": WAYBILLS,
    "dws.tbl_warehouse_summary": DEPARTURES,
    "dws.tbl_dot_transport_tool_summary": DOT_VEHICLES,
    "dws.tbl_warehouse_transport_tool_summary": WAREHOUSE_VEHICLES,
    "dws.tbl_customer_summary": CUSTOMERS,
    "dws.tbl_customer_tag": CUSTOMER_TAGS,
    "dws.tbl_transit_route_summary": _transit("route_id", "route_id"),
    "dws.tbl_transit_area_summary": _transit("area", "area_id"),
    "dws.tbl_hub_backlog": BACKLOG,
    "dws.tbl_exception_summary": EXCEPTIONS,
    "dws.tbl_courier_summary": COURIERS,
    "dws.tbl_revenue_summary": REVENUE,
}

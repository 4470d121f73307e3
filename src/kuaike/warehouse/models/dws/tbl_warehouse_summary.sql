-- Departures (transport records) per day and how they spread over start warehouses, dots,
-- routes, customer types, parcels, areas and companies.
-- Facts whose group is unknown (a bill not yet at a dot) are in the total, not in a group.
-- kind: by_day
-- key: day
WITH totals AS (
    SELECT day, count(*) AS total FROM dwd.tbl_warehouse_detail GROUP BY day
),
by_ws AS (
    SELECT day, sw_id, count(*) AS n
    FROM dwd.tbl_warehouse_detail
    WHERE sw_id IS NOT NULL
    GROUP BY day, sw_id
),
by_dot AS (
    SELECT day, dot_id, count(*) AS n
    FROM dwd.tbl_warehouse_detail
    WHERE dot_id IS NOT NULL
    GROUP BY day, dot_id
),
by_route AS (
    SELECT day, route_id, count(*) AS n
    FROM dwd.tbl_warehouse_detail
    WHERE route_id IS NOT NULL
    GROUP BY day, route_id
),
by_ctype AS (
    SELECT day, ctype, count(*) AS n
    FROM dwd.tbl_warehouse_detail
    WHERE ctype IS NOT NULL
    GROUP BY day, ctype
),
by_package AS (
    SELECT day, package_id, count(*) AS n
    FROM dwd.tbl_warehouse_detail
    WHERE package_id IS NOT NULL
    GROUP BY day, package_id
),
by_area AS (
    SELECT day, area_id, count(*) AS n
    FROM dwd.tbl_warehouse_detail
    WHERE area_id IS NOT NULL
    GROUP BY day, area_id
),
by_company AS (
    SELECT day, company_id, count(*) AS n
    FROM dwd.tbl_warehouse_detail
    WHERE company_id IS NOT NULL
    GROUP BY day, company_id
)
SELECT
    t.day,
    t.total,
    ws.max_ws_total,
    ws.min_ws_total,
    ws.avg_ws_total,
    dot.max_dot_total,
    dot.min_dot_total,
    dot.avg_dot_total,
    route.max_route_total,
    route.min_route_total,
    route.avg_route_total,
    ctype.max_ctype_total,
    ctype.min_ctype_total,
    ctype.avg_ctype_total,
    package.max_package_total,
    package.min_package_total,
    package.avg_package_total,
    area.max_area_total,
    area.min_area_total,
    area.avg_area_total,
    company.max_company_total,
    company.min_company_total,
    company.avg_company_total
FROM totals AS t
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_ws_total,
        min(n) AS min_ws_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_ws_total
    FROM by_ws
    GROUP BY day
) AS ws ON ws.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_dot_total,
        min(n) AS min_dot_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_dot_total
    FROM by_dot
    GROUP BY day
) AS dot ON dot.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_route_total,
        min(n) AS min_route_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_route_total
    FROM by_route
    GROUP BY day
) AS route ON route.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_ctype_total,
        min(n) AS min_ctype_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_ctype_total
    FROM by_ctype
    GROUP BY day
) AS ctype ON ctype.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_package_total,
        min(n) AS min_package_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_package_total
    FROM by_package
    GROUP BY day
) AS package ON package.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_area_total,
        min(n) AS min_area_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_area_total
    FROM by_area
    GROUP BY day
) AS area ON area.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_company_total,
        min(n) AS min_company_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_company_total
    FROM by_company
    GROUP BY day
) AS company ON company.day = t.day

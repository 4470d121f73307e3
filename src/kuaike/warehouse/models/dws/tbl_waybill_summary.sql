-- Waybills per day: how many, and how they spread over areas, companies, dots, routes,
-- vehicles and customer types.
-- Facts whose group is unknown (a bill not yet at a dot) are in the total, not in a group.
-- kind: by_day
-- key: day
WITH totals AS (
    SELECT day, count(*) AS total FROM dwd.tbl_waybill_detail GROUP BY day
),
by_area AS (
    SELECT day, area_id, count(*) AS n
    FROM dwd.tbl_waybill_detail
    WHERE area_id IS NOT NULL
    GROUP BY day, area_id
),
by_company AS (
    SELECT day, sw_company_id, count(*) AS n
    FROM dwd.tbl_waybill_detail
    WHERE sw_company_id IS NOT NULL
    GROUP BY day, sw_company_id
),
by_dot AS (
    SELECT day, dot_id, count(*) AS n
    FROM dwd.tbl_waybill_detail
    WHERE dot_id IS NOT NULL
    GROUP BY day, dot_id
),
by_route AS (
    SELECT day, route_id, count(*) AS n
    FROM dwd.tbl_waybill_detail
    WHERE route_id IS NOT NULL
    GROUP BY day, route_id
),
by_tool AS (
    SELECT day, tt_id, count(*) AS n
    FROM dwd.tbl_waybill_detail
    WHERE tt_id IS NOT NULL
    GROUP BY day, tt_id
),
by_ctype AS (
    SELECT day, ctype, count(*) AS n
    FROM dwd.tbl_waybill_detail
    WHERE ctype IS NOT NULL
    GROUP BY day, ctype
)
SELECT
    t.day,
    t.total,
    area.max_area_total,
    area.min_area_total,
    area.avg_area_total,
    company.max_company_total,
    company.min_company_total,
    company.avg_company_total,
    dot.max_dot_total,
    dot.min_dot_total,
    dot.avg_dot_total,
    route.max_route_total,
    route.min_route_total,
    route.avg_route_total,
    tool.max_tool_total,
    tool.min_tool_total,
    tool.avg_tool_total,
    ctype.max_ctype_total,
    ctype.min_ctype_total,
    ctype.avg_ctype_total
FROM totals AS t
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
        max(n) AS max_tool_total,
        min(n) AS min_tool_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_tool_total
    FROM by_tool
    GROUP BY day
) AS tool ON tool.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_ctype_total,
        min(n) AS min_ctype_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_ctype_total
    FROM by_ctype
    GROUP BY day
) AS ctype ON ctype.day = t.day

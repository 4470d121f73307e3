-- Vehicles allocated to dots per day, spread over dots, cities and companies.
-- Facts whose group is unknown (a bill not yet at a dot) are in the total, not in a group.
-- kind: by_day
-- key: day
WITH totals AS (
    SELECT day, count(*) AS total FROM dwd.tbl_dot_transport_tool_detail GROUP BY day
),
by_dot AS (
    SELECT day, dot_id, count(*) AS n
    FROM dwd.tbl_dot_transport_tool_detail
    WHERE dot_id IS NOT NULL
    GROUP BY day, dot_id
),
by_city AS (
    SELECT day, city_id, count(*) AS n
    FROM dwd.tbl_dot_transport_tool_detail
    WHERE city_id IS NOT NULL
    GROUP BY day, city_id
),
by_company AS (
    SELECT day, company_id, count(*) AS n
    FROM dwd.tbl_dot_transport_tool_detail
    WHERE company_id IS NOT NULL
    GROUP BY day, company_id
)
SELECT
    t.day,
    t.total,
    dot.sum_dot_total,
    dot.max_dot_total,
    dot.min_dot_total,
    dot.avg_dot_total,
    city.sum_city_total,
    city.max_city_total,
    city.min_city_total,
    city.avg_city_total,
    company.sum_company_total,
    company.max_company_total,
    company.min_company_total,
    company.avg_company_total
FROM totals AS t
LEFT JOIN (
    SELECT
        day,
        sum(n) AS sum_dot_total,
        max(n) AS max_dot_total,
        min(n) AS min_dot_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_dot_total
    FROM by_dot
    GROUP BY day
) AS dot ON dot.day = t.day
LEFT JOIN (
    SELECT
        day,
        sum(n) AS sum_city_total,
        max(n) AS max_city_total,
        min(n) AS min_city_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_city_total
    FROM by_city
    GROUP BY day
) AS city ON city.day = t.day
LEFT JOIN (
    SELECT
        day,
        sum(n) AS sum_company_total,
        max(n) AS max_company_total,
        min(n) AS min_company_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_company_total
    FROM by_company
    GROUP BY day
) AS company ON company.day = t.day

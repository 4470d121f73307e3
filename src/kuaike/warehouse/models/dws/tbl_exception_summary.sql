-- Exceptions per day, each with what it is counted out of: orders cancelled before pick-up (of
-- the orders placed), legs that arrived late (of the legs that arrived), legs declared lost
-- (state 3, of the legs), deliveries rejected by the receiver (of the deliveries signed or
-- rejected). Day = day of the order, of the leg's departure record, of the delivery task.
-- A leg overdue and never declared lost is not presumed lost here: it stays in the backlog
-- (dws.tbl_hub_backlog) as overdue, where the clock of "now" belongs.
-- kind: by_day
-- key: day
-- not_null: day
WITH orders AS (
    SELECT day, count(*) AS orders, count(*) FILTER (WHERE state = 4) AS cancelled
    FROM dwd.tbl_collect_package_detail
    GROUP BY day
),
legs AS (
    SELECT
        day,
        count(*) AS legs,
        count(actual_arrivals_dt) AS arrived,
        count(*) FILTER (WHERE actual_arrivals_dt > predict_arrivals_dt) AS delayed,
        count(*) FILTER (WHERE state = 3) AS lost
    FROM dwd.tbl_warehouse_detail
    GROUP BY day
),
deliveries AS (
    SELECT
        day,
        count(*) FILTER (WHERE state IN (3, 4)) AS deliveries,
        count(*) FILTER (WHERE state = 4) AS rejected
    FROM dwd.tbl_delivery_detail
    GROUP BY day
),
days AS (
    SELECT day FROM orders UNION SELECT day FROM legs UNION SELECT day FROM deliveries
)
SELECT
    days.day,
    coalesce(o.orders, 0) AS orders,
    coalesce(o.cancelled, 0) AS cancelled,
    coalesce(l.legs, 0) AS legs,
    coalesce(l.arrived, 0) AS arrived,
    coalesce(l.delayed, 0) AS delayed,
    coalesce(l.lost, 0) AS lost,
    coalesce(d.deliveries, 0) AS deliveries,
    coalesce(d.rejected, 0) AS rejected
FROM days
LEFT JOIN orders AS o ON o.day = days.day
LEFT JOIN legs AS l ON l.day = days.day
LEFT JOIN deliveries AS d ON d.day = days.day

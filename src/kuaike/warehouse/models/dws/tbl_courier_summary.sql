-- Courier productivity per day: orders taken (express bills), deliveries assigned and signed.
-- kind: by_day
-- key: day, courier_id
-- not_null: day
-- Bills taken and deliveries in one list, counted in one aggregate per (day, courier): the same
-- rows as two aggregates joined on (day, courier), without the join. (Facts without a day would
-- make one row here and two there; the not-null audit of `day` fails the build either way.)
WITH activity AS (
    SELECT day, eid AS courier_id, TRUE AS taken, NULL AS state
    FROM dwd.tbl_express_bill_detail
    UNION ALL
    SELECT day, emp_id AS courier_id, FALSE AS taken, state
    FROM dwd.tbl_delivery_detail
)
SELECT
    day,
    courier_id,
    count(*) FILTER (WHERE taken) AS bills,
    count(*) FILTER (WHERE NOT taken) AS deliveries,
    count(*) FILTER (WHERE state = 3) AS signed
FROM activity
GROUP BY day, courier_id

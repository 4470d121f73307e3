-- Courier productivity per day: orders taken (express bills), deliveries assigned and signed.
-- kind: by_day
-- key: day, courier_id
-- not_null: day
WITH taken AS (
    SELECT day, eid AS courier_id, count(*) AS bills
    FROM dwd.tbl_express_bill_detail
    GROUP BY day, eid
),
delivered AS (
    SELECT
        day,
        emp_id AS courier_id,
        count(*) AS deliveries,
        count(*) FILTER (WHERE state = 3) AS signed
    FROM dwd.tbl_delivery_detail
    GROUP BY day, emp_id
)
SELECT
    coalesce(t.day, d.day) AS day,
    coalesce(t.courier_id, d.courier_id) AS courier_id,
    coalesce(t.bills, 0) AS bills,
    coalesce(d.deliveries, 0) AS deliveries,
    coalesce(d.signed, 0) AS signed
FROM taken AS t
FULL OUTER JOIN delivered AS d
    ON d.day = t.day AND d.courier_id IS NOT DISTINCT FROM t.courier_id

-- Exceptions per day: legs that arrived late, deliveries rejected by the receiver, deliveries
-- cancelled, and legs presumed lost (departed, not arrived, predicted arrival more than 7 days
-- before the reference date). Day = day of the transport record or delivery.
-- kind: by_day
-- key: day
WITH legs AS (
    SELECT
        day,
        count(*) FILTER (WHERE actual_arrivals_dt > predict_arrivals_dt) AS delayed,
        count(*) FILTER (
            WHERE start_vehicle_dt IS NOT NULL
              AND actual_arrivals_dt IS NULL
              AND predict_arrivals_dt
                  < CAST(getvariable('reference_date') AS DATE) - INTERVAL 7 DAY
        ) AS lost
    FROM dwd.tbl_warehouse_detail
    GROUP BY day
),
deliveries AS (
    SELECT
        day,
        count(*) FILTER (WHERE state = 4) AS rejected,
        count(*) FILTER (WHERE state = 5) AS cancelled
    FROM dwd.tbl_delivery_detail
    GROUP BY day
)
SELECT
    coalesce(l.day, d.day) AS day,
    coalesce(l.delayed, 0) AS delayed,
    coalesce(d.rejected, 0) AS rejected,
    coalesce(d.cancelled, 0) AS cancelled,
    coalesce(l.lost, 0) AS lost
FROM legs AS l
FULL OUTER JOIN deliveries AS d ON d.day = l.day

-- On-time delivery and transit time per route and day (day of the transport record).
-- kind: by_day
-- key: day, route_id
-- not_null: day
SELECT
    day,
    route_id,
    count(*) AS departures,
    count(actual_arrivals_dt) AS arrived,
    count(*) FILTER (WHERE actual_arrivals_dt <= predict_arrivals_dt) AS on_time,
    round(
        count(*) FILTER (WHERE actual_arrivals_dt <= predict_arrivals_dt)
        / nullif(count(actual_arrivals_dt), 0),
        4
    ) AS on_time_rate,
    -- exact minutes (seconds / 60): date_diff('minute') counts the minute marks crossed. The
    -- average is of whole seconds, divided once: averaging fractional minutes sums doubles in an
    -- order each engine picks, and the last bit decided the rounding (441.4 vs 441.3).
    round(avg(date_diff('second', start_vehicle_dt, actual_arrivals_dt)) / 60, 1)
        AS avg_transit_minutes
FROM dwd.tbl_warehouse_detail
GROUP BY day, route_id

-- On-time delivery and transit time per area (city of the start warehouse's company) and day (day of the transport record).
-- kind: by_day
-- key: day, area_id
-- not_null: day
SELECT
    day,
    area_id,
    count(*) AS departures,
    count(actual_arrivals_dt) AS arrived,
    count(*) FILTER (WHERE actual_arrivals_dt <= predict_arrivals_dt) AS on_time,
    round(
        count(*) FILTER (WHERE actual_arrivals_dt <= predict_arrivals_dt)
        / nullif(count(actual_arrivals_dt), 0),
        4
    ) AS on_time_rate,
    -- exact minutes (seconds / 60): date_diff('minute') counts the minute marks crossed; the
    -- average of whole seconds is divided once, so no engine's summation order shows
    round(avg(date_diff('second', start_vehicle_dt, actual_arrivals_dt)) / 60, 1)
        AS avg_transit_minutes
FROM dwd.tbl_warehouse_detail
GROUP BY day, area_id

-- Legs on the road towards each hub (destination warehouse) as of the reference date: left, not
-- arrived and not declared lost by then; overdue = those predicted to have arrived by then.
-- "As of" is the end of the reference date, or the replica's own clock (the newest change to a
-- leg) when that is earlier: a build at 10:00 must not call overdue a truck due at 18:00.
-- Times are whole seconds, so "before the clock's next second" = "at or before the clock".
-- kind: snapshot
-- key: day, warehouse_id
-- not_null: day
WITH as_of AS (
    SELECT least(
        CAST(getvariable('reference_date') AS DATE) + INTERVAL 1 DAY,
        (SELECT max(greatest(cdt, udt)) FROM dwd.tbl_warehouse_detail) + INTERVAL 1 SECOND
    ) AS t
)
SELECT
    CAST(getvariable('reference_date') AS DATE) AS day,
    ew_id AS warehouse_id,
    count(*) AS in_transit,
    count(*) FILTER (WHERE predict_arrivals_dt < as_of.t) AS overdue
FROM dwd.tbl_warehouse_detail, as_of
WHERE start_vehicle_dt < as_of.t
  AND (actual_arrivals_dt IS NULL OR actual_arrivals_dt >= as_of.t)
  AND NOT (state = 3 AND udt < as_of.t)
GROUP BY ew_id

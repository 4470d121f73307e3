-- Parcels in transit towards each hub (destination warehouse) at the end of the reference date:
-- legs that left before midnight and had not arrived by then.
-- kind: snapshot
-- key: day, warehouse_id
-- not_null: day
SELECT
    CAST(getvariable('reference_date') AS DATE) AS day,
    ew_id AS warehouse_id,
    count(*) AS in_transit,
    count(*) FILTER (
        WHERE predict_arrivals_dt < CAST(getvariable('reference_date') AS DATE) + INTERVAL 1 DAY
    ) AS overdue
FROM dwd.tbl_warehouse_detail
WHERE start_vehicle_dt < CAST(getvariable('reference_date') AS DATE) + INTERVAL 1 DAY
  AND (
      actual_arrivals_dt IS NULL
      OR actual_arrivals_dt >= CAST(getvariable('reference_date') AS DATE) + INTERVAL 1 DAY
  )
GROUP BY ew_id

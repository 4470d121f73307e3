-- Deliveries (派件): one row per delivery task given to a courier, with the courier, the dot,
-- the company and the delivery state (1 dispatched, 2 out for delivery, 3 signed, 4 rejected,
-- 5 cancelled).
-- kind: by_day
-- key: id
-- One row per fact: where a join finds several rows, the one with the lowest id is used.
SELECT
    dp.id,
    dp.express_bill_number,
    dp.waybill_number,
    dp.emp_id,
    e.name AS courier_name,
    d.id AS dot_id,
    d.dot_name,
    d.manage_area_id AS area_id,
    co.id AS company_id,
    co.company_name,
    dp.state,
    dstate.code_desc AS state_name,
    dp.rece_type,
    dp.rece_dt,
    dp.cdt,
    dp.udt,
    CAST(dp.cdt AS DATE) AS day
FROM ods.tbl_deliver_package AS dp
LEFT JOIN ods.tbl_courier AS e ON e.id = dp.emp_id
LEFT JOIN ods.tbl_dot AS d ON d.id = e.dot_id
LEFT JOIN ods.tbl_company_dot_map AS cdm
    ON cdm.id IN (SELECT min(id) FROM ods.tbl_company_dot_map GROUP BY dot_id)
    AND cdm.dot_id = d.id
LEFT JOIN ods.tbl_company AS co ON co.id = cdm.company_id
LEFT JOIN ods.tbl_codes AS dstate
    ON dstate.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND dstate.type = 3 AND dstate.code = CAST(dp.state AS VARCHAR)

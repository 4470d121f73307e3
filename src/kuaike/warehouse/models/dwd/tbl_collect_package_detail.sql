-- Pick-ups (揽件): one row per pick-up task given to a courier when an order is placed, with the
-- courier, the dot and the pick-up state (1 dispatched, 2 collecting, 3 collected, 4 cancelled).
-- The task outlives a cancelled order (whose express bill is deleted): it is where
-- cancellations are counted.
-- kind: by_day
-- key: id
-- One row per fact: where a join finds several rows, the one with the lowest id is used.
SELECT
    cp.id,
    cp.express_bill_id,
    cp.express_bill_number,
    cp.cid,
    cp.eid,
    e.name AS courier_name,
    d.id AS dot_id,
    d.dot_name,
    cp.pkg_id,
    cp.state,
    cstate.code_desc AS state_name,
    cp.collect_package_dt,
    cp.cdt,
    cp.udt,
    CAST(cp.cdt AS DATE) AS day
FROM ods.tbl_collect_package AS cp
LEFT JOIN ods.tbl_courier AS e ON e.id = cp.eid
LEFT JOIN ods.tbl_dot AS d ON d.id = e.dot_id
LEFT JOIN ods.tbl_codes AS cstate
    ON cstate.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND cstate.type = 2 AND cstate.code = CAST(cp.state AS VARCHAR)

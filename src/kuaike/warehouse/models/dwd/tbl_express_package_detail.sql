-- Parcels (包裹): one row per parcel with what the customer paid, its express bill and the dot
-- and company of the courier who took the order, and its sending and receiving addresses.
-- kind: by_day
-- key: id
-- One row per fact: where a join finds several rows, the one with the lowest id is used.
SELECT
    ep.id,
    csi.express_bill_id,
    eb.express_number,
    csi.id AS sender_id,
    csi.ciid AS cid,
    ep.weight,
    ep.amount,
    ep.coupon_amount,
    ep.actual_amount,
    ep.send_address_id,
    ep.recv_address_id,
    eb.eid,
    d.id AS dot_id,
    d.manage_area_id AS area_id,
    co.id AS company_id,
    co.company_name,
    ep.cdt,
    CAST(ep.cdt AS DATE) AS day
FROM ods.tbl_express_package AS ep
LEFT JOIN ods.tbl_consumer_sender_info AS csi
    ON csi.id IN (SELECT min(id) FROM ods.tbl_consumer_sender_info GROUP BY pkg_id)
    AND csi.pkg_id = ep.id
LEFT JOIN ods.tbl_express_bill AS eb ON eb.id = csi.express_bill_id
LEFT JOIN ods.tbl_courier AS e ON e.id = eb.eid
LEFT JOIN ods.tbl_dot AS d ON d.id = e.dot_id
LEFT JOIN ods.tbl_company_dot_map AS cdm
    ON cdm.id IN (SELECT min(id) FROM ods.tbl_company_dot_map GROUP BY dot_id)
    AND cdm.dot_id = d.id
LEFT JOIN ods.tbl_company AS co ON co.id = cdm.company_id

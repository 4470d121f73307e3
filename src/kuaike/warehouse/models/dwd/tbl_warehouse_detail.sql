-- Transport records (转运记录: one departure of a vehicle from a warehouse), one row per record,
-- with its start warehouse's company and city, waybill, parcel, customer and entry dot.
-- kind: by_day
-- key: id
-- One row per fact: where a join finds several rows, the one with the lowest id is used.
SELECT
    tr.id,
    tr.pw_id,
    tr.pw_waybill_id,
    tr.pw_waybill_number,
    tr.ow_id,
    tr.ow_waybill_id,
    tr.ow_waybill_number,
    tr.sw_id,
    sw.name AS sw_name,
    tr.ew_id,
    tr.transport_tool_id,
    tr.pw_driver1_id,
    tr.pw_driver2_id,
    tr.pw_driver3_id,
    tr.ow_driver1_id,
    tr.ow_driver2_id,
    tr.ow_driver3_id,
    tr.route_id,
    tr.distance,
    tr.duration,
    tr.state,
    tr.start_vehicle_dt,
    tr.predict_arrivals_dt,
    tr.actual_arrivals_dt,
    tr.cdt,
    tr.udt,
    tr.remark,
    co.id AS company_id,
    co.company_name,
    ar.id AS area_id,
    ar.name AS area_name,
    ep.id AS package_id,
    ep.name AS package_name,
    c.id AS cid,
    c.name AS cname,
    c.type AS ctype,
    ctype.code_desc AS ctype_name,
    d.id AS dot_id,
    d.dot_name,
    CAST(tr.cdt AS DATE) AS day
FROM ods.tbl_transport_record AS tr
LEFT JOIN ods.tbl_warehouse AS sw ON sw.id = tr.sw_id
LEFT JOIN ods.tbl_company_warehouse_map AS cwm
    ON cwm.id IN (SELECT min(id) FROM ods.tbl_company_warehouse_map GROUP BY warehouse_id)
    AND cwm.warehouse_id = tr.sw_id
LEFT JOIN ods.tbl_company AS co ON co.id = cwm.company_id
LEFT JOIN ods.tbl_areas AS ar ON ar.id = co.city_id
LEFT JOIN ods.tbl_waybill AS wb
    ON wb.id IN (SELECT min(id) FROM ods.tbl_waybill GROUP BY waybill_number)
    AND wb.waybill_number = tr.pw_waybill_number
LEFT JOIN ods.tbl_express_bill AS eb
    ON eb.id IN (SELECT min(id) FROM ods.tbl_express_bill GROUP BY express_number)
    AND eb.express_number = wb.express_bill_number
LEFT JOIN ods.tbl_consumer_sender_info AS csi
    ON csi.id IN (SELECT min(id) FROM ods.tbl_consumer_sender_info GROUP BY express_bill_id)
    AND csi.express_bill_id = eb.id
LEFT JOIN ods.tbl_express_package AS ep ON ep.id = csi.pkg_id
LEFT JOIN ods.tbl_customer AS c ON c.id = eb.cid
LEFT JOIN ods.tbl_codes AS ctype
    ON ctype.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND ctype.type = 16 AND ctype.code = CAST(c.type AS VARCHAR)
LEFT JOIN ods.tbl_push_warehouse AS pw ON pw.id = tr.pw_id
LEFT JOIN ods.tbl_dot AS d ON d.id = pw.pw_dot_id

-- Waybills (运单), one row per waybill, with its courier, dot, area, first transport leg
-- (warehouses, companies, vehicle, route) and customer.
-- kind: by_day
-- key: id
-- One row per fact: where a join finds several rows, the one with the lowest id is used.
SELECT
    wb.id,
    wb.express_bill_number,
    wb.waybill_number,
    wb.cid,
    c.name AS cname,
    c.type AS ctype,
    ctype.code_desc AS ctype_name,
    wb.eid,
    e.name AS ename,
    d.id AS dot_id,
    d.dot_name,
    ar.id AS area_id,
    ar.name AS area_name,
    wb.order_channel_id,
    channel.code_desc AS order_chanel_name,
    wb.order_dt,
    wb.order_terminal_type,
    wb.order_terminal_os_type,
    wb.reserve_dt,
    wb.is_collect_package_timeout,
    wb.pkg_id,
    wb.pkg_number,
    wb.timeout_dt,
    wb.transform_type,
    wb.delivery_addr,
    wb.delivery_customer_name,
    wb.delivery_mobile,
    wb.delivery_tel,
    wb.receive_addr,
    wb.receive_customer_name,
    wb.receive_mobile,
    wb.receive_tel,
    wb.cdt,
    wb.udt,
    wb.remark,
    sw.id AS sw_id,
    sw.name AS sw_name,
    swc.id AS sw_company_id,
    swc.company_name AS sw_company_name,
    ew.id AS ew_id,
    ew.name AS ew_name,
    ewc.id AS ew_company_id,
    ewc.company_name AS ew_company_name,
    tt.id AS tt_id,
    tt.license_plate AS tt_name,
    rt.id AS route_id,
    rt.start_station || '-' || rt.end_station AS route_name,
    CAST(wb.cdt AS DATE) AS day
FROM ods.tbl_waybill AS wb
LEFT JOIN ods.tbl_courier AS e ON e.id = wb.eid
LEFT JOIN ods.tbl_dot AS d ON d.id = e.dot_id
LEFT JOIN ods.tbl_areas AS ar ON ar.id = d.manage_area_id
LEFT JOIN ods.tbl_customer AS c ON c.id = wb.cid
LEFT JOIN ods.tbl_codes AS ctype
    ON ctype.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND ctype.type = 16 AND ctype.code = CAST(c.type AS VARCHAR)
LEFT JOIN ods.tbl_codes AS channel
    ON channel.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND channel.type = 18 AND channel.code = CAST(wb.order_channel_id AS VARCHAR)
LEFT JOIN ods.tbl_transport_record AS tr
    ON tr.id IN (SELECT min(id) FROM ods.tbl_transport_record GROUP BY pw_waybill_number)
    AND tr.pw_waybill_number = wb.waybill_number
LEFT JOIN ods.tbl_warehouse AS sw ON sw.id = tr.sw_id
LEFT JOIN ods.tbl_warehouse AS ew ON ew.id = tr.ew_id
LEFT JOIN ods.tbl_transport_tool AS tt ON tt.id = tr.transport_tool_id
LEFT JOIN ods.tbl_route AS rt ON rt.id = tr.route_id
LEFT JOIN ods.tbl_company_warehouse_map AS swm
    ON swm.id IN (SELECT min(id) FROM ods.tbl_company_warehouse_map GROUP BY warehouse_id)
    AND swm.warehouse_id = sw.id
LEFT JOIN ods.tbl_company AS swc ON swc.id = swm.company_id
LEFT JOIN ods.tbl_company_warehouse_map AS ewm
    ON ewm.id IN (SELECT min(id) FROM ods.tbl_company_warehouse_map GROUP BY warehouse_id)
    AND ewm.warehouse_id = ew.id
LEFT JOIN ods.tbl_company AS ewc ON ewc.id = ewm.company_id

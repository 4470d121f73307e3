-- Warehouse vehicles (仓库车辆): one row per allocation of a vehicle to a warehouse, with the
-- vehicle, the warehouse and the warehouse's company.
-- kind: by_day
-- key: id
-- One row per fact: where a join finds several rows, the one with the lowest id is used.
SELECT
    wtt.id,
    tt.id AS transport_tool_id,
    tt.brand,
    tt.model,
    tt.type,
    ttype.code_desc AS type_name,
    tt.given_load,
    tt.load_cn_unit,
    tt.load_en_unit,
    tt.buy_dt,
    tt.license_plate,
    tt.state,
    tstate.code_desc AS state_name,
    wtt.cdt,
    wtt.udt,
    wtt.remark,
    ws.id AS ws_id,
    ws.name,
    ws.addr,
    ws.addr_gis,
    ws.employee_id,
    ws.type AS ws_type,
    ws.area,
    ws.is_lease,
    co.id AS company_id,
    co.company_name,
    co.city_id,
    co.company_number,
    co.company_addr,
    co.company_addr_gis,
    co.company_tel,
    co.is_sub_company,
    CAST(wtt.cdt AS DATE) AS day
FROM ods.tbl_warehouse_transport_tool AS wtt
LEFT JOIN ods.tbl_transport_tool AS tt ON tt.id = wtt.transport_tool_id
LEFT JOIN ods.tbl_codes AS ttype
    ON ttype.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND ttype.type = 9 AND ttype.code = CAST(tt.type AS VARCHAR)
LEFT JOIN ods.tbl_codes AS tstate
    ON tstate.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND tstate.type = 10 AND tstate.code = tt.state
LEFT JOIN ods.tbl_warehouse AS ws ON ws.id = wtt.warehouse_id
LEFT JOIN ods.tbl_company_warehouse_map AS cwm
    ON cwm.id IN (SELECT min(id) FROM ods.tbl_company_warehouse_map GROUP BY warehouse_id)
    AND cwm.warehouse_id = ws.id
LEFT JOIN ods.tbl_company AS co ON co.id = cwm.company_id

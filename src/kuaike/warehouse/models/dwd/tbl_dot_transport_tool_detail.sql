-- Dot vehicles (网点车辆): one row per allocation of a vehicle to a dot, with the vehicle, the
-- dot and the dot's company.
-- kind: by_day
-- key: id
-- One row per fact: where a join finds several rows, the one with the lowest id is used.
SELECT
    dtt.id,
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
    dtt.cdt,
    dtt.udt,
    dtt.remark,
    d.id AS dot_id,
    d.dot_number,
    d.dot_name,
    d.dot_addr,
    d.dot_gis_addr,
    d.dot_tel,
    d.manage_area_id,
    d.manage_area_gis,
    co.id AS company_id,
    co.company_name,
    co.city_id,
    co.company_number,
    co.company_addr,
    co.company_addr_gis,
    co.company_tel,
    co.is_sub_company,
    CAST(dtt.cdt AS DATE) AS day
FROM ods.tbl_dot_transport_tool AS dtt
LEFT JOIN ods.tbl_transport_tool AS tt ON tt.id = dtt.transport_tool_id
LEFT JOIN ods.tbl_codes AS ttype
    ON ttype.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND ttype.type = 9 AND ttype.code = CAST(tt.type AS VARCHAR)
LEFT JOIN ods.tbl_codes AS tstate
    ON tstate.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND tstate.type = 10 AND tstate.code = tt.state
LEFT JOIN ods.tbl_dot AS d ON d.id = dtt.dot_id
LEFT JOIN ods.tbl_company_dot_map AS cdm
    ON cdm.id IN (SELECT min(id) FROM ods.tbl_company_dot_map GROUP BY dot_id)
    AND cdm.dot_id = d.id
LEFT JOIN ods.tbl_company AS co ON co.id = cdm.company_id

-- Express bills (快递单), one row per bill, with its customer, courier, dot and company.
-- kind: by_day
-- key: id
-- One row per fact: where a join finds several rows, the one with the lowest id is used.
SELECT
    eb.id,
    eb.express_number,
    eb.cid,
    c.name AS cname,
    addr.detail_addr AS caddress,
    eb.eid,
    e.name AS ename,
    d.id AS dot_id,
    d.dot_name,
    co.id AS company_id,
    co.company_name,
    eb.order_channel_id,
    channel.code_desc AS order_channel_name,
    eb.order_dt,
    eb.order_terminal_type,
    terminal.code_desc AS order_terminal_type_name,
    eb.order_terminal_os_type,
    eb.reserve_dt,
    eb.is_collect_package_timeout,
    eb.timeout_dt,
    c.type,
    eb.cdt,
    eb.udt,
    eb.remark,
    CAST(eb.cdt AS DATE) AS day
FROM ods.tbl_express_bill AS eb
LEFT JOIN ods.tbl_courier AS e ON e.id = eb.eid
LEFT JOIN ods.tbl_customer AS c ON c.id = eb.cid
LEFT JOIN ods.tbl_codes AS channel
    ON channel.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND channel.type = 18 AND channel.code = CAST(eb.order_channel_id AS VARCHAR)
LEFT JOIN ods.tbl_codes AS terminal
    ON terminal.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND terminal.type = 17 AND terminal.code = CAST(eb.order_terminal_type AS VARCHAR)
LEFT JOIN ods.tbl_consumer_address_map AS cam
    ON cam.id IN (SELECT min(id) FROM ods.tbl_consumer_address_map GROUP BY consumer_id)
    AND cam.consumer_id = c.id
LEFT JOIN ods.tbl_address AS addr ON addr.id = cam.address_id
LEFT JOIN ods.tbl_pkg AS pkg
    ON pkg.id IN (SELECT min(id) FROM ods.tbl_pkg GROUP BY pw_bill)
    AND pkg.pw_bill = eb.express_number
LEFT JOIN ods.tbl_dot AS d ON d.id = pkg.pw_dot_id
LEFT JOIN ods.tbl_company_dot_map AS cdm
    ON cdm.id IN (SELECT min(id) FROM ods.tbl_company_dot_map GROUP BY dot_id)
    AND cdm.dot_id = d.id
LEFT JOIN ods.tbl_company AS co ON co.id = cdm.company_id

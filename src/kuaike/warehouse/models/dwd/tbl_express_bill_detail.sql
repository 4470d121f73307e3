-- Express bills (快递单), one row per bill, with its customer, courier, dot and company.
-- kind: by_day
-- key: id
-- A customer may have several addresses: the one with the lowest address-map id is kept.
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
    ON channel.type = 18 AND channel.code = CAST(eb.order_channel_id AS VARCHAR)
LEFT JOIN ods.tbl_codes AS terminal
    ON terminal.type = 17 AND terminal.code = CAST(eb.order_terminal_type AS VARCHAR)
LEFT JOIN ods.tbl_consumer_address_map AS cam ON cam.consumer_id = c.id
LEFT JOIN ods.tbl_address AS addr ON addr.id = cam.address_id
LEFT JOIN ods.tbl_pkg AS pkg ON pkg.pw_bill = eb.express_number
LEFT JOIN ods.tbl_dot AS d ON d.id = pkg.pw_dot_id
LEFT JOIN ods.tbl_company_dot_map AS cdm ON cdm.dot_id = d.id
LEFT JOIN ods.tbl_company AS co ON co.id = cdm.company_id
QUALIFY row_number() OVER (
    PARTITION BY eb.id ORDER BY cam.id, pkg.id, cdm.id, channel.id, terminal.id
) = 1

-- Customers (客户), one row per customer with what they sent: first and last parcel, number of
-- parcels and total amount paid (parcels as in dwd.tbl_express_package_detail).
-- kind: by_key
-- key: id
-- key_from: dwd.tbl_express_package_detail.cid
WITH sent AS (
    SELECT
        cid,
        min(sender_id) AS first_sender_id,
        max(sender_id) AS last_sender_id,
        min(cdt) AS first_sender_cdt,
        max(cdt) AS last_sender_cdt,
        count(*) AS total_count,
        sum(actual_amount) AS total_amount
    FROM dwd.tbl_express_package_detail
    WHERE cid IS NOT NULL
    GROUP BY cid
)
SELECT
    c.id,
    c.name,
    c.tel,
    c.mobile,
    c.email,
    c.type,
    ctype.code_desc AS type_name,
    c.is_own_reg,
    c.reg_dt,
    c.reg_channel_id,
    c.state,
    c.cdt,
    c.udt,
    c.last_login_dt,
    c.remark,
    s.first_sender_id,
    s.last_sender_id,
    s.first_sender_cdt,
    s.last_sender_cdt,
    coalesce(s.total_count, 0) AS total_count,
    coalesce(s.total_amount, 0) AS total_amount
FROM ods.tbl_customer AS c
LEFT JOIN sent AS s ON s.cid = c.id
LEFT JOIN ods.tbl_codes AS ctype
    ON ctype.id IN (SELECT min(id) FROM ods.tbl_codes GROUP BY type, code)
    AND ctype.type = 16 AND ctype.code = CAST(c.type AS VARCHAR)

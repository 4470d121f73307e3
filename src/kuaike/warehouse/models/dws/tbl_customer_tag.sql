-- Per-customer tags: first order (time and sending address), most common receiving province,
-- phone carrier from the mobile number's prefix.
-- kind: by_key
-- key: id
-- key_from: dwd.tbl_express_package_detail.cid
WITH parcels AS (
    SELECT cid, id AS pkg_id, cdt, send_address_id, recv_address_id
    FROM dwd.tbl_express_package_detail
    WHERE cid IS NOT NULL
),
first_order AS (
    SELECT
        cid,
        arg_min(cdt, (cdt, pkg_id)) AS first_order_dt,
        arg_min(send_address_id, (cdt, pkg_id)) AS send_address_id
    FROM parcels
    GROUP BY cid
),
provinces AS (
    SELECT p.cid, split_part(ar.mername, '-', 2) AS province, count(*) AS n
    FROM parcels AS p
    JOIN ods.tbl_address AS a ON a.id = p.recv_address_id
    JOIN ods.tbl_areas AS ar ON ar.id = a.area_id
    GROUP BY p.cid, province
),
top_province AS (
    SELECT cid, arg_max(province, (n, province)) AS province
    FROM provinces
    GROUP BY cid
)
SELECT
    c.id,
    c.name,
    f.first_order_dt,
    sa.detail_addr AS first_order_address,
    tp.province AS top_receive_province,
    c.mobile,
    CASE
        WHEN left(c.mobile, 3) IN ('134', '135', '136', '137', '138', '139', '147', '150', '151',
            '152', '157', '158', '159', '172', '178', '182', '183', '184', '187', '188', '195',
            '197', '198') THEN '移动'
        WHEN left(c.mobile, 3) IN ('130', '131', '132', '145', '155', '156', '166', '171', '175',
            '176', '185', '186', '196') THEN '联通'
        WHEN left(c.mobile, 3) IN ('133', '149', '153', '173', '177', '180', '181', '189', '190',
            '191', '193', '199') THEN '电信'
        ELSE '其他'
    END AS phone_carrier
FROM ods.tbl_customer AS c
LEFT JOIN first_order AS f ON f.cid = c.id
LEFT JOIN ods.tbl_address AS sa ON sa.id = f.send_address_id
LEFT JOIN top_province AS tp ON tp.cid = c.id

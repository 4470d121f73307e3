-- Revenue per day, company and area: parcels and what customers paid for them (actual amount,
-- after coupons). Day = day the parcel was created.
-- kind: by_day
-- key: day, company_id, area_id
-- not_null: day
SELECT
    day,
    company_id,
    area_id,
    count(*) AS parcels,
    coalesce(sum(actual_amount), 0) AS revenue
FROM dwd.tbl_express_package_detail
GROUP BY day, company_id, area_id

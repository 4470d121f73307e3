-- Customers as of the build's reference date (one row, day = reference date): how many, how
-- many are new, active, sleeping or lost, and what they send and spend.
-- kind: snapshot
-- key: day
WITH c AS (
    SELECT
        *,
        date_diff(
            'day', CAST(last_sender_cdt AS DATE), CAST(getvariable('reference_date') AS DATE)
        ) AS idle_days
    FROM dwd.tbl_customer_detail
)
SELECT
    CAST(getvariable('reference_date') AS DATE) AS day,
    count(*) AS customer_count,
    count(*) FILTER (
        WHERE CAST(reg_dt AS DATE) = CAST(getvariable('reference_date') AS DATE)
    ) AS addition_customer_count,
    count(*) FILTER (
        WHERE CAST(reg_dt AS DATE) BETWEEN date_trunc('month', CAST(getvariable('reference_date') AS DATE))
        AND CAST(getvariable('reference_date') AS DATE)
    ) AS month_of_new_customer_count,
    count(*) FILTER (WHERE idle_days <= 10) AS active_customer_count,
    count(*) FILTER (WHERE idle_days BETWEEN 90 AND 180) AS sleep_customer_count,
    count(*) FILTER (WHERE idle_days >= 270) AS lose_customer_count,
    round(count(*) FILTER (WHERE idle_days < 180) / nullif(count(*), 0), 4) AS preserve_rate,
    count(*) FILTER (WHERE total_count >= 1) AS customer_bill_count,
    round(sum(total_amount) / nullif(sum(total_count), 0), 2) AS customer_avg_amount,
    round(sum(total_count) / nullif(count(*), 0), 2) AS avg_customer_bill_count
FROM c

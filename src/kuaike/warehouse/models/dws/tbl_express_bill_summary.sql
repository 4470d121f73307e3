-- Express bills per day: how many, and how they spread over customer types, dots, order
-- channels and order terminals (largest, smallest and average group).
-- Facts whose group is unknown (a bill not yet at a dot) are in the total, not in a group.
-- kind: by_day
-- key: day
WITH totals AS (
    SELECT day, count(*) AS total FROM dwd.tbl_express_bill_detail GROUP BY day
),
by_type AS (
    SELECT day, type, count(*) AS n
    FROM dwd.tbl_express_bill_detail
    WHERE type IS NOT NULL
    GROUP BY day, type
),
by_dot AS (
    SELECT day, dot_id, count(*) AS n
    FROM dwd.tbl_express_bill_detail
    WHERE dot_id IS NOT NULL
    GROUP BY day, dot_id
),
by_channel AS (
    SELECT day, order_channel_id, count(*) AS n
    FROM dwd.tbl_express_bill_detail
    WHERE order_channel_id IS NOT NULL
    GROUP BY day, order_channel_id
),
by_terminal AS (
    SELECT day, order_terminal_type, count(*) AS n
    FROM dwd.tbl_express_bill_detail
    WHERE order_terminal_type IS NOT NULL
    GROUP BY day, order_terminal_type
)
SELECT
    t.day,
    t.total,
    type.max_type_total,
    type.min_type_total,
    type.avg_type_total,
    dot.max_dot_total,
    dot.min_dot_total,
    dot.avg_dot_total,
    channel.max_channel_total,
    channel.min_channel_total,
    channel.avg_channel_total,
    terminal.max_terminal_total,
    terminal.min_terminal_total,
    terminal.avg_terminal_total
FROM totals AS t
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_type_total,
        min(n) AS min_type_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_type_total
    FROM by_type
    GROUP BY day
) AS type ON type.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_dot_total,
        min(n) AS min_dot_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_dot_total
    FROM by_dot
    GROUP BY day
) AS dot ON dot.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_channel_total,
        min(n) AS min_channel_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_channel_total
    FROM by_channel
    GROUP BY day
) AS channel ON channel.day = t.day
LEFT JOIN (
    SELECT
        day,
        max(n) AS max_terminal_total,
        min(n) AS min_terminal_total,
        CAST(round(avg(n)) AS BIGINT) AS avg_terminal_total
    FROM by_terminal
    GROUP BY day
) AS terminal ON terminal.day = t.day

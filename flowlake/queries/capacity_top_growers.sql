-- Interfaces and NAT gateways whose daily bytes grew the most against the same day a week before (capacity_daily).
SELECT day, account_id, region, vpc_id, resource_type, resource_id, bytes, bytes_week_before, change_bytes,
       round(change_share, 4) AS change_share
FROM capacity_daily
WHERE day >= to_date(:start) AND day <= to_date(:end - INTERVAL 1 SECOND) AND change_bytes IS NOT NULL
ORDER BY change_bytes DESC, day, resource_type, resource_id
LIMIT 20

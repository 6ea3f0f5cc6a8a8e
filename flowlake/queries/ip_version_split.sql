-- IPv4 against IPv6 traffic, from the addresses themselves so it works without the type field.
-- VPC flow logs' records alone: a transit gateway's flow log may record the same flows again.
SELECT CASE WHEN srcaddr LIKE '%:%' THEN 'IPv6' ELSE 'IPv4' END AS ip_version,
       count(*) AS records, sum(packets) AS packets, sum(bytes) AS bytes
FROM flow_logs
WHERE is_vpc_traffic(log_status, resource_type) AND event_time >= :start AND event_time < :end
GROUP BY 1
ORDER BY 1

-- Source/destination pairs that moved the most bytes (Athena: VpcFlowLogsTopTalkers).
-- VPC flow logs' records alone: a transit gateway's flow log may record the same flows again.
SELECT srcaddr, dstaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS records
FROM flow_logs
WHERE is_vpc_traffic(log_status, resource_type) AND event_time >= :start AND event_time < :end
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
LIMIT 10

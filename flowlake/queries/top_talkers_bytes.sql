-- Source/destination pairs that moved the most bytes (Athena: VpcFlowLogsTopTalkers).
SELECT srcaddr, dstaddr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS records
FROM flow_logs
WHERE is_traffic(log_status) AND event_time >= :start AND event_time < :end
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
LIMIT 10

-- Source/destination pairs that moved the most packets (Athena: VpcFlowLogsTopTalkersPacketLevel).
SELECT srcaddr, dstaddr, sum(packets) AS packets, sum(bytes) AS bytes, count(*) AS records
FROM flow_logs
WHERE is_traffic(log_status) AND event_time >= :start AND event_time < :end
GROUP BY srcaddr, dstaddr
ORDER BY packets DESC, srcaddr, dstaddr
LIMIT 10

-- Subnets that moved the most bytes; needs a format with subnet-id (Athena: VpcFlowLogsTopTalkingSubnets).
SELECT subnet_id, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS records
FROM flow_logs
WHERE subnet_id IS NOT NULL AND event_time >= :start AND event_time < :end
GROUP BY subnet_id
ORDER BY bytes DESC, subnet_id
LIMIT 10

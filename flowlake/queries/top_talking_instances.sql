-- Instances that moved the most bytes; needs a format with instance-id (Athena: VpcFlowLogsTopTalkingInstances).
SELECT instance_id, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS records
FROM flow_logs
WHERE instance_id IS NOT NULL AND event_time >= :start AND event_time < :end
GROUP BY instance_id
ORDER BY bytes DESC, instance_id
LIMIT 10

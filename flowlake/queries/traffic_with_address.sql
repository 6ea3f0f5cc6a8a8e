-- Everything to or from one address (Athena: VpcFlowLogsTrafficFromSrcAddr / ToDstAddr).
SELECT CASE WHEN srcaddr = :address THEN 'from' ELSE 'to' END AS direction,
       action, protocol, count(*) AS records, sum(packets) AS packets, sum(bytes) AS bytes
FROM flow_logs
WHERE (srcaddr = :address OR dstaddr = :address) AND event_time >= :start AND event_time < :end
GROUP BY 1, action, protocol
ORDER BY direction, action, protocol

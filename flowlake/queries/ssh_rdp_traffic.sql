-- SSH (22) and RDP (3389) traffic, either direction (Athena: VpcFlowLogsSshRdpTraffic).
SELECT action, dstport, count(*) AS records, sum(packets) AS packets, sum(bytes) AS bytes,
       count(DISTINCT srcaddr) AS distinct_sources
FROM flow_logs
WHERE (srcport IN (22, 3389) OR dstport IN (22, 3389)) AND event_time >= :start AND event_time < :end
GROUP BY action, dstport
ORDER BY action, dstport

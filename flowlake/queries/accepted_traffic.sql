-- Accepted traffic in the window, most bytes first (Athena: VpcFlowLogsAcceptedTraffic).
SELECT event_time, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes
FROM flow_logs
WHERE action = 'ACCEPT' AND event_time >= :start AND event_time < :end
ORDER BY bytes DESC, event_time, interface_id, srcaddr, dstaddr
LIMIT 100

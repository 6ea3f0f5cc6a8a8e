-- Rejected traffic in the window, most packets first (Athena: VpcFlowLogsRejectedTraffic).
SELECT event_time, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, reject_reason
FROM flow_logs
WHERE action = 'REJECT' AND event_time >= :start AND event_time < :end
ORDER BY packets DESC, event_time, interface_id, srcaddr, dstaddr
LIMIT 100

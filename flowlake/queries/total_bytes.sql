-- Total bytes and packets transferred in the window (Athena: VpcFlowLogsTotalBytesTransferred).
SELECT coalesce(sum(bytes), 0) AS bytes, coalesce(sum(packets), 0) AS packets, count(*) AS records
FROM flow_logs
WHERE is_traffic(log_status) AND event_time >= :start AND event_time < :end

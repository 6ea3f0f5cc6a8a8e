-- Total bytes and packets transferred in the window (Athena: VpcFlowLogsTotalBytesTransferred).
-- VPC flow logs' records alone: a transit gateway's flow log may record the same flows again.
SELECT coalesce(sum(bytes), 0) AS bytes, coalesce(sum(packets), 0) AS packets, count(*) AS records
FROM flow_logs
WHERE is_vpc_traffic(log_status, resource_type) AND event_time >= :start AND event_time < :end

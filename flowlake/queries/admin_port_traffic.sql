-- Traffic to administrative ports: SSH, Telnet, RDP, WinRM, VNC, database admin (Athena: VpcFlowLogsAdminPortTraffic).
SELECT dstport, action, count(*) AS records, sum(bytes) AS bytes, count(DISTINCT srcaddr) AS distinct_sources
FROM flow_logs
WHERE dstport IN (22, 23, 3389, 5985, 5986, 5900, 3306, 5432, 1433, 27017, 6379)
  AND event_time >= :start AND event_time < :end
GROUP BY dstport, action
ORDER BY records DESC, dstport, action

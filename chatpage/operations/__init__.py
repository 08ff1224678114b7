"""What operators run and watch: metrics, the audit log, server routes and tools."""

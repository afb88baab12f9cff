"""Monitoring: drift and live-performance statistics over prediction logs, monitors with rules and alerts,
and the closed loop that retrains, gates, canaries and promotes (or rolls back) by itself."""

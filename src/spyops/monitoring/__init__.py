"""Monitoring as code: Grafana dashboards, the alert rules' files, and running Prometheus + Alertmanager."""

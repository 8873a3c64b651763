"""Alerting: each breach posted to Alertmanager once (``notify``), and an example receiver of
what Alertmanager routes (``receiver``)."""

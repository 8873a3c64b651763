"""Escalation: routing findings to authorities, time limits, level-ups (see README.md)."""

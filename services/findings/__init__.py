"""Findings: problem lists (问题清单) and rectification tracking (see README.md)."""

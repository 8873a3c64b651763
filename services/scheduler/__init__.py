"""Scheduler: the plan, the visits, the clock, and the intake gate (see README.md)."""

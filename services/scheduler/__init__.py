"""Scheduler: the plan, the visits, the clock; for now the intake gate (see README)."""

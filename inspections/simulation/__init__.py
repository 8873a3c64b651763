"""Simulation: a campaign as a scenario file (``scenario``, ``data/scenarios``), turned into
the events upstream systems would publish (``simulate``), and the demo that runs it all on the
local broker (``demo``)."""

"""The command line, for everybody: the ``inspections`` command (``main``) and its sub-commands
by audience (operators ``operate``, auditors ``audit``, integrators ``upstream`` and
``rejected``), and what they share (``console``)."""

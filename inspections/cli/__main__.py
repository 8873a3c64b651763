"""``python -m inspections.cli``: the ``inspections`` command."""

from inspections.cli.main import main

main()

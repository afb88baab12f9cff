"""``python -m shipyard.cli``: the same as the ``shipyard`` command."""

from shipyard.cli.main import main

main()

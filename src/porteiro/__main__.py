"""``python -m porteiro``: the same as the ``porteiro`` command."""

from porteiro.cli import main

main()

"""``python -m bulletin`` runs the command line."""

from .cli import main

main()

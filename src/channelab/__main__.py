"""``python -m channelab`` runs the command line."""

from channelab.cli import main

main()

"""`python -m trailkeeper` runs the command line."""

from trailkeeper.cli import main

main()

"""`python -m spyops` runs the same command line as the `spyops` script."""

from spyops.cli import main

main()

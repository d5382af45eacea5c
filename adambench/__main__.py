"""`python -m adambench` runs the command line."""

from adambench.cli import main

main()

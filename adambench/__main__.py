"""`python -m adambench` runs the command line."""

from adambench.cli import main

__all__ = []

# Guarded: Dask's worker processes (spawned) import the parent's main module again.
if __name__ == "__main__":
    main()

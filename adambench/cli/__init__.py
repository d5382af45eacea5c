"""The `adambench` command line: one module per command family, merged into one typer app."""

from adambench.cli.commands import app, main

__all__ = ["app", "main"]

"""The `adambench` command line, one module per command family, merged into one typer app:

- ``app``: the root group, the commands registered, and ``main`` (the console entry point);
- ``run``: run (plain and tuned with --tune) and plot;  ``catalog``: list and show;
- ``sweep``: sweep and sweep-show;  ``check``: check and compare;  ``cache``: cache info/clear;
- ``report``: report (a saved result as an HTML page);
- shared by the commands: ``options`` (options declared once, and their handling),
  ``pictures`` (--plot/--animate), ``cluster`` (--scheduler and friends), ``feedback``
  (spinner, progress bars), ``boundary`` (errors as one line and an exit code), ``consoles``,
  ``coercion`` (option values converted without typer's pydantic adapters).
"""

from adambench.cli.app import app, main

__all__ = ["app", "main"]

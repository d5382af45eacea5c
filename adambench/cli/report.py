"""`adambench report RESULT.json -o report.html`: a saved result as one self-contained HTML
page (the work is in :mod:`adambench.report.html`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adambench.cli.boundary import boundary
from adambench.cli.consoles import err

__all__ = ["report"]


def report(
    result_file: Annotated[
        Path,
        typer.Argument(
            help="A saved result: run/sweep -o FILE.json, or check/compare --json.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Write the HTML report to FILE (.html).")
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notes.")] = False,
) -> None:
    """Write a saved result as one self-contained HTML file: tables, figures (inline SVG),
    settings and environment; no network or JavaScript needed to read it.

    Examples:

    \b
      adambench run beale -O adam,rmsprop --trace -o result.json
      adambench report result.json -o report.html
    """
    with boundary():
        from adambench.errors import UsageError
        from adambench.files import write_atomic
        from adambench.report.html import read_report_input, render_report

        if output.suffix.lower() not in (".html", ".htm"):
            raise UsageError(f"{output}: the report is HTML; name it FILE.html")
        page = render_report(read_report_input(result_file), str(result_file))
        write_atomic(output, page)
        if not quiet:
            err.print(f"wrote {output}", highlight=False, markup=False)

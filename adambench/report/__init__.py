"""Rendering: tables, verdicts, the catalogue of `list`/`show`, pictures, the HTML report
(``html``) and file writers.

Submodules are imported directly (``from adambench.report.tables import table``), so that
what one command needs does not pull in the rest (matplotlib, numpy).
"""

__all__ = []

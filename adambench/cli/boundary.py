"""The error boundary of the command line: every failure ends as one line on stderr and an exit
code. Library errors (:class:`~adambench.errors.AdambenchError`) carry their exit code, usage
errors found by click exit 2, Ctrl-C exits 130, and anything else is a bug (exit 3)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

from adambench.cli.coercion import install_fast_coercion
from adambench.cli.consoles import err
from adambench.errors import AdambenchError, ExitCode

__all__ = [
    "EXIT_CODES_HELP",
    "MAX_ERROR_CHARS",
    "OPTION_SLIPS",
    "OneLineErrors",
    "boundary",
    "one_line",
    "print_error",
    "print_internal_error",
]

EXIT_CODES_HELP = (
    "Exit codes: 0 success, 1 a failed gate (check/compare), 2 usage or input error, "
    "3 internal error, 130 interrupted."
)

#: Error lines longer than this are cut in the middle (they echo user input: a 100 kB spec).
MAX_ERROR_CHARS = 2000


class OneLineErrors(TyperGroup):
    """The root command group: usage errors (a bad option value, a missing argument, an unknown
    option or command) print as one ``error:`` line on stderr with exit code 2, like every other
    input error, instead of click's usage box."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        install_fast_coercion(self)  # no pydantic for plain option values (cli/coercion.py)
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        click_errors = _click_exceptions()
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click_errors.ClickException as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # the help was printed already
                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                message, slip = exc.format_message().rstrip("."), _option_slip(exc, ctx)
                if slip:  # click's "(Possible options: ...)" guesses by spelling alone
                    message = message.split(" (Possible options")[0]
                print_error(message + slip + hint)
            sys.exit(exc.exit_code)
        except typer.Abort:  # end of input at a prompt (there are none yet)
            print_error("aborted")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


#: Options people reach for from other tools, and what this command takes instead: the hint is
#: given when the command has the parameter named first.
OPTION_SLIPS = {
    "--problem": ("problem", "the problem is the first argument, e.g. adambench {command} beale"),
    "--learning-rate": ("lr", "adambench calls it --lr"),
    "--learning_rate": ("lr", "adambench calls it --lr"),
    "--iterations": ("steps", "adambench calls them --steps"),
    "--iters": ("steps", "adambench calls them --steps"),
    "--epochs": ("steps", "adambench counts --steps"),
    "--seeds-count": ("seeds", "use --seeds"),
}


def _option_slip(exc: Any, ctx: Any) -> str:
    """``"; HINT"`` when ``exc`` is an unknown option this command knows by another name."""
    name = getattr(exc, "option_name", None)
    if ctx is None or name not in OPTION_SLIPS:
        return ""
    param, hint = OPTION_SLIPS[name]
    known = any(p.name == param for p in ctx.command.params)
    return f"; {hint.format(command=ctx.info_name)}" if known else ""


def _click_exceptions() -> Any:
    """click's exception module: vendored by typer >= 0.2x, the click package before."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def one_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``message`` as one printable line: control characters (a newline in a YAML key or an
    argument) escaped as in Python strings, and the middle cut when longer than ``limit``."""
    text = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in message
    )
    if len(text) > limit:
        cut = len(text) - limit
        text = f"{text[: limit * 3 // 4]} … ({cut} characters cut) … {text[-limit // 4 :]}"
    return text


def print_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, as one line."""
    from rich.markup import escape

    # Escaped: messages may hold brackets ("pip install 'adambench[torch]'", numba types).
    err.print(
        f"[bold red]error:[/] {escape(one_line(message))}",
        highlight=False,
        markup=True,
        soft_wrap=True,
    )


@contextmanager
def boundary() -> Iterator[None]:
    """Turn library errors (and running out of memory) into one line + exit code, and Ctrl-C
    into exit 130."""
    try:
        yield
    except AdambenchError as exc:
        print_error(str(exc))
        raise typer.Exit(int(exc.exit_code)) from None
    except MemoryError as exc:
        # numpy says how much it could not allocate; asking for less is the user's fix.
        what = f" ({exc})" if str(exc) else ""
        print_error(
            f"not enough memory for this request{what}; use fewer seeds, optimizers or grid "
            "points, or a smaller --dim"
        )
        raise typer.Exit(int(ExitCode.USAGE)) from None
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def print_internal_error() -> None:
    """The traceback of an unexpected exception and the line saying it is a bug."""
    import traceback

    traceback.print_exc()
    err.print(
        "[bold red]internal error:[/] this is a bug in adambench; please report it "
        "with the traceback above",
        highlight=False,
    )

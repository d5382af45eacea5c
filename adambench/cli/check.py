"""`adambench check` and `adambench compare`: the regression gates. Both end with the exit code
of their verdict (0 pass, 1 a regression) and share the report options (--junit, --markdown,
--json, -q, -v), declared once here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from adambench.cli.boundary import boundary
from adambench.cli.cluster import (
    ChunkRunsOpt,
    ResumeOpt,
    SchedulerOpt,
    WorkersOpt,
    cluster_from_options,
    drop_journal,
    say_what_is_saved,
)
from adambench.cli.consoles import err, out, print_table
from adambench.cli.feedback import Feedback
from adambench.cli.options import CheckThreadsOpt, DtypeOpt, checked_dtype

__all__ = [
    "CheckJsonOpt",
    "CheckQuietOpt",
    "JunitOpt",
    "MarkdownOpt",
    "VerboseOpt",
    "check",
    "compare",
]

JunitOpt = Annotated[
    Path | None,
    typer.Option("--junit", help="Write JUnit XML (one testcase per check) to FILE, for CI."),
]
MarkdownOpt = Annotated[
    Path | None,
    typer.Option(
        "--markdown", help="Write the table as Markdown to FILE (PR comment, job summary)."
    ),
]
CheckJsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable report on stdout (no table).")
]
CheckQuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Show only failed checks and the summary line.")
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Show every baseline metric (passing ones are folded by default)."
    ),
]


def check(
    suite: Annotated[
        Path, typer.Argument(help="A check suite (YAML), e.g. sample_configs/ci.yaml.")
    ],
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="Also compare every case with this baseline, within the suite's tolerances."
        ),
    ] = None,
    save_baseline: Annotated[
        Path | None,
        typer.Option(help="Record the measured metrics (and their settings) as a baseline FILE."),
    ] = None,
    junit: JunitOpt = None,
    markdown: MarkdownOpt = None,
    json_out: CheckJsonOpt = False,
    threads: CheckThreadsOpt = None,
    dtype: DtypeOpt = None,
    quiet: CheckQuietOpt = False,
    verbose: VerboseOpt = False,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    chunk_runs: ChunkRunsOpt = None,
    resume: ResumeOpt = None,
) -> None:
    """Run a check suite: fail (exit 1) when a case misses an expectation or its baseline.

    Every case (problem x optimizer configuration x steps x seeds) runs in one compiled,
    parallel pass; the numbers never depend on --threads. Stochastic cases are judged over
    their seeds (medians and success rates).

    Examples:

    \b
      adambench check sample_configs/ci.yaml
      adambench check sample_configs/ci.yaml --save-baseline ci-baseline.json
      adambench check sample_configs/ci.yaml --baseline ci-baseline.json --junit report.xml
      adambench check sample_configs/ci.yaml --scheduler tcp://scheduler:8786

    With an output file (--save-baseline, --junit or --markdown FILE; the first given),
    finished chunks of runs are kept in FILE.partial until every output is written; after
    Ctrl-C, the same command with --resume FILE.partial continues it.

    Exit codes: 0 every check passed, 1 a check failed (a regression), 2 a bad suite,
    baseline or argument, 3 internal error.
    """
    with boundary():
        from adambench.checks.gate import check as run_check
        from adambench.files import write_atomic

        dtype = checked_dtype(dtype)  # overrides every case's dtype when given
        _check_outputs(
            {"--save-baseline": save_baseline, "--junit": junit, "--markdown": markdown},
            inputs=(suite, baseline),
            keep=baseline,
        )
        feedback = Feedback(quiet or json_out)
        cluster = cluster_from_options(
            scheduler,
            workers,
            chunk_runs,
            threads,
            quiet=quiet or json_out,
            resume=resume,
            output=next((p for p in (save_baseline, junit, markdown) if p is not None), None),
        )
        try:
            result = run_check(
                suite,
                baseline=baseline,
                threads=threads,
                progress=feedback.progress,
                on_compile=feedback.compiling,
                scheduler=cluster,
                dtype=dtype,
            )
        except BaseException:
            feedback.close()
            say_what_is_saved(cluster)
            raise
        finally:
            feedback.close()
        if save_baseline is not None:
            write_atomic(save_baseline, result.baseline_json())
        _show_verdict(result, junit, markdown, json_out=json_out, quiet=quiet, verbose=verbose)
        drop_journal(cluster)  # every output is written
        if save_baseline is not None and not quiet:
            err.print(
                f"wrote baseline {save_baseline} ({len(result.cases)} cases)",
                highlight=False,
                markup=False,
            )
    raise typer.Exit(int(result.exit_code))


def compare(
    old: Annotated[Path, typer.Argument(help="The reference result (JSON from run -o / --json).")],
    new: Annotated[Path, typer.Argument(help="The result to judge against it.")],
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="A metric to compare (repeatable; default: final_loss, best_loss, "
            "steps_to_target, success_rate, diverged_rate, accuracy).",
        ),
    ] = None,
    rtol: Annotated[
        float | None, typer.Option(help="Relative tolerance for every compared metric.")
    ] = None,
    atol: Annotated[
        float | None, typer.Option(help="Absolute tolerance for every compared metric.")
    ] = None,
    suite: Annotated[
        Path | None, typer.Option(help="Take the tolerances from this check suite's tolerances.")
    ] = None,
    junit: JunitOpt = None,
    markdown: MarkdownOpt = None,
    json_out: CheckJsonOpt = False,
    quiet: CheckQuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Compare two saved results run by run (matched by label and seed); nothing is rerun.

    A value may get worse by at most max(atol, rtol x |old|); losses are compared as their
    excess over the problem's minimum. Runs found in only one file are an error (exit 2).

    Examples:

    \b
      adambench compare old.json new.json
      adambench compare old.json new.json --metric steps_to_target --rtol 0.05
      adambench compare old.json new.json --suite sample_configs/ci.yaml --junit report.xml
    Exit codes: 0 no regression, 1 a regression, 2 bad files or arguments, 3 internal error.
    """
    with boundary():
        from adambench.checks.compare import compare as run_compare

        _check_outputs({"--junit": junit, "--markdown": markdown}, inputs=(old, new, suite))
        result = run_compare(old, new, metrics=metric, rtol=rtol, atol=atol, suite=suite)
        _show_verdict(result, junit, markdown, json_out=json_out, quiet=quiet, verbose=verbose)
    raise typer.Exit(int(result.exit_code))


def _check_outputs(
    outputs: dict[str, Path | None], inputs: tuple[Path | None, ...] = (), keep: Path | None = None
) -> None:
    """Refuse unusable output paths before anything runs; the flag fixes the format, so any
    extension goes (GitHub's $GITHUB_STEP_SUMMARY has none). ``outputs`` maps each flag to its
    path. Two outputs naming one file, or an output naming an input file (``--junit
    suite.yaml``), are refused too, except ``keep``: the baseline --save-baseline may refresh.
    """
    from adambench.errors import OutputError
    from adambench.files import check_output_path

    seen: dict[Path, str] = {}
    for flag, p in outputs.items():
        if p is None:
            continue
        check_output_path(p, {Path(p).suffix.lower(): "file"})
        real = Path(p).resolve()
        if real in seen:
            raise OutputError(f"{p}: named by both {seen[real]} and {flag}; give each its own file")
        seen[real] = flag
        refresh = flag == "--save-baseline" and keep is not None and real == Path(keep).resolve()
        if not refresh and any(q is not None and real == Path(q).resolve() for q in inputs):
            raise OutputError(f"{p}: {flag} would overwrite an input file; choose another name")


def _show_verdict(
    result: Any,
    junit: Path | None,
    markdown: Path | None,
    *,
    json_out: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Write --junit and --markdown, then print the JSON report or the table."""
    from adambench.files import write_atomic
    from adambench.report.check_tables import junit_xml
    from adambench.report.check_tables import markdown as markdown_text

    if junit is not None:
        write_atomic(junit, junit_xml(result))
    if markdown is not None:
        write_atomic(markdown, markdown_text(result, verbose=verbose))
    if json_out:
        sys.stdout.write(result.to_json())
    else:
        _print_verdict(result, quiet, verbose)


def _print_verdict(result: Any, quiet: bool, verbose: bool) -> None:
    from rich.markup import escape

    from adambench.report.check_tables import DROP_ORDER, failures, summary_line, table

    narrow = ""
    if not (quiet and result.passed):
        narrow = print_table(table(result, failures_only=quiet, verbose=verbose), DROP_ORDER)
    for line in failures(result):
        # Wrapped at spaces (rich), not by the terminal: a number is never split across lines.
        out.print(f"[red]{escape(line)}[/red]", highlight=False)
    out.print(summary_line(result, markup=True), highlight=False)
    if not quiet:
        for note in [narrow] * bool(narrow) + list(result.notes):
            err.print(f"[dim]{escape(note)}[/dim]", highlight=False)

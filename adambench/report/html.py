"""The self-contained HTML report of a saved result (`adambench report RESULT.json -o FILE`).

One file for a CI artifact or a paper's supplement: inline CSS, the figures as inline SVG
(matplotlib's svg backend, imported only here), the tables, the settings and the environment.
No network, no JavaScript. Every string from the result (problem names, formulas, file names)
is HTML-escaped. The same JSON gives the same bytes: the SVG ids use a fixed salt and carry no
date, and nothing of ``volatile`` (dates, timings) is shown.

Each result kind has one section builder in :data:`SECTIONS` (run, sweep, check, bench); a new
kind adds one function there and one line in :func:`result_kind`.
"""

from __future__ import annotations

import collections
import html
import io
import json
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["SECTIONS", "read_report_input", "render_report", "result_kind", "svg_of"]

_CHECK_FORMAT = "adambench-check-report"

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}
code{background:#f6f6f6;padding:0 .2em}.fail{color:#b00020}.pass{color:#1b5e20}
"""


def read_report_input(path: Any) -> dict[str, Any]:
    """Load a result to report: a run, sweep, tuned or bench result (``run``/``sweep``/``bench
    -o FILE.json``) or a check report (``check``/``compare --json``). Errors are ConfigError
    (exit 2) naming the file: missing, not JSON, not an adambench result, a schema version not
    read here."""
    from adambench.engine.results import read_json, read_result_file

    data = read_json(path)
    if isinstance(data, dict) and data.get("format") == _CHECK_FORMAT:
        return data
    return read_result_file(path)


def result_kind(data: Mapping[str, Any]) -> str:
    """The section builder a loaded result takes: ``check``, ``bench``, ``sweep`` or ``run``."""
    if data.get("format") == _CHECK_FORMAT:
        return "check"
    if isinstance(data.get("bench"), Mapping):
        return "bench"
    if isinstance(data.get("sweep"), Mapping):
        return "sweep"
    return "run"


def render_report(data: Mapping[str, Any], where: str) -> str:
    """The whole HTML document for ``data`` (as :func:`read_report_input` returns it);
    ``where`` (the file's name) is shown and used in error messages."""
    from adambench.errors import ConfigError

    kind = result_kind(data)
    try:
        title, body = SECTIONS[kind](data, where)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigError(f"not a complete adambench result ({what})", where=where) from None
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n<p>Report of <code>{_e(where)}</code> ({_e(kind)} result).</p>\n"
        f"{body}</body>\n</html>\n"
    )


# --- building blocks ------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    """A cell as the terminal tables write numbers: 4 significant digits, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    lines = [f"<table>{f'<caption>{_e(caption)}</caption>' if caption else ''}"]
    lines.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for row in rows:
        cells = "".join(
            f'<td class="num">{_e(_fmt(c))}</td>'
            if isinstance(c, (int, float)) and not isinstance(c, bool)
            else f"<td>{_e(_fmt(c))}</td>"
            for c in row
        )
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</tbody></table>\n")
    return "\n".join(lines)


def _pairs(title: str, items: Mapping[str, Any]) -> str:
    """A two-column table of names and values (settings, environment)."""
    return f"<h2>{_e(title)}</h2>\n" + _table(["name", "value"], list(items.items()))


def svg_of(fig: Any) -> str:
    """The figure as an inline ``<svg>`` element: a fixed id salt and no date, so the same
    figure gives the same text; the XML prolog and DOCTYPE are dropped (not valid in HTML)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "adambench"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure(svg: str, caption: str) -> str:
    return f"<figure>\n{svg}\n<figcaption>{_e(caption)}</figcaption>\n</figure>\n"


def _environment(data: Mapping[str, Any]) -> str:
    tool = data.get("tool") or {}
    env = {"adambench": tool.get("version")}
    env.update(data.get("environment") or {})
    return _pairs("Environment", env)


def _notes(data: Mapping[str, Any]) -> str:
    notes = data.get("notes") or []
    if not notes:
        return ""
    return "<h2>Notes</h2>\n<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>\n"


# --- run results ----------------------------------------------------------------------------

_RUN_COLUMNS = (
    "label", "seed", "status", "steps", "final_loss", "best_loss", "final_gap",
    "steps_to_target", "distance_to_minimum", "grad_norm",
)  # fmt: skip


def _problem(data: Mapping[str, Any]) -> str:
    p = data["problem"]
    minimum = p.get("minimum") or {}
    items = {
        "name": p.get("name"),
        "description": p.get("description"),
        "source": p.get("source"),
        "formula": p.get("formula"),
        "variables": p.get("variables"),
        "dim": p.get("dim"),
        "start": p.get("start"),
        "minimum": minimum.get("value"),
        "target": p.get("target"),
        "gradient_noise": p.get("gradient_noise"),
    }
    return _pairs("Problem", items)


def _optimizers(data: Mapping[str, Any]) -> str:
    rows = [
        (o.get("label"), o.get("optimizer"), o.get("source"), o.get("hyperparameters"))
        for o in data.get("optimizers") or []
    ]
    headers = ["label", "optimizer", "source", "hyperparameters"]
    return "<h2>Optimizers</h2>\n" + _table(headers, rows)


def _run_figure(data: Mapping[str, Any], where: str) -> str:
    """The picture `adambench plot` draws (paths on the contour, loss curves), when the
    result holds traces; else a sentence saying how to get one."""
    runs = data.get("runs") or []
    if not runs or any(not isinstance(r.get("trace"), Mapping) for r in runs):
        return "<p>No figure: the result holds no traces (run with <code>--trace</code>).</p>\n"
    from adambench.report.plots import draw, from_dict

    drawing = draw(from_dict(dict(data), where))
    svg = svg_of(drawing.fig)
    return _figure(svg, "Paths on the contour and loss curves, as adambench plot draws them.")


_SUMMARY_COLUMNS = ("final_loss", "best_loss", "distance_to_minimum", "grad_norm")


def _median(values: Iterable[Any]) -> float | None:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return statistics.median(finite) if finite else None


def _summary_rows(runs: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """A row per configuration, as the terminal table: statuses, medians over the seeds,
    the median steps to target of the runs that reached it, and the success rate."""
    by_label: dict[str, list[Mapping[str, Any]]] = {}
    for r in runs:
        by_label.setdefault(str(r["label"]), []).append(r)
    rows = []
    for label, mine in by_label.items():
        counts = collections.Counter(str(r["status"]) for r in mine)
        statuses = ", ".join(f"{n}x {status}" for status, n in sorted(counts.items()))
        reached = [r["steps_to_target"] for r in mine if r.get("steps_to_target") is not None]
        medians = [_median(r.get(c) for r in mine) for c in _SUMMARY_COLUMNS]
        success = f"{100 * len(reached) / len(mine):.0f}%"
        rows.append([label, statuses, *medians, _median(reached), success])
    return rows


def _run_sections(data: Mapping[str, Any], where: str) -> tuple[str, str]:
    rows = [[r.get(c) for c in _RUN_COLUMNS] for r in data["runs"]]
    summary = ["optimizer", "status", *_SUMMARY_COLUMNS, "steps_to_target", "success"]
    body = [
        _figure_section(_run_figure(data, where)),
        "<h2>Summary</h2>\n<p>Medians over the seeds.</p>\n"
        + _table(summary, _summary_rows(data["runs"])),
        "<h2>Runs</h2>\n" + _table(_RUN_COLUMNS, rows),
        _problem(data),
        _optimizers(data),
        _pairs("Settings", data.get("settings") or {}),
        _notes(data),
        _environment(data),
    ]
    return f"adambench run: {data['problem']['name']}", "".join(body)


def _figure_section(content: str) -> str:
    return "<h2>Figures</h2>\n" + content


# --- sweep results --------------------------------------------------------------------------


def _sweep_figure(data: Mapping[str, Any], where: str) -> str:
    from adambench.report.plots import sweep_heatmap_figure, sweep_line_figure
    from adambench.sweeps.result import SweepResult

    sw = SweepResult.from_dict(data, where=where)
    swept = [[i for i in b.axes if len(sw.axes[i].values) > 1] for b in sw.bases]
    names = {sw.axes[i].name for mine in swept for i in mine}
    if not names:
        return "<p>No figure: no hyperparameter takes more than one value.</p>\n"
    if all(len(mine) <= 1 for mine in swept) and len(names) == 1:
        return _figure(svg_of(sweep_line_figure(sw, sw.metric)), f"{sw.metric} per value")
    return _figure(svg_of(sweep_heatmap_figure(sw, sw.metric)), f"{sw.metric} heat map")


def _sweep_sections(data: Mapping[str, Any], where: str) -> tuple[str, str]:
    block = data["sweep"]
    names = [a["name"] for a in block["grid"]]
    points = sorted(block["points"], key=lambda p: p["rank"])
    rows = [
        [p["rank"], p["label"], *(p["values"].get(n) for n in names), p["value"], p["q1"],
         p["q3"], p["state"], p["runs"], p["failed"], p["reached"]]
        for p in points
    ]  # fmt: skip
    headers = ["rank", "configuration", *names, f"median {block['metric']}", "q1", "q3",
               "state", "runs", "failed", "reached"]  # fmt: skip
    grid = [(a["name"], a.get("optimizer") or "all", a["spec"], a["values"]) for a in block["grid"]]
    body = [
        _figure_section(_sweep_figure(data, where)),
        f"<h2>Ranking</h2>\n<p>{_e(block['rule'])}</p>\n" + _table(headers, rows),
        "<h2>Grid</h2>\n" + _table(["hyperparameter", "optimizer", "spec", "values"], grid),
        _problem(data),
        _optimizers(data),
        _pairs("Settings", data.get("settings") or {}),
        _notes(data),
        _environment(data),
    ]
    return f"adambench sweep: {data['problem']['name']}", "".join(body)


# --- check reports --------------------------------------------------------------------------


def _percent(rate: Any) -> str:
    return f"{100 * rate:.0f}%" if isinstance(rate, (int, float)) else "-"


def _verdict(passed: bool) -> str:
    return "pass" if passed else "FAIL"


def _check_sections(data: Mapping[str, Any], where: str) -> tuple[str, str]:
    s = data["summary"]
    verdict = "passed" if data["passed"] else "failed"
    cls = "pass" if data["passed"] else "fail"
    summary = (
        f'<p class="{cls}"><strong>{_e(data["kind"])} {verdict}</strong>: {s["passed"]} of '
        f"{s['cases']} cases passed, {s['checks_failed']} of {s['checks']} checks failed.</p>\n"
    )
    cases = [
        (c["id"], _verdict(c["passed"]), c["settings"].get("problem", {}).get("name")
         if isinstance(c["settings"].get("problem"), Mapping) else c["settings"].get("problem"),
         _percent(c["metrics"].get("success_rate")), c["metrics"].get("steps_to_target"),
         c["metrics"].get("final_loss"), c["description"])
        for c in data["cases"]
    ]  # fmt: skip
    checks = [
        (c["id"], k["name"], _verdict(k["passed"]), k["measured"], k["expected"], k["message"])
        for c in data["cases"]
        for k in c["checks"]
    ]
    source = data.get("source")
    case_headers = ["case", "verdict", "problem", "success rate", "median steps to target",
                    "median final loss", "description"]  # fmt: skip
    body = [
        "<h2>Verdict</h2>\n" + summary,
        _table(case_headers, cases),
        "<h2>Checks</h2>\n"
        + _table(["case", "check", "verdict", "measured", "expected", "message"], checks),
        _pairs("Settings", {"suite": data["name"], "source": source, "baseline": data["baseline"]}),
        _notes(data),
        _pairs("Environment", {"adambench": (data.get("tool") or {}).get("version")}),
    ]
    return f"adambench {data['kind']}: {data['name']}", "".join(body)


# --- bench results --------------------------------------------------------------------------


def _bench_figure(data: Mapping[str, Any]) -> str:
    from adambench.report.bench_plots import bench_figure
    from adambench.sweeps.bench import BenchResult

    bench = BenchResult.from_dict(dict(data["bench"]))
    caption = (
        "Left: the share of (problem, target, seed) triples reached by each step (51 gaps above "
        "the known minimum, 1e2 to 1e-8). Right: the Dolan-More performance profile, the share "
        "of problems on which an optimizer's ERT is within tau times the best."
    )
    return _figure(svg_of(bench_figure(bench)), caption)


def _bench_problem_rows(block: Mapping[str, Any]) -> list[list[Any]]:
    """A row per (problem, optimizer): its tuned point and how its runs did there."""
    from adambench.sweeps.bench import problem_label

    rows = []
    for p in block["problems"]:
        name = problem_label(p["problem"], p.get("rotate"), p.get("gradient_noise", 0.0))
        for o in p["optimizers"]:
            tuned = ", ".join(f"{k}={_fmt(v)}" for k, v in o["tuned"].items())
            rows.append(
                [name, p["steps"], p["target"], o["label"], tuned, o["at_edge"],
                 _percent(o["success_rate"]), o["ert"], o["median_steps_to_target"],
                 o["median_final_gap"]]
            )  # fmt: skip
    return rows


def _bench_summary_rows(block: Mapping[str, Any]) -> list[list[Any]]:
    """A row per optimizer: average rank with its interval, then its profile at a few taus."""
    from adambench.report.bench_tables import PROFILE_COLUMNS

    taus = block["profile"]["taus"]
    at = [taus.index(t) for t in PROFILE_COLUMNS if t in taus]
    rows = []
    for name in block["optimizers"]:
        r, shares = block["ranks"][name], block["profile"]["fractions"][name]
        interval = f"{r['low']:.2f}-{r['high']:.2f}"
        rows.append([name, f"{r['mean']:.2f}", interval, *(_percent(shares[k]) for k in at)])
    return rows


def _bench_sections(data: Mapping[str, Any], where: str) -> tuple[str, str]:
    from adambench.report.bench_tables import PROFILE_COLUMNS

    block = data["bench"]
    taus = [t for t in PROFILE_COLUMNS if t in block["profile"]["taus"]]
    b = block["bootstrap"]
    summary_headers = ["optimizer", "average rank by ERT",
                       f"{100 * b['level']:.0f}% bootstrap interval",
                       *(f"profile at tau={t:g}" for t in taus)]  # fmt: skip
    problem_headers = ["problem", "steps", "target", "optimizer", "tuned", "at edge",
                       "success rate", "ERT", "median steps to target",
                       "median final gap"]  # fmt: skip
    seeds = block["seeds"]
    settings = {
        "suite": block["suite"],
        "optimizers": ", ".join(block["optimizers"]),
        "seeds": f"{seeds[0]}..{seeds[-1]} ({len(seeds)})",
        "tuning": block["tune"],
        "target gaps": f"{len(block['target_gaps'])}, {block['target_gaps'][0]:g} to "
        f"{block['target_gaps'][-1]:g}",
        "bootstrap": f"{b['resamples']} resamples, seed {b['seed']}",
    }
    body = [
        f"<h2>Verdict</h2>\n<p>{_e(block['verdict'])}</p>\n",
        _figure_section(_bench_figure(data)),
        "<h2>Ranks</h2>\n" + _table(summary_headers, _bench_summary_rows(block)),
        "<h2>Problems</h2>\n" + _table(problem_headers, _bench_problem_rows(block)),
        _pairs("Settings", settings),
        _notes(data),
        _environment(data),
    ]
    return f"adambench bench: {block['suite']}", "".join(body)


#: One section builder per result kind: (data, file name) -> (title, HTML body).
SECTIONS: dict[str, Callable[[Mapping[str, Any], str], tuple[str, str]]] = {
    "run": _run_sections,
    "sweep": _sweep_sections,
    "check": _check_sections,
    "bench": _bench_sections,
}

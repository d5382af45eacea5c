"""Every shipped problem file against an independent evaluation.

The loss at each listed minimum must equal the listed value, evaluated by a numpy formula
written here (not by adambench's expression code), and the derived gradient must match torch
autograd at random points of the domain. To stay cheap the generated kernels' source (what numba
compiles) is run as plain Python, many points per problem, so no problem is compiled here.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from adambench import kernels
from adambench.codegen.problem_source import problem_source
from adambench.problem_files import builtin_files
from adambench.problems import TAGS, load_problem

TAU = 2 * np.pi

NUMPY_FORMS: dict[str, Any] = {
    "beale": lambda v, m=np: (
        (1.5 - v[0] + v[0] * v[1]) ** 2
        + (2.25 - v[0] + v[0] * v[1] ** 2) ** 2
        + (2.625 - v[0] + v[0] * v[1] ** 3) ** 2
    ),
    "rosenbrock": lambda v, m=np: 100 * (v[1] - v[0] ** 2) ** 2 + (1 - v[0]) ** 2,
    "rosenbrock_nd": lambda v, m=np: m.sum(100 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2),
    "long_valley": lambda v, m=np: 5 * v[0] ** 2 + 0.001 * (v[1] - 10) ** 2,
    "saddle_point": lambda v, m=np: v[0] ** 2 + v[1] ** 4 / 4 - v[1] ** 2 / 2,
    "ackley": lambda v, m=np: (
        -20 * m.exp(-0.2 * m.sqrt(m.mean(v**2))) - m.exp(m.mean(m.cos(TAU * v))) + m.e + 20
    ),
    "rastrigin": lambda v, m=np: 10 * len(v) + m.sum(v**2 - 10 * m.cos(TAU * v)),
    "himmelblau": lambda v, m=np: (v[0] ** 2 + v[1] - 11) ** 2 + (v[0] + v[1] ** 2 - 7) ** 2,
    "styblinski_tang": lambda v, m=np: m.sum(v**4 - 16 * v**2 + 5 * v) / 2,
    "levy": lambda v, m=np: _levy(v, m),
    "griewank": lambda v, m=np: (
        1 + m.sum(v**2) / 4000 - m.prod(m.cos(v / m.sqrt(m.arange(1, len(v) + 1))))
    ),
    "booth": lambda v, m=np: (v[0] + 2 * v[1] - 7) ** 2 + (2 * v[0] + v[1] - 5) ** 2,
    "matyas": lambda v, m=np: 0.26 * (v[0] ** 2 + v[1] ** 2) - 0.48 * v[0] * v[1],
    "three_hump_camel": lambda v, m=np: (
        2 * v[0] ** 2 - 1.05 * v[0] ** 4 + v[0] ** 6 / 6 + v[0] * v[1] + v[1] ** 2
    ),
    "six_hump_camel": lambda v, m=np: (
        (4 - 2.1 * v[0] ** 2 + v[0] ** 4 / 3) * v[0] ** 2
        + v[0] * v[1]
        + (4 * v[1] ** 2 - 4) * v[1] ** 2
    ),
    "goldstein_price": lambda v, m=np: _goldstein_price(*v),
    "branin": lambda v, m=np: (
        (v[1] - 5.1 / (4 * m.pi**2) * v[0] ** 2 + 5 / m.pi * v[0] - 6) ** 2
        + 10 * (1 - 1 / (8 * m.pi)) * m.cos(v[0])
        + 10
    ),
    "bohachevsky": lambda v, m=np: (
        v[0] ** 2
        + 2 * v[1] ** 2
        - 0.3 * m.cos(3 * m.pi * v[0])
        - 0.4 * m.cos(4 * m.pi * v[1])
        + 0.7
    ),
    "easom": lambda v, m=np: -m.cos(v[0]) * m.cos(v[1]) * m.exp(-m.sum((v - m.pi) ** 2)),
    "eggholder": lambda v, m=np: (
        -(v[1] + 47) * m.sin(m.sqrt(abs(v[0] / 2 + v[1] + 47)))
        - v[0] * m.sin(m.sqrt(abs(v[0] - v[1] - 47)))
    ),
    "cross_in_tray": lambda v, m=np: (
        -1e-4 * (abs(m.prod(m.sin(v)) * m.exp(abs(100 - m.hypot(*v) / m.pi))) + 1) ** 0.1
    ),
    "holder_table": lambda v, m=np: (
        -abs(m.sin(v[0]) * m.cos(v[1]) * m.exp(abs(1 - m.hypot(*v) / m.pi)))
    ),
    "schaffer_n2": lambda v, m=np: (
        0.5 + (m.sin(v[0] ** 2 - v[1] ** 2) ** 2 - 0.5) / (1 + 0.001 * m.sum(v**2)) ** 2
    ),
    "schaffer_n4": lambda v, m=np: (
        0.5 + (m.cos(m.sin(abs(v[0] ** 2 - v[1] ** 2))) ** 2 - 0.5) / (1 + 0.001 * m.sum(v**2)) ** 2
    ),
    "shubert": lambda v, m=np: _shubert(v[0], m) * _shubert(v[1], m),
    "mccormick": lambda v, m=np: (
        m.sin(v[0] + v[1]) + (v[0] - v[1]) ** 2 - 1.5 * v[0] + 2.5 * v[1] + 1
    ),
    "zakharov": lambda v, m=np: (
        m.sum(v**2)
        + m.dot(0.5 * m.arange(1, len(v) + 1), v) ** 2
        + m.dot(0.5 * m.arange(1, len(v) + 1), v) ** 4
    ),
    "dixon_price": lambda v, m=np: (
        (v[0] - 1) ** 2 + m.sum(m.arange(2, len(v) + 1) * (2 * v[1:] ** 2 - v[:-1]) ** 2)
    ),
    "trid": lambda v, m=np: m.sum((v - 1) ** 2) - m.sum(v[1:] * v[:-1]),
    "sphere": lambda v, m=np: m.sum(v**2),
    "sum_squares": lambda v, m=np: m.sum(m.arange(1, len(v) + 1) * v**2),
    "ellipsoid": lambda v, m=np: m.sum(1e6 ** (m.arange(len(v)) / 9) * v**2),
    "sharp_ridge": lambda v, m=np: v[0] ** 2 + 100 * m.linalg.norm(v[1:]),
    "rotated_ellipsoid": lambda v, m=np: _rotated_ellipsoid(v),
    "ellipsoid_rotated": lambda v, m=np: _bbob_rotated_ellipsoid(v, m),
    "schwefel_2_21": lambda v, m=np: m.max(m.abs(v)),
    "powell": lambda v, m=np: m.sum(
        (v[0::4] + 10 * v[1::4]) ** 2
        + 5 * (v[2::4] - v[3::4]) ** 2
        + (v[1::4] - 2 * v[2::4]) ** 4
        + 10 * (v[0::4] - v[3::4]) ** 4
    ),
    "colville": lambda v, m=np: _colville(*v),
    "leon": lambda v, m=np: 100 * (v[1] - v[0] ** 3) ** 2 + (1 - v[0]) ** 2,
    "price_2": lambda v, m=np: 1 + m.sum(m.sin(v) ** 2) - 0.1 * m.exp(-m.sum(v**2)),
    "bukin_n6": lambda v, m=np: 100 * m.sqrt(abs(v[1] - 0.01 * v[0] ** 2)) + 0.01 * abs(v[0] + 10),
    "drop_wave": lambda v, m=np: -(1 + m.cos(12 * m.linalg.norm(v))) / (0.5 * m.sum(v**2) + 2),
    "levy_n13": lambda v, m=np: (
        m.sin(3 * m.pi * v[0]) ** 2
        + (v[0] - 1) ** 2 * (1 + m.sin(3 * m.pi * v[1]) ** 2)
        + (v[1] - 1) ** 2 * (1 + m.sin(TAU * v[1]) ** 2)
    ),
    "alpine_n1": lambda v, m=np: m.sum(abs(v * m.sin(v) + 0.1 * v)),
    "salomon": lambda v, m=np: 1 - m.cos(TAU * m.linalg.norm(v)) + 0.1 * m.linalg.norm(v),
    "quartic": lambda v, m=np: m.sum(m.arange(1, len(v) + 1) * v**4),
    "chung_reynolds": lambda v, m=np: m.sum(v**2) ** 2,
    "deckkers_aarts": lambda v, m=np: (
        1e5 * v[0] ** 2 + v[1] ** 2 - m.sum(v**2) ** 2 + 1e-5 * m.sum(v**2) ** 4
    ),
    "exponential": lambda v, m=np: -m.exp(-0.5 * m.sum(v**2)),
    "qing": lambda v, m=np: m.sum((v**2 - m.arange(1, len(v) + 1)) ** 2),
    "rosenbrock_modified": lambda v, m=np: (
        74
        + 100 * (v[1] - v[0] ** 2) ** 2
        + (1 - v[0]) ** 2
        - 400 * m.exp(-m.sum((v + 1) ** 2) / 0.1)
    ),
    "schwefel_1_2": lambda v, m=np: m.sum(m.cumsum(v) ** 2),
    "freudenstein_roth": lambda v, m=np: (
        (v[0] - 13 + ((5 - v[1]) * v[1] - 2) * v[1]) ** 2
        + (v[0] - 29 + ((v[1] + 1) * v[1] - 14) * v[1]) ** 2
    ),
    "zettl": lambda v, m=np: (v[0] ** 2 + v[1] ** 2 - 2 * v[0]) ** 2 + 0.25 * v[0],
    "zirilli": lambda v, m=np: 0.25 * v[0] ** 4 - 0.5 * v[0] ** 2 + 0.1 * v[0] + 0.5 * v[1] ** 2,
    "el_attar": lambda v, m=np: (
        (v[0] ** 2 + v[1] - 10) ** 2
        + (v[0] + v[1] ** 2 - 7) ** 2
        + (v[0] ** 2 + v[1] ** 3 - 1) ** 2
    ),
}


def _bbob_rotated_ellipsoid(v, m):
    """BBOB's f10 at z = R v, R the Haar rotation of seed 1 (the file's ``rotate: 1``): the QR
    factor of a seeded Gaussian matrix with its columns' signs set by R's diagonal."""
    n = len(v)
    q, r = np.linalg.qr(np.random.default_rng(1).standard_normal((n, n)))
    rotation = q * np.sign(np.diag(r))
    z = (rotation if m is np else m.torch.from_numpy(rotation)) @ v
    return m.sum(10.0 ** (6 * m.arange(n) / max(n - 1, 1)) * z**2)


def _levy(v, m):
    w = 1 + (v - 1) / 4
    body = m.sum((w[:-1] - 1) ** 2 * (1 + 10 * m.sin(m.pi * w[:-1] + 1) ** 2))
    return m.sin(m.pi * w[0]) ** 2 + body + (w[-1] - 1) ** 2 * (1 + m.sin(TAU * w[-1]) ** 2)


def _goldstein_price(x, y):
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def _rotated_ellipsoid(v):
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    return (c * v[0] + s * v[1]) ** 2 + 1e6 * (-s * v[0] + c * v[1]) ** 2


def _shubert(t, m):
    return sum(k * m.cos((k + 1) * t + k) for k in range(1, 6))


def _colville(x1, x2, x3, x4):
    return (
        100 * (x1**2 - x2) ** 2
        + (x1 - 1) ** 2
        + (x3 - 1) ** 2
        + 90 * (x3**2 - x4) ** 2
        + 10.1 * ((x2 - 1) ** 2 + (x4 - 1) ** 2)
        + 19.8 * (x2 - 1) * (x4 - 1)
    )


def _shipped_expression_problems() -> list[str]:
    return [name for name in builtin_files() if load_problem(name).kind != "logreg"]


def _kernels_in_python(problem: Any) -> dict[str, Any]:
    """The problem's generated ``p_loss``/``p_fg`` run as plain Python (numba's decorators
    replaced by the identity), so that no test here compiles."""
    space = {name: getattr(kernels, name) for name in kernels.__all__}
    space.update(jit=lambda f: f, jit_parallel=lambda f: f, prange=range, np=np, math=math)
    space["K"] = kernels
    exec(compile(problem_source(problem), f"<{problem.name}>", "exec"), space)
    return space


def _torch_gradient(name: str, point: np.ndarray) -> np.ndarray:
    """The gradient of the numpy formula by torch autograd (the same formula on torch tensors)."""
    torch = pytest.importorskip("torch")
    t = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    NUMPY_FORMS[name](t, _TorchMath(torch)).backward()
    return t.grad.numpy()


class _TorchMath:
    """The few numpy names the formulas use, on torch tensors."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.pi, self.e = math.pi, math.e
        for fn in (
            "sin",
            "cos",
            "exp",
            "sqrt",
            "sum",
            "prod",
            "mean",
            "hypot",
            "linalg",
            "dot",
            "abs",
            "max",
        ):
            setattr(self, fn, getattr(torch, fn))

    def arange(self, *bounds: int) -> Any:
        return self.torch.arange(*bounds, dtype=self.torch.float64)

    def cumsum(self, v: Any) -> Any:
        return self.torch.cumsum(v, 0)


def test_every_shipped_problem_has_a_numpy_form_tags_and_a_reference():
    names = _shipped_expression_problems()
    assert len(builtin_files()) >= 46
    assert sorted(names) == sorted(NUMPY_FORMS)
    for name in builtin_files():
        problem = load_problem(name)
        assert problem.tags and set(problem.tags) <= set(TAGS), name
        assert problem.reference, name


@pytest.mark.parametrize("name", sorted(NUMPY_FORMS))
def test_listed_minimum_value_and_gradient(name):
    problem = load_problem(name)
    fns = _kernels_in_python(problem)
    pd, data = problem.problem_params(), problem.data_array()
    # the listed minimum: numpy's value at every minimiser, and the kernel's loss there
    for point in problem.minimizers:
        assert NUMPY_FORMS[name](point) == pytest.approx(problem.min_value, rel=1e-9, abs=1e-9)
        assert fns["p_loss"](point.copy(), pd, data) == pytest.approx(
            problem.min_value, rel=1e-9, abs=1e-9
        )
    # random points in the domain: loss against numpy, gradient against torch autograd
    rng = np.random.default_rng(17)
    lo, hi = problem.domain[:, 0], problem.domain[:, 1]
    for _ in range(20):
        point = lo + (hi - lo) * rng.random(problem.dim)
        g = np.empty(problem.dim)
        f = fns["p_fg"](point.copy(), g, pd, data)
        assert f == pytest.approx(NUMPY_FORMS[name](point), rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(g, _torch_gradient(name, point), rtol=1e-7, atol=1e-7)


def _invoke(*args: str) -> Any:
    from typer.testing import CliRunner

    from adambench.cli import app

    return CliRunner().invoke(app, list(args))


def test_unknown_tag_in_a_file_is_one_line_naming_file_key_and_known_tags(write_yaml):
    path = write_yaml("name: a\nvariables: [x]\nexpression: x**2\nstart: [1]\ntags: [bowl]\n")
    r = _invoke("run", path)
    assert r.exit_code == 2 and "Traceback" not in r.output
    line = r.stderr.strip()
    assert "\n" not in line and path in line and "tags" in line and "'bowl'" in line
    assert "multimodal" in line
    path = write_yaml("name: a\nvariables: [x]\nexpression: x**2\nstart: [1]\ntags: valley\n")
    assert _invoke("run", path).exit_code == 2


def test_list_by_tag_and_the_json_of_list_and_show():
    r = _invoke("list", "--tag", "multimodal", "--json")
    assert r.exit_code == 0
    problems = json.loads(r.stdout)["problems"]
    expected = {n for n in builtin_files() if "multimodal" in load_problem(n).tags}
    assert {p["name"] for p in problems} == expected and "rastrigin" in expected
    rastrigin = next(p for p in problems if p["name"] == "rastrigin")
    assert rastrigin["formula"].startswith("sum(i, 0, dim-1") and rastrigin["dim"] == 10
    assert rastrigin["minimum"] == {"x": {"fill": 0}, "value": 0.0}
    assert rastrigin["reference"] and rastrigin["start"] == {"pattern": [2.5, -1.5]}
    r = _invoke("list", "--tag", "bumpy")
    assert r.exit_code == 2 and "unknown tag 'bumpy'" in r.stderr and "multimodal" in r.stderr
    shown = json.loads(_invoke("show", "branin", "--json").stdout)
    assert shown["variables"] == ["x", "y"] and len(shown["minimum"]["x"]) == 3
    assert shown["minimum"]["value"] == pytest.approx(0.397887357729738)
    assert shown["tags"] == ["multimodal", "non-separable"] and "sfu.ca" in shown["reference"]
    shown = json.loads(_invoke("show", "sphere", "--dim", "3", "--json").stdout)
    assert shown["start"] == [1.0, -2.0, 1.0] and shown["variables"] is None
    assert _invoke("show", "adam", "--json").exit_code == 2


def _resizable(problem: Any) -> str:
    """What ``--dim`` accepts: " (any)", " (multiples of N)" (Powell's), or "" (a fixed list of
    variables, or a minimiser that does not resize)."""
    from adambench.errors import AdambenchError

    if problem.kind != "vector":
        return ""
    for dim, text in (
        (problem.dim + 1, " (any)"),
        (2 * problem.dim, f" (multiples of {problem.dim})"),
    ):
        try:
            bigger = load_problem(problem.name, dim=dim)
        except AdambenchError:
            continue
        # the minimum must follow too (a minimiser written out for one dim is dropped)
        return text if (bigger.min_value is None) == (problem.min_value is None) else ""
    return ""


@pytest.mark.parametrize(
    "name", [n for n in sorted(NUMPY_FORMS) if load_problem(n).kind == "vector"]
)
def test_vector_problems_at_other_dims_match_numpy_torch_and_their_minimum(name):
    """Every n-D problem resized (as ``--dim`` does): loss, gradient and listed minimum."""
    from adambench.errors import AdambenchError

    checked = 0
    for n in (3, 8, 13):
        try:
            problem = load_problem(name, dim=n)
        except AdambenchError:  # a minimiser listed at one dim; Powell's dim a multiple of 4
            continue
        checked += 1
        fns = _kernels_in_python(problem)
        pd, data = problem.problem_params(), problem.data_array()
        for point in problem.minimizers:
            assert fns["p_loss"](point.copy(), pd, data) == pytest.approx(
                problem.min_value, rel=1e-9, abs=1e-9
            )
        rng = np.random.default_rng(n)
        lo, hi = problem.domain[:, 0], problem.domain[:, 1]
        for _ in range(5):
            point = lo + (hi - lo) * rng.random(n)
            g = np.empty(n)
            f = fns["p_fg"](point.copy(), g, pd, data)
            assert f == pytest.approx(NUMPY_FORMS[name](point), rel=1e-9, abs=1e-9)
            np.testing.assert_allclose(g, _torch_gradient(name, point), rtol=1e-7, atol=1e-7)
    assert checked or not _resizable(load_problem(name)), name


def library_table() -> str:
    """The table of docs/problems.md's "The library" section, from the shipped files."""
    rows = ["| name | dim | tags | minimum | reference |", "|---|---|---|---|---|"]
    for name in builtin_files():
        p = load_problem(name)
        size = f"{p.dim}{_resizable(p)}"
        value = "none known" if p.min_value is None else f"{p.min_value:.10g}"
        value += " (Newton's method on the data)" if p.kind == "logreg" and p.minimizers else ""
        where = f" at {len(p.minimizers)} points" if len(p.minimizers) > 1 else ""
        rows.append(
            f"| `{name}` | {size} | {', '.join(p.tags)} | {value}{where} "
            f"| {p.reference.split(',')[0]} |"
        )
    return "\n".join(rows) + "\n"


def test_the_docs_library_table_matches_the_files():
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "problems.md").read_text(encoding="utf-8")
    begin, end = "<!-- library table: begin -->\n", "<!-- library table: end -->"
    assert begin in text and end in text, "docs/problems.md lost its library table markers"
    table = text.split(begin, 1)[1].split(end, 1)[0]
    assert table == library_table(), (
        "docs/problems.md's library table is out of date: replace it with library_table()'s text"
    )

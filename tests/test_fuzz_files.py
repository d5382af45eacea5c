"""Property-based fuzzing of every YAML file kind end to end (issue 10): problem files, optimizer
files, sweep files and check suites, read from disk by the loader the commands use. Any document
(random YAML text, or random mappings built from the schema's keys with values of any type)
either loads into a valid object or raises an AdambenchError subclass: never another exception,
never a hang. Sizes are bounded so that a document that does load stays cheap (no 1e8-dimension
arrays): the loaders' own limits are tested in test_bad_inputs.py.
"""

from __future__ import annotations

import math
import tempfile
from datetime import timedelta
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adambench.checks.suite import Suite, load_suite
from adambench.errors import AdambenchError
from adambench.optimizers.rules import load_optimizer_yaml
from adambench.optimizers.spec import OptimizerSpec
from adambench.problems import Problem, load_problem
from adambench.sweeps.config import SweepSpec, load_sweep_file

FUZZ = settings(
    deadline=timedelta(seconds=20),  # a hang fails; a slow CI machine does not
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------
# Values of any YAML type, small

SPECIAL_FLOATS = st.sampled_from([0.0, -0.0, 1e-320, 1e308, -1e308, math.inf, -math.inf, math.nan])
INTS = st.integers(-3, 60) | st.sampled_from([0, 1, 2, -1, 10**10, 2**63, -(2**70)])
FLOATS = st.floats(-1e3, 1e3) | SPECIAL_FLOATS
FRAGMENTS = st.sampled_from(
    ["x", "y", "p", "g", "lr", "+", "-", "*", "/", "**", "(", ")", "0", "2", "1e308", "sin(",
     "exp(", "sqrt(", "abs(", "where(", ",", "<", "sum(i, 0, dim-2, ", "x[i+1]", "x[i]", "__",
     ".", "[", "]", "lambda", ":", "'", "import", "=", " ", "prod(i, 0, dim/4-1, ", "dim",
     "x[2*i+1]", "x[(i+1) % dim]", "x[0]", "x[dim-1]", "sum(i, 0, dim-1, x[i])**2"]
)  # fmt: skip
EXPRESSIONS = st.lists(FRAGMENTS, max_size=12).map("".join)
TEXT = st.text(max_size=12) | EXPRESSIONS
SCALARS = st.none() | st.booleans() | INTS | FLOATS | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def mutated(bases: list[dict], keys: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Documents near valid ones: a valid ``base`` with up to four mutations, each setting a
    schema key to a plausible value or to any value, dropping a key, or adding a stray key.
    Hypothesis shrinks towards the valid base, so both outcomes are exercised."""

    @st.composite
    def draw(d: st.DrawFn) -> dict:
        doc = dict(d(st.sampled_from(bases)))
        for _ in range(d(st.integers(0, 4))):
            action = d(st.sampled_from(["plausible", "plausible", "any", "drop", "stray"]))
            key = d(st.sampled_from(sorted(keys)))
            if action == "plausible":
                doc[key] = d(keys[key])
            elif action == "any":
                doc[key] = d(VALUES)
            elif action == "drop":
                doc.pop(key, None)
            else:
                doc[d(TEXT)] = d(VALUES)
        return doc

    return draw()


POINTS = st.lists(FLOATS | INTS, max_size=4) | st.fixed_dictionaries({"fill": FLOATS})
PROBLEM = mutated(
    [
        {"name": "bowl", "variables": ["x", "y"], "expression": "x**2 + 3*y**2", "start": [1, 2]},
        {"name": "chain", "dim": 3, "expression": "sum(i, 0, dim-2, (x[i+1] - x[i])**2)",
         "start": {"fill": 1.0}},
        {"name": "moons", "data": {"n_samples": 40}, "model": {"bias": True}, "start": [0, 0, 0]},
    ],
    {
        "name": TEXT,
        "description": TEXT,
        "variables": st.lists(st.sampled_from(["x", "y", "z", "pi", "__a", "x"]), max_size=3),
        "dim": st.integers(-1, 6),
        "expression": EXPRESSIONS,
        "start": POINTS,
        "minimum": st.fixed_dictionaries({"x": POINTS, "value": FLOATS}),
        "target": FLOATS | st.fixed_dictionaries({"gap": FLOATS}),
        "domain": st.lists(FLOATS, max_size=3) | st.lists(st.lists(FLOATS, max_size=3), max_size=3),
        "steps": INTS,
        "gradient_noise": FLOATS,
        "suggested": st.dictionaries(st.sampled_from(["adam", "sgd", "nope"]),
                                     st.dictionaries(st.sampled_from(["lr", "beta1"]), FLOATS)),
        "contour": st.sampled_from(["auto", "log", "linear", "other"]),
        "scale": FLOATS,
        "data": st.fixed_dictionaries({}, optional={"n_samples": st.integers(-1, 300),
                                                    "noise": FLOATS, "data_seed": INTS}),
        "model": st.fixed_dictionaries({}, optional={"bias": st.booleans(), "l2": FLOATS,
                                                     "batch_size": st.integers(-1, 300)}),
    },
)  # fmt: skip
HYPERPARAM = FLOATS | st.fixed_dictionaries(
    {"default": FLOATS | st.booleans()},
    optional={k: FLOATS for k in ("min", "max", "above", "below")}
    | {"kind": st.sampled_from(["float", "bool", "int"])},
)
ASSIGNMENTS = st.tuples(st.sampled_from(["p", "g", "m", "lr", "t", "__x", "1"]),
                        st.sampled_from(["=", "+=", "*=", "=="]), EXPRESSIONS)  # fmt: skip
OPTIMIZER = mutated(
    [
        {"name": "my_opt", "hyperparameters": {"lr": {"default": 0.1, "above": 0}},
         "state": {"m": 0}, "update": ["m = 0.9*m + g", "p = p - lr*m"]},
        {"name": "plain", "update": ["p = p - 0.01*sign(g)"]},
    ],
    {
        "name": st.sampled_from(["my_opt", "adam", "1bad", "x.y-z"]) | TEXT,
        "description": TEXT,
        "hyperparameters": st.dictionaries(st.sampled_from(["lr", "beta", "g", "t", "__h"]),
                                           HYPERPARAM, max_size=3),
        "state": st.dictionaries(st.sampled_from(["m", "v", "p", "lr"]), FLOATS | EXPRESSIONS,
                                 max_size=3),
        "update": st.lists(ASSIGNMENTS.map(lambda a: f"{a[0]} {a[1]} {a[2]}"), max_size=4),
    },
)  # fmt: skip
GRID_VALUES = st.sampled_from(["1e-3:1:log5", "0:0.9:3", "1:0:log3", "0.1", "a:b"]) | st.lists(
    FLOATS | st.booleans(), max_size=4
)
SWEEP = mutated(
    [{"problem": "beale", "grid": {"lr": "1e-3:1:log3"}, "seeds": 2},
     {"problem": "rosenbrock_nd", "dim": 4, "optimizers": ["adam", "sgd"],
      "grid": {"lr": [0.1, 0.01], "adam.beta1": [0.5, 0.9]}, "start": "random"}],
    {
        "description": TEXT,
        "problem": st.sampled_from(["beale", "bael", "missing.yaml"]),
        "dim": INTS,
        "optimizers": st.sampled_from(["adam", "sgd(lr=0.1)"]) | st.lists(TEXT, max_size=2),
        "grid": st.dictionaries(st.sampled_from(["lr", "beta1", "adam.beta2", "nope", "a.b.c"]),
                                GRID_VALUES, max_size=2),
        "seeds": INTS,
        "seed": INTS,
        "steps": INTS,
        "start": st.sampled_from(["default", "random", "other"]) | POINTS,
        "metric": st.sampled_from(["final_loss", "best_loss", "bogus"]),
        "max_runs": INTS,
    },
)  # fmt: skip
EXPECT = st.dictionaries(
    st.sampled_from(["status", "final_loss_below", "steps_to_target_at_most",
                     "success_rate_at_least", "accuracy_at_least", "nope"]),
    st.sampled_from(["reached_target", "diverged", "bogus"]) | FLOATS | INTS,
    max_size=3,
)  # fmt: skip
TOLERANCES = st.dictionaries(
    st.sampled_from(["final_loss", "steps_to_target", "nope"]),
    st.sampled_from(["off", None, False])
    | st.fixed_dictionaries({}, optional={"rtol": FLOATS, "atol": FLOATS}),
    max_size=2,
)
CASE = mutated(
    [{"problem": "beale", "optimizer": "adam(lr=0.1)", "expect": {"final_loss_below": 1.0}},
     {"name": "nd", "problem": "rosenbrock_nd", "dim": 5, "optimizer": ["adam", "sgd"],
      "seeds": 3, "tolerances": {"final_loss": {"rtol": 0.1}}}],
    {
        "name": TEXT,
        "description": TEXT,
        "problem": st.sampled_from(["beale", "rosenbrock_nd", "x.yaml"]),
        "dim": INTS,
        "optimizer": st.sampled_from(["adam(lr=0.1)", "sgd"]) | st.lists(TEXT, max_size=2),
        "steps": INTS,
        "seeds": INTS,
        "seed": INTS,
        "start": st.sampled_from(["default", "random"]) | POINTS,
        "stop_at_target": st.booleans(),
        "expect": EXPECT,
        "tolerances": TOLERANCES,
    },
)  # fmt: skip
SUITE = mutated(
    [{"name": "ci", "cases": [{"problem": "beale", "optimizer": "adam"}]}],
    {
        "name": TEXT,
        "description": TEXT,
        "steps": INTS,
        "seeds": INTS,
        "seed": INTS,
        "start": POINTS,
        "stop_at_target": st.booleans(),
        "tolerances": TOLERANCES,
        "cases": st.lists(CASE, min_size=1, max_size=3),
    },
)

# ---------------------------------------------------------------------------------------------
# Random YAML text: fragments of YAML syntax, including the dangerous ones

YAML_BITS = st.sampled_from(
    ["name: a\n", "variables: [x, y]\n", "expression: x**2\n", "start: [1, 2]\n", "update:\n",
     "  - p = p - g\n", "cases:\n", "  - problem: beale\n", "    optimizer: adam\n",
     "grid: {lr: 1.0e-3:1:log3}\n", "&a [1, 2]", "*a", "<<: *a\n", "!!python/object:os.system ",
     "!!python/name:os.system\n", "!!binary aGk=\n", "!!set {a, b}\n", "? [1]\n: 2\n", "\t",
     "- ", ": ", "{", "}", "[", "]", "'", '"', "#", "---\n", "...\n", "%YAML 1.1\n", ".nan",
     ".inf", "~", "2001-12-14", "0x1f", "1_000", "\n", "  ", "\u00e9", "\0", "\ufeff"]
)  # fmt: skip
YAML_TEXT = st.lists(YAML_BITS | st.text(max_size=6), max_size=30).map("".join)

KINDS = {
    "problem": (PROBLEM, load_problem, Problem),
    "optimizer": (OPTIMIZER, load_optimizer_yaml, OptimizerSpec),
    "sweep": (SWEEP, load_sweep_file, SweepSpec),
    "suite": (SUITE, load_suite, Suite),
}


def loads_or_refuses(kind: str, text: str) -> None:
    """Write ``text`` as a file of ``kind`` and load it: a valid object or an AdambenchError."""
    _, load, cls = KINDS[kind]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"{kind}.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            obj = load(str(path))
        except AdambenchError as exc:
            assert str(exc).strip()  # a message to show
            return
        assert isinstance(obj, cls)


def dump(doc: dict) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@FUZZ
@given(PROBLEM)
def test_fuzz_problem_files(doc):
    loads_or_refuses("problem", dump(doc))


@FUZZ
@given(OPTIMIZER)
def test_fuzz_optimizer_files(doc):
    loads_or_refuses("optimizer", dump(doc))


@FUZZ
@given(SWEEP)
def test_fuzz_sweep_files(doc):
    loads_or_refuses("sweep", dump(doc))


@FUZZ
@given(SUITE)
def test_fuzz_suites(doc):
    loads_or_refuses("suite", dump(doc))


@FUZZ
@given(st.sampled_from(sorted(KINDS)), YAML_TEXT)
def test_fuzz_any_yaml_text_for_every_file_kind(kind, text):
    loads_or_refuses(kind, text)


def test_the_schemas_reach_valid_objects():
    """The loaders under test do load valid files (so the fuzz tests can tell both outcomes)."""
    for kind, text in {
        "problem": "name: a\nvariables: [x]\nexpression: x**2\nstart: [1]\n",
        "optimizer": "name: my_opt\nupdate: ['p = p - 0.1*g']\n",
        "sweep": "problem: beale\ngrid: {lr: [0.1]}\n",
        "suite": "cases: [{problem: beale, optimizer: adam}]\n",
    }.items():
        _, load, cls = KINDS[kind]
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "f.yaml"
            path.write_text(text)
            assert isinstance(load(str(path)), cls)

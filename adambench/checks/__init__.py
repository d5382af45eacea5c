"""`check`: a CI regression gate over a suite of cases; `compare`: two saved results. No printing.

A *suite* (YAML, see ``sample_configs/ci.yaml`` and docs/ci-gate.md) lists cases: a problem, one or
more optimizer configurations (``-O`` spec strings), steps and seeds, and expectations such as
``final_loss_below: 1e-6`` or ``success_rate_at_least: 0.9``. Every case becomes an engine job and
all jobs run in ONE :func:`adambench.engine.execute` call (compiled, in parallel, deterministic).

Each case configuration is judged over its seeds, so a gate on a stochastic problem does not flake:

- ``success_rate`` is the fraction of runs whose status is ``reached_target``;
- ``diverged_rate`` the fraction of runs that diverged;
- every other quantity is the **median over seeds**, where a run that diverged (or could not
  start) counts as the worst value (``+inf`` for losses, steps, distances, gradient norms and
  ``-inf`` for accuracy), and a run that never reached the target counts as ``+inf`` steps. A
  median that is not finite is reported (and saved) as ``None`` ("diverged" / "not reached").

A *baseline* (``--save-baseline``) records these measured numbers per case together with every
setting that produced them; ``--baseline`` compares a new measurement against it with the
suite's tolerances. A value may get worse by at most ``max(atol, rtol * |baseline|)``, never
fails for getting better, and a ``None`` (worst) baseline cannot be made worse. Losses are
compared as their **excess over the problem's known minimum value** f* (the loss itself when f*
is unknown), so ``rtol`` means the same thing for a minimum at 0, at -0.25 or at 0.3117, and
``atol`` is the floor below which changes of a converged loss do not matter.
"""

from adambench.checks.baseline import match_baseline, read_baseline, validate_baseline
from adambench.checks.compare import compare
from adambench.checks.expectations import (
    BASELINE_FORMAT,
    BASELINE_VERSION,
    EXPECTATIONS,
    MAX_CASES,
    METRICS,
    REPORT_FORMAT,
    Expectation,
    Metric,
    Tolerance,
    measure,
)
from adambench.checks.gate import check
from adambench.checks.judge import against_baseline, judge
from adambench.checks.outcome import CaseResult, CheckItem, CheckResult
from adambench.checks.planning import plan
from adambench.checks.suite import DEFAULT_TOLERANCES, CaseSpec, Suite, load_suite, suite_from_dict
from adambench.numbers import delta_text, format_number

__all__ = [
    "BASELINE_FORMAT",
    "BASELINE_VERSION",
    "DEFAULT_TOLERANCES",
    "EXPECTATIONS",
    "MAX_CASES",
    "METRICS",
    "REPORT_FORMAT",
    "CaseResult",
    "CaseSpec",
    "CheckItem",
    "CheckResult",
    "Expectation",
    "Metric",
    "Suite",
    "Tolerance",
    "against_baseline",
    "check",
    "compare",
    "delta_text",
    "format_number",
    "judge",
    "load_suite",
    "match_baseline",
    "measure",
    "plan",
    "read_baseline",
    "suite_from_dict",
    "validate_baseline",
]

"""The training controls every compiled optimizer takes after its own hyperparameters: a
learning-rate schedule with its parameters, a linear warm-up, and gradient clipping.

They are hyperparameters like any other (validated, shown in labels, written to JSON, swept
with ``--grid``), appended after the optimizer's own so that a kernel reading ``hp[0..k]`` by
position is unchanged; the run loop reads them from the end of the hyperparameter row (see
:mod:`adambench.schedules`). 0 means "off" for ``warmup``, ``clip_norm`` and ``clip_value`` and
"not given" for the required ``step_size`` and ``gamma``; ``t_max`` = 0 is the run's steps.
"""

from __future__ import annotations

from collections.abc import Mapping

from adambench.errors import OptimizerError
from adambench.optimizers.spec import CONTROL_NAMES, SCHEDULE_PARAMS, HyperParam, OptimizerSpec

__all__ = [
    "CONTROLS",
    "PARAMETERISED_SCHEDULES",
    "SCHEDULES",
    "SCHEDULE_USES",
    "check_controls",
    "with_controls",
]

#: The schedules, in the order of their index (``adambench.schedules.SCHEDULE_CODES``, which
#: this module does not import: `list` loads no numerical library).
SCHEDULES = ("constant", "step", "exponential", "cosine", "inverse_sqrt", "linear")


def _control(
    name: str, default: float, doc: str, kind: str = "float", **bounds: object
) -> HyperParam:
    return HyperParam(name, default, doc, kind, control=True, **bounds)  # type: ignore[arg-type]


#: The controls, in the order the run loop reads them (``adambench.schedules.CONTROL_AT``).
#: Defaults are those of torch.optim.lr_scheduler's classes.
CONTROLS = (
    _control("schedule", 0.0, "learning-rate schedule", "choice", choices=SCHEDULES),
    _control("step_size", 0.0, "step: steps per decay (required; 0: not given)", "int", low=0.0),
    _control("gamma", 0.0, "step, exponential: decay factor (required; 0: not given)", low=0.0),
    _control("t_max", 0.0, "cosine: steps of the half period (0: the run's steps)", "int", low=0.0),
    _control("eta_min", 0.0, "cosine: the lowest lr", low=0.0),
    _control("start_factor", 1 / 3, "linear: lr factor at the first step", low=0.0, high=1.0,
             low_open=True),
    _control("end_factor", 1.0, "linear: lr factor after total_iters steps", low=0.0, high=1.0),
    _control("total_iters", 5.0, "linear: steps from start_factor to end_factor", "int",
             low=1.0),
    _control("warmup", 0.0, "steps of linear warm-up, times any schedule (0: none)", "int",
             low=0.0),
    _control("warmup_start", 0.0, "warm-up: the factor it starts from", low=0.0, high=1.0),
    _control("clip_norm", 0.0, "clip the gradient's global norm to this (0: off)", low=0.0),
    _control("clip_value", 0.0, "clip each gradient component to +-this (0: off)", low=0.0),
)  # fmt: skip
assert tuple(hp.name for hp in CONTROLS) == CONTROL_NAMES

#: The schedule parameters each schedule reads (warmup and warmup_start go with any).
SCHEDULE_USES = {
    "step": ("step_size", "gamma"),
    "exponential": ("gamma",),
    "cosine": ("t_max", "eta_min"),
    "linear": ("start_factor", "end_factor", "total_iters"),
}

_EXAMPLES = {"step": "step_size=100, gamma=0.5", "exponential": "gamma=0.99"}

#: The schedules with a required parameter that has no default: a tune over every schedule
#: leaves them out (one value of gamma cannot serve both them and the others).
PARAMETERISED_SCHEDULES = tuple(_EXAMPLES)


def with_controls(hyperparams: tuple[HyperParam, ...]) -> tuple[HyperParam, ...]:
    """An optimizer's hyperparameters followed by the training controls; an optimizer that
    declares a control's name itself is refused (a YAML rule is told where, when read)."""
    for hp in hyperparams:
        if hp.name in CONTROL_NAMES:
            raise OptimizerError(
                f"hyperparameter '{hp.name}' is reserved for schedules and clipping "
                "(every optimizer takes it): name yours otherwise"
            )
    return tuple(hyperparams) + CONTROLS


def check_controls(
    spec: OptimizerSpec, values: Mapping[str, float], sources: Mapping[str, str]
) -> str | None:
    """What is wrong with a configuration's controls (one line), or None.

    A schedule needs an optimizer that reads ``lr`` at every step; ``step`` and ``exponential``
    need their parameters; a schedule parameter given for another schedule is refused."""
    if not spec.has_controls:
        return None
    schedule = SCHEDULES[int(values["schedule"])]
    scheduled = schedule != "constant" or values["warmup"] > 0
    if scheduled and not spec.schedulable:
        return (
            "it reads lr only at its first step (as torch's does), so it takes no schedule or "
            "warmup"
        )
    if scheduled and spec.lr_index < 0:
        return "it has no lr for a schedule or warmup to scale"
    for name in SCHEDULE_PARAMS:
        if sources.get(name, "default") == "default":
            continue
        if name == "warmup_start" and values["warmup"] == 0:
            return "warmup_start is the start of a warm-up: give warmup (its steps) too"
        users = [s for s, uses in SCHEDULE_USES.items() if name in uses]
        if users and schedule not in users:
            other = "and no schedule is given" if schedule == "constant" else f"not of {schedule}"
            return f"{name} is a parameter of schedule={' or '.join(users)}, {other}"
    needs = SCHEDULE_USES.get(schedule, ())
    if schedule in _EXAMPLES and any(values[n] <= 0 for n in needs):
        return (
            f"schedule={schedule} needs {' and '.join(needs)} "
            f"(e.g. schedule={schedule}, {_EXAMPLES[schedule]})"
        )
    return None

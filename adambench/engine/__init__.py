"""The engine: optimizer configurations x seeds on a problem, inside compiled code. No printing."""

from adambench.engine.batches import CHUNK_SECONDS, CompileFn, ProgressFn
from adambench.engine.jobs import (
    LAYOUTS,
    LOCKSTEP_MIN_RUNS,
    TRACE_BUDGET_BYTES,
    WIDE_MIN_DIM,
    Job,
    allocate,
    collect,
    execute,
    prepare,
    problem_functions,
    run,
)
from adambench.engine.memory import available_memory
from adambench.engine.metrics import (
    STALL_RTOL,
    STATUSES,
    ConfigSummary,
    Stat,
    stall_step,
    status_of,
    summarize,
)
from adambench.engine.results import (
    MAX_JSON_BYTES,
    MAX_JSON_PARAMS,
    SCHEMA_VERSION,
    Result,
    RunResult,
    Settings,
    environment,
    read_json,
    read_result_file,
)
from adambench.engine.starts import random_starts
from adambench.limits import MAX_SEEDS, MAX_TRACE_PARAMS

__all__ = [
    "CHUNK_SECONDS",
    "LAYOUTS",
    "LOCKSTEP_MIN_RUNS",
    "MAX_JSON_BYTES",
    "MAX_JSON_PARAMS",
    "MAX_SEEDS",
    "MAX_TRACE_PARAMS",
    "SCHEMA_VERSION",
    "STALL_RTOL",
    "STATUSES",
    "TRACE_BUDGET_BYTES",
    "WIDE_MIN_DIM",
    "CompileFn",
    "ConfigSummary",
    "Job",
    "ProgressFn",
    "Result",
    "RunResult",
    "Settings",
    "Stat",
    "allocate",
    "available_memory",
    "collect",
    "environment",
    "execute",
    "prepare",
    "problem_functions",
    "random_starts",
    "read_json",
    "read_result_file",
    "run",
    "stall_step",
    "status_of",
    "summarize",
]

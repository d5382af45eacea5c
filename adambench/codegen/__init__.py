"""Generated, cached and imported compiled code: problem kernels, the run loops, module assembly."""

from adambench.codegen.lanes import LANES, lockstep_runner_source
from adambench.codegen.loops import (
    FUSED_MAX_DIM,
    RUNNER_ARGS,
    array_runner_source,
    fused_dim,
    fused_runner_source,
    python_runner_source,
    wide_runner_source,
)
from adambench.codegen.modules import (
    CACHE_ERRORS,
    forget_compiled,
    load_module,
    mark_compiled,
    module_key,
    module_source,
)
from adambench.codegen.problem_source import problem_key, problem_source
from adambench.codegen.torch_loop import torch_runner

__all__ = [
    "CACHE_ERRORS",
    "FUSED_MAX_DIM",
    "LANES",
    "RUNNER_ARGS",
    "array_runner_source",
    "forget_compiled",
    "fused_dim",
    "fused_runner_source",
    "load_module",
    "lockstep_runner_source",
    "mark_compiled",
    "module_key",
    "module_source",
    "problem_key",
    "problem_source",
    "python_runner_source",
    "torch_runner",
    "wide_runner_source",
]

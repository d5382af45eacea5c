"""The optimizer registry: spec types, the built-ins, YAML update rules, Python plugins and the
torch.optim adapter. Names are looked up in one place, :func:`adambench.optimizers.registry.get`.
"""

from adambench.optimizers.builtins import BUILTINS
from adambench.optimizers.registry import (
    configs_from_specs,
    get,
    is_optimizer_path,
    load_optimizer_file,
    parse_spec,
    parse_specs,
    parse_value,
    registry,
    resolve,
    split_specs,
)
from adambench.optimizers.spec import (
    HYPERPARAM_KEYS,
    SOURCE_MARKS,
    TORCH_PREFIX,
    HyperParam,
    KernelRef,
    OptimizerConfig,
    OptimizerSpec,
    hyperparam_from_data,
)

__all__ = [
    "BUILTINS",
    "HYPERPARAM_KEYS",
    "SOURCE_MARKS",
    "TORCH_PREFIX",
    "HyperParam",
    "KernelRef",
    "OptimizerConfig",
    "OptimizerSpec",
    "configs_from_specs",
    "get",
    "hyperparam_from_data",
    "is_optimizer_path",
    "load_optimizer_file",
    "parse_spec",
    "parse_specs",
    "parse_value",
    "registry",
    "resolve",
    "split_specs",
]

"""Tasks: chunks of runs as data (problems, optimizers and settings by reference), cut from
the client's jobs, and the references resolved back into problems and optimizers on a worker.
A task holds no Python object that holds a module, so it pickles to any worker."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench import files
from adambench.backends.options import ClusterError
from adambench.errors import AdambenchError, UsageError
from adambench.version import __version__

if TYPE_CHECKING:
    from adambench.engine.jobs import Job
    from adambench.optimizers.spec import OptimizerSpec
    from adambench.problems import Problem

__all__ = [
    "STEP_UNITS",
    "TORCH_UNITS",
    "Block",
    "ChunkOutput",
    "ConfigData",
    "JobPlan",
    "Part",
    "ProblemRef",
    "RunQueue",
    "SpecRef",
    "Task",
    "code_digest",
    "load_problem_ref",
    "load_spec",
    "part_of",
    "plan_job",
    "problem_ref",
    "rectangles",
    "spec_ref",
]

#: The cost model: a run costs ``steps * units``, ``units = dim + STEP_UNITS`` (plus the data
#: set's size for data problems; torch optimizers step from Python: ``TORCH_UNITS``).
STEP_UNITS = 10
TORCH_UNITS = 2000

# ---------------------------------------------------------------------------------------------
# Tasks: data a worker rebuilds the runs from


@dataclass(frozen=True)
class ProblemRef:
    """A problem as a worker rebuilds it: a shipped one by name, a problem file by its text."""

    name: str  # the shipped problem's name, or the file's path as the user gave it
    dim: int | None  # for vector problems
    text: str | None = None  # YAML text of a problem file
    # The client's target, which a suite or a caller may have set (dataclasses.replace) apart
    # from the one the name or the file gives: without it a worker would judge runs by another.
    target: float | None = None
    noise: float | None = None  # --noise (None: the file's gradient_noise)
    rotate: int | None = None  # --rotate's seed
    target_metric: str = "loss"  # what ``target`` bounds (Problem.target_metric)
    # The problem file's folder (absolute), where its data file's relative path starts.
    folder: str | None = None


@dataclass(frozen=True)
class SpecRef:
    """An optimizer as a worker rebuilds it.

    ``kind`` is ``built-in``, ``entry point`` or ``torch`` (by ``name``; the worker must have the
    package), or ``yaml`` / ``plugin`` (``name`` is the path as the user gave it, ``text`` the
    file's content, ``file`` its resolved path on the client, reused by a worker that sees the
    same file there).
    """

    kind: str
    name: str
    text: str | bytes | None = None
    file: str | None = None


@dataclass(frozen=True)
class ConfigData:
    """A resolved configuration: its optimizer (index into the part's specs) and values."""

    spec: int
    values: dict[str, float]
    sources: dict[str, str]
    label: str


@dataclass(frozen=True)
class Part:
    """Some configurations of one job x a contiguous range of its seeds."""

    job: int  # index of the job on the client
    problem: ProblemRef
    specs: tuple[SpecRef, ...]
    configs: tuple[ConfigData, ...]
    config_index: tuple[int, ...]  # each configuration's index in its job
    seed_index: int  # index of the first seed in the job's seeds
    seed: int  # its value
    seeds: int  # how many
    steps: int
    every: int
    start: Any  # None, "random" or a point
    stop_at_target: bool
    average_decay: float | None
    record_x: bool
    dtype: str = "float64"

    @property
    def runs(self) -> int:
        return len(self.configs) * self.seeds


@dataclass(frozen=True)
class Task:
    """One chunk: parts run together in one :func:`adambench.engine.jobs.execute` call."""

    id: int
    parts: tuple[Part, ...]
    threads: int | None  # engine threads (None: the worker's share of its cores)
    code: str  # the client's :func:`code_digest`


@dataclass
class Block:
    """Collected arrays of some runs of one job; ``runs[i]`` = (configuration, seed) indices."""

    job: int
    runs: np.ndarray
    arrays: dict[str, np.ndarray]


@dataclass
class ChunkOutput:
    """What a worker returns for a task."""

    id: int
    blocks: list[Block] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compiled: list[str] = field(default_factory=list)
    compile_s: float = 0.0
    wall_s: float = 0.0
    threads: int = 1
    worker: str = ""
    error: AdambenchError | None = None


# ---------------------------------------------------------------------------------------------
# The code both sides must share


@functools.cache
def code_digest() -> str:
    """sha256 of what the numbers depend on: adambench's sources and shipped problems, and the
    numpy, numba, llvmlite and Python versions. Workers refuse tasks from a client that differs."""
    import platform

    import llvmlite
    import numba

    from adambench.problem_files import builtin_files

    h = hashlib.sha256()
    versions = (__version__, np.__version__, numba.__version__, llvmlite.__version__)
    h.update("|".join([*versions, platform.python_version(), platform.machine()]).encode())
    sources = sorted(files.PACKAGE_DIR.rglob("*.py"))
    for path in [*sources, *builtin_files().values()]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Client side: jobs -> references


def problem_ref(problem: Problem) -> ProblemRef:
    """How a worker gets ``problem``: by name, or by the text of its file (checked to give the
    same problem)."""
    from adambench import safeyaml
    from adambench.problems import problem_from_dict, with_variant

    dim = problem.dim if problem.kind == "vector" else None
    rotate = None if problem.file_rotation else problem.rotation_seed  # the file's: in its text
    variant = {"noise": problem.noise_override, "rotate": rotate}
    aim = {"target": problem.target, "target_metric": problem.target_metric}
    if problem.source == "built-in":
        return ProblemRef(problem.name, dim, **aim, **variant)
    path = Path(problem.source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise UsageError(
            f"problem '{problem.name}' was not loaded from a file ({problem.source}); a cluster "
            "runs shipped problems and problem files"
        ) from None
    folder = str(path.resolve().parent)
    again = problem_from_dict(
        safeyaml.loads(text, problem.source),
        where=problem.source,
        dim=dim,
        source=problem.source,
        base_dir=Path(folder),
    )
    again = with_variant(again, **variant)
    if _fingerprint(replace(again, **aim)) != _fingerprint(problem):
        raise UsageError(f"{problem.source} changed after it was loaded; run again")
    return ProblemRef(problem.source, dim, text, **aim, **variant, folder=folder)


def _fingerprint(p: Problem) -> tuple[Any, ...]:
    data = files.digest(p.data.tobytes()) if p.data is not None else None
    return (
        p.name, p.kind, p.dim, p.code_identity(), p.start.tobytes(), p.target, p.target_metric,
        p.min_value, p.steps, p.gradient_noise, p.scale, p.problem_params().tobytes(), data,
    )  # fmt: skip


def spec_ref(spec: OptimizerSpec) -> SpecRef:
    """How a worker gets an optimizer: by name, or by the text of its file (checked to give the
    same kernels)."""
    from adambench.optimizers.builtins import BUILTINS

    if spec.source == "built-in" and BUILTINS.get(spec.name) is spec:
        return SpecRef("built-in", spec.name)
    if spec.source == "torch":
        return SpecRef("torch", spec.name)
    if spec.source.startswith("entry point"):
        return SpecRef("entry point", spec.name)
    kernel = spec.kernel
    if kernel.inline is not None and _readable(spec.source):
        text = Path(spec.source).read_text(encoding="utf-8")
        ref = SpecRef("yaml", spec.source, text)
        if load_spec(ref).kernel.inline == kernel.inline:
            return ref
        raise UsageError(f"{spec.source} changed after it was loaded; run again")
    if (
        kernel.module is not None
        and kernel.module.startswith("_adambench_kernels_")
        and kernel.source_file is not None
        and _readable(kernel.source_file)
    ):
        data = Path(kernel.source_file).read_bytes()
        name = f"_adambench_plugin_{files.digest(data)}"
        shim = files.digest(f"{name}\0{kernel.source_file}\0".encode() + data)
        if kernel.module != f"_adambench_kernels_{shim}":
            raise UsageError(f"{spec.source} changed after it was loaded; run again")
        return SpecRef("plugin", spec.source, data, kernel.source_file)
    raise UsageError(
        f"optimizer '{spec.name}' ({spec.source}) cannot be sent to a cluster: give optimizers "
        "by name, by file or as torch:CLASS"
    )


def _readable(path: str) -> bool:
    try:
        return Path(path).is_file()
    except OSError:
        return False


@dataclass
class JobPlan:
    """A client job, as the data its chunks are cut from."""

    job: Job
    problem: ProblemRef
    specs: list[SpecRef]
    configs: list[tuple[int, ConfigData]]  # (index into specs, data) per configuration
    run_units: np.ndarray  # cost of one run of each configuration
    start: Any

    @property
    def n_seeds(self) -> int:
        return len(self.job.settings.seeds)

    def identity(self) -> dict[str, Any]:
        st = self.job.settings
        return {
            "problem": [self.problem.name, self.problem.dim, files.digest(self.problem.text or "")],
            "specs": [[s.kind, s.name, files.digest(s.text or "")] for s in self.specs],
            "configs": [
                [k, sorted(c.values.items()), sorted(c.sources.items()), c.label]
                for k, c in self.configs
            ],
            "seeds": [st.seeds[0], len(st.seeds)],
            "settings": [
                st.steps, st.every, self.start, st.stop_at_target, st.average_decay, st.record_x,
                st.dtype,
            ],
        }  # fmt: skip


def plan_job(job: Job) -> JobPlan:
    st = job.settings
    if st.start == "given":
        start: Any = [float(v) for v in job.starts[0]]
    else:
        start = None if st.start == "default" else st.start
    prob = problem_ref(job.problem)
    specs: list[SpecRef] = []
    index: dict[int, int] = {}
    configs = []
    units = []
    p = job.problem
    base = p.dim + STEP_UNITS + (p.data.size if p.data is not None else 0)
    for c in job.configs:
        if id(c.spec) not in index:
            index[id(c.spec)] = len(specs)
            specs.append(spec_ref(c.spec))
        k = index[id(c.spec)]
        configs.append((k, ConfigData(k, dict(c.values), dict(c.sources), c.label)))
        units.append(st.steps * (base + (TORCH_UNITS if not c.spec.compiled else 0)))
    return JobPlan(job, prob, specs, configs, np.array(units, float), start)


def part_of(plan: JobPlan, j: int, ks: list[int], s0: int, s1: int) -> Part:
    st = plan.job.settings
    used = sorted({plan.configs[k][0] for k in ks})
    remap = {old: new for new, old in enumerate(used)}
    configs = tuple(
        ConfigData(remap[c.spec], c.values, c.sources, c.label)
        for c in (plan.configs[k][1] for k in ks)
    )
    return Part(
        job=j,
        problem=plan.problem,
        specs=tuple(plan.specs[i] for i in used),
        configs=configs,
        config_index=tuple(ks),
        seed_index=s0,
        seed=st.seeds[s0],
        seeds=s1 - s0,
        steps=st.steps,
        every=st.every,
        start=plan.start,
        stop_at_target=st.stop_at_target,
        average_decay=st.average_decay,
        record_x=st.record_x,
        dtype=st.dtype,
    )


def rectangles(flat: np.ndarray, n_seeds: int) -> list[tuple[list[int], int, int]]:
    """Sorted run indices ``k * n_seeds + s`` of one job as (configurations, s0, s1) blocks:
    configurations that share the same contiguous seed range s0..s1-1 form one block."""
    if flat.size == 0:
        return []
    k, s = np.divmod(flat, n_seeds)
    breaks = np.flatnonzero((np.diff(k) != 0) | (np.diff(s) != 1)) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [flat.size]])
    groups: dict[tuple[int, int], list[int]] = {}
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        groups.setdefault((int(s[a]), int(s[b - 1]) + 1), []).append(int(k[a]))
    return [(ks, s0, s1) for (s0, s1), ks in groups.items()]


class RunQueue:
    """The runs still to hand out, in job, configuration, seed order."""

    def __init__(self, plans: list[JobPlan], done: list[np.ndarray]) -> None:
        self.plans = plans
        self.left = [np.flatnonzero(~d.ravel()) for d in done]
        self.pos = [0] * len(plans)
        self.j = 0
        self.runs = sum(len(a) for a in self.left)
        #: The cost of the runs left (kept up to date as runs are taken).
        self.units = sum(
            float(plan.run_units[a // plan.n_seeds].sum())
            for plan, a in zip(plans, self.left, strict=True)
        )

    def __bool__(self) -> bool:
        return self.runs > 0

    def take(self, max_runs: int, budget: float | None) -> list[tuple[int, np.ndarray]]:
        """The next runs: ``max_runs`` of them, fewer when their cost reaches ``budget``
        (at least one)."""
        out = []
        spent = 0.0
        while max_runs > 0 and self.j < len(self.plans):
            j = self.j
            a, p = self.left[j], self.pos[j]
            if p >= len(a):
                self.j += 1
                continue
            idx = a[p : p + max_runs]
            costs = np.cumsum(self.plans[j].run_units[idx // self.plans[j].n_seeds])
            if budget is not None:
                n = int(np.searchsorted(costs, budget - spent, side="right"))
                n = max(n, 1 if not out else 0)
                if n == 0:
                    break
                idx, costs = idx[:n], costs[:n]
            spent += float(costs[-1])
            out.append((j, idx))
            self.pos[j] += len(idx)
            self.runs -= len(idx)
            max_runs -= len(idx)
            if budget is not None and spent >= budget:
                break
        self.units = max(0.0, self.units - spent)
        return out


# ---------------------------------------------------------------------------------------------
# Worker side: references back into problems and optimizers

_PROBLEMS: dict[tuple[Any, ...], Problem] = {}
_SPECS: dict[tuple[Any, ...], OptimizerSpec] = {}


def load_problem_ref(ref: ProblemRef) -> Problem:
    """The problem a reference names (cached per worker process)."""
    digest = files.digest(ref.text) if ref.text is not None else None
    key = (ref.name, ref.dim, digest, ref.noise, ref.rotate, ref.folder)
    if key not in _PROBLEMS:
        from adambench import safeyaml
        from adambench.problems import load_problem, problem_from_dict, with_variant

        if ref.text is None:
            p = load_problem(ref.name, dim=ref.dim)
        else:
            raw = safeyaml.loads(ref.text, ref.name)
            base = Path(ref.folder) if ref.folder is not None else None
            p = problem_from_dict(raw, where=ref.name, dim=ref.dim, source=ref.name, base_dir=base)
        p = with_variant(p, noise=ref.noise, rotate=ref.rotate)
        if len(_PROBLEMS) > 64:
            _PROBLEMS.clear()
        _PROBLEMS[key] = p
    p = _PROBLEMS[key]
    if p.target == ref.target and p.target_metric == ref.target_metric:
        return p
    return replace(p, target=ref.target, target_metric=ref.target_metric)


def load_spec(ref: SpecRef) -> OptimizerSpec:
    """The optimizer a reference names (cached per worker process)."""
    key = (ref.kind, ref.name, files.digest(ref.text) if ref.text is not None else None, ref.file)
    if key in _SPECS:
        return _SPECS[key]
    from adambench.optimizers.registry import get

    if ref.kind in ("built-in", "torch", "entry point"):
        spec = get(ref.name)
    elif ref.kind == "yaml":
        from adambench import safeyaml
        from adambench.optimizers.rules import rule_from_dict, spec_from_rule

        assert isinstance(ref.text, str)
        spec = spec_from_rule(rule_from_dict(safeyaml.loads(ref.text, ref.name), where=ref.name))
    elif ref.kind == "plugin":
        spec = _load_plugin(ref)
    else:
        raise ClusterError(f"unknown kind of optimizer '{ref.kind}' in a task")
    _SPECS[key] = spec
    return spec


def _load_plugin(ref: SpecRef) -> OptimizerSpec:
    """A plugin from its text: the client's file when this machine sees the same bytes there
    (so the compiled kernels are shared with local runs), else a copy in the cache directory
    named by its hash (the same path every time: compiled once per machine)."""
    from adambench.cache import cache_dir
    from adambench.optimizers import plugins

    assert isinstance(ref.text, bytes) and ref.file is not None
    data = ref.text
    digest = files.digest(data)
    path = Path(ref.file)
    try:
        same = path.read_bytes() == data
    except OSError:
        same = False
    if not same:
        path = cache_dir() / "plugins" / digest / Path(ref.file).name
        if not (path.is_file() and path.read_bytes() == data):
            path.parent.mkdir(parents=True, exist_ok=True)
            files.write_atomic(path, data)
    module = plugins.import_file(path, f"_adambench_plugin_{digest}", ref.name)
    return plugins.spec_from_module(
        module,
        default_name=Path(ref.name).stem,
        source=ref.name,
        source_file=str(path.resolve()),
    )

"""Sweeps and check suites on a Dask cluster (``--scheduler``): chunks of runs sent as data.

adambench grows no distributed system of its own: it hands chunks of runs to Dask
(``dask.distributed``) and assembles what comes back. Dask is imported here only, and only when
a scheduler is given (``pip install "adambench[dask]"``).

The contract:

- **A task is data.** A chunk is a :class:`Task`: for each job it touches, the problem (a shipped
  one by name, a problem file by its YAML text), the resolved optimizer configurations (the
  optimizer by name, or a YAML / plugin file by its text, so workers need no shared disk; torch
  and entry point optimizers by name) and their hyperparameter values, a contiguous range of
  seeds, the steps and the settings. A worker rebuilds the jobs with
  :func:`adambench.engine.jobs.prepare` and runs them with
  :func:`adambench.engine.jobs.execute`, on its own threads; its own disk cache
  provides the compiled kernels (compiled once per machine, then
  loaded). It returns the arrays :func:`adambench.engine.jobs.collect` reads (final x, the metric
  slots, the recorded losses), never Python objects holding modules.
- **Identical to the local run, bit for bit.** A run's numbers depend only on its configuration,
  its seed and the settings (its random stream is a function of its seed), never on the chunk it
  ran in, on the worker or on the order chunks finish. The client puts every run in its place
  and calls the same :func:`~adambench.engine.jobs.collect` as the local path, so the Result
  (and its JSON, apart from ``volatile``) is the local one. Workers check that they run the same
  adambench, numpy, numba and Python as the client (:func:`code_digest`) and refuse otherwise.
- **Faults.** A chunk whose worker dies is run again elsewhere (Dask reschedules it; up to
  ``distributed.scheduler.allowed-failures`` deaths per chunk); an exception in a task is retried
  ``retries`` times. Every run is accounted for exactly once: a run's result is taken from the
  first chunk that delivers it, and the client checks that every run arrived.
- **Resume.** With a journal (``-o FILE`` makes it ``FILE.partial``), each finished chunk is
  appended to it as one line of JSON, flushed and fsynced, before progress is reported. An
  interrupted sweep (Ctrl-C, a lost connection) continues with ``--resume FILE.partial``: the runs
  in the journal are not run again, the others are, and the result is the same as an
  uninterrupted run. The journal is removed once the output is complete.

Journal format (JSON lines, ``adambench-partial`` version 1): the first line is a header
``{"format", "format_version", "tool", "identity", "what", "runs", "created"}``, where
``identity`` is the sha256 of everything that determines the runs (problems, configurations,
seeds, steps, settings, the adambench build); each further line is one finished chunk
``{"chunk", "worker", "notes", "compiled", "blocks": [{"job", "runs", "arrays"}]}``, where
``runs`` holds the (configuration, seed) indices of the block's runs and ``arrays`` the engine's
collected arrays (``X``, ``M``, ``IM``, ``LT``, ``XT``, ``AVG``), each array as
``{"dtype", "shape", "data"}`` with the raw little-endian bytes in base64 (exact, NaN and inf
included). A last line without its newline (the process died while writing it) is ignored.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench import files
from adambench.errors import AdambenchError, ConfigError, UsageError
from adambench.version import __version__

if TYPE_CHECKING:
    from adambench.engine.jobs import Job, ProgressFn
    from adambench.optimizers.spec import OptimizerSpec
    from adambench.problems import Problem

#: What a chunk should take on its worker, in seconds (long enough that the per-chunk overhead
#: of a few milliseconds does not matter, short enough for progress and load balance).
TASK_SECONDS = 1.0
#: Towards the end chunks shrink (each at most a share of what is left, so the last ones come
#: back together), but not below this much work.
MIN_TASK_SECONDS = 0.25
#: Chunks queued per worker thread, so a worker never waits for the client.
IN_FLIGHT = 2
#: The first guess of the cost model, before any chunk has been timed: seconds per unit of
#: work per thread, where a run costs ``steps * units``, ``units = dim + STEP_UNITS`` (plus the
#: data set's size for data problems; torch optimizers step from Python: ``TORCH_UNITS``).
SECONDS_PER_UNIT = 1.0 / 1.2e8
STEP_UNITS = 10
TORCH_UNITS = 2000
#: Runs per chunk are at most this many.
MAX_CHUNK_RUNS = 100_000
JOURNAL_FORMAT = "adambench-partial"
JOURNAL_VERSION = 1
#: The engine arrays a worker returns: those :func:`adambench.engine.jobs.collect` reads.
COLLECTED = ("X", "M", "IM", "LT", "XT", "AVG")


class ClusterError(AdambenchError):
    """The cluster cannot be used as asked: Dask missing, no scheduler at the address, workers
    that keep dying or that run a different adambench (exit code 2)."""


# ---------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class ChunkStatus:
    """Where a distributed execution is, after each finished chunk."""

    chunks_done: int
    chunks_running: int
    runs_done: int
    runs_total: int
    runs_resumed: int
    workers: int
    elapsed: float


@dataclass
class Cluster:
    """Where and how to run chunks of runs on Dask.

    ``scheduler`` is ``"local"`` (a :class:`distributed.LocalCluster` on this machine, started and
    stopped with the call: ``workers`` processes of one thread, by default one per core), the
    address of a running scheduler (``"tcp://host:8786"``), or a :class:`distributed.Client`
    (used as it is, not closed). ``chunk_runs`` fixes the runs per chunk (default: chunks of about
    :data:`TASK_SECONDS`, sized from the measured speed, smaller towards the end). ``threads`` is
    the engine threads each chunk runs on (default: on a local cluster the cores divided by the
    workers; elsewhere each worker's cores divided by its Dask threads). ``journal`` is the
    partial-output file (see the module docstring); ``resume=True`` continues an existing one,
    and an existing journal is refused without it. ``on_chunk`` is called after each finished
    chunk and ``log`` with one-line messages (cluster started, resuming); ``status`` holds the
    last :class:`ChunkStatus` (read it after an interruption).
    """

    scheduler: Any = "local"
    workers: int | None = None
    chunk_runs: int | None = None
    threads: int | None = None
    journal: str | Path | None = None
    resume: bool = False
    remove_journal: bool = True
    retries: int = 2
    timeout: float = 10.0
    on_chunk: Callable[[ChunkStatus], None] | None = None
    log: Callable[[str], None] | None = None
    status: ChunkStatus | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        from adambench.engine.jobs import check_int

        if self.workers is not None:
            check_int("workers", self.workers, 1, 1024)
            if not (isinstance(self.scheduler, str) and self.scheduler == "local"):
                raise UsageError("workers applies to the local cluster (--scheduler local) only")
        if self.chunk_runs is not None:
            check_int("chunk runs", self.chunk_runs, 1, MAX_CHUNK_RUNS)
        if self.threads is not None:
            check_int("threads", self.threads, 1, 1024)
        check_int("retries", self.retries, 0, 100)
        if isinstance(self.scheduler, str) and not self.scheduler.strip():
            raise UsageError("--scheduler must be 'local' or an address such as tcp://host:8786")
        if self.resume and self.journal is None:
            raise UsageError("resume needs the partial file to resume")


def as_cluster(scheduler: Any, threads: int | None = None) -> Cluster:
    """A :class:`Cluster` from what the API's ``scheduler=`` takes (a Cluster, ``"local"``, an
    address or a Client); ``threads`` fills in the engine threads per chunk when not set."""
    if isinstance(scheduler, Cluster):
        if threads is not None and scheduler.threads is None:
            scheduler.threads = threads
        return scheduler
    return Cluster(scheduler=scheduler, threads=threads)


# ---------------------------------------------------------------------------------------------
# Tasks: data a worker rebuilds the runs from


@dataclass(frozen=True)
class ProblemRef:
    """A problem as a worker rebuilds it: a shipped one by name, a problem file by its text."""

    name: str  # the shipped problem's name, or the file's path as the user gave it
    dim: int | None  # for vector problems
    text: str | None = None  # YAML text of a problem file


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
    from adambench.problems import problem_from_dict

    dim = problem.dim if problem.kind == "vector" else None
    if problem.source == "built-in":
        return ProblemRef(problem.name, dim)
    path = Path(problem.source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise UsageError(
            f"problem '{problem.name}' was not loaded from a file ({problem.source}); a cluster "
            "runs shipped problems and problem files"
        ) from None
    again = problem_from_dict(
        safeyaml.loads(text, problem.source), where=problem.source, dim=dim, source=problem.source
    )
    if _fingerprint(again) != _fingerprint(problem):
        raise UsageError(f"{problem.source} changed after it was loaded; run again")
    return ProblemRef(problem.source, dim, text)


def _fingerprint(p: Problem) -> tuple[Any, ...]:
    data = files.digest(p.data.tobytes()) if p.data is not None else None
    return (
        p.name, p.kind, p.dim, p.code_identity(), p.start.tobytes(), p.target, p.min_value,
        p.steps, p.gradient_noise, p.scale, p.problem_params().tobytes(), data,
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
        if _load_spec(ref).kernel.inline == kernel.inline:
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
class _JobPlan:
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
            ],
        }  # fmt: skip


def _plan_job(job: Job) -> _JobPlan:
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
    return _JobPlan(job, prob, specs, configs, np.array(units, float), start)


def _part(plan: _JobPlan, j: int, ks: list[int], s0: int, s1: int) -> Part:
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


class _Queue:
    """The runs still to hand out, in job, configuration, seed order."""

    def __init__(self, plans: list[_JobPlan], done: list[np.ndarray]) -> None:
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
# Worker side

_PROBLEMS: dict[tuple[Any, ...], Problem] = {}
_SPECS: dict[tuple[Any, ...], OptimizerSpec] = {}


def _load_problem(ref: ProblemRef) -> Problem:
    key = (ref.name, ref.dim, files.digest(ref.text) if ref.text is not None else None)
    if key not in _PROBLEMS:
        from adambench import safeyaml
        from adambench.problems import load_problem, problem_from_dict

        if ref.text is None:
            p = load_problem(ref.name, dim=ref.dim)
        else:
            raw = safeyaml.loads(ref.text, ref.name)
            p = problem_from_dict(raw, where=ref.name, dim=ref.dim, source=ref.name)
        if len(_PROBLEMS) > 64:
            _PROBLEMS.clear()
        _PROBLEMS[key] = p
    return _PROBLEMS[key]


def _load_spec(ref: SpecRef) -> OptimizerSpec:
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
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
    module = plugins.import_file(path, f"_adambench_plugin_{digest}", ref.name)
    return plugins.spec_from_module(
        module,
        default_name=Path(ref.name).stem,
        source=ref.name,
        source_file=str(path.resolve()),
    )


def _prepare(part: Part) -> Job:
    from adambench.engine import jobs as engine
    from adambench.optimizers.spec import OptimizerConfig

    problem = _load_problem(part.problem)
    specs = [_load_spec(s) for s in part.specs]
    configs = [
        OptimizerConfig(specs[c.spec], dict(c.values), dict(c.sources), c.label)
        for c in part.configs
    ]
    job = engine.prepare(
        problem,
        configs,
        steps=part.steps,
        seeds=part.seeds,
        seed=part.seed,
        start=part.start,
        every=part.every,
        average=part.average_decay is not None,
        average_decay=part.average_decay if part.average_decay is not None else 0.999,
        stop_at_target=part.stop_at_target,
        record_x=part.record_x,
    )
    if job.settings.every != part.every:  # the trace budget differs with the runs: never here
        raise RuntimeError(f"chunk recorded every {job.settings.every}, not {part.every}")
    return job


def _worker() -> tuple[str, int]:
    """This worker's address and Dask threads (outside a worker: '' and 1)."""
    try:
        from distributed import get_worker

        w = get_worker()
    except (ImportError, ValueError):
        return "", 1
    return str(w.address), int(getattr(w, "state", w).nthreads)


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover


def run_chunk(task: Task) -> ChunkOutput:
    """Run one chunk on a worker (the function every task calls): rebuild its jobs, execute
    them together, return the collected arrays. Errors a user should see (a plugin that does not
    compile, a different adambench) come back as values, so Dask does not retry them."""
    from contextlib import nullcontext

    from adambench.cache import pop_notes
    from adambench.engine import jobs as engine

    t0 = time.perf_counter()
    address, dask_threads = _worker()
    threads = task.threads or max(1, _cores() // dask_threads)
    out = ChunkOutput(task.id, threads=threads, worker=address)
    compiled: list[str] = []

    def on_compile(name: str) -> Any:
        compiled.append(name)
        return nullcontext()

    try:
        if task.code != code_digest():
            raise ClusterError(
                f"the worker {address or '(local)'} runs a different adambench, numpy, numba or "
                "Python than the client; install the same versions on every machine"
            )
        jobs = [_prepare(part) for part in task.parts]
        engine.execute(jobs, threads=threads, on_compile=on_compile)
    except AdambenchError as exc:
        out.error = exc
        return out
    for part, job in zip(task.parts, jobs, strict=True):
        for b in job.batches:
            runs = np.array(
                [(part.config_index[k], part.seed_index + s) for k, s in b.runs], np.int64
            ).reshape(-1, 2)
            arrays = {key: np.ascontiguousarray(b.arrays[key]) for key in COLLECTED}
            out.blocks.append(Block(part.job, runs, arrays))
        out.notes += [n for n in job.notes if n not in out.notes]
    out.notes += pop_notes()
    out.compiled = compiled
    out.compile_s = jobs[0].timings.get("compile_s", 0.0) if jobs else 0.0
    out.wall_s = time.perf_counter() - t0
    return out


# ---------------------------------------------------------------------------------------------
# The journal (partial output)


def _encode(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a)
    dtype = a.dtype.newbyteorder("<")
    return {
        "dtype": dtype.str,
        "shape": list(a.shape),
        "data": base64.b64encode(a.astype(dtype, copy=False).tobytes()).decode("ascii"),
    }


def _decode(d: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(d["data"], validate=True)
    return (
        np.frombuffer(raw, dtype=np.dtype(d["dtype"]))
        .reshape(d["shape"])
        .astype(np.dtype(d["dtype"]).newbyteorder("="), copy=True)
    )


def _record(out: ChunkOutput) -> dict[str, Any]:
    return {
        "chunk": out.id,
        "worker": out.worker,
        "notes": out.notes,
        "compiled": out.compiled,
        "blocks": [
            {
                "job": b.job,
                "runs": _encode(b.runs),
                "arrays": {k: _encode(v) for k, v in b.arrays.items()},
            }
            for b in out.blocks
        ],
    }


def _from_record(r: dict[str, Any]) -> ChunkOutput:
    blocks = [
        Block(int(b["job"]), _decode(b["runs"]), {k: _decode(v) for k, v in b["arrays"].items()})
        for b in r["blocks"]
    ]
    return ChunkOutput(
        int(r["chunk"]), blocks, list(r["notes"]), list(r["compiled"]), worker=str(r["worker"])
    )


class Journal:
    """The append-only partial output of a distributed execution (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    @staticmethod
    def open(
        path: str | Path, identity: str, what: str, runs: int, resume: bool
    ) -> tuple[Journal, list[ChunkOutput]]:
        """Start a journal, or read one to resume (checked to belong to the same runs)."""
        p = Path(path)
        where = str(path)
        j = Journal(p)
        if not resume:
            if p.exists():
                raise UsageError(
                    f"{where} exists: the partial output of an interrupted run. Continue it with "
                    f"--resume {where}, or delete it"
                )
            header = {
                "format": JOURNAL_FORMAT,
                "format_version": JOURNAL_VERSION,
                "tool": {"name": "adambench", "version": __version__},
                "identity": identity,
                "what": what,
                "runs": runs,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                j._fh = open(p, "x", encoding="utf-8")  # noqa: SIM115 - kept open while running
            except OSError as exc:
                raise UsageError(f"cannot write: {exc.strerror or exc}", where=where) from None
            j._write(header)
            return j, []
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise UsageError("no such partial file to resume", where=where) from None
        except OSError as exc:
            raise UsageError(f"cannot read: {exc.strerror or exc}", where=where) from None
        lines = raw.split(b"\n")
        complete = lines[:-1]  # the last piece has no newline: empty, or a torn last record
        if not complete:
            raise ConfigError("empty; not a partial output", where=where)
        try:
            header = json.loads(complete[0])
        except (json.JSONDecodeError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get("format") != JOURNAL_FORMAT:
            raise ConfigError(f"not an adambench partial output (no format {JOURNAL_FORMAT})",
                              where=where)  # fmt: skip
        if header.get("format_version") != JOURNAL_VERSION:
            raise ConfigError(
                f"format_version {header.get('format_version')!r}; this adambench reads "
                f"{JOURNAL_VERSION}",
                where=where,
            )
        if header.get("identity") != identity:
            raise UsageError(
                f"the partial output of other runs ({header.get('what')}): the problem, "
                "optimizers, grid, seeds, steps, settings or the adambench build differ from "
                f"these ({what}). Give the same command to resume it",
                where=where,
            )
        outputs = []
        for n, line in enumerate(complete[1:], 2):
            try:
                outputs.append(_from_record(json.loads(line)))
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
                raise ConfigError(f"line {n} is damaged; cannot resume", where=where) from None
        good = sum(len(line) + 1 for line in complete)
        try:
            j._fh = open(p, "r+", encoding="utf-8")  # noqa: SIM115 - kept open while running
            j._fh.truncate(good)  # drop a torn last record before appending
            j._fh.seek(good)
        except OSError as exc:
            raise UsageError(f"cannot write: {exc.strerror or exc}", where=where) from None
        return j, outputs

    def _write(self, obj: dict[str, Any]) -> None:
        self._fh.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, out: ChunkOutput) -> None:
        """Record a finished chunk (one line, flushed and fsynced)."""
        self._write(_record(out))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class Report:
    """What a distributed execution did (for timings, notes and messages)."""

    threads: int
    chunks: int
    workers: int
    runs_resumed: int
    compiled: list[str]
    notes: list[str]


@contextlib.contextmanager
def connect(cluster: Cluster) -> Iterator[tuple[Any, int | None]]:
    """A Dask client for ``cluster`` (and the engine threads per chunk when known); a local
    cluster or a client made here is closed on leaving."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            "--scheduler needs Dask: pip install 'adambench[dask]' (dask.distributed)"
        ) from None
    sched = cluster.scheduler
    if isinstance(sched, distributed.Client):
        yield sched, cluster.threads
        return
    if not isinstance(sched, str):
        raise UsageError(f"scheduler must be 'local', an address or a Client, got {sched!r}")
    if sched == "local":
        import logging

        from adambench.backends.worker_plugin import IgnoreInterrupt

        n = cluster.workers or _cores()
        local = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",  # no fixed port (8787 may be taken)
            silence_logs=logging.ERROR,
            plugins={IgnoreInterrupt()},
        )
        try:
            client = distributed.Client(local, set_as_default=False)
        except BaseException:
            local.close()
            raise
        threads = cluster.threads or max(1, _cores() // n)
        if cluster.log is not None:
            cluster.log(
                f"local Dask cluster: {_plural(n, 'worker process', 'es')}, "
                f"{_plural(threads, 'engine thread')} per chunk"
            )
        try:
            yield client, threads
        finally:
            client.close()
            local.close()
        return
    try:
        client = distributed.Client(sched, timeout=cluster.timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {sched}: {text}") from None
    try:
        if cluster.log is not None:
            nt = client.nthreads()
            workers, threads_ = len(nt), sum(nt.values())
            cluster.log(
                f"Dask scheduler {sched}: {_plural(workers, 'worker')}, "
                f"{_plural(threads_, 'thread')}"
                + ("; chunks wait until a worker joins" if not workers else "")
            )
        yield client, cluster.threads
    finally:
        client.close()


def _plural(n: int, word: str, suffix: str = "s") -> str:
    return f"{n:,} {word}{suffix if n != 1 else ''}"


def identity(plans: Sequence[_JobPlan]) -> str:
    """sha256 of everything that determines the runs (the journal's key)."""
    data = {"code": code_digest(), "jobs": [p.identity() for p in plans]}
    return files.digest(json.dumps(data, sort_keys=True, separators=(",", ":")))


def execute(
    jobs: Sequence[Job],
    cluster: Cluster,
    *,
    progress: ProgressFn | None = None,
    what: str = "runs",
) -> Report:
    """Run every run of ``jobs`` (made with ``engine.prepare(..., allocate=False)``) on the
    cluster and attach the results to the jobs, ready for :func:`adambench.engine.jobs.collect`.

    ``progress(done, total)`` counts run-steps, as :func:`adambench.engine.jobs.execute`'s does,
    after each finished chunk (its journal line written first, so an exception raised there
    leaves the chunk saved). ``what`` names the runs in the journal's header and messages.
    """
    for job in jobs:
        if job.batches:
            raise UsageError("cluster jobs must be prepared with allocate=False")
    return _Execution(jobs, cluster, progress, what).run()


class _Execution:
    """One distributed execution: the queue of runs, the chunks in flight, the results."""

    def __init__(
        self, jobs: Sequence[Job], cluster: Cluster, progress: ProgressFn | None, what: str
    ) -> None:
        self.t0 = time.perf_counter()
        self.jobs, self.cluster, self.progress, self.what = jobs, cluster, progress, what
        self.plans = [_plan_job(job) for job in jobs]
        self.done = [np.zeros((len(p.job.configs), p.n_seeds), bool) for p in self.plans]
        self.steps = [p.job.settings.steps for p in self.plans]
        self.runs_total = sum(d.size for d in self.done)
        self.work_total = sum(d.size * s for d, s in zip(self.done, self.steps, strict=True))
        self.notes: list[str] = []
        self.compiled: list[str] = []
        self.chunks = self.runs_done = self.runs_resumed = self.workers = 0
        self.threads = 1
        self.compile_s = 0.0
        self.journal: Journal | None = None

    def run(self) -> Report:
        cluster = self.cluster
        resumed: list[ChunkOutput] = []
        if cluster.journal is not None:
            self.journal, resumed = Journal.open(
                cluster.journal, identity(self.plans), self.what, self.runs_total, cluster.resume
            )
        try:
            self.runs_resumed = sum(self.attach(out) for out in resumed)
            self.runs_done = self.runs_resumed
            if resumed and cluster.log is not None:
                cluster.log(
                    f"resuming: {self.runs_resumed:,} of {self.runs_total:,} runs are in "
                    f"{cluster.journal}"
                )
            queue = _Queue(self.plans, self.done)
            if queue:
                first = max((out.id for out in resumed), default=-1) + 1
                with connect(cluster) as (client, threads):
                    self.dispatch(client, threads, queue, first)
            missing = sum(int((~d).sum()) for d in self.done)
            if missing:  # never expected: every chunk delivers all of its runs
                raise RuntimeError(f"{missing} runs did not come back from the cluster")
        except BaseException:
            if self.journal is not None:
                self.journal.close()
            raise
        if self.journal is not None:
            if cluster.remove_journal:
                self.journal.remove()
            else:
                self.journal.close()
        wall = time.perf_counter() - self.t0
        for job in self.jobs:
            job.timings["compile_s"] = self.compile_s
            job.timings["run_s"] = wall
        return Report(
            self.threads, self.chunks, self.workers, self.runs_resumed, self.compiled, self.notes
        )

    def attach(self, out: ChunkOutput) -> int:
        """Put a chunk's runs in their places (the first delivery of a run wins: a chunk run
        twice has the same numbers); returns the runs added."""
        from adambench.engine import jobs as engine

        added = 0
        for b in out.blocks:
            d = self.done[b.job]
            k, s = b.runs[:, 0], b.runs[:, 1]
            if d[k, s].any():
                continue
            d[k, s] = True
            runs = [(int(a), int(c)) for a, c in b.runs.tolist()]
            self.jobs[b.job].batches.append(
                engine.Batch(
                    module=None,
                    advance=_not_runnable,
                    warm=True,
                    name=f"chunk {out.id}",
                    runs=runs,
                    arrays=b.arrays,
                    pd=np.zeros(0),
                    data=np.zeros((0, 0)),
                )
            )
            added += len(runs)
        self.notes.extend(n for n in out.notes if n not in self.notes)
        self.compiled.extend(c for c in out.compiled if c not in self.compiled)
        return added

    def next_task(
        self, queue: _Queue, task_id: int, threads: int | None, slots: int, spu: float,
        per_task: int,
    ) -> Task:  # fmt: skip
        """The next chunk: ``chunk_runs`` runs, or about TASK_SECONDS of work at the measured
        speed, but at most a share of what is left so the last chunks come back together."""
        if self.cluster.chunk_runs is not None:
            taken = queue.take(self.cluster.chunk_runs, None)
        else:
            rate = per_task / spu  # units of work per second of one chunk
            share = queue.units / (2 * slots)
            budget = min(TASK_SECONDS * rate, max(share, MIN_TASK_SECONDS * rate))
            taken = queue.take(MAX_CHUNK_RUNS, budget)
        parts = []
        for j, flat in taken:
            for ks, s0, s1 in rectangles(flat, self.plans[j].n_seeds):
                parts.append(_part(self.plans[j], j, ks, s0, s1))
        return Task(task_id, tuple(parts), threads, code_digest())

    def dispatch(self, client: Any, threads: int | None, queue: _Queue, task_id: int) -> None:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        pending: dict[str, tuple[Any, Task]] = {}
        finished = as_completed(loop=client.loop)
        samples: list[float] = []  # seconds per unit of work per thread, measured
        per_task = threads or 1
        tag = uuid.uuid4().hex[:8]
        try:
            while queue or pending:
                nthreads = client.nthreads()
                slots = max(1, sum(nthreads.values()))
                self.workers = len(nthreads)
                while queue and len(pending) < IN_FLIGHT * slots:
                    spu = float(np.median(samples[-9:])) if samples else SECONDS_PER_UNIT
                    task = self.next_task(queue, task_id, threads, slots, spu, per_task)
                    task_id += 1
                    future = client.submit(
                        run_chunk,
                        task,
                        key=f"adambench-chunk-{task.id}-{tag}",
                        pure=False,
                        retries=self.cluster.retries,
                    )
                    pending[future.key] = (future, task)
                    finished.add(future)
                future = next(finished)
                _, task = pending.pop(future.key)
                if future.status == "error":
                    exc = future.exception()
                    if isinstance(exc, KilledWorker):
                        raise ClusterError(
                            f"chunk {task.id} was running on workers that died each time it "
                            "was tried (out of memory?)"
                        ) from None
                    future.result()  # the task's own exception (a bug), with its traceback
                out: ChunkOutput = future.result()
                if out.error is not None:
                    raise out.error
                units = sum(
                    float(self.plans[p.job].run_units[list(p.config_index)].sum()) * p.seeds
                    for p in task.parts
                )
                busy = out.wall_s - out.compile_s
                if busy > 0.05 and units > 0:
                    samples.append(busy * out.threads / units)
                per_task = threads or out.threads
                self.threads = max(self.threads, per_task * slots)
                self.compile_s = max(self.compile_s, out.compile_s)
                self.finished(out, len(pending))
        finally:
            if pending:
                client.cancel([f for f, _ in pending.values()])

    def finished(self, out: ChunkOutput, running: int) -> None:
        """Record a chunk: attach, journal (before anything that may raise), report."""
        added = self.attach(out)
        if self.journal is not None and added:
            self.journal.append(out)
        self.chunks += 1
        self.runs_done += added
        status = ChunkStatus(
            chunks_done=self.chunks,
            chunks_running=running,
            runs_done=self.runs_done,
            runs_total=self.runs_total,
            runs_resumed=self.runs_resumed,
            workers=self.workers,
            elapsed=time.perf_counter() - self.t0,
        )
        self.cluster.status = status
        if self.progress is not None:
            work = sum(int(d.sum()) * s for d, s in zip(self.done, self.steps, strict=True))
            self.progress(work, self.work_total)
        if self.cluster.on_chunk is not None:
            self.cluster.on_chunk(status)


def _not_runnable(*args: Any) -> None:  # pragma: no cover - collected batches never advance
    raise RuntimeError("a batch collected from a cluster cannot be advanced")


__all__ = [
    "COLLECTED",
    "ChunkStatus",
    "Cluster",
    "ClusterError",
    "Journal",
    "Task",
    "as_cluster",
    "code_digest",
    "connect",
    "execute",
    "rectangles",
    "run_chunk",
]

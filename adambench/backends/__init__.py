"""Where runs execute: in this process (threads) or on a Dask cluster (imported only when
asked for). :func:`run_jobs` is the one place that chooses."""

from adambench.backends.execution import Executed, run_jobs

__all__ = ["Executed", "run_jobs"]

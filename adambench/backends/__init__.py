"""Where runs execute: in this process (threads) or on a Dask cluster (imported only when
asked for)."""

__all__ = []

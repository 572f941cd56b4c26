"""Persistent store of scenarios, runs, metrics and artifacts."""

from .sqlite import STATUSES, RunRecord, Store

__all__ = ["STATUSES", "RunRecord", "Store"]

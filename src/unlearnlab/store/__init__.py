"""Persistent store of scenarios, runs, metrics and artifacts."""

from .integrity import StoreCheck, check_store
from .sqlite import STATUSES, RunRecord, Store

__all__ = ["STATUSES", "RunRecord", "Store", "StoreCheck", "check_store"]

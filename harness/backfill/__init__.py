"""The backfill engine, usable as a library from an application's own entrypoint."""

from .engine import CONTINUE, FAIL_FAST, BackfillOptions, BackfillSummary, RowFailure, run_backfill
from ..state import CollectionState, collection_state, list_collections, require_collection
from .swap import SwapResult, drop_retired, rollback, run_gate, swap
from .workers import WorkersSummary, run_workers

__all__ = [
    "BackfillOptions", "BackfillSummary", "CONTINUE", "CollectionState", "FAIL_FAST",
    "RowFailure", "SwapResult", "WorkersSummary", "collection_state", "drop_retired", "list_collections",
    "require_collection", "rollback", "run_backfill", "run_gate", "run_workers", "swap",
]

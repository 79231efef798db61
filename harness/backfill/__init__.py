"""The backfill engine, usable as a library from an application's own entrypoint."""

from .engine import CONTINUE, FAIL_FAST, BackfillOptions, BackfillSummary, RowFailure, run_backfill
from .selection import CollectionState, collection_state, list_collections, require_collection

__all__ = [
    "BackfillOptions", "BackfillSummary", "CONTINUE", "CollectionState", "FAIL_FAST", "RowFailure",
    "collection_state", "list_collections", "require_collection", "run_backfill",
]

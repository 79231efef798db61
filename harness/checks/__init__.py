"""The DONE checks as a library: plain functions over a CheckSession returning Outcomes (the pytest files are thin)."""

from .citations import citations
from .completed import completed
from .counted import coverage, dimensions, fresh, model, sane_vectors
from .custom import custom
from .distinct import distinct_vectors
from .index import index
from .no_collection import no_collection
from .outcome import FAIL, PASS, SKIP, UNPROVEN, Offender, Outcome, Status
from .recompute import recompute
from .session import CheckOptions, CheckSession, open_session
from .source_coverage import source_coverage
from .tenants import tenant_isolation
from .verdict import Verdict, decide, done

# In the order a person reads them; custom checks run per check, not per collection.
PER_COLLECTION = {
    "completed": completed,
    "coverage": coverage,
    "source_coverage": source_coverage,
    "dimensions": dimensions,
    "model": model,
    "fresh": fresh,
    "recompute": recompute,
    "tenant_isolation": tenant_isolation,
    "sane_vectors": sane_vectors,
    "distinct_vectors": distinct_vectors,
    "citations": citations,
    "index": index,
}


def run_all(session: CheckSession) -> list[Outcome]:
    """Every check for every collection of the session, the chunks in no collection (where there are), then the
    custom checks."""
    outcomes = [fn(session, c) for c in session.collections for fn in PER_COLLECTION.values()]
    outcomes += [o for o in (no_collection(session),) if o is not None]
    outcomes += [custom(session, c.name) for c in session.profile.custom_checks]
    return outcomes


__all__ = [
    "CheckOptions", "CheckSession", "FAIL", "Offender", "Outcome", "PASS", "PER_COLLECTION", "SKIP", "Status",
    "UNPROVEN", "Verdict", "citations", "completed", "coverage", "custom", "decide", "dimensions",
    "distinct_vectors", "done", "fresh", "index", "model", "no_collection", "open_session", "recompute", "run_all", "sane_vectors",
    "source_coverage", "tenant_isolation",
]

"""The DONE checks ask the provider too: an answer that is no vector (NaN for some inputs, a known failure of real
models on some texts) proves nothing of the stored vector it was to be compared with, and never passes it."""

from harness.checks import recompute

from ..conftest import DEMO_PROFILE, TEST_MODEL
from ..integration.conftest import checked
from . import faultproxy as fp

COLLECTION = "tenant_globex"  # 29 chunks: the default sample reads every one


def _copy_vector_onto(db, victim: int) -> str:
    """Give chunk ``victim`` the vector of another chunk of its collection (an off-by-one write); return its text."""
    db.execute("UPDATE document_embeddings SET embedding = (SELECT embedding FROM document_embeddings "
               "WHERE chunk_id <> %(v)s AND collection = %(c)s ORDER BY chunk_id LIMIT 1) WHERE chunk_id = %(v)s",
               {"v": victim, "c": COLLECTION})
    return db.scalar("SELECT content FROM document_chunks WHERE id = %s", (victim,))


def test_recompute_never_passes_a_row_the_provider_answered_nan_for(embedded_db, proxy):
    victim = embedded_db.scalar("SELECT min(id) FROM document_chunks WHERE collection = %s", (COLLECTION,))
    text = _copy_vector_onto(embedded_db, victim)
    proxy.inject(fp.NAN_FOR, matching=text)
    profile = DEMO_PROFILE.read_text().replace("${EMBED_MODEL:-all-minilm}", TEST_MODEL)
    outcome = checked(recompute, COLLECTION, profile, embedded_db.dsn, proxy.url)
    assert proxy.faults_served  # the provider was asked for the victim's text and answered NaN
    assert outcome.status != "passed", outcome.found
    assert outcome.status == "unproven" and f"first keys: {victim}" in outcome.note, outcome
    assert "NaN" in outcome.note, outcome.note

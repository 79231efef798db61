"""Each incident that breaks a backfill makes exactly the check that guards against it fail, naming the rows.

The damage lands in tenant_acme on the GPL document (not the one the profile's
spot query expects), and recompute samples every row, so each run is deterministic.
"""

import re

import numpy as np
import pytest


from ..conftest import TEST_MODEL, demo_profile_with
from .checks_run import run_checks
from .conftest import checked

from ..conftest import finished_run

COLLECTION = "tenant_acme"
DOC = "https://spdx.org/licenses/GPL-3.0-only.html"


@pytest.fixture
def check_acme(embedded_db, demo_env, demo_profile, tmp_path):
    """Run the whole checks suite on tenant_acme; returns the run and the damaged chunk ids."""
    run_dir = tmp_path / "run"
    finished_run(run_dir, COLLECTION)

    def run(*extra: str, env: dict | None = None, profile=demo_profile):
        return run_checks(tmp_path, "--bh-profile", str(profile), "--bh-collection", COLLECTION, "--bh-run-dir", str(run_dir),
                          "--bh-sample", "1000", *extra, env={**demo_env, "DATABASE_URL": embedded_db.dsn, **(env or {})})

    return run


def doc_chunks(db, n=3):
    with db.connect() as conn:
        return [r[0] for r in conn.execute("SELECT id FROM document_chunks WHERE collection = %s AND url = %s "
                                           "ORDER BY id LIMIT %s", (COLLECTION, DOC, n)).fetchall()]


def lengthen(db, ids, factor):
    """The rows' vectors multiplied by ``factor``: the same direction (cosine 1.0), another length."""
    db.execute("UPDATE document_embeddings SET embedding = (SELECT array_agg(x * %s)::vector FROM "
               "unnest(embedding::real[]) AS x) WHERE chunk_id = ANY(%s)", (factor, ids))


def only_failure(run, check):
    name = f"test_{check}[{COLLECTION}]"
    assert run.failed == {name}, run.output
    return run.messages[name]


def shows(message, ids):
    shown = {int(m) for m in re.findall(r"id=(\d+)", message)}
    return set(ids) <= shown


def test_deleted_embeddings_fail_coverage_listing_the_missing_chunks(embedded_db, check_acme):
    ids = doc_chunks(embedded_db)
    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id = ANY(%s)", (ids,))
    message = only_failure(check_acme(), "coverage")
    assert "3 missing" in message and "tenant acme: 104/107" in message and shows(message, ids)


def test_deleted_chunks_fail_coverage_listing_the_orphan_embeddings(embedded_db, check_acme):
    ids = doc_chunks(embedded_db, 2)
    embedded_db.execute("DELETE FROM document_chunks WHERE id = ANY(%s)", (ids,))
    message = only_failure(check_acme(), "coverage")
    assert "2 orphans" in message and "orphan: its chunk is gone" in message and shows(message, ids)


def test_texts_edited_after_embedding_fail_fresh(embedded_db, check_acme):
    ids = doc_chunks(embedded_db)
    embedded_db.execute("UPDATE document_chunks SET content = content || ' (amended)' WHERE id = ANY(%s)", (ids,))
    message = only_failure(check_acme(), "fresh")
    assert "3 of 107 vectors embed an older text" in message and shows(message, ids)


def test_rows_embedded_under_another_tenant_fail_tenant_isolation(embedded_db, check_acme):
    ids = doc_chunks(embedded_db)
    embedded_db.execute("UPDATE document_embeddings SET tenant_id = 'globex' WHERE chunk_id = ANY(%s)", (ids,))
    message = only_failure(check_acme(), "tenant_isolation")
    assert "3 embeddings filed under another collection or tenant" in message
    assert "returned to tenant globex" in message and shows(message, ids)


def test_vectors_shifted_by_one_row_fail_recompute(embedded_db, check_acme):
    ids = doc_chunks(embedded_db, 4)
    # Rotate within one document: every vector still exists and still cites the same source, only on the wrong row.
    embedded_db.execute(
        "UPDATE document_embeddings e SET embedding = src.embedding FROM "
        "(SELECT id, coalesce(lead(id) OVER (ORDER BY id), min(id) OVER ()) AS nxt FROM unnest(%s::bigint[]) AS id) AS r "
        "JOIN document_embeddings src ON src.chunk_id = r.nxt WHERE e.chunk_id = r.id", (ids,))
    message = only_failure(check_acme(), "recompute")
    assert "4 of 107 rows off (every row checked: exactly 3.7%)" in message and shows(message, ids)


def test_vectors_of_a_slightly_other_text_fail_recompute_where_the_provider_reproduces_the_rest(
        embedded_db, check_acme, embed_server):
    """Vectors of the text a few words ago (the hash says current: an app that stores no hash, or rewrote it) are
    within cosine 0.99 of the current text's; the provider reproduces every other row to within 1e-6, so these
    three were made from other input (chatgpt-your-files: a sentence appended to a long section passed)."""
    from harness.provider import OllamaProvider

    from ..conftest import TEST_MODEL

    ids = doc_chunks(embedded_db)
    with embedded_db.connect(autocommit=True) as conn:
        texts = [conn.execute("SELECT content FROM document_chunks WHERE id = %s", (i,)).fetchone()[0] for i in ids]
        with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
            older = provider.embed([t.rsplit(" ", 3)[0] for t in texts]).vectors
            current = provider.embed(texts).vectors
        for chunk_id, vector in zip(ids, older):
            conn.execute("UPDATE document_embeddings SET embedding = %s WHERE chunk_id = %s", (vector, chunk_id))
    cosines = [float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(older, current)]
    assert all(0.99 <= c < 0.9999 for c in cosines), cosines  # inside the fixed tolerance, outside reproduction
    message = only_failure(check_acme(), "recompute")
    assert "3 of 107 rows off (every row checked: exactly 2.8%)" in message and shows(message, ids)
    assert "the median row reproduces to cosine 1.000000" in message, message


def test_vectors_of_another_length_fail_recompute_where_the_application_searches_by_inner_product(
        embedded_db, check_acme, demo_profile, tmp_path):
    """The model's direction at twice its length (an endpoint that does not normalise, beside one that does): cosine
    1.0, but an inner-product search ranks these rows first whatever the query."""
    ids = doc_chunks(embedded_db)
    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    embedded_db.execute("CREATE INDEX ip_idx ON document_embeddings USING hnsw (embedding vector_ip_ops)")
    lengthen(embedded_db, ids, 2)
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace("\ndistance: cosine\n", "\ndistance: ip\n"))
    assert "distance: ip" in profile.read_text()
    message = only_failure(check_acme(profile=profile), "recompute")
    assert "3 of 107 rows off" in message and shows(message, ids), message
    assert "length 2.00x" in message, message


def test_vectors_a_tenth_longer_fail_recompute_under_inner_product_where_no_row_reproduces(
        embedded_db, check_acme, demo_profile, tmp_path):
    """Another build of the model (every cosine about 0.9998, none reproduced): the 0.99 floor's 14% let vectors 1.1x
    the model's length pass an inner-product search's check; lengths are held to the rows' own agreement."""
    ids = doc_chunks(embedded_db)
    embedded_db.execute("UPDATE document_embeddings SET embedding = (SELECT array_agg(x + 0.002 * sin(o * 7 + chunk_id))"
                        "::vector FROM unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))")
    lengthen(embedded_db, ids, 1.1)
    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    embedded_db.execute("CREATE INDEX ip_idx ON document_embeddings USING hnsw (embedding vector_ip_ops)")
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace("\ndistance: cosine\n", "\ndistance: ip\n"))
    message = only_failure(check_acme(profile=profile), "recompute")
    assert "3 of 107 rows off" in message and shows(message, ids), message
    assert "length 1.10x" in message and "the median row reproduces to cosine" not in message, message


def test_vectors_of_another_length_pass_recompute_where_the_application_searches_by_cosine(embedded_db, check_acme):
    ids = doc_chunks(embedded_db)
    lengthen(embedded_db, ids, 2)
    run = check_acme()
    assert not run.failed, run.output  # cosine distance: a vector's length changes no search result


def test_a_zero_vector_fails_sane_vectors(embedded_db, check_acme):
    ids = doc_chunks(embedded_db, 1)
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0, ARRAY[384])::vector WHERE chunk_id = %s", (ids[0],))
    message = only_failure(check_acme(), "sane_vectors")
    assert "1 all-zero" in message and shows(message, ids)


def test_a_dropped_index_fails_index_above_the_row_threshold(embedded_db, check_acme, demo_profile, tmp_path):
    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace("  tenant: tenant_id\nchunking:", "  tenant: tenant_id\n  index_min_rows: 100\nchunking:"))
    message = only_failure(check_acme(profile=profile), "index")
    assert "vector indexes: none" in message and "an index is required from 100 vectors" in message


def test_no_index_below_the_row_threshold_passes_saying_the_queries_scan(embedded_db, check_acme):
    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    run = check_acme()
    assert run.results[f"test_index[{COLLECTION}]"] == "passed", run.output
    assert "the queries scan the table" in run.properties[f"test_index[{COLLECTION}]"]["found"]


def test_an_index_for_another_distance_fails_index(embedded_db, check_acme):
    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    embedded_db.execute("CREATE INDEX l2_idx ON document_embeddings USING hnsw (embedding vector_l2_ops)")
    message = only_failure(check_acme(), "index")
    assert "l2_idx (hnsw vector_l2_ops)" in message and "vector_cosine_ops" not in message


def test_vectors_from_another_model_fail_model(embedded_db, check_acme):
    ids = doc_chunks(embedded_db)
    rng = np.random.default_rng(7)
    with embedded_db.connect(autocommit=True) as conn:
        for chunk_id in ids:
            conn.execute("UPDATE document_embeddings SET embedding = %s, model_name = 'nomic-embed-text' WHERE chunk_id = %s",
                         (rng.normal(size=384).astype(np.float32), chunk_id))
    message = only_failure(check_acme(), "model")
    assert "3 of 107 vectors made by another model" in message and "model nomic-embed-text" in message and shows(message, ids)


def test_a_profile_dimension_that_disagrees_with_the_column_fails_dimensions(check_acme):
    message = only_failure(check_acme(env={"EMBED_DIMENSIONS": "768"}), "dimensions")
    assert "column declares 384 but the profile says 768" in message


def test_a_false_custom_assertion_fails_only_that_custom_check(embedded_db, check_acme, demo_profile, tmp_path):
    embedded_db.execute("CREATE TABLE site_settings (semantic_similarity_enabled boolean NOT NULL)")
    embedded_db.execute("INSERT INTO site_settings VALUES (false)")
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile_with("""
custom_checks:
  - name: semantic_search_on
    sql: SELECT semantic_similarity_enabled FROM site_settings
    expect: true
  - name: every_acme_chunk_has_a_url
    sql: SELECT count(*) FROM document_chunks WHERE collection = %(collection)s AND url = ''
    expect: 0
"""))
    run = check_acme(profile=profile)
    assert run.failed == {"test_custom[semantic_search_on]"}, run.output
    assert run.results["test_custom[every_acme_chunk_has_a_url]"] == "passed"
    assert "returns True; found False" in run.messages["test_custom[semantic_search_on]"]


def test_a_row_of_another_dimension_in_an_undeclared_column_fails_dimensions(embedded_db, check_acme, tmp_path):
    ids = doc_chunks(embedded_db, 1)
    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    embedded_db.execute("ALTER TABLE document_embeddings ALTER embedding TYPE vector")
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0.1, ARRAY[768])::vector WHERE chunk_id = %s",
                        (ids[0],))
    run = check_acme()
    assert f"test_dimensions[{COLLECTION}]" in run.failed
    message = run.messages[f"test_dimensions[{COLLECTION}]"]
    assert "1 rows are not 384-dimensional" in message and f"id={ids[0]} " in message and "dims 768" in message
    # The application's own similarity search over the collection fails on that row: citations says so (not "could
    # not run"), since that is what a user of the application meets.
    citations = run.messages[f"test_citations[{COLLECTION}]"]
    assert "could not run" not in citations, citations
    assert "the search itself fails" in citations and "different vector dimensions 768 and 384" in citations, citations


def test_a_check_past_its_statement_timeout_fails_with_the_reason(embedded_db, check_acme, demo_profile, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile_with("""
custom_checks:
  - name: slow
    sql: SELECT pg_sleep(2) IS NOT NULL
    expect: true
"""))
    run = check_acme("--bh-statement-timeout-ms", "200", profile=profile)
    assert "test_custom[slow]" in run.failed
    assert "canceling statement due to statement timeout" in run.messages["test_custom[slow]"]
    assert "each statement of the checks may run 200 ms (--bh-statement-timeout-ms MS sets it; env BH_STATEMENT_TIMEOUT_MS for verify)" in run.messages["test_custom[slow]"]


def test_a_duplicate_embedding_row_fails_coverage(embedded_db, check_acme):
    ids = doc_chunks(embedded_db, 1)
    embedded_db.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
    embedded_db.execute("INSERT INTO document_embeddings SELECT * FROM document_embeddings WHERE chunk_id = %s", (ids[0],))
    message = only_failure(check_acme(), "coverage")
    assert "1 duplicate embedding rows" in message and "tenant acme: 107/107" in message
    assert f"id={ids[0]} " in message and "duplicate: several embedding rows" in message


def test_chunks_that_lost_their_citation_fail_citations(embedded_db, check_acme):
    apache = "https://spdx.org/licenses/Apache-2.0.html"
    with embedded_db.connect() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM document_chunks WHERE url = %s", (apache,)).fetchall()]
    embedded_db.execute("UPDATE document_chunks SET title = '' WHERE url = %s", (apache,))
    message = only_failure(check_acme(), "citations")
    assert "no citation (empty source field)" in message
    shown = {int(m) for m in re.findall(r"id=(\d+)", message)}
    assert shown and shown <= set(ids)


def test_a_missing_index_on_an_untyped_column_says_the_column_must_be_typed_first(embedded_db, check_acme, demo_profile,
                                                                                    tmp_path):
    """pgvector indexes only a column with a dimension (LangChain's untyped ``vector``): asking for an index alone
    asks for what cannot be built."""
    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    embedded_db.execute("ALTER TABLE document_embeddings ALTER embedding TYPE vector")
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace("  tenant: tenant_id\nchunking:", "  tenant: tenant_id\n  index_min_rows: 100\nchunking:"))
    message = only_failure(check_acme(profile=profile), "index")
    assert "declared without a dimension, which pgvector cannot index" in message, message
    assert "ALTER TABLE document_embeddings ALTER COLUMN embedding TYPE vector(384)" in message, message


@pytest.mark.parametrize("expect, sql", [("true", "SELECT count(*) FROM document_chunks WHERE id = 1"),
                                         ("false", "SELECT count(*) FROM document_chunks WHERE id < 0"),
                                         ("1", "SELECT true")])
def test_a_custom_check_expecting_a_boolean_fails_on_a_number_and_the_reverse(embedded_db, embed_server, expect, sql):
    """Python's True == 1 and False == 0: a count of one offending row passed 'expect: true' (two failed), a
    boolean passed 'expect: 1'."""
    from harness.checks.custom import custom

    profile = demo_profile_with(f"custom_checks:\n  - {{name: typed, sql: {sql!r}, expect: {expect}}}\n").replace(
        "${EMBED_MODEL:-all-minilm}", TEST_MODEL)
    outcome = checked(lambda session, _: custom(session, "typed"), "tenant_acme", profile, embedded_db.dsn,
                      embed_server.url)
    assert outcome.status == "failed", outcome


@pytest.mark.parametrize("sql", [
    # one count per collection: the first is 0, tenant_globex's is not
    "SELECT count(*) FILTER (WHERE collection = 'tenant_globex') FROM document_chunks GROUP BY collection "
    "ORDER BY collection",
    # two assertions in one statement: the first holds, the second does not
    "SELECT count(*) = 0 FROM document_chunks WHERE id < 0 UNION ALL SELECT count(*) = 0 FROM document_chunks",
    # two values in one row: the first holds, the second does not
    "SELECT count(*) FILTER (WHERE id < 0), count(*) FROM document_chunks"])
def test_a_custom_check_answering_more_than_one_value_fails_naming_them(embedded_db, embed_server, sql):
    """Only the first value of the first row was compared: a query answering a value per group (or per UNION part,
    or per column) passed on its first while another broke the assertion."""
    from harness.checks.custom import custom

    expect = "true" if "= 0" in sql else "0"
    profile = demo_profile_with(f"custom_checks:\n  - {{name: each, sql: {sql!r}, expect: {expect}}}\n").replace(
        "${EMBED_MODEL:-all-minilm}", TEST_MODEL)
    outcome = checked(lambda session, _: custom(session, "each"), "tenant_acme", profile, embedded_db.dsn,
                      embed_server.url)
    assert outcome.status == "failed", outcome
    assert "expected one row of one value" in outcome.found, outcome.found


class _ZeroFor:
    """The test model, answering all zeros for some texts (some models do for some inputs)."""

    def __init__(self, texts: set[str]) -> None:
        from harness.embedserver.models import HashEmbed

        self.texts, self.model = texts, HashEmbed(384)
        self.info = self.model.info

    def embed(self, texts: list[str], truncate: bool = True):
        out = self.model.embed(texts, truncate)
        out.vectors[[i for i, t in enumerate(texts) if t in self.texts]] = 0.0
        return out


def test_a_spot_query_the_model_embeds_to_no_usable_vector_is_unproven_not_searched(embedded_db):
    """A zero query vector has no cosine distance to anything: the search's order is the scan's, and the expected
    source found in its top k (or not) says nothing of the vectors (it passed at recall@k 1.00)."""
    from harness.checks import citations
    from harness.embedserver import EmbeddingServer
    from harness.profile import parse_profile

    profile = demo_profile_with("custom_checks: []\n").replace("${EMBED_MODEL:-all-minilm}", TEST_MODEL)
    queries = {q.query for q in parse_profile(profile, env={}).spot_queries}
    server = EmbeddingServer(models=[TEST_MODEL])
    server.registry.preload(TEST_MODEL, _ZeroFor(queries))
    with server:
        outcome = checked(citations, COLLECTION, profile, embedded_db.dsn, server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "no usable vector for" in outcome.message() and "all zeros" in outcome.message(), outcome.message()

"""Edges of the one pass (#12 follow-up review): vector types and shapes the pass's shortcuts must still count right."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest


from harness.checks import CheckOptions, open_session, sane_vectors
from harness.settings import resolve

from ..reliability.faultproxy import wait_until
from .test_checks_sampling import execute, small_target  # noqa: F401 (fixture)


def checked(dsn, profile, check, collections=("notes",)):
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=collections))
    try:
        return check(session, "notes")
    finally:
        session.close()


def retype(dsn, kind: str) -> None:
    execute(dsn, "DROP INDEX IF EXISTS note_vectors_embedding_idx")
    execute(dsn, f"ALTER TABLE note_vectors ALTER embedding TYPE {kind}(384) USING embedding::{kind}(384)")


@pytest.mark.parametrize("kind, zero", [("sparsevec", "'{}/384'"), ("halfvec", "array_fill(0, ARRAY[384])::halfvec")])
def test_a_zero_vector_of_another_vector_type_fails_sane_vectors(small_target, kind, zero):  # noqa: F811 (the imported fixture)
    dsn, profile = small_target
    retype(dsn, kind)
    execute(dsn, f"UPDATE note_vectors SET embedding = {zero} WHERE note_id = 7")
    outcome = checked(dsn, profile, sane_vectors)
    assert outcome.status == "failed" and outcome.metrics["zero"] == 1
    assert [o.id for o in outcome.offenders] == [7]


@pytest.mark.parametrize("factor", ["1e20", "1e-25"])
def test_a_vector_whose_length_pgvectors_distances_cannot_hold_fails_sane_vectors(small_target, factor):  # noqa: F811
    """The model's vector times 1e20 (its squared length overflows the float sums of pgvector's distances) or 1e-25
    (underflows to zero): not all zeros and the model's direction, so every check passed and verify said DONE, while
    the application's cosine distance to it is NaN or a constant, whatever the query."""
    from .test_checks_sampling import default_verify

    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT array_agg(x * %s::float8)::vector FROM "
                 "unnest(embedding::real[]) AS x) WHERE note_id IN (7, 8)", (factor,))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT embedding <=> embedding FROM note_vectors WHERE note_id = 7").fetchone()[0] != 0
    verdict, by = default_verify(dsn, profile)
    outcome = by["sane_vectors"]
    assert not verdict.ok and outcome.status == "failed", outcome.message()
    assert outcome.metrics["degenerate"] == 2 and sorted(o.id for o in outcome.offenders) == [7, 8], outcome.message()
    assert "2 whose length pgvector's distances cannot compute with" in outcome.found, outcome.found


def test_a_zero_vector_of_another_dimension_is_counted_once(small_target):  # noqa: F811 (the imported fixture)
    dsn, profile = small_target
    execute(dsn, "DROP INDEX IF EXISTS note_vectors_embedding_idx")
    execute(dsn, "ALTER TABLE note_vectors ALTER embedding TYPE vector")  # no declared dimension: mixed ones fit
    execute(dsn, "UPDATE note_vectors SET embedding = array_fill(0, ARRAY[8])::vector WHERE note_id = 7")
    execute(dsn, "UPDATE note_vectors SET embedding = array_fill(0, ARRAY[384])::vector WHERE note_id = 8")
    outcome = checked(dsn, profile, sane_vectors)
    assert outcome.status == "failed" and outcome.metrics["zero"] == 2


def backends(dsn) -> int:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND application_name = 'backfill-harness checks'").fetchone()[0]


def test_a_pass_that_fails_in_the_held_snapshot_ends_it_and_the_next_pass_counts_for_itself(small_target, monkeypatch):  # noqa: F811
    import harness.checks.session as stats  # where the pass looks gather up

    dsn, profile = small_target
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("all",)))
    try:
        held = session._held[1]
        real = stats.gather

        def failing(*args, **kwargs):
            raise RuntimeError("the pass broke")

        monkeypatch.setattr(stats, "gather", failing)
        try:
            session.onepass()
        except RuntimeError:
            pass
        else:
            raise AssertionError("the pass did not fail")
        assert held.closed and session._held is None
        monkeypatch.setattr(stats, "gather", real)
        execute(dsn, "INSERT INTO notes VALUES (301, 'no vector yet')")
        found = session.onepass().stats["notes"]
    finally:
        session.close()
    assert (found.chunks, found.embedded, found.missing) == (301, 300, 1)
    assert wait_until(lambda: backends(dsn) == 0, timeout_s=2)  # a closed backend leaves a moment later


def test_a_session_closed_without_a_pass_leaves_no_connection(small_target):  # noqa: F811 (the imported fixture)
    dsn, profile = small_target
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("all",)))
    assert session._held is not None
    session.close()
    assert wait_until(lambda: backends(dsn) == 0, timeout_s=2)  # a closed backend leaves a moment later


def test_a_sample_drawn_in_several_tenant_views_is_uniform_over_every_row(app_role, empty_db, embed_server):
    """A large tenant (2,000 rows) beside a small one (20): the small one's view is too small for a Bernoulli sample
    and is drawn whole; the merged sample (the smallest keys of both views) must still give each row one chance."""
    from harness.checks.recompute import predraw

    from .test_engine_real_tables import _profile, _settings

    empty_db.execute("INSERT INTO documents SELECT 'doc-' || g, 'acme', 'text number ' || g FROM generate_series(41, 2020) g")
    empty_db.execute("INSERT INTO document_embeddings SELECT 'e-' || id, id, tenant_id, array_fill(1, ARRAY[384])::vector, "
                     "384, 'hash-embed:384' FROM documents")
    empty_db.execute("ANALYZE documents")
    profile = _profile("", 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme, globex]}')
    session = open_session(_settings(profile, app_role, embed_server.url), CheckOptions(collections=("documents",)))
    small = drawn = 0
    try:
        assert session.tenants == ["acme", "globex"]
        for seed in range(20):
            session.seed = seed
            rows = [r for r in predraw(session, "documents", 50) if r["uniform"]]
            drawn += len(rows)
            small += sum(1 for r in rows if r["tenant"] == "globex")
    finally:
        session.close()
    # 20 of 2,020 rows: about 10 of 1,000 picks (a share above 0.03 would be a 6-sigma event).
    assert drawn == 1000 and small / drawn < 0.03, f"the small tenant drew {small} of {drawn}"


def test_the_uniform_sample_of_a_partitioned_chunk_table_is_the_rows_with_the_smallest_keys(small_target):  # noqa: F811
    """Partitions repeat row addresses (each starts at (0,1)): a draw by address must not take a twin for a drawn row."""
    from harness.checks.recompute import predraw
    from harness.profile import parse_profile

    from ..conftest import TEST_MODEL

    dsn, profile = small_target
    execute(dsn, "CREATE TABLE notes_p (id int PRIMARY KEY, body text NOT NULL) PARTITION BY RANGE (id); "
                 "CREATE TABLE notes_p1 PARTITION OF notes_p FOR VALUES FROM (1) TO (151); "
                 "CREATE TABLE notes_p2 PARTITION OF notes_p FOR VALUES FROM (151) TO (301); "
                 "INSERT INTO notes_p SELECT * FROM notes ORDER BY id; ANALYZE notes_p")
    text = (f"name: parts\nprovider: {{model: {TEST_MODEL}, url: {profile.provider.url}}}\n"
            "chunks: {table: notes_p, id: id, text: body, collection_name: notes}\n"
            "embeddings: {table: note_vectors, key: note_id, vector: embedding}\n")
    session = open_session(resolve(parse_profile(text), database_url=dsn, env={}), CheckOptions(collections=("notes",)))
    try:
        rows = predraw(session, "notes", 20)
        import psycopg

        with psycopg.connect(dsn) as conn:
            smallest = [r[0] for r in conn.execute("SELECT id FROM notes_p ORDER BY hashtextextended(id::text, %s) LIMIT 20",
                                                   (session.seed,)).fetchall()]
    finally:
        session.close()
    assert sorted(r["id"] for r in rows if r["uniform"]) == sorted(smallest)


def test_recompute_reads_a_chunk_view(small_target):  # noqa: F811 (the imported fixture)
    """A view has no row addresses (ctid) nor write transactions (xmin): recompute must still sample it."""
    from harness.checks import recompute
    from harness.profile import parse_profile

    from ..conftest import TEST_MODEL

    dsn, profile = small_target
    execute(dsn, "CREATE VIEW notes_v AS SELECT id, body FROM notes")
    text = (f"name: view\nprovider: {{model: {TEST_MODEL}, url: {profile.provider.url}}}\n"
            "chunks: {table: notes_v, id: id, text: body, collection_name: notes}\n"
            "embeddings: {table: note_vectors, key: note_id, vector: embedding}\n")
    outcome = checked(dsn, parse_profile(text), recompute)
    assert outcome.status == "passed" and outcome.metrics["sampled"] == 299, outcome.message()


def test_recompute_through_a_chunk_view_finds_a_vector_written_to_the_wrong_row(small_target):  # noqa: F811 (the imported fixture)
    from harness.checks import recompute
    from harness.profile import parse_profile

    from ..conftest import TEST_MODEL

    dsn, profile = small_target
    execute(dsn, "CREATE VIEW notes_v AS SELECT id, body FROM notes")
    execute(dsn, "UPDATE note_vectors v SET embedding = w.embedding FROM note_vectors w WHERE w.note_id = v.note_id + 1")
    text = (f"name: view\nprovider: {{model: {TEST_MODEL}, url: {profile.provider.url}}}\n"
            "chunks: {table: notes_v, id: id, text: body, collection_name: notes}\n"
            "embeddings: {table: note_vectors, key: note_id, vector: embedding}\n")
    outcome = checked(dsn, parse_profile(text), recompute)
    assert outcome.status == "failed", outcome.message()


def test_recompute_reads_an_embeddings_view(small_target):  # noqa: F811 (the imported fixture)
    """A view of the embedding rows has no write transactions (xmin) either: recompute stopped on 'column e.xmin does
    not exist', so verify failed a collection every check of which holds."""
    from harness.checks import recompute
    from harness.profile import parse_profile

    from ..conftest import TEST_MODEL

    dsn, profile = small_target
    execute(dsn, "CREATE VIEW note_vectors_v AS SELECT note_id, embedding FROM note_vectors")
    text = (f"name: view\nprovider: {{model: {TEST_MODEL}, url: {profile.provider.url}}}\n"
            "chunks: {table: notes, id: id, text: body, collection_name: notes}\n"
            "embeddings: {table: note_vectors_v, key: note_id, vector: embedding}\n")
    outcome = checked(dsn, parse_profile(text), recompute)
    assert outcome.status == "passed" and outcome.metrics["sampled"] == 299, outcome.message()


@pytest.mark.parametrize("kind", ["VIEW", "TABLE"])
def test_verify_reads_embeddings_through_embeddings_filter(small_target, kind):  # noqa: F811 (the imported fixture)
    """A view of several models' embedding rows, one model's read through embeddings.filter: every read selected the
    view's write transaction (xmin), which a view has not, so each check stopped on 'column f.xmin does not exist'
    (a table's is still read: recompute ranks by it)."""
    from harness.checks import recompute
    from harness.profile import parse_profile

    from ..conftest import TEST_MODEL

    dsn, profile = small_target
    execute(dsn, f"CREATE {kind} note_vectors_m AS SELECT note_id, embedding, 2 AS model_id FROM note_vectors")
    text = (f"name: view\nprovider: {{model: {TEST_MODEL}, url: {profile.provider.url}}}\n"
            "chunks: {table: notes, id: id, text: body, collection_name: notes}\n"
            "embeddings: {table: note_vectors_m, key: note_id, vector: embedding, filter: {model_id: 2}}\n")
    session = open_session(resolve(parse_profile(text), database_url=dsn, env={}), CheckOptions(collections=("notes",)))
    try:
        outcomes = [sane_vectors(session, "notes"), recompute(session, "notes")]
    finally:
        session.close()
    assert [o.status for o in outcomes] == ["passed", "passed"], [o.message() for o in outcomes]


def _vectors(dsn) -> dict:
    import json

    import numpy as np
    import psycopg

    with psycopg.connect(dsn) as conn:
        return {k: np.array(json.loads(v)) for k, v in conn.execute("SELECT note_id, embedding::text FROM note_vectors")}


def _store(dsn, rows: dict) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.cursor().executemany("UPDATE note_vectors SET embedding = %s::vector WHERE note_id = %s",
                                  [("[" + ",".join(map(str, v)) + "]", k) for k, v in rows.items()])


def test_a_vector_shared_by_two_texts_is_found_in_a_column_of_few_dimensions(small_target):  # noqa: F811
    import numpy as np

    from harness.checks import distinct_vectors

    dsn, profile = small_target
    execute(dsn, "DROP INDEX IF EXISTS note_vectors_embedding_idx")
    execute(dsn, "ALTER TABLE note_vectors ALTER embedding TYPE vector(8) USING subvector(embedding, 1, 8)::vector(8)")
    rows = {k: v for k, v in zip(_vectors(dsn), np.random.default_rng(3).standard_normal((300, 8)))}
    rows[7] = rows[8]
    _store(dsn, rows)
    outcome = checked(dsn, profile, distinct_vectors)
    assert outcome.status == "failed", outcome.message()
    assert sorted(o.id for o in outcome.offenders) == [7, 8]


def test_a_chunk_outside_chunks_filter_keeping_its_vector_does_not_hide_a_chunk_without_one(embedded_db, embed_server):
    """A soft-deleted chunk keeps its vector (filed under the collection); the one pass counted it as the collection's
    chunk, so a live chunk without a vector was reported 106 embedded, 0 missing."""
    from harness.checks import coverage

    from ..conftest import DEMO_PROFILE, TEST_MODEL
    from .conftest import checked

    embedded_db.execute("ALTER TABLE document_chunks ADD COLUMN deleted_at timestamptz")
    embedded_db.execute("UPDATE document_chunks SET deleted_at = now() WHERE id = "
                        "(SELECT min(id) FROM document_chunks WHERE collection = 'tenant_acme')")
    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id = "
                        "(SELECT max(id) FROM document_chunks WHERE collection = 'tenant_acme')")
    text = DEMO_PROFILE.read_text().replace("${EMBED_MODEL:-all-minilm}", TEST_MODEL).replace(
        "  sources: [title, url]\n", "  sources: [title, url]\n  filter: {deleted_at: null}\n")
    outcome = checked(coverage, "tenant_acme", text, embedded_db.dsn, embed_server.url)
    assert outcome.status == "failed", outcome.found
    assert "105 embedded, 1 missing" in outcome.found


def per_collection_target(db, url, *, tenants: bool = False) -> str:
    """Chunks keyed (collection, id), as scope and the engine accept them: ids 1..30 in each of alpha and beta, every
    vector right (``tenants``: alpha's rows of tenant acme, beta's of globex, on both tables); returns the profile's
    text."""
    from harness.provider import OllamaProvider

    from ..conftest import TEST_MODEL

    db.execute("CREATE TABLE chunks (collection text, id int, content text NOT NULL, PRIMARY KEY (collection, id)); "
               "CREATE TABLE embeddings (collection text, chunk_id int, embedding vector(384), "
               "PRIMARY KEY (collection, chunk_id)); "
               "INSERT INTO chunks SELECT c, g, c || ' note ' || g || ' ' || md5(c || g) "
               "FROM unnest(ARRAY['alpha', 'beta']) AS c, generate_series(1, 30) AS g")
    with db.connect(autocommit=True) as conn, OllamaProvider(url, TEST_MODEL) as provider:
        rows = conn.execute("SELECT collection, id, content FROM chunks").fetchall()
        vectors = provider.embed([r[2] for r in rows]).vectors
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO embeddings VALUES (%s, %s, %s)",
                            [(r[0], r[1], np.asarray(v, dtype=np.float32)) for r, v in zip(rows, vectors)])
    tenant = ""
    if tenants:
        tenant = ", tenant: tenant"
        for table in ("chunks", "embeddings"):
            db.execute(f"ALTER TABLE {table} ADD COLUMN tenant text; "
                       f"UPDATE {table} SET tenant = CASE collection WHEN 'alpha' THEN 'acme' ELSE 'globex' END")
    return (f"name: per_collection\nprovider: {{model: {TEST_MODEL}, url: {url}}}\n"
            f"chunks: {{table: chunks, id: id, text: content, collection: collection{tenant}}}\n"
            f"embeddings: {{table: embeddings, key: chunk_id, vector: embedding, collection: collection{tenant}}}\n")


def test_chunk_keys_numbered_per_collection_are_matched_within_their_collection(empty_db, embed_server):
    """The pass joined embeddings on the id alone, so each vector met the other collection's chunk of that number too:
    0 embedded, 30 missing, 30 duplicate rows and 60 filed under another collection, on a target the engine had just
    filled."""
    from harness.checks import coverage, tenant_isolation

    from .conftest import checked

    text = per_collection_target(empty_db, embed_server.url)
    covered = checked(coverage, "alpha", text, empty_db.dsn, embed_server.url)
    placed = checked(tenant_isolation, "alpha", text, empty_db.dsn, embed_server.url)
    assert covered.status == "passed" and covered.found.startswith("30 embedded, 0 missing, 0 orphans"), covered.found
    assert placed.status != "failed", placed.found


def test_a_chunk_keyed_per_collection_without_its_vector_is_missing_beside_another_collections_chunk_of_its_number(
        empty_db, embed_server):
    from harness.checks import coverage

    from .conftest import checked

    text = per_collection_target(empty_db, embed_server.url)
    empty_db.execute("DELETE FROM embeddings WHERE collection = 'alpha' AND chunk_id = 5")
    covered = checked(coverage, "alpha", text, empty_db.dsn, embed_server.url)
    assert covered.status == "failed" and covered.found.startswith("29 embedded, 1 missing"), covered.found
    assert [o.id for o in covered.offenders] == [5]


def test_a_search_as_a_tenant_over_chunks_keyed_per_collection_returns_no_other_tenants_chunk(empty_db, embed_server):
    """The search joined embeddings to chunks on the id alone, so acme's vector of alpha's chunk 5 came back with
    beta's chunk 5, globex's: 2 foreign rows returned on a target where nothing leaks."""
    from harness.checks import tenant_isolation

    from .conftest import checked

    text = per_collection_target(empty_db, embed_server.url, tenants=True)
    outcome = checked(tenant_isolation, "alpha", text, empty_db.dsn, embed_server.url)
    assert outcome.status == "passed", outcome.found
    assert "0 foreign rows returned" in outcome.found


def test_an_orphan_keyed_per_collection_is_listed_beside_another_collections_chunk_of_its_number(empty_db, embed_server):
    """alpha's chunk 7 deleted, its embedding left: the pass counts the orphan, and the listing looked for any chunk
    numbered 7, found beta's and listed none."""
    from harness.checks import coverage

    from .conftest import checked

    text = per_collection_target(empty_db, embed_server.url)
    empty_db.execute("DELETE FROM chunks WHERE collection = 'alpha' AND id = 7")
    covered = checked(coverage, "alpha", text, empty_db.dsn, embed_server.url)
    assert covered.status == "failed" and "1 orphans" in covered.found, covered.found
    assert [(o.id, o.detail) for o in covered.offenders] == [(7, "orphan: its chunk is gone")]


def test_chunks_filter_on_a_key_of_a_json_column_keeps_the_rows_of_that_value(embedded_db, embed_server):
    """SurfSense keeps a document whose indexing failed with `status = {"state": "failed", ...}` and the placeholder
    text 'Pending...', no vector: `filter: {"status->>'state'": ready}` leaves it out, as `chunks.text` reads a JSON
    key (it was a database error: column c."status->>'state'" does not exist)."""
    from harness.checks import coverage

    from ..conftest import DEMO_PROFILE, TEST_MODEL
    from .conftest import checked

    embedded_db.execute("ALTER TABLE document_chunks ADD COLUMN status jsonb NOT NULL DEFAULT '{\"state\": \"ready\"}'")
    embedded_db.execute("UPDATE document_chunks SET status = '{\"state\": \"failed\", \"reason\": \"timeout\"}', "
                        "content = 'Pending...' WHERE id = (SELECT min(id) FROM document_chunks WHERE collection = 'tenant_acme')")
    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id = "
                        "(SELECT min(id) FROM document_chunks WHERE collection = 'tenant_acme')")
    text = DEMO_PROFILE.read_text().replace("${EMBED_MODEL:-all-minilm}", TEST_MODEL).replace(
        "  sources: [title, url]\n", "  sources: [title, url]\n  filter: {\"status->>'state'\": ready}\n")
    outcome = checked(coverage, "tenant_acme", text, embedded_db.dsn, embed_server.url)
    assert outcome.status == "passed", outcome.found
    assert "106 embedded, 0 missing" in outcome.found, outcome.found  # 107 chunks, the failed one left out


@pytest.mark.parametrize("inline", [False, True], ids=["embedding table", "inline"])
def test_a_pass_reading_each_vector_once_counts_what_reading_it_at_each_use_counts(small_target, inline):  # noqa: F811
    """Vectors stored out of line (768 dimensions and up) were fetched again by each function of the pass, five to seven
    times a row (#12: the pass 3.06 s against a floor of 0.85 s at 200,000 rows of 768); read once into a copy, the
    pass must count the same: zero, degenerate and shared vectors, the rows and the sample's population."""
    from harness.checks.shape import Shape
    from harness.checks.stats import gather, probe
    from harness.profile import parse_profile
    from harness.target import Target

    from ..conftest import TEST_MODEL

    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors SET embedding = array_fill(0, ARRAY[384])::vector WHERE note_id = 3")
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT embedding FROM note_vectors WHERE note_id = 5) "
                 "WHERE note_id = 6")
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT array_agg(x * 1e20::float8)::vector FROM "
                 "unnest(embedding::real[]) AS x) WHERE note_id = 9")
    if inline:
        execute(dsn, "CREATE TABLE inline_notes AS SELECT n.id, n.body, v.embedding FROM notes n "
                     "JOIN note_vectors v ON v.note_id = n.id")
        profile = parse_profile(f"name: inline\nprovider: {{model: {TEST_MODEL}, url: {profile.provider.url}}}\n"
                                "chunks: {table: inline_notes, id: id, text: body, collection_name: notes}\n"
                                "embeddings: {vector: embedding}\n")
    shape = Shape(Target(profile))
    found = {}
    for once in (False, True):
        with psycopg.connect(dsn) as conn, conn.transaction():
            conn.row_factory = psycopg.rows.dict_row
            got = gather(conn, shape, ["notes"], TEST_MODEL, 384, False, probe=probe(384), out_of_line=once)
            got.spool.close()
            found[once] = (got.stats, got.rows, got.vectors, got.drawable, sorted(got.shared_fps))
    assert found[True] == found[False]
    stats = found[True][0]["notes"]
    assert (stats.zero, stats.degenerate, len(found[True][4])) == (1, 1, 1), stats


def test_vectors_past_about_two_kilobytes_are_read_once():
    from harness.checks.stats import stored_out_of_line

    assert [stored_out_of_line(t, d) for t, d in [("vector(384)", 384), ("vector(768)", 768), ("halfvec(768)", 768),
                                                  ("halfvec(1024)", 1024), ("extensions.vector(1536)", None),
                                                  ("vector", 768), ("vector", None), ("sparsevec(1000)", 1000)]] == [
        False, True, False, True, True, True, False, False]


def test_a_unique_key_of_a_table_with_inheritance_children_does_not_hide_their_duplicates(small_target):  # noqa: F811
    """A unique index holds only the rows of its own table: a child table (INHERITS, the legacy partitioning) read with
    its parent may hold a second row of a chunk. Taken as unique, the pass counted chunks without a vector as the
    chunk count minus the rows matched, so note 8's second row stood in for note 7's missing vector: '300 embedded, 0
    missing', and coverage passed."""
    from harness.checks import coverage

    dsn, profile = small_target
    execute(dsn, "CREATE TABLE note_vectors_old () INHERITS (note_vectors)")
    execute(dsn, "INSERT INTO note_vectors_old SELECT * FROM note_vectors WHERE note_id = 8")
    execute(dsn, "DELETE FROM note_vectors WHERE note_id = 7")
    outcome = checked(dsn, profile, coverage)
    assert outcome.status == "failed", outcome.found
    assert (outcome.metrics["missing"], outcome.metrics["duplicates"]) == (1, 1), outcome.found


def test_an_input_hash_beside_another_vector_column_proves_no_vector_fresh(small_target):  # noqa: F811
    """Two models' vectors on one row (``embedding``, ``embedding_large``) and one input hash: a run filling the
    first writes the hash of the new text, and the second's vector of the old text passed ``fresh`` on every row."""
    from harness.checks import fresh
    from harness.profile import parse_profile

    from .test_checks_sampling import PROFILE
    from ..conftest import TEST_MODEL

    dsn, profile = small_target
    execute(dsn, "ALTER TABLE note_vectors ADD COLUMN embedding_large vector(384), ADD COLUMN input_hash text")
    execute(dsn, "UPDATE note_vectors AS v SET embedding_large = embedding, input_hash = encode(sha256(convert_to("
                 "n.body, 'UTF8')), 'hex') FROM notes AS n WHERE n.id = v.note_id")
    large = parse_profile(PROFILE.format(model=TEST_MODEL, url=profile.provider.url).replace(
        "vector: embedding}", "vector: embedding_large, input_hash: input_hash}"))
    # The text of note 7 edited; the other model's run writes its vector and the hash of the new text.
    execute(dsn, "UPDATE notes SET body = 'rewritten entirely' WHERE id = 7")
    execute(dsn, "UPDATE note_vectors SET input_hash = encode(sha256(convert_to('rewritten entirely', 'UTF8')), 'hex') "
                 "WHERE note_id = 7")
    outcome = checked(dsn, large, fresh)
    assert outcome.status != "passed", outcome.message()
    assert "beside another vector column of the same rows (embedding)" in outcome.message(), outcome.message()

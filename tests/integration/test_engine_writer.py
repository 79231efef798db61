"""The writer: a batch's COPY stream, encoded at once, lands exactly what psycopg's row-by-row dump lands."""

from dataclasses import replace

import numpy as np
import pytest

from harness.backfill.writer import BatchWriter, Embedding, binary_copy_data
from harness.db import connect
from harness.profile import load_profile
from harness.target import Target

from ..conftest import TEST_MODEL

ROWS = "SELECT chunk_id, collection, tenant_id, embedding::text, model_name, input_hash FROM document_embeddings ORDER BY 1"


def _batch(ids, tenants):
    rng = np.random.default_rng(1)
    return [Embedding(k, rng.standard_normal(384).astype(np.float32), f"{k:064x}", "tenant_acme", t, exists=False)
            for k, t in zip(ids, tenants)]


@pytest.mark.parametrize("tenants", [["acme"] * 4, [None] * 4, ["acme", None, "a-longer-tenant", "é"]],
                         ids=["one-tenant", "no-tenant", "mixed-tenants"])
def test_encoded_copy_lands_the_same_rows_as_a_row_by_row_dump(demo_db, demo_profile, tenants):
    ids = [r[0] for r in demo_db.connect().execute("SELECT id FROM document_chunks ORDER BY id LIMIT 4").fetchall()]
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))
    batch = _batch(ids, tenants)
    with connect(demo_db.dsn) as conn:
        writer = BatchWriter(conn, target, TEST_MODEL)
        assert writer.write(batch) == 4 and writer.direct_batches == 1
    encoded = demo_db.connect().execute(ROWS).fetchall()
    demo_db.execute("TRUNCATE document_embeddings")
    with connect(demo_db.dsn) as conn:
        writer = BatchWriter(conn, target, TEST_MODEL)
        writer.write([Embedding(e.key, e.vector, e.text_hash, e.collection, e.tenant, exists=True) for e in batch])
    assert demo_db.connect().execute(ROWS).fetchall() == encoded


def test_unknown_column_types_fall_back_to_psycopg():
    assert binary_copy_data(["uuid", "vector"], ["k", "v"], _batch([1], [None]), TEST_MODEL) is None


def test_a_key_written_since_selection_is_replaced_not_duplicated(embedded_db, demo_profile):
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))
    key = embedded_db.scalar("SELECT chunk_id FROM document_embeddings WHERE collection = 'tenant_acme' ORDER BY 1 LIMIT 1")
    with connect(embedded_db.dsn) as conn:
        writer = BatchWriter(conn, target, TEST_MODEL)
        assert writer.write(_batch([key], [None])) == 1 and writer.direct_batches == 0
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE chunk_id = %s", (key,)) == 1
    assert embedded_db.scalar("SELECT input_hash FROM document_embeddings WHERE chunk_id = %s", (key,)) == f"{key:064x}"


def test_the_writer_keeps_the_sessions_synchronous_commit(demo_db, demo_profile):
    # Durability is a guarantee: a batch counted as written must survive a database crash.
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))
    with connect(demo_db.dsn) as conn:
        conn.execute("SET synchronous_commit TO on")
        conn.commit()
        BatchWriter(conn, target, TEST_MODEL)
        assert conn.execute("SELECT current_setting('synchronous_commit') AS s").fetchone()["s"] == "on"


def _rows_read_by_scans(conn, table: str) -> int:
    """Rows the table's sequential scans have read so far, as the statistics show them right now."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute("SELECT seq_tup_read AS n FROM pg_stat_user_tables WHERE relname = %s", (table,)).fetchone()["n"]


def test_a_batch_replacing_rows_finds_them_by_the_key_index_not_by_reading_the_table(demo_db, demo_profile):
    # A model switch replaces every row batch by batch: a batch that read the whole embedding table to find its own
    # rows made the run quadratic in the table's size (200,000 rows: five times the time of 100,000).
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))
    # The ANN index is beside the point: 30,000 equal vectors inserted into it took most of this test's 25 s.
    demo_db.execute("DROP INDEX document_embeddings_embedding_idx")
    demo_db.execute("INSERT INTO document_embeddings (chunk_id, collection, embedding, model_name, input_hash) "
                    "SELECT k, 'tenant_acme', array_fill(0.5::real, ARRAY[384])::vector, 'old-model', '' "
                    "FROM generate_series(1000000, 1030000) AS k")
    demo_db.execute("VACUUM ANALYZE document_embeddings")
    keys = list(range(1000000, 1000200))
    with connect(demo_db.dsn) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        before = _rows_read_by_scans(conn, "document_embeddings")
        conn.commit()
        writer = BatchWriter(conn, target, TEST_MODEL)
        batch = [Embedding(e.key, e.vector, e.text_hash, e.collection, e.tenant, exists=True) for e in _batch(keys, [None] * 200)]
        assert writer.write(batch) == 200
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.commit()
        read = _rows_read_by_scans(conn, "document_embeddings") - before
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings WHERE chunk_id = ANY(%s) AND model_name = %s",
                          (keys, TEST_MODEL)) == 200
    assert read < 30000, f"the batch's statements read {read} rows of the embedding table by sequential scans"


@pytest.mark.parametrize("stored", [False, True], ids=["new-rows", "replaced-rows"])
def test_a_collection_column_of_an_enum_type_is_written_as_its_label(demo_db, demo_profile, stored):
    # An application's own enum (Prisma's `enum Kind`) as the embeddings' collection column: psycopg knows no such type,
    # and the batch's COPY stopped at "couldn't find the type in the types registry".
    demo_db.execute("CREATE TYPE corpus_kind AS ENUM ('global_corpus', 'tenant_acme', 'tenant_globex', 'tenant_initech')")
    demo_db.execute("ALTER TABLE document_embeddings ALTER COLUMN collection TYPE corpus_kind USING collection::corpus_kind")
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))
    ids = [r[0] for r in demo_db.connect().execute(
        "SELECT id FROM document_chunks WHERE collection = 'tenant_acme' ORDER BY id LIMIT 3").fetchall()]
    batch = [Embedding(e.key, e.vector, e.text_hash, "tenant_acme", None, exists=stored) for e in _batch(ids, [None] * 3)]
    if stored:
        with connect(demo_db.dsn) as conn:
            BatchWriter(conn, target, TEST_MODEL).write([replace(e, exists=False) for e in batch])
    with connect(demo_db.dsn) as conn:
        assert BatchWriter(conn, target, TEST_MODEL).write(batch) == 3
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings WHERE collection = 'tenant_acme' "
                          "AND chunk_id = ANY(%s)", (ids,)) == 3


REFERENCED = """
name: rated
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection_name: notes}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model, input_hash: h}
"""


def _rated_notes(db, url, *, on_delete: str = "CASCADE", one_row_per_note: bool = True):
    """Five notes embedded once, their vector rows keyed by an id of their own that the application's ratings reference
    (``ON DELETE on_delete``); the settings that backfill them."""
    from harness.backfill import BackfillOptions, run_backfill
    from harness.profile import parse_profile
    from harness.settings import resolve

    db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL); CREATE TABLE note_vectors (id bigserial "
               f"PRIMARY KEY, note_id int {'UNIQUE ' if one_row_per_note else ''}REFERENCES notes, embedding vector(384), "
               "model text, h text); CREATE TABLE ratings (id serial PRIMARY KEY, vector_id bigint REFERENCES "
               f"note_vectors (id) ON DELETE {on_delete}, stars int); INSERT INTO notes SELECT i, 'note ' || i "
               "FROM generate_series(1, 5) i")
    settings = resolve(parse_profile(REFERENCED, env={}), database_url=db.dsn, env={"OLLAMA_HOST": url})
    assert run_backfill(settings, BackfillOptions(collection="notes", progress=False)).embedded == 5
    return settings


def _backfill_notes(settings):
    from harness.backfill import BackfillOptions, run_backfill

    return run_backfill(settings, BackfillOptions(collection="notes", progress=False))


RATED = "SELECT count(*) FROM ratings r JOIN note_vectors v ON v.id = r.vector_id"


@pytest.mark.parametrize("action", ["CASCADE", "SET NULL", "RESTRICT"])
def test_a_stored_vector_another_tables_rows_reference_is_replaced_in_place_keeping_them(empty_db, embed_server, action):
    # The writer replaced a chunk's vector by deleting its row and inserting a new one: the application's ratings of
    # the row were deleted with it (ON DELETE CASCADE) or unlinked (SET NULL) and the run said 'Embedded 2/2 rows.
    # 0 failures.'; under RESTRICT the whole run stopped at the first batch.
    settings = _rated_notes(empty_db, embed_server.url, on_delete=action)
    empty_db.execute("INSERT INTO ratings (vector_id, stars) SELECT id, 5 FROM note_vectors; "
                     "UPDATE notes SET body = body || ' edited' WHERE id <= 2")
    summary = _backfill_notes(settings)
    assert (summary.embedded, summary.failed, summary.after.needed) == (2, 0, 0), summary.line()
    assert empty_db.scalar(RATED) == 5
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 5


def test_a_referenced_stale_vector_replaced_by_a_reused_one_keeps_the_rows_that_reference_it(empty_db, embed_server):
    # A chunk edited to another chunk's text takes that chunk's vector over (reuse.reuse_vectors), which deleted its
    # stored row first: the application's ratings of it went with it (ON DELETE CASCADE) while the run said
    # 'Embedded 0 rows, 1 reused. 0 failures.'.
    settings = _rated_notes(empty_db, embed_server.url)
    empty_db.execute("INSERT INTO ratings (vector_id, stars) SELECT id, 5 FROM note_vectors; "
                     "UPDATE notes SET body = 'note 1' WHERE id = 2")
    summary = _backfill_notes(settings)
    assert (summary.reused, summary.failed, summary.after.needed) == (1, 0, 0), summary.line()
    assert empty_db.scalar(RATED) == 5


def test_a_vector_taken_over_in_place_that_a_trigger_rewrites_is_a_failed_row_never_reused(empty_db, embed_server):
    # The in-place take-over is an UPDATE: a trigger writing another vector there went unseen ('1 reused', ok).
    settings = _rated_notes(empty_db, embed_server.url)
    empty_db.execute("INSERT INTO ratings (vector_id, stars) SELECT id, 5 FROM note_vectors; "
                     "CREATE FUNCTION flatten() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "NEW.embedding := array_fill(0.5, ARRAY[384]); RETURN NEW; END $$; "
                     "CREATE TRIGGER flatten BEFORE UPDATE ON note_vectors FOR EACH ROW EXECUTE FUNCTION flatten(); "
                     "UPDATE notes SET body = 'note 1' WHERE id = 2")
    summary = _backfill_notes(settings)
    assert (summary.reused, summary.failed, summary.ok) == (0, 1, False), summary.line()
    assert any("not kept as sent" in note for note in summary.notes), summary.notes


def test_a_referenced_chunks_second_row_the_engine_keeps_is_said_so_not_run_again(empty_db, embed_server):
    # Rows other tables reference are updated in place, never deleted: a chunk's second row stays, and the run said
    # '(edited or added while it ran, or not selectable); run backfill again', which every run said again.
    settings = _rated_notes(empty_db, embed_server.url, one_row_per_note=False)
    empty_db.execute("INSERT INTO note_vectors (note_id, embedding, model, h) SELECT note_id, embedding, model, h "
                     "FROM note_vectors WHERE note_id = 1; INSERT INTO ratings (vector_id, stars) SELECT id, 5 "
                     "FROM note_vectors")
    summary = _backfill_notes(settings)
    assert not summary.ok and "run backfill again" not in (summary.stopped or ""), summary.stopped
    assert "other tables reference" in (summary.stopped or ""), summary.stopped
    assert empty_db.scalar(RATED) == 6

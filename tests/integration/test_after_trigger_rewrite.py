"""A trigger firing after the engine's write that gives the row another vector than the one sent (an AFTER INSERT
trigger of the embedding table, an AFTER UPDATE one of an inline table): those rows are failed rows naming their
keys, never counted embedded. Before, a binary COPY counted only the rows kept (and an inline UPDATE's RETURNING sees
the row before AFTER triggers), so run said ok with every stored vector the trigger's."""

from __future__ import annotations

from harness.backfill import BackfillOptions, run_backfill
from harness.profile import parse_profile
from harness.settings import resolve

PROFILE = """
name: after
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection_name: notes}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model}
"""
INLINE = """
name: after
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection_name: notes}
embeddings: {vector: embedding, model: model}
"""
# The first basis vector in place of whatever was written, for note 3 (the trigger's own update fires it again: it
# stops once the row holds it).
SPOIL = """
CREATE FUNCTION spoil() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE e1 vector := (SELECT array_agg(CASE WHEN g = 1 THEN 1 ELSE 0 END)::real[]::vector FROM generate_series(1, 384) g);
BEGIN
  IF NEW.{key} = 3 AND NEW.embedding IS DISTINCT FROM e1 THEN
    UPDATE {table} SET embedding = e1 WHERE {key} = NEW.{key};
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER spoil AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION spoil();
"""


def _notes(db, extra: str = "") -> None:
    db.execute(f"CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL{extra})")
    db.execute("INSERT INTO notes SELECT i, 'note number ' || i || ' about ' || (ARRAY['refunds', 'travel'])[i % 2 + 1] "
               "FROM generate_series(1, 6) i")


def _run(db, url, text=PROFILE):
    settings = resolve(parse_profile(text, env={}), database_url=db.dsn, env={"OLLAMA_HOST": url})
    return run_backfill(settings, BackfillOptions(collection="notes", progress=False))


def test_an_after_insert_trigger_rewriting_the_vector_fails_its_row(empty_db, embed_server):
    _notes(empty_db)
    empty_db.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector(384), "
                     "model text)")
    empty_db.execute(SPOIL.format(key="note_id", table="note_vectors", event="INSERT"))
    summary = _run(empty_db, embed_server.url)
    assert not summary.ok and summary.embedded == 5 and summary.failed == 1, (summary.embedded, summary.failed)


def test_an_after_update_trigger_rewriting_an_inline_vector_fails_its_row(empty_db, embed_server):
    _notes(empty_db, ", embedding vector(384), model text")
    empty_db.execute(SPOIL.format(key="id", table="notes", event="UPDATE"))
    summary = _run(empty_db, embed_server.url, INLINE)
    assert not summary.ok and summary.embedded == 5 and summary.failed == 1, (summary.embedded, summary.failed)


def test_an_after_trigger_that_leaves_the_vector_counts_every_row(empty_db, embed_server):
    # An audit trigger beside the vectors: every row holds the vector sent, and the run is ok.
    _notes(empty_db)
    empty_db.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector(384), "
                     "model text); CREATE TABLE audit (note_id int); CREATE FUNCTION audit() RETURNS trigger "
                     "LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (NEW.note_id); RETURN NULL; END $$; "
                     "CREATE TRIGGER audit AFTER INSERT ON note_vectors FOR EACH ROW EXECUTE FUNCTION audit()")
    summary = _run(empty_db, embed_server.url)
    assert summary.ok and summary.embedded == 6 and empty_db.scalar("SELECT count(*) FROM audit") == 6


def test_a_deferred_constraint_trigger_rewriting_the_vector_at_commit_fails_its_row(empty_db, embed_server):
    # DEFERRABLE INITIALLY DEFERRED: it fires at the batch's commit, after any comparison inside the transaction,
    # unless the writer makes it fire at the end of its statement (SET CONSTRAINTS ... IMMEDIATE).
    _notes(empty_db)
    empty_db.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector(384), "
                     "model text)")
    empty_db.execute(SPOIL.format(key="note_id", table="note_vectors", event="INSERT").replace(
        "CREATE TRIGGER spoil AFTER INSERT ON note_vectors", "CREATE CONSTRAINT TRIGGER spoil AFTER INSERT ON note_vectors "
        "DEFERRABLE INITIALLY DEFERRED"))
    summary = _run(empty_db, embed_server.url)
    assert not summary.ok and summary.embedded == 5 and summary.failed == 1, (summary.embedded, summary.failed)


def test_a_deferred_constraint_trigger_rewriting_an_inline_vector_fails_its_row(empty_db, embed_server):
    _notes(empty_db, ", embedding vector(384), model text")
    empty_db.execute(SPOIL.format(key="id", table="notes", event="UPDATE").replace(
        "CREATE TRIGGER spoil AFTER UPDATE ON notes", "CREATE CONSTRAINT TRIGGER spoil AFTER UPDATE ON notes "
        "DEFERRABLE INITIALLY DEFERRED"))
    summary = _run(empty_db, embed_server.url, INLINE)
    assert not summary.ok and summary.embedded == 5 and summary.failed == 1, (summary.embedded, summary.failed)

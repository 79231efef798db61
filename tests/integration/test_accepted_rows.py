"""Rows the table the vectors go to would refuse: a partitioned embedding table whose partitions take none of the rows
a run would write (a partition per corpus or tenant, none yet for this one), or a CHECK constraint over the columns the
engine fills. Scope predicts both (``partitions``, ``check constraints``), naming the values and the table, from the
catalog's partition bounds and constraint expressions (nothing is written), and the engine refuses before its first
batch. Before, scope said ok and the run stopped at its first batch ('no partition ... found for row', 'violates check
constraint')."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import RefusedError
from harness.profile import parse_profile
from harness.settings import resolve
from harness.steps.scope import scope

PROFILE = """
name: partitioned
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection: corpus, tenant: tenant}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model, collection: corpus, tenant: tenant}
"""


def _tables(db, partition_by: str = "LIST (corpus)", *partitions: str) -> None:
    db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, corpus text NOT NULL, tenant text)")
    db.execute("INSERT INTO notes SELECT i, 'note number ' || i, 'handbook', CASE WHEN i < 4 THEN 'acme' ELSE 'globex' "
               "END FROM generate_series(1, 6) i")
    db.execute("CREATE TABLE note_vectors (note_id int, corpus text, tenant text, embedding vector(384), model text, "
               "row_id bigserial) "
               f"PARTITION BY {partition_by}")
    for i, bound in enumerate(partitions):
        db.execute(f"CREATE TABLE note_vectors_{i} PARTITION OF note_vectors {bound}")


def _settings(db, url):
    return resolve(parse_profile(PROFILE, env={}), database_url=db.dsn, env={"OLLAMA_HOST": url})


def _partitions(db, url):
    result = scope(_settings(db, url), "handbook", check_contract=False)
    return result, next(c for c in result.checks if c.check == "partitions")


def test_scope_fails_a_collection_no_partition_takes_naming_the_value(empty_db, embed_server):
    _tables(empty_db, "LIST (corpus)", "FOR VALUES IN ('wiki')")
    result, check = _partitions(empty_db, embed_server.url)
    assert not result.ok and check.status.value == "failed", check
    assert "no partition of note_vectors takes (corpus) = (handbook)" in check.found, check.found


def test_the_engine_refuses_it_before_its_first_batch(empty_db, embed_server):
    _tables(empty_db, "LIST (corpus)", "FOR VALUES IN ('wiki')")
    with pytest.raises(RefusedError) as refused:
        run_backfill(_settings(empty_db, embed_server.url), BackfillOptions(collection="handbook", progress=False))
    assert "(corpus) = (handbook)" in str(refused.value) and "nothing was written" in str(refused.value)


def test_a_partition_for_the_collection_passes_naming_it(empty_db, embed_server):
    _tables(empty_db, "LIST (corpus)", "FOR VALUES IN ('wiki')", "FOR VALUES IN ('handbook')")
    result, check = _partitions(empty_db, embed_server.url)
    assert result.ok and check.status.value == "passed", check
    assert "note_vectors_1" in check.found, check.found


def test_a_default_partition_takes_every_row(empty_db, embed_server):
    _tables(empty_db, "LIST (corpus)", "FOR VALUES IN ('wiki')", "DEFAULT")
    assert _partitions(empty_db, embed_server.url)[1].status.value == "passed"


def test_a_tenant_without_a_partition_is_named_among_the_chunks_tenants(empty_db, embed_server):
    # The partition key is per chunk (its tenant): each tenant among the collection's chunks is tried.
    _tables(empty_db, "LIST (tenant)", "FOR VALUES IN ('acme')")
    result, check = _partitions(empty_db, embed_server.url)
    assert check.status.value == "failed", check
    assert "(tenant) = (globex)" in check.found and "acme" not in check.found, check.found


def test_a_sub_partition_missing_for_the_model_is_named(empty_db, embed_server):
    # Two levels: the corpus has its partition, which is partitioned again by model, with none for this model.
    _tables(empty_db, "LIST (corpus)")
    empty_db.execute("CREATE TABLE note_vectors_handbook PARTITION OF note_vectors FOR VALUES IN ('handbook') "
                     "PARTITION BY LIST (model)")
    empty_db.execute("CREATE TABLE note_vectors_handbook_old PARTITION OF note_vectors_handbook FOR VALUES IN ('old')")
    check = _partitions(empty_db, embed_server.url)[1]
    assert check.status.value == "failed", check
    assert "(corpus, model) = (handbook, hash-embed:384)" in check.found, check.found


def test_a_table_partitioned_by_a_sequence_is_unproven(empty_db, embed_server):
    # Each row's number comes from a sequence as it is written: which partition takes it cannot be told before (and
    # scope draws no number, which would be a write).
    _tables(empty_db, "RANGE (row_id)", "FOR VALUES FROM (1) TO (4)")
    check = _partitions(empty_db, embed_server.url)[1]
    assert check.status.value == "unproven" and "row_id" in check.note, check


def test_into_a_new_collection_no_partition_of_the_chunk_table_takes_is_refused(empty_db, embed_server):
    # --into copies the chunks under the new name first: a chunk table partitioned by collection needs a partition.
    empty_db.execute("CREATE TABLE notes (id serial, body text NOT NULL, corpus text NOT NULL, tenant text, "
                     "PRIMARY KEY (corpus, id)) PARTITION BY LIST (corpus)")
    empty_db.execute("CREATE TABLE notes_handbook PARTITION OF notes FOR VALUES IN ('handbook')")
    empty_db.execute("INSERT INTO notes (body, corpus) SELECT 'note number ' || i, 'handbook' FROM generate_series(1, 6) i")
    empty_db.execute("CREATE TABLE note_vectors (note_id int, corpus text, tenant text, embedding vector(384), "
                     "model text, PRIMARY KEY (corpus, note_id))")
    result = scope(_settings(empty_db, embed_server.url), "handbook", into="handbook_v2", check_contract=False)
    check = next(c for c in result.checks if c.check == "partitions")
    assert not result.ok and "no partition of notes takes (corpus) = (handbook_v2)" in check.found, check
    with pytest.raises(RefusedError):
        run_backfill(_settings(empty_db, embed_server.url),
                     BackfillOptions(collection="handbook", into="handbook_v2", progress=False))
    assert empty_db.scalar("SELECT count(*) FROM notes") == 6


def test_beside_the_targets_own_command_a_missing_partition_is_unproven(empty_db, embed_server):
    # The application's own command may create the partition before it writes (a partition made per corpus on
    # demand): what it does first cannot be seen from here, so scope says it without closing the gate.
    _tables(empty_db, "LIST (corpus)", "FOR VALUES IN ('wiki')")
    text = PROFILE + "backfill: {command: 'python backfill.py {collection}'}\n"
    settings = resolve(parse_profile(text, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    result = scope(settings, "handbook", check_contract=False)
    check = next(c for c in result.checks if c.check == "partitions")
    assert result.ok and check.status.value == "unproven", check
    assert "(corpus) = (handbook)" in check.note and "backfill.py" in check.note, check.note


def test_a_collection_name_holding_a_percent_sign_is_tried_as_it_is(empty_db, embed_server):
    # '%s' inside the name was read as a placeholder of the query's parameters: a bare TypeError.
    _tables(empty_db, "LIST (corpus)", "FOR VALUES IN ('50%off')")
    empty_db.execute("UPDATE notes SET corpus = CASE WHEN id < 4 THEN '50%off' ELSE 'a%sb' END")
    settings = _settings(empty_db, embed_server.url)
    taken = next(c for c in scope(settings, "50%off", check_contract=False).checks if c.check == "partitions")
    refused = next(c for c in scope(settings, "a%sb", check_contract=False).checks if c.check == "partitions")
    assert taken.status.value == "passed" and "(corpus) = (a%sb)" in refused.found, (taken, refused)


def test_a_partition_named_as_the_embedding_table_takes_only_its_own_bounds(empty_db, embed_server):
    # The profile names one partition itself: a row outside its bounds 'violates partition constraint'.
    _tables(empty_db, "LIST (corpus)", "FOR VALUES IN ('wiki')", "FOR VALUES IN ('handbook')")
    text = PROFILE.replace("table: note_vectors,", "table: note_vectors_0,")
    settings = resolve(parse_profile(text, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    check = next(c for c in scope(settings, "handbook", check_contract=False).checks if c.check == "partitions")
    assert check.status.value == "failed" and "note_vectors_0, a partition, does not take (corpus) = (handbook)" in check.found, \
        check


# -- CHECK constraints over the columns the engine fills ----------------------------------------------------------


def test_a_check_constraint_refusing_the_model_fails_scope_naming_it(empty_db, embed_server):
    # The application lists its models: the run stopped at its first batch with 'violates check constraint'.
    _tables(empty_db, "LIST (corpus)", "DEFAULT")
    empty_db.execute("ALTER TABLE note_vectors ADD CONSTRAINT known_model CHECK (model IN ('nomic-embed-text'))")
    result = scope(_settings(empty_db, embed_server.url), "handbook", check_contract=False)
    check = next(c for c in result.checks if c.check == "check constraints")
    assert not result.ok and "known_model" in check.found and "(model) = (hash-embed:384)" in check.found, check
    with pytest.raises(RefusedError):
        run_backfill(_settings(empty_db, embed_server.url), BackfillOptions(collection="handbook", progress=False))


def test_a_check_constraint_over_the_chunks_tenant_names_the_tenant(empty_db, embed_server):
    _tables(empty_db, "LIST (corpus)", "DEFAULT")
    empty_db.execute("ALTER TABLE note_vectors ADD CONSTRAINT tenant_named CHECK (tenant <> 'globex')")
    check = next(c for c in _partitions(empty_db, embed_server.url)[0].checks if c.check == "check constraints")
    assert check.status.value == "failed" and "(tenant) = (globex)" in check.found, check


def test_a_check_constraint_the_rows_meet_passes_and_one_over_the_vector_is_not_tried(empty_db, embed_server):
    _tables(empty_db, "LIST (corpus)", "DEFAULT")
    empty_db.execute("ALTER TABLE note_vectors ADD CONSTRAINT some_model CHECK (model <> ''), "
                     "ADD CONSTRAINT unit CHECK (vector_dims(embedding) = 384)")
    check = next(c for c in _partitions(empty_db, embed_server.url)[0].checks if c.check == "check constraints")
    assert check.status.value == "passed" and "some_model" in check.found and "unit" not in check.found, check


def test_an_inline_check_over_the_model_and_the_rows_own_columns_is_tried(empty_db, embed_server):
    # An UPDATE writes the model beside the row's own values: a constraint over both holds each row to them.
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, kind text, embedding vector(384), "
                     "model text, CONSTRAINT model_of_kind CHECK (kind <> 'legacy' OR model = 'old-model'))")
    empty_db.execute("INSERT INTO notes SELECT i, 'note number ' || i, CASE WHEN i = 2 THEN 'legacy' END "
                     "FROM generate_series(1, 4) i")
    text = ("name: inline\nprovider: {model: hash-embed:384}\nchunks: {table: notes, id: id, text: body, "
            "collection_name: notes}\nembeddings: {vector: embedding, model: model}\n")
    settings = resolve(parse_profile(text, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    check = next(c for c in scope(settings, "notes", check_contract=False).checks if c.check == "check constraints")
    assert check.status.value == "failed" and "(kind, model) = (legacy, hash-embed:384)" in check.found, check


def test_a_column_default_holding_a_percent_sign_is_tried_as_it_is(empty_db, embed_server):
    # The default's '%' was doubled twice (escaped, then composed as text again): the row was tried with 'a%%b' and
    # a constraint the run meets failed scope.
    _tables(empty_db, "LIST (corpus)", "DEFAULT")
    empty_db.execute("ALTER TABLE note_vectors ADD COLUMN label text DEFAULT 'a%b', "
                     "ADD CONSTRAINT known_label CHECK (label = 'a%b')")
    check = next(c for c in _partitions(empty_db, embed_server.url)[0].checks if c.check == "check constraints")
    assert check.status.value == "passed" and "known_label" in check.found, check


def test_a_read_the_statement_timeout_stops_is_unproven_never_failed(empty_db, embed_server):
    # A statement timeout (or a cancel) in the read of the rows a run writes was reported as 'the values a run writes
    # do not fit': a failed check on a table the run meets.
    _tables(empty_db, "LIST (corpus)", "DEFAULT")
    empty_db.execute("CREATE FUNCTION slow_true(text) RETURNS boolean LANGUAGE sql AS 'SELECT pg_sleep(3) IS NOT NULL'; "
                     "ALTER TABLE note_vectors ADD CONSTRAINT slow_model CHECK (slow_true(model)); "
                     f"ALTER DATABASE {empty_db.name} SET statement_timeout = '1s'")
    check = next(c for c in _partitions(empty_db, embed_server.url)[0].checks if c.check == "check constraints")
    assert check.status.value == "unproven" and "statement timeout" in check.note, check

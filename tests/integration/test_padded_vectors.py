"""An application that pads each model vector with zeros to a wider column (Letta's MAX_EMBEDDING_DIM, Open
WebUI's PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH): with ``embeddings.pad_to`` the engine writes them padded the same
way, and verify reads the model's part and proves the rest zeros."""

import json

import pytest

from .conftest import checked

PASSAGES = """
CREATE TABLE passage (id text PRIMARY KEY, body text NOT NULL, embedding vector(16));
INSERT INTO passage SELECT 'p' || g, 'passage number ' || g || ' about ' || (ARRAY['tea', 'rain', 'maps'])[g % 3 + 1],
  NULL FROM generate_series(1, 12) g;
"""
PROFILE = ("name: passage\nprovider: {model: hash-embed:8, dimensions: 8}\n"
           "chunks: {table: passage, id: id, text: body, collection_name: passage}\n"
           "embeddings: {vector: embedding, pad_to: 16}\n")


def _run(cli, empty_db, embed_server, tmp_path):
    empty_db.execute(PASSAGES)
    profile = tmp_path / "passage.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    filled = cli("backfill", "--profile", profile, "--collection", "passage", "--json", env=env)
    assert filled.code == 0 and filled.json["embedded"] == 12, filled.out + filled.err
    return profile, env


def test_the_engine_writes_the_models_vectors_padded_with_zeros_to_pad_to(cli, empty_db, embed_server, tmp_path):
    import httpx

    _run(cli, empty_db, embed_server, tmp_path)
    rows = empty_db.connect(autocommit=True).execute("SELECT body, embedding::text FROM passage ORDER BY id").fetchall()
    wanted = httpx.post(f"{embed_server.url}/api/embed", json={"model": "hash-embed:8",
                                                               "input": [r[0] for r in rows]}).json()["embeddings"]
    for (_, stored), want in zip(rows, wanted):
        stored = json.loads(stored)
        assert len(stored) == 16 and stored[8:] == [0.0] * 8
        assert max(abs(a - b) for a, b in zip(stored[:8], want)) < 1e-6


@pytest.mark.slow
def test_verify_passes_padded_vectors_and_lists_those_with_values_beyond_the_models_dimension(cli, empty_db,
                                                                                               embed_server, tmp_path):
    profile, env = _run(cli, empty_db, embed_server, tmp_path)
    # An index on the column as stored serves the searches: they pad the query as the application does.
    empty_db.execute("CREATE INDEX passage_embedding_idx ON passage USING hnsw (embedding vector_cosine_ops)")
    target = ("--profile", profile, "--collection", "passage")
    clean = cli("verify", *target, "--run-dir", tmp_path / "v0", "--json", env=env)
    assert clean.code == 0, clean.out
    index = next(c for c in clean.json["checks"] if c["check"] == "index")
    assert "passage_embedding_idx used by the spot query" in index["found"], index
    # Two vectors with a value past the model's 8 dimensions: not what the model and the application wrote.
    empty_db.execute("UPDATE passage SET embedding = embedding + '[0,0,0,0,0,0,0,0,0,0,0,0.5,0,0,0,0]'::vector "
                     "WHERE id IN ('p3', 'p7')")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "v1", "--json", env=env)
    assert damaged.code == 1
    dims = next(c for c in damaged.json["checks"] if c["check"] == "dimensions")
    assert dims["status"] == "failed" and "2 stored vectors are not zeros beyond dimension 8" in dims["found"], dims
    offenders = [json.loads(line) for line in (tmp_path / "v1" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders if o["check"] == "dimensions"} == {"p3", "p7"}
    repaired = cli("backfill", *target, "--keys-from", tmp_path / "v1" / "offenders.jsonl", "--json", env=env)
    assert repaired.code == 0 and repaired.json["embedded"] == 2, repaired.out + repaired.err
    assert cli("verify", *target, "--run-dir", tmp_path / "v2", "--json", env=env).code == 0


def test_zero_padding_proven_over_the_rows_a_role_sees_is_unproven_where_row_level_security_hides_others(
        pg, empty_db, embed_server):
    """The padding is a per-row fact: rows the policies hide were never read, so their padding is not proven zeros."""
    import uuid

    empty_db.execute(PASSAGES)
    empty_db.execute("ALTER TABLE passage ADD COLUMN owner text NOT NULL DEFAULT 'a';"
                     "UPDATE passage SET owner = 'b', embedding = array_fill(0.5, ARRAY[16])::vector WHERE id = 'p3';"
                     "UPDATE passage SET embedding = (array_fill(0.5, ARRAY[8]) || array_fill(0, ARRAY[8]))::vector "
                     "WHERE id <> 'p3'")
    role = f"app_{uuid.uuid4().hex[:8]}"
    empty_db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw'; GRANT SELECT ON passage TO {role};"
                     "ALTER TABLE passage ENABLE ROW LEVEL SECURITY;"
                     "CREATE POLICY mine ON passage USING (owner = 'a')")
    from harness.checks import dimensions

    try:
        outcome = checked(dimensions, "passage", PROFILE, pg.dsn(empty_db.name, user=role, password="app-secret-pw"),
                           embed_server.url)
        assert outcome.status == "unproven", outcome.message()
        assert "database.session" in outcome.note
    finally:
        empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


@pytest.mark.slow
def test_verify_passes_padded_vectors_in_a_halfvec_column(cli, empty_db, embed_server, tmp_path):
    """Open WebUI stores halfvec above 2,000 dimensions, padded to its column: the searches compare halfvec with a
    padded halfvec query (halfvec <=> vector is no operator)."""
    empty_db.execute(PASSAGES.replace("vector(16)", "halfvec(16)"))
    profile = tmp_path / "passage.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    target = ("--profile", profile, "--collection", "passage")
    filled = cli("backfill", *target, "--json", env=env)
    assert filled.code == 0 and filled.json["embedded"] == 12, filled.out + filled.err
    empty_db.execute("CREATE INDEX passage_embedding_idx ON passage USING hnsw (embedding halfvec_cosine_ops)")
    clean = cli("verify", *target, "--run-dir", tmp_path / "v0", "--json", env=env)
    assert clean.code == 0, [c for c in clean.json["checks"] if c["status"] != "passed"]
    index = next(c for c in clean.json["checks"] if c["check"] == "index")
    assert "passage_embedding_idx used by the spot query" in index["found"], index


def test_in_a_column_of_no_declared_width_a_vector_not_padded_to_pad_to_fails_dimensions(empty_db, embed_server):
    """An untyped column takes any width: a model vector stored unpadded (or padded short) is zeros beyond nothing,
    yet the application's padded queries fail on it ('different vector dimensions')."""
    empty_db.execute(PASSAGES.replace("vector(16)", "vector"))
    empty_db.execute("UPDATE passage SET embedding = (array_fill(0.5, ARRAY[8]) || array_fill(0, ARRAY[8]))::vector;"
                     "UPDATE passage SET embedding = array_fill(0.5, ARRAY[8])::vector WHERE id = 'p3';"
                     "UPDATE passage SET embedding = array_fill(0.5, ARRAY[12])::vector WHERE id = 'p7';"
                     "UPDATE passage SET embedding = (array_fill(0.5, ARRAY[8]) || array_fill(0, ARRAY[4]))::vector "
                     "WHERE id = 'p9';"
                     "UPDATE passage SET embedding = array_fill(0.5, ARRAY[4])::vector WHERE id = 'p5'")
    from harness.checks import dimensions

    outcome = checked(dimensions, "passage", PROFILE, empty_db.dsn, embed_server.url)
    assert outcome.status == "failed", outcome.message()
    assert "4 stored vectors are not zeros beyond dimension 8 or not 16 wide" in outcome.found, outcome.found
    assert sorted(o.id for o in outcome.offenders) == ["p3", "p5", "p7", "p9"] and outcome.offending_total == 4


def test_a_run_re_embeds_a_vector_not_padded_to_pad_to_in_an_untyped_column(cli, empty_db, embed_server, tmp_path):
    """It left it (the selection never picked a vector that is there) and said the run was not ok: an unpadded vector
    is of another width than the model's padded, so it is needed as a missing one is."""
    empty_db.execute(PASSAGES.replace("vector(16)", "vector"))
    empty_db.execute("UPDATE passage SET embedding = (array_fill(0.5, ARRAY[8]) || array_fill(0, ARRAY[8]))::vector "
                     "WHERE id = 'p1'")
    empty_db.execute("UPDATE passage SET embedding = array_fill(0.5, ARRAY[8])::vector WHERE id = 'p3'")
    profile = tmp_path / "passage.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    filled = cli("backfill", "--profile", profile, "--collection", "passage", "--json", env=env)
    assert filled.code == 0 and filled.json["embedded"] == 11, filled.out + filled.err
    assert (filled.json["before"]["other_dims"], filled.json["after"]["needed"]) == (1, 0)
    assert empty_db.scalar("SELECT count(*) FROM passage WHERE vector_dims(embedding) <> 16") == 0


def test_every_vector_of_another_width_in_an_untyped_padded_column_is_a_model_switch(cli, empty_db, embed_server,
                                                                                     tmp_path):
    """Measured by its model part (its first 8 values) a 12-wide vector looked the model's own, and a run would replace
    every one of them in place without --approve-model-change."""
    empty_db.execute(PASSAGES.replace("vector(16)", "vector"))
    empty_db.execute("UPDATE passage SET embedding = array_fill(0.5, ARRAY[12])::vector")
    profile = tmp_path / "passage.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    refused = cli("backfill", "--profile", profile, "--collection", "passage", "--json", env=env)
    assert refused.code != 0 and "replacing them is a model switch" in refused.out + refused.err, refused.out
    assert empty_db.scalar("SELECT count(*) FROM passage WHERE vector_dims(embedding) = 12") == 12

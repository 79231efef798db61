"""Model and chunking changes: --into fills a new collection beside the live one (reusing what it can);
swap replaces the live one in one transaction after the DONE gate, with rollback until the old vectors are dropped."""

import threading

from harness.backfill.reuse import PROBES

from ..conftest import TEST_MODEL
from ._engine_servers import FaultyProxy
from .conftest import NEW_MODEL

LIVE, NEW = "tenant_globex", "tenant_globex_v2"


def _env(db, url, model=TEST_MODEL):
    return {"OLLAMA_HOST": url, "EMBED_MODEL": model, "DATABASE_URL": db.dsn}


def _models(db, collection):
    return db.connect().execute(
        "SELECT array_agg(DISTINCT e.model_name ORDER BY e.model_name), count(*) FROM document_chunks c "
        "JOIN document_embeddings e ON e.chunk_id = c.id AND e.collection = c.collection WHERE c.collection = %s",
        (collection,)).fetchone()


def test_into_copies_the_live_chunks_and_reuses_every_unchanged_vector(embedded_db, embed_server, demo_profile, cli):
    with FaultyProxy(embed_server.url) as counter:
        result = cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, "--json",
                     env=_env(embedded_db, counter.url))
    assert result.code == 0, result.err
    out = result.json
    assert (out["copied"], out["reused"], out["embedded"]) == (29, 29, 0)
    assert "Reused 29 existing vectors." in out["summary"]
    assert counter.inputs == PROBES  # only the texts re-embedded to prove the vectors are what this profile makes
    assert _models(embedded_db, NEW) == ([TEST_MODEL], 29)


def test_into_vectors_a_trigger_rewrites_as_they_are_taken_over_are_failed_rows_never_reused(embedded_db, embed_server,
                                                                                           demo_profile, cli):
    # A vector taken over (same text hash and model) is written by INSERT ... SELECT: a trigger writing another one
    # in its place went unseen ('Reused 29 existing vectors.', ok), every vector of the new collection the trigger's.
    embedded_db.execute("CREATE FUNCTION flatten() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        "NEW.embedding := array_fill(0.5, ARRAY[384]); RETURN NEW; END $$; "
                        "CREATE TRIGGER flatten BEFORE INSERT ON document_embeddings FOR EACH ROW "
                        "EXECUTE FUNCTION flatten()")
    result = cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, "--json",
                 env=_env(embedded_db, embed_server.url))
    out = result.json
    assert result.code == 1 and out["ok"] is False, result.out
    assert (out["reused"], out["embedded"], out["failed"]) == (0, 0, 29), result.out
    assert any("not kept as" in note for note in out["notes"]), out["notes"]


def test_into_with_a_new_model_embeds_the_new_collection_and_leaves_the_live_one_alone(embedded_db, v2_server, demo_profile, cli):
    result = cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, "--json",
                 env=_env(embedded_db, v2_server.url, NEW_MODEL))
    assert result.code == 0, result.err
    assert (result.json["copied"], result.json["reused"], result.json["embedded"]) == (29, 0, 29)
    assert _models(embedded_db, NEW) == ([NEW_MODEL], 29)
    assert _models(embedded_db, LIVE) == ([TEST_MODEL], 29)


def test_swap_refuses_a_half_filled_collection_and_changes_nothing(embedded_db, v2_server, demo_profile, cli):
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, "--limit", "10", env=env)
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env)
    assert result.code == 2
    assert "not ready to replace" in result.err and "coverage: expected 29 chunks" in result.err
    assert "found 10 embedded, 19 missing" in result.err
    assert _models(embedded_db, LIVE) == ([TEST_MODEL], 29)


def test_swap_replaces_the_live_collection_then_rollback_and_drop_retired(embedded_db, v2_server, demo_profile, cli):
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0

    swapped = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, "--json", env=env)
    assert swapped.code == 0, swapped.err
    assert swapped.json["gate"]["ok"] and swapped.json["retired"] == LIVE + "__retired"
    assert _models(embedded_db, LIVE) == ([NEW_MODEL], 29)
    assert _models(embedded_db, LIVE + "__retired") == ([TEST_MODEL], 29)
    assert _models(embedded_db, NEW)[1] == 0

    rolled = cli("swap", "--profile", demo_profile, "--rollback", "--to", LIVE, env=env)
    assert rolled.code == 0, rolled.err
    assert _models(embedded_db, LIVE) == ([TEST_MODEL], 29)
    assert _models(embedded_db, NEW) == ([NEW_MODEL], 29)

    assert cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env).code == 0
    dropped = cli("swap", "--profile", demo_profile, "--drop-retired", "--to", LIVE, env=env)
    assert dropped.code == 0, dropped.err
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE collection = %s", (LIVE + "__retired",)) == 0
    assert embedded_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = %s", (LIVE + "__retired",)) == 0
    assert cli("swap", "--profile", demo_profile, "--rollback", "--to", LIVE, env=env).code == 2


def test_a_concurrent_reader_sees_all_old_or_all_new(embedded_db, v2_server, demo_profile, cli):
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    seen, stop = [], threading.Event()

    def read() -> None:
        with embedded_db.connect(autocommit=True) as conn:
            while not stop.is_set():
                models, vectors = conn.execute(
                    "SELECT array_agg(DISTINCT e.model_name), count(*) FROM document_chunks c "
                    "JOIN document_embeddings e ON e.chunk_id = c.id WHERE c.collection = %s", (LIVE,)).fetchone()
                seen.append((tuple(models or ()), vectors))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(3):
            assert cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env).code == 0
            assert cli("swap", "--profile", demo_profile, "--rollback", "--to", LIVE, env=env).code == 0
    finally:
        stop.set()
        reader.join()
    assert seen and set(seen) <= {((TEST_MODEL,), 29), ((NEW_MODEL,), 29)}


def test_swap_refuses_a_new_collection_with_a_vector_filed_under_another_tenant(embedded_db, v2_server, demo_profile, cli):
    """After such a swap the other tenant's filtered search returns this tenant's chunk: verify's tenant_isolation."""
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    embedded_db.execute("UPDATE document_embeddings SET tenant_id = 'acme' WHERE collection = %s AND chunk_id = "
                        "(SELECT min(chunk_id) FROM document_embeddings WHERE collection = %s)", (NEW, NEW))
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, "--json", env=env)
    assert result.code == 2, result.out + result.err
    assert "tenant_isolation" in result.json["error"] and "nothing was swapped" in result.json["error"]
    assert _models(embedded_db, LIVE) == ([TEST_MODEL], 29)


def test_an_override_never_swaps_a_new_collection_holding_one_vector_on_rows_of_different_texts(
        embedded_db, v2_server, demo_profile, cli):
    """--override stands in for the provider; a copied vector is proven wrong without one (distinct_vectors)."""
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    embedded_db.execute("UPDATE document_embeddings SET embedding = (SELECT embedding FROM document_embeddings WHERE "
                        "collection = %(c)s ORDER BY chunk_id LIMIT 1) WHERE collection = %(c)s AND chunk_id = "
                        "(SELECT max(chunk_id) FROM document_embeddings WHERE collection = %(c)s)", {"c": NEW})
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, "--json", "--override", "owner approved",
                 env={**env, "OLLAMA_HOST": ""})
    assert result.code == 2, result.out + result.err
    assert "distinct_vectors" in result.json["error"] and "nothing was swapped" in result.json["error"]
    assert _models(embedded_db, LIVE) == ([TEST_MODEL], 29)


def _swapped(embedded_db, v2_server, demo_profile, cli):
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    assert cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env).code == 0
    return env


def test_rollback_refuses_while_live_holds_a_chunk_edited_since_the_swap_and_changes_nothing(
        embedded_db, v2_server, demo_profile, cli):
    """Rolling back would put the old text back live and leave the edit under NEW's name, unsaid."""
    env = _swapped(embedded_db, v2_server, demo_profile, cli)
    embedded_db.execute("UPDATE document_chunks SET content = content || ' edited after the swap' "
                        "WHERE id = (SELECT min(id) FROM document_chunks WHERE collection = %s)", (LIVE,))
    result = cli("swap", "--profile", demo_profile, "--rollback", "--to", LIVE, "--json", env=env)
    assert result.code == 2, result.out + result.err
    assert "1 chunks added or edited" in result.json["error"] and "nothing was rolled back" in result.json["error"]
    assert _models(embedded_db, LIVE) == ([NEW_MODEL], 29)


def test_rollback_with_an_override_goes_ahead_and_says_what_live_loses(embedded_db, v2_server, demo_profile, cli):
    env = _swapped(embedded_db, v2_server, demo_profile, cli)
    embedded_db.execute("DELETE FROM document_chunks WHERE id = (SELECT min(id) FROM document_chunks WHERE collection = %s)",
                        (LIVE,))
    result = cli("swap", "--profile", demo_profile, "--rollback", "--to", LIVE, "--json", "--override", "owner approved",
                 env=env)
    assert result.code == 0, result.out + result.err
    assert _models(embedded_db, LIVE) == ([TEST_MODEL], 29)
    assert any("1 chunks deleted from" in n and "owner approved" in n for n in result.json["notes"]), result.json


def test_into_takes_over_no_vector_made_from_another_text_than_the_profile_composes(embedded_db, embed_server, tmp_path,
                                                                                 demo_profile, cli):
    """A task prefix added to the profile (as nomic-embed-text needs) and --into to re-embed with it: every live
    vector has the same text hash and model, but none was made with the prefix. They were all taken over ('Reused 29
    existing vectors', 0 embedded, ok)."""
    profile = tmp_path / "prefixed.yaml"
    profile.write_text(demo_profile.read_text().replace("  text: content\n",
                                                        "  text: content\n  text_prefix: 'search_document: '\n"))
    result = cli("backfill", "--profile", profile, "--collection", LIVE, "--into", NEW, "--json",
                 env=_env(embedded_db, embed_server.url))
    assert result.code == 0, result.err
    assert (result.json["copied"], result.json["reused"], result.json["embedded"]) == (29, 0, 29), result.json["summary"]
    assert any("not taken over" in note for note in result.json["notes"]), result.json["notes"]


def test_into_takes_over_nothing_where_the_probe_gets_no_usable_vector(embedded_db, embed_server, demo_profile, cli):
    """A NaN cosine is below no floor: probes answered with NaN vectors read as reproduced and every vector was taken
    over on their word."""
    def nan_for_the_probe(_number, body):
        if len(body.get("input") or []) != PROBES:
            return None
        return ("edit", lambda answer: {**answer, "embeddings": [[float("nan")] * len(v) for v in answer["embeddings"]]})

    with FaultyProxy(embed_server.url, nan_for_the_probe) as proxy:
        result = cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, "--json",
                     env=_env(embedded_db, proxy.url))
    assert result.code == 0, result.err
    assert (result.json["reused"], result.json["embedded"]) == (0, 29), result.json["summary"]
    assert any("not taken over" in note for note in result.json["notes"]), result.json["notes"]

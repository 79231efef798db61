"""Scale-out: worker processes on several Ollama URLs share one backfill through row claims; no row twice."""

import pytest

from harness.embedserver import EmbeddingServer, Pace

from ..conftest import TEST_MODEL

COLLECTION = "global_corpus"


@pytest.fixture
def two_servers():
    # One request at a time, 80 ms each: a worker alone would take about 5 s over global_corpus, so the second worker
    # process starts well before the first could take every range (at 30 ms, served in parallel, the first took them
    # all while the second was still starting on a loaded machine).
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.08, parallel=1)) as a, \
            EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.08, parallel=1)) as b:
        yield a, b


@pytest.mark.slow
def test_two_workers_share_one_backfill_with_no_row_embedded_twice(demo_db, demo_profile, two_servers, cli):
    a, b = two_servers
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--batch-size", "4", "--json",
                 "--workers", "2", "--concurrency", "1", "--provider-url", a.url, "--provider-url", b.url,
                 env={"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": a.url})
    assert result.code == 0, result.out + result.err
    total = demo_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = %s", (COLLECTION,))
    assert a.inputs_served + b.inputs_served == total  # counted at the servers: nothing embedded twice
    assert a.inputs_served > 0 and b.inputs_served > 0
    assert [w["embedded"] > 0 for w in result.json["workers"]] == [True, True]
    assert result.json["embedded"] == total and result.json["summary"].startswith(f"Done. Embedded {total}/{total} rows.")
    assert demo_db.scalar("SELECT count(DISTINCT chunk_id) FROM document_embeddings WHERE collection = %s", (COLLECTION,)) == total
    assert demo_db.scalar("SELECT count(*) FROM backfill_harness.claims WHERE state <> 'done'") == 0


def test_a_worker_joining_a_finished_run_embeds_nothing(demo_db, demo_profile, embed_server, cli):
    env = {"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": embed_server.url}
    first = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r1", "--json", env=env)
    again = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r1", "--json", env=env)
    assert first.json["embedded"] == 29 and again.json["embedded"] == 0 and again.code == 0


def test_claims_left_by_a_dead_worker_are_taken_again(demo_db, demo_profile, embed_server, cli):
    env = {"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": embed_server.url}
    first = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r2",
                "--batch-size", "5", "--json", env=env)
    assert first.code == 0
    # A claim marked taken by a session that no longer exists is free again.
    demo_db.execute("UPDATE backfill_harness.claims SET state = 'taken', taken_by = 999999 WHERE seq = 0")
    demo_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN "
                    "(SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id LIMIT 3)")
    again = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r2", "--json", env=env)
    assert again.json["embedded"] == 3


def test_provider_url_alone_names_the_provider_for_a_worker_on_another_host(demo_db, demo_profile, embed_server, cli,
                                                                           monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "host2", "--json",
                 "--provider-url", embed_server.url, env={"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn})
    assert result.code == 0, result.out + result.err
    assert result.json["embedded"] == 29


@pytest.mark.slow  # two worker processes, each importing the harness
def test_workers_that_all_report_success_while_rows_remain_are_not_ok(demo_db, demo_profile, embed_server, cli):
    """ok comes from the closing count in the database, never from the sum of the workers' reports."""
    env = {"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": embed_server.url}
    args = ("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r3")
    assert cli(*args, env=env).code == 0  # one process of run r3 takes and finishes every range
    # Every range of run r3 is done: its workers will find nothing to claim, and each says it succeeded.
    demo_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN "
                    "(SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id LIMIT 3)")
    again = cli(*args, "--workers", "2", "--json", env=env)
    assert [w["ok"] for w in again.json["workers"]] == [True, True]  # each did its part; the parent counts the whole
    assert all("the process that started the workers counts the collection" in w["part_of_run"]
               for w in again.json["workers"])
    assert again.code == 1 and again.json["ok"] is False
    assert again.json["after"]["needed"] == 3
    assert again.json["problems"] == ["3 of 29 rows of tenant_globex still need a vector after the run"]


def test_the_last_worker_of_a_run_joined_by_hand_counts_the_collection(demo_db, demo_profile, embed_server, cli):
    """Workers joined by hand (the same command on each host) have no parent process to count what is left: the last
    to finish counts it, as a single process does, and is not ok while rows still need a vector."""
    env = {"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": embed_server.url}
    args = ("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r4", "--json")
    assert cli(*args, env=env).code == 0
    demo_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN "
                    "(SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id LIMIT 3)")
    last = cli(*args, env=env)  # every range is done: nothing to take, and no other worker holds one
    assert last.code == 1 and last.json["ok"] is False
    assert last.json["stopped"].startswith("3 of 29 rows of tenant_globex still need a vector after the run")


def test_a_worker_that_ends_while_another_holds_a_range_says_its_count_is_not_the_runs(demo_db, demo_profile,
                                                                                     embed_server, cli):
    import psycopg

    env = {"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": embed_server.url}
    args = ("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r5", "--json")
    assert cli(*args, env=env).code == 0
    with psycopg.connect(demo_db.dsn, autocommit=True) as other:  # a live worker on another host, mid-range
        pid = other.info.backend_pid
        demo_db.execute("UPDATE backfill_harness.claims SET state = 'taken', taken_by = %s, taken_at = now() "
                        "WHERE run_id = 'r5' AND seq = 0", (pid,))
        demo_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN "
                        "(SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id LIMIT 3)")
        ended = cli(*args, env=env)
    assert ended.code == 0 and ended.json["embedded"] == 0 and ended.json["stopped"] is None
    assert ended.json["part_of_run"].startswith("1 ranges of run r5 were still held by other workers")
    assert "the last worker to finish measures the collection" in ended.json["summary"]


def test_counted_by_parent_passed_by_hand_does_not_skip_the_closing_count(demo_db, demo_profile, embed_server, cli):
    """No process started this worker, so none will count the collection: the flag, given by hand, must not turn the
    last worker's count off and let it say ok while rows still need a vector."""
    env = {"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": embed_server.url}
    args = ("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r6", "--json")
    assert cli(*args, env=env).code == 0
    demo_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN "
                    "(SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id LIMIT 3)")
    alone = cli(*args, "--counted-by-parent", "1", env=env)
    assert alone.code == 1 and alone.json["ok"] is False, alone.out + alone.err
    assert alone.json["stopped"].startswith("3 of 29 rows of tenant_globex still need a vector after the run")


def test_a_range_held_by_a_reused_pid_is_not_held_by_a_live_worker(demo_db, demo_profile, embed_server, cli):
    """A worker killed -9 mid-range leaves its pid in the claim; a later session that gets the same pid is not that
    worker: its range is taken again, and the last worker still counts the collection."""
    import psycopg

    env = {"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": embed_server.url}
    args = ("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--run-id", "r7", "--json")
    assert cli(*args, env=env).code == 0
    with psycopg.connect(demo_db.dsn, autocommit=True) as newcomer:  # started after the claim was taken
        demo_db.execute("UPDATE backfill_harness.claims SET state = 'taken', taken_by = %s, "
                        "taken_at = now() - interval '1 hour' WHERE run_id = 'r7' AND seq = 0",
                        (newcomer.info.backend_pid,))
        demo_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN "
                        "(SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id LIMIT 3)")
        again = cli(*args, env=env)
    assert again.json["part_of_run"] is None, again.json["part_of_run"]
    assert again.json["embedded"] == 3 and again.code == 0, again.out + again.err


def test_workers_cut_ranges_of_a_key_type_without_max_such_as_uuid(empty_db, embed_server, cli, tmp_path):
    """Postgres has no max(uuid): the ranges' bounds are each bucket's last key, whatever its type (R2R's and
    LangChain's uuid keys made in Python failed every worker with `function max(uuid) does not exist`)."""
    empty_db.execute("CREATE TABLE pieces (id uuid PRIMARY KEY, content text, embedding vector(384));"
                     "INSERT INTO pieces SELECT gen_random_uuid(), 'piece ' || g FROM generate_series(1, 40) g")
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"name: p\nprovider: {{model: {TEST_MODEL}, dimensions: 384}}\n"
                       "chunks: {table: pieces, id: id, text: content, collection_name: pieces}\n"
                       "embeddings: {vector: embedding}\n")
    result = cli("backfill", "--profile", profile, "--collection", "pieces", "--batch-size", "4", "--workers", "2",
                 "--json", env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert result.code == 0 and result.json["embedded"] == 40, result.out + result.err
    assert empty_db.scalar("SELECT count(*) FROM pieces WHERE embedding IS NULL") == 0


@pytest.mark.slow
def test_two_workers_of_all_re_embed_every_row_once_although_every_row_looks_current(embedded_db, demo_profile,
                                                                                     two_servers, cli):
    a, b = two_servers
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--batch-size", "4", "--json",
                 "--all", "--workers", "2", "--provider-url", a.url, "--provider-url", b.url,
                 env={"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": a.url})
    assert result.code == 0, result.out + result.err
    total = embedded_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = %s", (COLLECTION,))
    assert a.inputs_served + b.inputs_served == total and result.json["embedded"] == total


def test_the_workers_closing_count_says_other_dimensions_unmeasured_where_no_dimension_is_known(
        embedded_db, profile_variant, target_env):
    """An untyped column, no provider.dimensions, and no provider answering the count: the count of the workers' run
    measured no dimension and said nothing of it (a single process's run and `run` say it is unproven)."""
    from harness.backfill.workers import closing_count
    from harness.profile import load_profile
    from harness.settings import resolve

    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    embedded_db.execute("ALTER TABLE document_embeddings ALTER embedding TYPE vector")
    profile = profile_variant({"  dimensions: ${EMBED_DIMENSIONS:-384}\n": ""})
    env = {**target_env, "DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": "http://127.0.0.1:9"}
    state, unproven = closing_count(resolve(load_profile(profile, env=env), database_url=embedded_db.dsn, env=env),
                                    "tenant_globex")
    assert state.other_dims is None and state.needed == 0
    assert unproven and "vectors of another dimension unmeasured" in unproven, unproven


@pytest.fixture
def renamed_server():
    """The test model also served under another name: a second model as the harness names them."""
    with EmbeddingServer(models=[TEST_MODEL], aliases={"other-embed:latest": TEST_MODEL}) as server:
        yield server


def test_a_run_resumed_with_another_model_is_refused_before_it_writes(embedded_db, profile_variant, renamed_server,
                                                                       cli):
    """Run ``rm`` re-embeds every row (--all) with one model and stops after its first range; resumed under the same
    run id with another model, the ranges already done keep the first model's vectors. Without a model column no
    count tells the two apart, and the resumed run said ``ok`` over a collection embedded by two models."""
    embedded_db.execute("ALTER TABLE document_embeddings DROP COLUMN model_name")
    profile = profile_variant({"  model: model_name\n": ""})
    env = {"DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": renamed_server.url}
    args = ("backfill", "--profile", profile, "--collection", "tenant_globex", "--run-id", "rm", "--all",
            "--batch-size", "5", "--json")
    first = cli(*args, env={**env, "EMBED_MODEL": TEST_MODEL})
    assert first.code == 0, first.json["error"]
    embedded_db.execute("UPDATE backfill_harness.claims SET state = 'todo' WHERE run_id = 'rm' AND seq >= 1")
    served = renamed_server.inputs_served
    resumed = cli(*args, "--approve-model-change", env={**env, "EMBED_MODEL": "other-embed"})
    assert resumed.code == 2 and resumed.json["ok"] is False, resumed.out + resumed.err
    assert "run 'rm' was started with model 'hash-embed:384'" in resumed.out, resumed.out
    assert renamed_server.inputs_served == served  # nothing embedded, so nothing written
    assert embedded_db.scalar("SELECT count(*) FROM backfill_harness.claims WHERE run_id = 'rm' AND state = 'todo'") == 1


def test_a_run_resumed_with_another_task_prefix_is_refused_before_it_writes(embedded_db, profile_variant,
                                                                             embed_server, cli):
    """The same model, the profile's chunks.text_prefix edited between two parts of one --all run: the ranges done
    hold vectors of the old prefix, which no count can tell apart (the input hash is of the text as stored)."""
    env = {"DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": embed_server.url, "EMBED_MODEL": TEST_MODEL}
    args = ("--collection", "tenant_globex", "--run-id", "rp", "--all", "--batch-size", "5", "--json")
    first = profile_variant({"  text: content\n": "  text: content\n  text_prefix: 'passage: '\n"})
    assert cli("backfill", "--profile", first, *args, env=env).code == 0
    embedded_db.execute("UPDATE backfill_harness.claims SET state = 'todo' WHERE run_id = 'rp' AND seq >= 1")
    served = embed_server.inputs_served
    edited = profile_variant({"  text: content\n": "  text: content\n  text_prefix: 'search_document: '\n"})
    resumed = cli("backfill", "--profile", edited, *args, env=env)
    assert resumed.code == 2 and resumed.json["ok"] is False, resumed.out + resumed.err
    assert "chunks.text_prefix 'passage: ' then, 'search_document: ' now" in resumed.json["error"], resumed.out
    assert embed_server.inputs_served == served

"""backfill --keys-from and --all: re-embed the rows a check flagged, or every row, even when their state looks current."""

import json
import time

import psycopg
import pytest
from psycopg.rows import dict_row

from harness.backfill import BackfillOptions, run_backfill
from harness.backfill.selection import read_keys
from harness.db import as_array
from harness.errors import ConfigError
from harness.profile import load_profile, parse_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL

COLLECTION = "tenant_globex"


def vectors(db, ids):
    with db.connect() as conn:
        return {r[0]: [round(float(x), 5) for x in as_array(r[1])] for r in conn.execute(
            "SELECT chunk_id, embedding FROM document_embeddings WHERE chunk_id = ANY(%s)", (ids,)).fetchall()}


@pytest.fixture
def misaligned(embedded_db):
    """Three globex rows carry the first row's vector (a copy): hash and model still say current."""
    ids = [r[0] for r in embedded_db.connect().execute(
        "SELECT id FROM document_chunks WHERE collection = %s ORDER BY id", (COLLECTION,)).fetchall()]
    good = vectors(embedded_db, ids)
    bad = ids[1:4]
    embedded_db.execute("UPDATE document_embeddings SET embedding = (SELECT embedding FROM document_embeddings "
                        "WHERE chunk_id = %s) WHERE chunk_id = ANY(%s)", (ids[0], bad))
    return embedded_db, ids, bad, good


def backfill(cli, db, demo_profile, demo_env, *args):
    return cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--json", *args,
               env={**demo_env, "DATABASE_URL": db.dsn})


def test_keys_from_offenders_re_embeds_exactly_the_listed_rows(cli, misaligned, demo_profile, demo_env, tmp_path):
    db, ids, bad, good = misaligned
    offenders = tmp_path / "offenders.jsonl"
    lines = [{"check": "duplicates", "key": k, "collection": COLLECTION, "tenant": "globex", "detail": "copied"} for k in bad]
    lines.append({"check": "coverage", "key": 999999, "collection": "tenant_acme", "tenant": "acme", "detail": "other"})
    offenders.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = backfill(cli, db, demo_profile, demo_env, "--keys-from", offenders)
    assert result.code == 0, result.out + result.err
    assert result.json["selected"] == 3 and result.json["embedded"] == 3 and result.json["keys"] == 3
    assert vectors(db, ids) == good


def test_keys_from_a_plain_file_of_keys(cli, misaligned, demo_profile, demo_env, tmp_path):
    db, ids, bad, good = misaligned
    listed = tmp_path / "keys.txt"
    listed.write_text("".join(f"{k}\n" for k in bad))
    result = backfill(cli, db, demo_profile, demo_env, "--keys-from", listed)
    assert result.code == 0 and result.json["embedded"] == 3
    assert vectors(db, ids) == good


def test_keys_from_dry_run_writes_nothing_and_says_how_many_keys(cli, misaligned, demo_profile, demo_env, tmp_path):
    db, ids, bad, good = misaligned
    listed = tmp_path / "keys.txt"
    listed.write_text("".join(f"{k}\n" for k in bad))
    result = backfill(cli, db, demo_profile, demo_env, "--keys-from", listed, "--dry-run")
    assert result.code == 0 and "3 listed keys would be embedded again" in result.json["summary"]
    assert vectors(db, bad) != {k: good[k] for k in bad}


def test_keys_from_a_file_with_no_key_of_the_collection_is_refused(tmp_path):
    path = tmp_path / "offenders.jsonl"
    path.write_text(json.dumps({"check": "x", "key": 1, "collection": "other"}) + "\n")
    with pytest.raises(ConfigError, match="lists no key of collection 'mine'"):
        read_keys(str(path), "mine")


def test_keys_from_a_line_without_a_key_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "offenders.jsonl"
    path.write_text('{"check": "x", "collection": "c"}\n')
    with pytest.raises(ConfigError, match="line 1 has no 'key'"):
        read_keys(str(path), "c")


def test_keys_are_text_in_file_order_without_repeats(tmp_path):
    path = tmp_path / "keys.txt"
    path.write_text("b\n# a comment\n\na\nb\n" + json.dumps({"key": 7, "collection": "c"}) + "\n")
    assert read_keys(str(path), "c") == ("b", "a", "7")


def test_keys_that_no_longer_exist_are_counted_and_named_not_claimed(cli, misaligned, demo_profile, demo_env, tmp_path):
    db, ids, bad, good = misaligned
    gone = [ids[-1], ids[-2]]
    db.execute("DELETE FROM document_chunks WHERE id = ANY(%s)", (gone,))
    listed = tmp_path / "keys.txt"
    listed.write_text("".join(f"{k}\n" for k in [*bad, *gone]))
    result = backfill(cli, db, demo_profile, demo_env, "--keys-from", listed)
    assert result.code == 0, result.out + result.err
    out = result.json
    assert (out["keys"], out["keys_found"], out["keys_missing"]) == (5, 3, 2)
    assert out["keys_missing_sample"] == [str(k) for k in gone]
    assert out["embedded"] == 3 and "2 of 5 listed keys no longer exist" in out["summary"]
    text = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--keys-from", listed,
               env={**demo_env, "DATABASE_URL": db.dsn})
    assert text.code == 0 and f"2 of 5 listed keys no longer exist in {COLLECTION}" in text.out
    assert f"{gone[0]}, {gone[1]}" in text.out and "Embedded 3/3 rows" in text.out


def test_keys_that_all_no_longer_exist_are_refused_with_nothing_written(cli, misaligned, demo_profile, demo_env, tmp_path):
    db, ids, bad, good = misaligned
    listed = tmp_path / "keys.txt"
    listed.write_text("999998\n999999\n")
    before = vectors(db, ids)
    result = backfill(cli, db, demo_profile, demo_env, "--keys-from", listed)
    assert result.code == 2 and result.json["ok"] is False
    assert "none of the 2 listed keys" in result.json["error"] and "999998" in result.json["error"]
    assert "\n" not in result.json["error"] and vectors(db, ids) == before


def test_keys_dry_run_counts_the_keys_that_no_longer_exist(cli, misaligned, demo_profile, demo_env, tmp_path):
    db, ids, bad, good = misaligned
    listed = tmp_path / "keys.txt"
    listed.write_text("".join(f"{k}\n" for k in [*bad, 999999]))
    result = backfill(cli, db, demo_profile, demo_env, "--keys-from", listed, "--dry-run")
    assert result.code == 0 and "3 of 4 listed keys would be embedded again" in result.json["summary"]
    assert result.json["keys_missing"] == 1 and result.json["keys_missing_sample"] == ["999999"]


def collection_vectors(db, collection=COLLECTION):
    with db.connect() as conn:
        return {r[0]: [round(float(x), 5) for x in as_array(r[1])] for r in conn.execute(
            "SELECT e.chunk_id, e.embedding FROM document_embeddings e JOIN document_chunks c ON c.id = e.chunk_id "
            "WHERE c.collection = %s", (collection,)).fetchall()}


def test_all_re_embeds_every_chunk_of_the_collection_even_those_that_look_current(cli, misaligned, demo_profile,
                                                                                  demo_env):
    db, ids, bad, good = misaligned
    other = collection_vectors(db, "tenant_acme")
    result = backfill(cli, db, demo_profile, demo_env, "--all")
    assert result.code == 0, result.out + result.err
    assert result.json["selected"] == len(ids) and result.json["embedded"] == len(ids)
    assert vectors(db, ids) == good and collection_vectors(db, "tenant_acme") == other


def test_all_dry_run_counts_every_chunk_and_writes_nothing(cli, misaligned, demo_profile, demo_env):
    db, ids, bad, good = misaligned
    before = vectors(db, ids)
    result = backfill(cli, db, demo_profile, demo_env, "--all", "--dry-run")
    assert result.code == 0, result.out + result.err
    assert f"all {len(ids)} chunks with a text would be embedded again" in result.json["summary"]
    assert vectors(db, ids) == before


def test_all_beside_keys_from_is_refused_with_nothing_written(cli, misaligned, demo_profile, demo_env, tmp_path):
    db, ids, bad, good = misaligned
    listed = tmp_path / "keys.txt"
    listed.write_text("".join(f"{k}\n" for k in bad))
    before = vectors(db, ids)
    result = backfill(cli, db, demo_profile, demo_env, "--all", "--keys-from", listed)
    assert result.code == 2 and vectors(db, ids) == before


def test_all_never_takes_over_a_vector_of_another_collection(cli, misaligned, demo_profile, demo_env):
    """Reuse would copy a vector made under what --all is run to replace (a prefix, a re-pulled model)."""
    db, ids, bad, good = misaligned
    result = backfill(cli, db, demo_profile, demo_env, "--all")
    assert result.code == 0 and result.json["reused"] == 0 and result.json["embedded"] == len(ids)


def test_a_run_of_all_given_its_run_id_again_embeds_only_the_ranges_it_had_not_finished(cli, misaligned, demo_profile,
                                                                                       demo_env):
    db, ids, bad, good = misaligned
    options = ("--all", "--run-id", "again-1", "--rows-per-claim", "2", "--batch-size", "2")
    first = backfill(cli, db, demo_profile, demo_env, *options)
    assert first.code == 0 and first.json["embedded"] == len(ids), first.out + first.err
    # As a run killed part way leaves it: its first range done, the others not; and since then a vector of the done
    # range and one of the last range spoiled (a copy of the first row's).
    db.execute("UPDATE backfill_harness.claims SET state = 'todo', done_at = NULL WHERE run_id = 'again-1' AND seq > 0")
    db.execute("UPDATE document_embeddings SET embedding = (SELECT embedding FROM document_embeddings "
               "WHERE chunk_id = %s) WHERE chunk_id = ANY(%s)", (ids[0], [ids[1], ids[-1]]))
    rest = backfill(cli, db, demo_profile, demo_env, *options)
    assert rest.code == 0, rest.out + rest.err
    assert rest.json["embedded"] == len(ids) - 2
    now = vectors(db, ids)
    assert now[ids[-1]] == good[ids[-1]] and now[ids[1]] == good[ids[0]]


def test_joining_a_run_of_all_without_all_is_refused(cli, misaligned, demo_profile, demo_env):
    db, ids, bad, good = misaligned
    first = backfill(cli, db, demo_profile, demo_env, "--all", "--run-id", "again-2")
    assert first.code == 0, first.out + first.err
    joined = backfill(cli, db, demo_profile, demo_env, "--run-id", "again-2")
    assert joined.code == 2 and "--all" in joined.json["error"] and "\n" not in joined.json["error"]


def test_a_run_id_of_another_collection_is_refused_not_taken_as_that_runs_finished_ranges(cli, misaligned, demo_profile,
                                                                                         demo_env):
    """Run ids are one namespace: a second collection's --all given the first's id found its ranges all done and
    reported every row re-embedded having embedded none."""
    db, ids, bad, good = misaligned
    first = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--json", "--all", "--run-id",
                "shared-1", env={**demo_env, "DATABASE_URL": db.dsn})
    assert first.code == 0, first.out + first.err
    before = vectors(db, ids)
    second = backfill(cli, db, demo_profile, demo_env, "--all", "--run-id", "shared-1")
    assert second.code == 2, second.out + second.err
    assert "tenant_acme" in second.json["error"] and "\n" not in second.json["error"]
    assert vectors(db, ids) == before


def test_all_dry_run_with_a_limit_says_only_the_limit_would_be_embedded(cli, misaligned, demo_profile, demo_env):
    db, ids, bad, good = misaligned
    result = backfill(cli, db, demo_profile, demo_env, "--all", "--dry-run", "--limit", "3")
    assert result.code == 0, result.out + result.err
    assert f"--all: 3 of the {len(ids)} chunks with a text would be embedded again" in result.json["summary"]
    assert f"all {len(ids)}" not in result.json["summary"]


class AnotherWorkerOfTheRun(OllamaProvider):
    """A real provider for the worker under test; beside it another worker of the same run (a session of its own)
    takes a range on the first request and holds it (locked, so it is never taken over while that worker lives)."""

    def __init__(self, url, db, run_id):
        super().__init__(url, TEST_MODEL)
        self.db, self.run_id, self.other = db, run_id, None

    def embed(self, texts, *args, **kwargs):
        from harness.backfill import claims

        if self.other is None:
            self.other = psycopg.connect(self.db.dsn, autocommit=True, row_factory=dict_row)
            seq = claims.take(self.other, self.run_id).seq
            self.other.autocommit = False
            self.other.execute("SELECT 1 FROM backfill_harness.claims WHERE run_id = %s AND seq = %s FOR UPDATE",
                               (self.run_id, seq))
        return super().embed(texts, *args, **kwargs)


def test_a_worker_of_all_is_not_ok_while_a_range_of_its_run_is_left_unfinished(misaligned, demo_profile, embed_server):
    """No count sees a range --all left undone (its rows look current): the run's ranges say it. The other worker
    dies, its range part done, as this one writes its last batch, after it found no free range left."""
    db, ids, bad, good = misaligned
    settings = resolve(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}), database_url=db.dsn,
                       provider_url=embed_server.url)
    options = BackfillOptions(collection=COLLECTION, every=True, run_id="dies-1", rows_per_claim=2, batch_size=2,
                              concurrency=4, progress=False)
    with AnotherWorkerOfTheRun(embed_server.url, db, "dies-1") as provider:
        def on_batch(summary):
            if summary.embedded == len(ids) - 2:
                pid = provider.other.info.backend_pid
                provider.other.close()
                while db.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)):
                    time.sleep(0.01)  # its session is gone before this worker looks for live ones

        summary = run_backfill(settings, options, provider=provider, on_batch=on_batch)
    left = db.scalar("SELECT count(*) FROM backfill_harness.claims WHERE run_id = 'dies-1' AND state <> 'done'")
    assert provider.other.closed and left == 1 and not summary.ok
    assert "1 range" in summary.stopped and "dies-1" in summary.stopped


def test_all_given_the_id_of_a_finished_run_says_it_embedded_nothing_again(cli, misaligned, demo_profile, demo_env):
    """A script's fixed --run-id: the second --all found every range done and said 'Done. Embedded 0/0 rows.' alone,
    the misaligned vectors left as they were."""
    db, ids, bad, good = misaligned
    assert backfill(cli, db, demo_profile, demo_env, "--all", "--run-id", "nightly").code == 0
    db.execute("UPDATE document_embeddings SET embedding = (SELECT embedding FROM document_embeddings "
               "WHERE chunk_id = %s) WHERE chunk_id = ANY(%s)", (ids[0], bad))
    again = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--all", "--run-id", "nightly",
                env={**demo_env, "DATABASE_URL": db.dsn})
    assert again.code == 0 and "Embedded 0/0 rows" in again.out, again.out + again.err
    assert "run nightly had every range done before this process took one" in again.out, again.out
    assert "--all with a new run id (or none) re-embeds every row" in again.out


TEXT_KEYS = """
name: text-keys
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection_name: notes}
embeddings: {table: notes, key: id, vector: embedding, model: model}
"""


def test_a_plain_key_with_trailing_spaces_re_embeds_that_row_not_the_one_without(empty_db, embed_server, tmp_path):
    """'a ' and 'a' are two text keys: a plain list names each exactly as written (only the line's end removed)."""
    empty_db.execute("CREATE TABLE notes (id text PRIMARY KEY, body text NOT NULL, embedding vector(384), model text)")
    empty_db.execute("INSERT INTO notes (id, body) VALUES ('a', 'first note'), ('a ', 'second note'), (' b', 'third')")
    settings = resolve(parse_profile(TEXT_KEYS, env={}), database_url=empty_db.dsn,
                       env={"OLLAMA_HOST": embed_server.url})
    run_backfill(settings, BackfillOptions(collection="notes", progress=False))
    empty_db.execute("UPDATE notes SET embedding = NULL WHERE id IN ('a ', ' b')")
    listed = tmp_path / "keys.txt"
    listed.write_text("a \r\n\n \n b\n")
    assert read_keys(str(listed), "notes") == ("a ", " b")
    summary = run_backfill(settings, BackfillOptions(collection="notes", progress=False,
                                                     keys=read_keys(str(listed), "notes")))
    assert summary.embedded == 2
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE embedding IS NULL") == 0

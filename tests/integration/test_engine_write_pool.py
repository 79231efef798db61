"""Batches written by several sessions at once (``--writers``): each batch one transaction, counted in the order
it was selected, a failed write raised in that order, and the run's own sessions never reported as blockers."""

import logging
import threading
import time
import uuid

import numpy as np
import pytest

from harness.backfill import BackfillOptions, lock, run_backfill
from harness.backfill.writepool import WritePool
from harness.backfill.writer import BatchWriter, Vectors
from harness.db import APPLICATION_NAME, connect
from harness.errors import HarnessError
from harness.profile import load_profile, parse_profile
from harness.provider import OllamaProvider
from harness.settings import resolve
from harness.target import Target

from ..conftest import TEST_MODEL
from ..reliability.faultproxy import wait_until
from ._engine_servers import FaultyProxy

# Each statement that writes embeddings logs its session and row count, then takes SLOW seconds: long enough that the
# next batch is embedded while one is still being written.
SLOW = 0.15
WRITE_LOG = f"""
CREATE TABLE write_log (pid int, rows int, ended timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO write_log (pid, rows) SELECT pg_backend_pid(), count(*) FROM new_rows;
  IF EXISTS (SELECT 1 FROM new_rows WHERE input_hash = 'slow') THEN PERFORM pg_sleep(1); END IF;
  IF EXISTS (SELECT 1 FROM new_rows WHERE input_hash = 'refused') THEN RAISE EXCEPTION 'refused by the app'; END IF;
  PERFORM pg_sleep({SLOW});
  RETURN NULL;
END $$;
CREATE TRIGGER log_write AFTER INSERT ON document_embeddings REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION log_write();
"""


@pytest.fixture
def logged_db(demo_db):
    demo_db.execute(WRITE_LOG)
    return demo_db


def _backfill(db, demo_profile, embed_server, *, url=None, on_batch=None, **options):
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(url or embed_server.url, TEST_MODEL, retries=0) as provider:
        return run_backfill(resolve(profile, database_url=db.dsn, provider_url=provider.url),
                            BackfillOptions("tenant_globex", batch_size=5, progress=False, **options), provider=provider,
                            on_batch=on_batch)


def test_two_write_sessions_write_the_batches_of_one_run(logged_db, demo_profile, embed_server):
    summary = _backfill(logged_db, demo_profile, embed_server, writers=2)
    assert summary.ok and summary.embedded == 29 and summary.batches == 6 and summary.writers == 2
    assert logged_db.scalar("SELECT count(DISTINCT pid) FROM write_log") == 2
    assert logged_db.scalar("SELECT sum(rows) FROM write_log") == 29
    assert logged_db.scalar("SELECT count(DISTINCT chunk_id) FROM document_embeddings") == 29


def test_one_writer_writes_every_batch_in_one_session(logged_db, demo_profile, embed_server):
    summary = _backfill(logged_db, demo_profile, embed_server, writers=1)
    assert summary.ok and summary.embedded == 29 and summary.writers == 1
    assert logged_db.scalar("SELECT count(DISTINCT pid) FROM write_log") == 1


def test_a_run_with_nothing_to_write_counts_no_writer(embedded_db, demo_profile, embed_server):
    summary = _backfill(embedded_db, demo_profile, embed_server, writers=2)
    assert summary.ok and summary.embedded == 0 and summary.writers == 0


def test_the_write_stage_is_wall_time_not_the_sum_of_overlapping_writes(logged_db, demo_profile, embed_server):
    summary = _backfill(logged_db, demo_profile, embed_server, writers=2)
    assert summary.write_seconds < 6 * SLOW, summary.write_seconds  # six writes of SLOW each, two at a time


def _pool(db, demo_profile, size=2):
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))
    first = BatchWriter(connect(db.dsn), target, TEST_MODEL)
    return WritePool(first, lambda: BatchWriter(connect(db.dsn), target, TEST_MODEL), size)


def _vectors(db, offset, n, text_hash):
    keys = [r[0] for r in db.connect().execute(
        "SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id OFFSET %s LIMIT %s",
        (offset, n)).fetchall()]
    rng = np.random.default_rng(offset)
    return Vectors(keys, rng.standard_normal((n, 384)).astype(np.float32), [text_hash] * n, ["tenant_globex"] * n,
                   [None] * n, [False] * n)


def test_batches_land_in_submission_order_when_a_later_write_ends_first(logged_db, demo_profile):
    pool = _pool(logged_db, demo_profile)
    try:
        pool.submit("first", _vectors(logged_db, 0, 3, "slow"), None)
        pool.submit("second", _vectors(logged_db, 3, 3, "h"), None)
        landed = list(pool.landed(keep=0))
    finally:
        pool.close()
    assert [tag for tag, _ in landed] == ["first", "second"]
    assert landed[1][1].ended < landed[0][1].ended  # the second's write ended first, and still came second
    assert logged_db.scalar("SELECT count(*) FROM document_embeddings") == 6


def test_a_failed_write_is_raised_after_the_batches_before_it(logged_db, demo_profile):
    pool = _pool(logged_db, demo_profile)
    seen = []
    try:
        pool.submit("first", _vectors(logged_db, 0, 3, "h"), None)
        pool.submit("second", _vectors(logged_db, 3, 3, "refused"), None)
        with pytest.raises(HarnessError, match="writing a batch of 3 vectors failed: .*refused by the app"):
            for tag, _ in pool.landed(keep=0):
                seen.append(tag)
    finally:
        pool.close()
    assert seen == ["first"]
    assert logged_db.scalar("SELECT count(*) FROM document_embeddings") == 3  # the failed batch wrote nothing


def _refuse_key(db, offset, pause=0.0, refuse=True):
    """The app refuses the row of tenant_globex's chunk number ``offset`` (in key order), after ``pause`` seconds
    (or only takes that long to accept it)."""
    raises = "RAISE EXCEPTION 'refused by the app';" if refuse else ""
    db.execute(f"CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"IF NEW.chunk_id = (SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id "
               f"OFFSET {offset} LIMIT 1) THEN PERFORM pg_sleep({pause}); {raises} "
               "END IF; RETURN NEW; END $$; "
               "CREATE TRIGGER refuse_one BEFORE INSERT ON document_embeddings FOR EACH ROW EXECUTE FUNCTION refuse_one()")


def test_a_run_whose_write_fails_leaves_no_session_in_a_transaction(logged_db, demo_profile, embed_server):
    _refuse_key(logged_db, 28)  # the last one
    with pytest.raises(HarnessError, match="refused by the app"):
        _backfill(logged_db, demo_profile, embed_server, writers=2)
    assert logged_db.scalar("SELECT count(*) FROM document_embeddings") == 25  # every batch but the last one
    assert wait_until(lambda: logged_db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                               "AND state LIKE 'idle in transaction%'") == 0, timeout_s=2)


def test_fail_fast_writes_nothing_after_a_batch_whose_write_failed(logged_db, demo_profile, embed_server):
    _refuse_key(logged_db, 12, pause=0.5)  # the third batch's write fails while the next ones are embedded
    with pytest.raises(HarnessError, match="refused by the app"):
        _backfill(logged_db, demo_profile, embed_server, writers=2, on_failure="fail-fast")
    assert logged_db.scalar("SELECT count(*) FROM document_embeddings") == 10  # the two batches before it, only


def test_no_write_starts_after_a_write_failed(logged_db, demo_profile):
    pool = _pool(logged_db, demo_profile, size=1)
    try:
        pool.submit("first", _vectors(logged_db, 0, 3, "refused"), None)
        pool.submit("second", _vectors(logged_db, 3, 3, "h"), None)
        time.sleep(3 * SLOW)  # the writer is free again long before the failure is seen in order
        with pytest.raises(HarnessError, match="refused by the app"):
            list(pool.landed(keep=0))
    finally:
        pool.close()
    assert logged_db.scalar("SELECT count(*) FROM document_embeddings") == 0


def test_a_batch_waiting_for_the_writer_of_a_failed_write_is_not_written(logged_db, demo_profile):
    _refuse_key(logged_db, 0, pause=3 * SLOW)
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))

    def no_slot():
        raise HarnessError("too many clients already")

    pool = WritePool(BatchWriter(connect(logged_db.dsn), target, TEST_MODEL), no_slot, 2)
    try:
        pool.submit("first", _vectors(logged_db, 0, 3, "h"), None)
        pool.submit("second", _vectors(logged_db, 3, 3, "h"), None)  # waits for the one session while the first fails
        time.sleep(6 * SLOW)
        with pytest.raises(HarnessError, match="refused by the app"):
            list(pool.landed(keep=0))
    finally:
        pool.close()
    assert logged_db.scalar("SELECT count(*) FROM document_embeddings") == 0


def test_a_write_error_is_raised_before_the_provider_failure_of_a_later_batch(logged_db, demo_profile, embed_server):
    _refuse_key(logged_db, 5, pause=0.5)  # the second batch's write fails after the third batch's request did
    fault = lambda n, body: ("status", 503, "overloaded") if n >= 3 else None  # noqa: E731
    with FaultyProxy(embed_server.url, fault) as proxy, pytest.raises(HarnessError) as raised:
        _backfill(logged_db, demo_profile, embed_server, url=proxy.url, writers=2)
    assert "refused by the app" in str(raised.value)  # the first failure in key order, not the provider's
    assert wait_until(lambda: logged_db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                               "AND application_name = %s", (APPLICATION_NAME,)) == 0, timeout_s=2)


def test_ctrl_c_stops_the_writes_in_flight_and_leaves_no_session(logged_db, demo_profile, embed_server):
    _refuse_key(logged_db, 5, pause=10, refuse=False)  # the second batch's write would take 10 s

    def interrupt(summary):
        raise KeyboardInterrupt  # after the first batch is counted, while the second is being written

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _backfill(logged_db, demo_profile, embed_server, writers=2, on_batch=interrupt)
    assert time.monotonic() - started < 5  # the write in flight was stopped, not waited for
    # It rolled back whole (a batch a writer took just before the interrupt may have landed whole too).
    assert logged_db.scalar("SELECT count(*) FROM document_embeddings WHERE chunk_id IN (SELECT id FROM document_chunks "
                            "WHERE collection = 'tenant_globex' ORDER BY id OFFSET 5 LIMIT 5)") == 0
    # A closed session's backend leaves pg_stat_activity a moment after its client hung up (later under load).
    assert wait_until(lambda: logged_db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                               "AND application_name = %s", (APPLICATION_NAME,)) == 0, timeout_s=2)


def test_a_worker_holds_its_claim_until_its_writes_in_flight_are_stopped(logged_db, demo_profile, embed_server,
                                                                       monkeypatch):
    _refuse_key(logged_db, 5, pause=10, refuse=False)  # the second batch of the first range is being written
    held, cancel = [], WritePool.cancel

    def cancel_seeing_the_claims(pool):
        # Another worker may take a range whose taker is gone: not while a write of it may still commit.
        held.append(logged_db.scalar("SELECT count(*) FROM backfill_harness.claims k WHERE seq = 0 AND state = 'taken' "
                                     "AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = k.taken_by)"))
        cancel(pool)

    def interrupt(summary):
        raise KeyboardInterrupt

    monkeypatch.setattr(WritePool, "cancel", cancel_seeing_the_claims)
    with pytest.raises(KeyboardInterrupt):
        _backfill(logged_db, demo_profile, embed_server, writers=2, run_id="held", on_batch=interrupt)
    assert held == [1]


def test_a_wait_between_the_runs_own_sessions_is_not_reported(embedded_db, monkeypatch, caplog):
    monkeypatch.setattr(lock, "POLL_S", 0.02)
    with embedded_db.connect() as holder, embedded_db.connect() as waiter:
        holder.execute("LOCK TABLE document_embeddings IN SHARE MODE")
        def watch_session():
            return connect(embedded_db.dsn, autocommit=True)

        ours, theirs = lock.WaitWatch(watch_session, [holder, waiter]), lock.WaitWatch(watch_session, [waiter])
        with caplog.at_level(logging.WARNING, logger="harness.backfill"), ours, theirs:
            blocked = threading.Thread(target=lambda: waiter.execute("DELETE FROM document_embeddings WHERE false"))
            blocked.start()
            blocked.join(0.5)
            holder.rollback()
            blocked.join()
        waiter.rollback()
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting for a lock held by")]
    assert len(waits) == 1, waits  # the watch of the waiter alone names the holder; the run's own watch does not


def test_a_write_that_waits_too_long_names_its_blocker_not_another_writer_of_the_pool(logged_db, demo_profile):
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))

    def writer():
        conn = connect(logged_db.dsn)
        conn.execute("SET lock_timeout = 300")
        conn.commit()
        return BatchWriter(conn, target, TEST_MODEL)

    first, blocked = writer(), _vectors(logged_db, 3, 3, "h")
    pool = WritePool(first, writer, 2)
    with logged_db.connect() as other:  # inserts one of the second batch's keys and holds it uncommitted
        other.execute("INSERT INTO document_embeddings (chunk_id, collection, embedding, model_name, input_hash) "
                      "VALUES (%s, 'tenant_globex', array_fill(0, ARRAY[384])::vector, 'm', 'x')", (blocked.keys[0],))
        try:
            pool.submit("first", _vectors(logged_db, 0, 3, "slow"), None)  # the first writer holds the table 1 s
            time.sleep(SLOW)
            pool.submit("second", blocked, None)
            with pytest.raises(HarnessError, match="waited 30 s for a lock held by") as raised:
                list(pool.landed(keep=0))
        finally:
            pool.close()
            other.rollback()
        assert f"backend pid {other.info.backend_pid}," in str(raised.value)
    assert f"backend pid {first.conn.info.backend_pid}," not in str(raised.value), str(raised.value)


def test_a_session_that_cannot_be_opened_leaves_every_write_to_those_open(logged_db, demo_profile, caplog):
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))

    def no_slot():
        raise HarnessError("too many clients already")

    pool = WritePool(BatchWriter(connect(logged_db.dsn), target, TEST_MODEL), no_slot, 2)
    try:
        with caplog.at_level(logging.WARNING, logger="harness.backfill"):
            pool.submit("first", _vectors(logged_db, 0, 3, "h"), None)
            pool.submit("second", _vectors(logged_db, 3, 3, "h"), None)
            landed = [tag for tag, written in pool.landed(keep=0) if written.rows == 3]
    finally:
        pool.close()
    assert landed == ["first", "second"] and len(pool.writers) == 1
    assert "no session to spare for another writer (too many clients already); writing with 1" in caplog.text
    assert logged_db.scalar("SELECT count(DISTINCT pid) FROM write_log") == 1


def _backfill_as_a_role(db, pg, url: str, setup, profile: str, options: BackfillOptions):
    """Backfill as a login role of its own, through the provider at ``url``, once ``setup(role)`` (SQL: the tables,
    their policies and the role's grants) has run; the role is dropped after. The run's summary."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw'")
    try:
        db.execute(setup(role))
        with OllamaProvider(url, "hash-embed:384") as provider:
            return run_backfill(resolve(parse_profile(profile, env={}), provider_url=provider.url,
                                        database_url=pg.dsn(db.name, user=role, password="app-secret-pw")),
                                options, provider=provider)
    finally:
        db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


_NOTES_PROFILE = ("name: n\nprovider: {model: hash-embed:384}\nchunks: {table: notes, text: body, "
                  "collection_name: notes}\ndatabase: {session: {app.who: backfill}}\n")


def _notes_kept(rows: int, kept: int):
    """notes of ``rows`` rows with an inline vector column, the policies letting a role read every row but not update
    note ``kept``."""
    return lambda role: ("CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL, embedding vector(384));"
                         f"INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, {rows}) g;"
                         "ALTER TABLE notes ENABLE ROW LEVEL SECURITY; CREATE POLICY seen ON notes FOR SELECT USING (true);"
                         f"CREATE POLICY kept ON notes FOR UPDATE USING (id <> {kept});"
                         f"GRANT SELECT, UPDATE ON notes TO {role}")


def test_a_batch_with_nothing_to_write_names_no_row_another_batch_could_not_update(empty_db, pg, embed_server):
    nan = lambda answer: {**answer, "embeddings": [[float("nan")] * 384 for _ in answer["embeddings"]]}  # noqa: E731
    fault = lambda n, body: ("edit", nan) if n == 2 else None  # noqa: E731  # every row of the second batch refused
    with FaultyProxy(embed_server.url, fault) as proxy:
        summary = _backfill_as_a_role(empty_db, pg, proxy.url, _notes_kept(10, 3), _NOTES_PROFILE,
                                      BackfillOptions("notes", batch_size=5, progress=False, writers=1))
    not_updated = [f.key for f in summary.failures if "row-level security" in f.reason]
    assert not_updated == [3] and summary.failed == 6 and summary.embedded == 4


def test_fail_fast_stops_at_a_row_the_policies_do_not_let_it_update_and_writes_nothing_of_its_batch(empty_db, pg, embed_server):
    summary = _backfill_as_a_role(empty_db, pg, embed_server.url, _notes_kept(15, 8), _NOTES_PROFILE,
                                  BackfillOptions("notes", batch_size=5, progress=False, on_failure="fail-fast"))
    written = [r[0] for r in empty_db.connect().execute("SELECT id FROM notes WHERE embedding IS NOT NULL ORDER BY id")]
    assert written == [1, 2, 3, 4, 5]  # the second batch (6-10) holds row 8: none of it, and nothing after it
    assert summary.stopped and "fail-fast" in summary.stopped and "key 8" in summary.stopped
    assert "nothing of this batch was written" in summary.stopped
    assert [f.key for f in summary.failures] == [8] and summary.embedded == 5 and not summary.ok


def _kept_vector_db(role: str) -> str:
    """notes + note_embeddings (no unique key), every stored vector stale (no input hash: a hash of no current text
    on every row reads as a hash of something else, which scope refuses); the policies let ``role`` read, insert
    and delete the embedding rows except note 3's, which it may read but not delete."""
    return ("CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);"
               "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 10) g;"
               "CREATE TABLE note_embeddings (note_id bigint NOT NULL, input_hash text, embedding vector(384));"
               "INSERT INTO note_embeddings SELECT id, NULL, array_fill(0.1::real, ARRAY[384])::vector "
               "FROM notes;"
               "ALTER TABLE note_embeddings ENABLE ROW LEVEL SECURITY;"
               "CREATE POLICY seen ON note_embeddings FOR SELECT USING (true);"
               "CREATE POLICY added ON note_embeddings FOR INSERT WITH CHECK (true);"
               "CREATE POLICY kept ON note_embeddings FOR DELETE USING (note_id <> 3);"
               f"GRANT SELECT ON notes TO {role}; GRANT SELECT, INSERT, DELETE ON note_embeddings TO {role}")


_KEPT_PROFILE = ("name: n\nprovider: {model: hash-embed:384}\nchunks: {table: notes, text: body, collection_name: notes}\n"
                 "embeddings: {table: note_embeddings, key: note_id, vector: embedding, input_hash: input_hash}\n"
                 "database: {session: {app.who: backfill}}\n")


@pytest.mark.parametrize("on_failure, staging", [("continue", True), ("fail-fast", True), ("fail-fast", False)])
def test_a_stored_vector_the_policies_do_not_let_the_role_replace_is_a_failed_row_never_a_second_vector(
        empty_db, pg, embed_server, on_failure, staging):
    if not staging:  # no TEMP privilege: the batch goes through INSERT ... SELECT FROM unnest(...)
        empty_db.execute(f"REVOKE TEMPORARY ON DATABASE {empty_db.name} FROM PUBLIC")
    summary = _backfill_as_a_role(empty_db, pg, embed_server.url, _kept_vector_db, _KEPT_PROFILE,
                                  BackfillOptions("notes", batch_size=5, progress=False, on_failure=on_failure))
    rows = empty_db.connect().execute("SELECT note_id, count(*) FROM note_embeddings GROUP BY 1 ORDER BY 1").fetchall()
    assert all(n == 1 for _, n in rows), rows  # note 3 kept its one stale vector: no second one beside it
    assert [f.key for f in summary.failures] == [3] and "row-level security" in summary.failures[0].reason
    assert not summary.ok
    if on_failure == "fail-fast":
        assert summary.embedded == 0 and summary.stopped and "key 3" in summary.stopped  # the first batch holds it
    else:
        assert summary.embedded == 9


def _referenced_kept_vector_db(role: str) -> str:
    """``_kept_vector_db`` whose embedding rows ratings reference (so the writer updates them in place), the policies
    letting ``role`` update every stored row but note 3's."""
    return ("CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);"
            "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 10) g;"
            "CREATE TABLE note_embeddings (id bigserial PRIMARY KEY, note_id bigint NOT NULL, input_hash text, "
            "embedding vector(384));"
            "INSERT INTO note_embeddings (note_id, embedding) SELECT id, array_fill(0.1::real, ARRAY[384])::vector "
            "FROM notes;"
            "CREATE TABLE ratings (embedding_id bigint REFERENCES note_embeddings ON DELETE CASCADE, stars int);"
            "INSERT INTO ratings SELECT id, 5 FROM note_embeddings;"
            "ALTER TABLE note_embeddings ENABLE ROW LEVEL SECURITY;"
            "CREATE POLICY seen ON note_embeddings FOR SELECT USING (true);"
            "CREATE POLICY added ON note_embeddings FOR INSERT WITH CHECK (true);"
            "CREATE POLICY kept ON note_embeddings FOR UPDATE USING (note_id <> 3);"
            f"GRANT SELECT ON notes TO {role}; GRANT SELECT, INSERT, UPDATE ON note_embeddings TO {role}")


def test_a_referenced_stored_vector_the_policies_do_not_let_the_role_update_is_a_failed_row_never_a_second_vector(
        empty_db, pg, embed_server):
    summary = _backfill_as_a_role(empty_db, pg, embed_server.url, _referenced_kept_vector_db, _KEPT_PROFILE,
                                  BackfillOptions("notes", batch_size=5, progress=False))
    rows = empty_db.connect().execute("SELECT note_id, count(*) FROM note_embeddings GROUP BY 1 ORDER BY 1").fetchall()
    assert all(n == 1 for _, n in rows), rows  # note 3 kept its one stale vector: no second one beside it
    assert [f.key for f in summary.failures] == [3] and "row-level security" in summary.failures[0].reason
    assert summary.embedded == 9 and empty_db.scalar("SELECT count(*) FROM ratings") == 10


def test_fail_fast_rolls_back_the_batch_of_a_tenants_view_holding_a_row_it_may_read_but_not_update(
        empty_db, pg, embed_server):
    def setup(role):
        return ("CREATE TABLE notes (id bigint PRIMARY KEY, tenant text NOT NULL, body text NOT NULL, "
                "embedding vector(384));"
                "INSERT INTO notes SELECT g, CASE WHEN g <= 6 THEN 't1' ELSE 't2' END, 'note ' || g "
                "FROM generate_series(1, 12) g;"
                "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;"
                "CREATE POLICY seen ON notes FOR SELECT USING (tenant = current_setting('app.tenant', true));"
                "CREATE POLICY kept ON notes FOR UPDATE USING (tenant = current_setting('app.tenant', true) "
                "AND id <> 8);"
                f"GRANT SELECT, UPDATE ON notes TO {role}")

    profile = ("name: n\nprovider: {model: hash-embed:384}\nchunks: {table: notes, text: body, "
               "tenant: tenant, collection_name: notes}\ndatabase: {session: {app.tenant: '{tenant}'}, "
               "tenants: [t1, t2]}\n")
    summary = _backfill_as_a_role(empty_db, pg, embed_server.url, setup, profile,
                                  BackfillOptions("notes", batch_size=3, progress=False, on_failure="fail-fast"))
    written = {r[0] for r in empty_db.connect().execute("SELECT id FROM notes WHERE embedding IS NOT NULL")}
    assert written <= {1, 2, 3, 4, 5, 6}, written  # t2's batch 7-9 rolled back whole, and nothing after it
    assert summary.stopped and "key 8" in summary.stopped and "tenant t2" in summary.failures[0].reason
    assert [f.key for f in summary.failures] == [8] and summary.embedded == len(written) and not summary.ok


def test_a_session_that_cannot_be_opened_because_the_server_is_gone_fails_the_write_not_warns(logged_db, demo_profile,
                                                                                               caplog):
    """A restart mid-run: the second session's connection fails. That is no shortage of connection slots to write
    around with a warning (the run then said two lines for one failure); the write fails, naming why."""
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))

    def gone():
        raise HarnessError("cannot connect to postgresql://postgres:***@127.0.0.1:5/db: server closed the connection "
                           "unexpectedly")

    first = BatchWriter(connect(logged_db.dsn), target, TEST_MODEL)
    pool = WritePool(first, gone, 2)
    try:
        with caplog.at_level(logging.WARNING, logger="harness.backfill"):
            pool.submit("first", _vectors(logged_db, 0, 3, "slow"), None)  # holds the first session
            time.sleep(SLOW)
            pool.submit("second", _vectors(logged_db, 3, 3, "h"), None)
            with pytest.raises(HarnessError, match="opening another write session failed: .*server closed the connection"):
                list(pool.landed(keep=0))
    finally:
        pool.close()
    assert "no session to spare" not in caplog.text

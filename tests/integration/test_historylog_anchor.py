"""Historylog entries anchored in the target database: the attacks the unkeyed chain misses are caught there."""

import contextlib
import uuid

from harness import historylog
from harness.historylog_anchor import read
from harness.settings import resolve

from ..conftest import finished_run


def recorded(cli, db, demo_profile, target_env, tmp_path, log, collection="tenant_acme", exit_code=0):
    """``record`` of a finished run (run.json only) into ``log``, against ``db``; the CLI's result."""
    run_dir = finished_run(tmp_path / f"run-{uuid.uuid4().hex[:6]}", collection, exit_code=exit_code)
    result = cli("record", "--profile", demo_profile, "--collection", collection, "--run-dir", run_dir,
                 "--historylog", log, "--json", env={**target_env, "DATABASE_URL": db.dsn})
    assert result.code == 0, result.out + result.err
    return result


def verified(cli, log, db=None):
    return cli("historylog", "verify", "--path", log, *(("--database-url", db.dsn) if db else ()), "--json")


def rewritten_newest(text: str, old: str, new: str) -> str:
    """The red team's edit: the newest entry changed, its marker and the header's head re-hashed to match."""
    sha, body = historylog.split(text).blocks[0]
    forged = body.replace(old, new)
    assert forged != body
    again = historylog.entry_hash(forged)
    return (text.replace(f"<!-- entry sha256={sha} -->\n{body}", f"<!-- entry sha256={again} -->\n{forged}")
            .replace(f"head={sha}", f"head={again}"))


def deleted_newest(text: str) -> str:
    """The red team's deletion: the newest entry gone, the next one named as head."""
    log = historylog.split(text)
    (sha, body), (below, _) = log.blocks[0], log.blocks[1]
    n = len(log.blocks)
    return (text.replace(f"<!-- entry sha256={sha} -->\n{body}\n", "")
            .replace(f"head={sha} entries={n}", f"head={below} entries={n - 1}"))


def test_a_recorded_entry_is_anchored_in_the_target_database_and_the_log_verifies_against_it(
        cli, demo_db, demo_profile, target_env, tmp_path, pg_password):
    log = tmp_path / "historylog.md"
    first = recorded(cli, demo_db, demo_profile, target_env, tmp_path, log)
    second = recorded(cli, demo_db, demo_profile, target_env, tmp_path, log, collection="tenant_globex")
    assert first.json["anchored"] and second.json["anchored"]
    rows = demo_db.connect().execute("SELECT sha256, prev, collection FROM backfill_harness.historylog_anchors "
                                     "ORDER BY seq").fetchall()
    newest, older = historylog.read_entries(log)
    assert rows == [(older.sha256, historylog.GENESIS, "tenant_acme"), (newest.sha256, older.sha256, "tenant_globex")]
    assert newest.anchor.startswith(f"database {demo_db.name} on server ")
    result = verified(cli, log, demo_db)
    assert result.code == 0 and result.json["status"] == "intact", result.out
    assert result.json["anchor"]["anchored"] == [1, 2] and not result.json["anchor"]["unproven"]
    by_profile = cli("historylog", "verify", "--path", log, "--profile", demo_profile)  # DATABASE_URL: demo_db
    assert by_profile.code == 0 and f"chain intact; 2 entries anchored in database {demo_db.name}" in by_profile.out
    assert pg_password not in log.read_text()


def test_a_rewritten_newest_entry_is_detected_by_the_anchor(cli, demo_db, demo_profile, target_env, tmp_path):
    log = tmp_path / "historylog.md"
    recorded(cli, demo_db, demo_profile, target_env, tmp_path, log)
    recorded(cli, demo_db, demo_profile, target_env, tmp_path, log, exit_code=3)
    log.write_text(rewritten_newest(log.read_text(), "- exit code: 3", "- exit code: 0"))
    assert verified(cli, log).code == 0  # the chain alone cannot see it
    result = cli("historylog", "verify", "--path", log, "--database-url", demo_db.dsn)
    assert result.code == 1
    assert f"database {demo_db.name}" in result.out and "anchors 1 entry of this log that the file does not hold" in result.out
    assert "rewritten or deleted" in result.out


def test_a_deleted_newest_entry_is_detected_by_the_anchor(cli, demo_db, demo_profile, target_env, tmp_path):
    log = tmp_path / "historylog.md"
    recorded(cli, demo_db, demo_profile, target_env, tmp_path, log)
    recorded(cli, demo_db, demo_profile, target_env, tmp_path, log, exit_code=3)
    log.write_text(deleted_newest(log.read_text()))
    assert verified(cli, log).code == 0  # the chain alone cannot see it
    result = verified(cli, log, demo_db)
    assert result.code == 1 and result.json["status"] == "mismatch"
    assert "the file does not hold" in result.json["anchor"]["problems"][0]


def test_a_log_replaced_by_an_older_copy_is_detected_by_the_anchor(cli, demo_db, demo_profile, target_env, tmp_path):
    log = tmp_path / "historylog.md"
    recorded(cli, demo_db, demo_profile, target_env, tmp_path, log)
    older = log.read_text()
    recorded(cli, demo_db, demo_profile, target_env, tmp_path, log, exit_code=3)
    log.write_text(older)
    result = verified(cli, log, demo_db)
    assert result.code == 1 and "older copy" in result.json["anchor"]["problems"][0]


def test_verify_without_a_database_says_the_anchor_was_not_checked(cli, demo_db, demo_profile, target_env, tmp_path):
    log = tmp_path / "historylog.md"
    recorded(cli, demo_db, demo_profile, target_env, tmp_path, log)
    result = cli("historylog", "verify", "--path", log)
    assert result.code == 0 and "chain intact" in result.out and "anchor not checked (unproven)" in result.out
    assert verified(cli, log).json["status"] == "unproven"


@contextlib.contextmanager
def a_role(pg, db, *grants):
    """A login role of its own on ``db`` with only these grants (and PUBLIC's); its DSN. Dropped after."""
    role = f"rec_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'rec-pw-51'")
    try:
        for grant in grants:
            db.execute(grant.format(role=role))
        yield pg.dsn(db.name, user=role, password="rec-pw-51")
    finally:
        db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_role_without_create_gets_an_unanchored_entry_that_says_so(cli, pg, demo_db, demo_profile, target_env,
                                                                     tmp_path):
    with a_role(pg, demo_db) as dsn:
        log = tmp_path / "historylog.md"
        env = {**target_env, "DATABASE_URL": dsn}
        args = ("record", "--profile", demo_profile, "--collection", "tenant_acme",
                "--run-dir", finished_run(tmp_path / "run", "tenant_acme"))
        data = cli(*args, "--historylog", log, "--json", env=env)
        assert data.code == 0 and data.json["anchored"] is False
        (entry,) = historylog.read_entries(log)
        assert entry.anchor.startswith(f"NOT anchored (database {demo_db.name}") and "permission denied" in entry.anchor
        assert "expected CREATE on the database" in entry.anchor
        assert data.json["anchors"][0]["anchor"] == entry.anchor
        text = cli(*args, "--historylog", tmp_path / "other.md", env=env)
        assert "NOT anchored" in text.out and "unproven" in text.out
        checked = verified(cli, log, demo_db)
        assert checked.code == 0 and checked.json["status"] == "unproven"
        assert "is not anchored" in checked.json["anchor"]["unproven"][0]
        assert "rec-pw-51" not in log.read_text()


def test_a_role_that_cannot_write_the_anchors_gets_an_unanchored_entry_that_says_so(cli, pg, demo_db, demo_profile,
                                                                                    target_env, tmp_path):
    recorded(cli, demo_db, demo_profile, target_env, tmp_path, tmp_path / "owner.md")  # the owner made the schema
    grants = ("GRANT USAGE ON SCHEMA backfill_harness TO {role}",
              "GRANT SELECT ON ALL TABLES IN SCHEMA backfill_harness TO {role}")
    with a_role(pg, demo_db, *grants) as dsn:
        log = tmp_path / "historylog.md"
        data = cli("record", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir",
                   finished_run(tmp_path / "run", "tenant_acme"), "--historylog", log, "--json",
                   env={**target_env, "DATABASE_URL": dsn})
        assert data.code == 0 and data.json["anchored"] is False
        (entry,) = historylog.read_entries(log)
        assert entry.anchor.startswith("NOT anchored") and "permission denied for table historylog_anchors" in entry.anchor
        assert data.json["entry"]["sha256"] == entry.sha256  # the entry written is the one that says so
    assert demo_db.scalar("SELECT count(*) FROM backfill_harness.historylog_anchors") == 1
    assert historylog.verify(log).ok


def test_a_log_shared_by_two_databases_verifies_against_each(cli, demo_db, empty_db, demo_profile, target_env, tmp_path):
    log = tmp_path / "historylog.md"
    for db in (demo_db, empty_db, demo_db, empty_db):
        recorded(cli, db, demo_profile, target_env, tmp_path, log)
    for db, mine in ((demo_db, [2, 4]), (empty_db, [1, 3])):
        result = verified(cli, log, db)
        assert result.code == 0 and result.json["anchor"]["anchored"] == mine, result.out
        assert result.json["anchor"]["problems"] == []
    # entry 1 is above demo_db's newest anchor: only empty_db, which it names, can vouch for it
    assert verified(cli, log, demo_db).json["anchor"]["unproven"] == [
        "entries not checked here, each to be checked against the database it names: 1 (anchor: database "
        f"{empty_db.name} on server {demo_db.scalar('SELECT system_identifier FROM pg_control_system()')} "
        "(backfill_harness.historylog_anchors))"]
    # every entry of empty_db's is anchored, or fixed by the chain under its newest anchored one
    assert verified(cli, log, empty_db).json["status"] == "intact"
    log.write_text(deleted_newest(log.read_text()))  # the newest is empty_db's: only it can tell
    assert verified(cli, log, demo_db).code == 0 and verified(cli, log, empty_db).code == 1


def test_completed_does_not_trust_an_entry_the_database_does_not_anchor(demo_db, tmp_path):
    from harness.checks.completed import from_historylog
    from harness.db import connect
    from harness.steps import record

    from ..unit.test_historylog import entry

    log = tmp_path / "historylog.md"
    done = {"chunks": 107, "embedded": 107, "needed": 0}
    record(entry("tenant_acme", counts_after=done), [log], demo_db.dsn)
    with connect(demo_db.dsn, autocommit=True) as conn:
        assert from_historylog(log, "tenant_acme", read(conn)).passed
        historylog.append(log, entry("tenant_acme", counts_after=done))  # a forged success, never anchored
        outcome = from_historylog(log, "tenant_acme", read(conn))
    assert outcome.status == "unproven" and "not anchored" in outcome.message()


def test_the_completed_check_reads_the_anchors_of_its_session(embedded_db, demo_env, demo_profile, tmp_path):
    from harness.checks import CheckOptions, open_session
    from harness.checks.completed import completed
    from harness.profile import load_profile

    from ..unit.test_historylog import entry

    log = tmp_path / "historylog.md"
    historylog.append(log, entry("tenant_acme", counts_after={"chunks": 107, "embedded": 107, "needed": 0}))
    env = {**demo_env, "DATABASE_URL": embedded_db.dsn}
    session = open_session(resolve(load_profile(demo_profile, env=env), database_url=embedded_db.dsn, env=env),
                           CheckOptions(collections=("tenant_acme",), historylogs=(log,)))
    try:
        outcome = completed(session, "tenant_acme")
    finally:
        session.close()
    assert outcome.status == "unproven" and "not anchored" in outcome.message()


def test_a_role_without_usage_on_the_schema_record_made_still_scopes_and_verifies(cli, pg, embedded_db, demo_profile,
                                                                                  target_env, tmp_path):
    """``record`` makes backfill_harness in every target it anchors in; a read-only role that may not use it must
    read the target as before (a to_regclass of the harness's tables raised for it: scope failed on a database error)."""
    recorded(cli, embedded_db, demo_profile, target_env, tmp_path, tmp_path / "historylog.md")
    with a_role(pg, embedded_db, "GRANT SELECT ON document_chunks, document_embeddings TO {role}") as dsn:
        env = {**target_env, "DATABASE_URL": dsn}
        target = ("--profile", demo_profile, "--collection", "tenant_acme")
        scoped = cli("scope", *target, "--json", env=env)
        assert scoped.code == 0, scoped.out + scoped.err
        checked = cli("verify", *target, "--run-dir", tmp_path / "verify", "--json", env=env)
        assert "permission denied" not in checked.out + checked.err
        assert {c["check"]: c["status"] for c in checked.json["checks"]}["coverage"] == "passed", checked.out


def test_an_entry_whose_anchoring_cannot_connect_never_holds_a_password_with_question_or_hash_marks(
        cli, demo_profile, target_env, tmp_path):
    """libpq reads '?' and '#' before the '@' as the password's (it connects with it): the entry's
    ``NOT anchored: cannot connect to ...`` line, and record's output, mask it as any other."""
    log = tmp_path / "historylog.md"
    dsn = "postgresql://harness:pw?with#marks-51@127.0.0.1:1/app"
    result = cli("record", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir",
                 finished_run(tmp_path / "run", "tenant_acme"), "--historylog", log, "--json",
                 env={**target_env, "DATABASE_URL": dsn})
    assert result.code == 0 and result.json["anchored"] is False, result.out + result.err
    assert "cannot connect to postgresql://harness:***@127.0.0.1:1/app" in log.read_text()
    for written in (log.read_text(), result.out, result.err):
        assert "marks-51" not in written

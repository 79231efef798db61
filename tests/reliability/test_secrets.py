"""No secret leaves the process: the DSN password, the provider's Authorization header and an API key in
the environment appear in no log line, JSON output, error message or run evidence, even when a hostile
provider echoes what it was sent."""

import json
import secrets

import pytest

from harness.evidence import RunEvidence, write_evidence
from harness.settings import resolve

from ..conftest import TEST_MODEL
from . import faultproxy as fp
from .faultproxy import FaultProxy

TOKEN = "tok-" + secrets.token_urlsafe(24)
WRONG_TOKEN = "tok-" + secrets.token_urlsafe(24)
API_KEY = "sk-" + secrets.token_urlsafe(24)


@pytest.fixture
def guarded(embed_server):
    """A provider that demands ``Authorization: Bearer TOKEN`` and echoes a wrong one back in its error."""
    with FaultProxy(embed_server.url, require_headers={"Authorization": f"Bearer {TOKEN}"}) as proxy:
        yield proxy


@pytest.fixture
def secret_profile(write_profile):
    def make(header_env: str = "EMBED_API_TOKEN"):
        return write_profile({"provider": {"headers": {"Authorization": f"Bearer ${{{header_env}}}"}}})
    return make


def _env(db, proxy, token=TOKEN):
    return {"DATABASE_URL": db.dsn, "OLLAMA_HOST": proxy.url, "EMBED_MODEL": TEST_MODEL,
            "EMBED_API_TOKEN": token, "OPENAI_API_KEY": API_KEY}


def _assert_clean(*texts: str, pg) -> None:
    for text in texts:
        for secret in (pg.password, TOKEN, WRONG_TOKEN, API_KEY):
            assert secret not in text, f"secret leaked into: {text[:300]!r}"


def test_successful_run_json_and_logs_carry_no_secret(demo_db, guarded, secret_profile, cli, pg):
    result = cli("-v", "backfill", "--profile", secret_profile(), "--collection", "tenant_globex", "--json",
                 env=_env(demo_db, guarded))
    assert result.code == 0, result.err
    assert result.json["embedded"] == 29
    assert any(s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in guarded.seen)  # the secret was in play
    _assert_clean(result.out, result.err, pg=pg)


def test_provider_echoing_a_rejected_token_is_masked_in_the_error(demo_db, guarded, secret_profile, cli, pg):
    result = cli("backfill", "--profile", secret_profile(), "--collection", "tenant_globex",
                 env=_env(demo_db, guarded, token=WRONG_TOKEN))
    assert result.code == 1
    assert "HTTP 401" in result.err and "***" in result.err  # the echo arrived, masked
    _assert_clean(result.out, result.err, pg=pg)


def test_permanent_provider_failure_error_carries_no_secret(demo_db, guarded, secret_profile, cli, pg):
    guarded.inject(fp.HTTP_500)
    result = cli("-v", "backfill", "--profile", secret_profile(), "--collection", "tenant_globex", "--json",
                 env=_env(demo_db, guarded))
    assert result.code == 1 and "failed after 3 attempts" in result.err
    _assert_clean(result.out, result.err, pg=pg)


def test_database_refusal_masks_the_password(pg, guarded, secret_profile, cli):
    env = _env(type("Db", (), {"dsn": pg.dsn("no_such_database")}), guarded)
    result = cli("backfill", "--profile", secret_profile(), "--collection", "tenant_globex", env=env)
    assert result.code == 1 and "postgres:***@" in result.err
    _assert_clean(result.out, result.err, pg=pg)


def test_wrong_password_error_masks_both_passwords(pg, guarded, secret_profile, cli):
    dsn = pg.dsn(password=API_KEY)
    result = cli("backfill", "--profile", secret_profile(), "--collection", "tenant_globex",
                 env={**_env(type("Db", (), {"dsn": dsn}), guarded)})
    assert result.code == 1 and "password authentication failed" in result.err
    _assert_clean(result.out, result.err, pg=pg)


def test_run_evidence_written_with_secrets_in_hand_holds_none(demo_db, guarded, secret_profile, tmp_path, pg, monkeypatch):
    env = _env(demo_db, guarded)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = resolve(secret_profile(), env=env)
    command = f"DATABASE_URL={demo_db.dsn} backfill-harness backfill --header 'Authorization: Bearer {TOKEN}' OPENAI_API_KEY={API_KEY}"
    write_evidence(tmp_path, RunEvidence(collection="tenant_globex", command=command, exit_code=0, started_at="t0",
                                         finished_at="t1", seconds=1.0, output_tail=f"connected to {demo_db.dsn}",
                                         settings=settings.shown()))
    text = (tmp_path / "run.json").read_text()
    assert json.loads(text)["settings"]["database_url"].startswith("postgresql://postgres:***@")
    _assert_clean(text, pg=pg)


SPECIAL = "p@ss w/rd:" + secrets.token_hex(6)  # every character a URL must encode


@pytest.fixture
def special_role(pg, demo_db):
    """A login role whose password needs URL-encoding; yields its DSN (encoded) to demo_db."""
    from urllib.parse import quote

    import psycopg

    name = "enc_" + secrets.token_hex(4)
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{SPECIAL}'")
    yield f"postgresql://{name}:{quote(SPECIAL, safe='')}@127.0.0.1:{pg.port}/{demo_db.name}"
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP ROLE {name}")


def test_a_command_printing_the_url_encoded_password_leaves_it_in_no_run_file(special_role, demo_profile, cli,
                                                                             target_env, tmp_path):
    """#13 low 10: the command prints DATABASE_URL's password as the URL holds it (encoded) and decoded."""
    from urllib.parse import quote

    encoded = quote(SPECIAL, safe="")
    command = ("python3 -c \"import os, urllib.parse as u; p = u.urlsplit(os.environ['DATABASE_URL']).password; "
               "print('encoded', p); print('plain', u.unquote(p))\"")
    run_dir = tmp_path / "run"
    result = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir,
                 "--command", command, "--json", env={**target_env, "DATABASE_URL": special_role})
    assert "run_dir" in result.json  # it ran (exit 1: the command filled nothing, which run reports)
    written = [p.read_text() for p in run_dir.iterdir() if p.is_file()]
    assert any("encoded" in text for text in written)  # the command's output was kept, masked
    for text in [result.out, result.err, *written]:
        assert encoded not in text and SPECIAL not in text and quote(SPECIAL) not in text, text[:300]


def test_an_unescaped_at_sign_in_the_password_reaches_no_historylog_through_procedure(pg, demo_db, demo_profile, cli,
                                                                                     target_env, tmp_path, checks_dir):
    """#13 low 9: libpq would read the password's tail as the host; the refusal names the fix, not the tail."""
    dsn = f"postgresql://postgres:hunter2@prod-vault-{secrets.token_hex(3)}@127.0.0.1:{pg.port}/{demo_db.name}"
    tail = dsn.split("@")[1]
    log = tmp_path / "historylog.md"
    result = cli("procedure", "--profile", demo_profile, "--collection", "tenant_globex", "--engine", "--checks",
                 checks_dir, "--run-dir", tmp_path / "run", "--historylog", log, "--json",
                 env={**target_env, "DATABASE_URL": dsn})
    assert result.code != 0
    files = [p.read_text() for p in (tmp_path / "run").rglob("*") if p.is_file()] if (tmp_path / "run").exists() else []
    for text in [result.out, result.err, log.read_text() if log.exists() else "", *files]:
        assert "hunter2" not in text and tail not in text, text[:300]


def test_a_password_given_in_the_dsn_query_reaches_no_run_file_through_database_password(
        pg, demo_db, write_profile, cli, target_env, tmp_path):
    """libpq reads `?password=` beside other parameters; {database_password} gives the command that password, which
    must be masked wherever the command's environment or output is written (DB_PASS is no secret-looking name)."""
    password = "qpw-" + secrets.token_hex(8)
    name = "qry_" + secrets.token_hex(4)
    demo_db.execute(f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{password}'")
    try:
        dsn = f"postgresql://{name}@127.0.0.1:{pg.port}/{demo_db.name}?password={password}&sslmode=disable"
        profile = write_profile({"backfill": {"env": {"DB_PASS": "{database_password}"}}})
        command = "python3 -c \"import os; print('connecting with', os.environ['DB_PASS'])\""
        run_dir = tmp_path / "run"
        result = cli("run", "--profile", profile, "--collection", "tenant_globex", "--run-dir", run_dir,
                     "--command", command, "--json", env={**target_env, "DATABASE_URL": dsn})
        assert "run_dir" in result.json
        written = [p.read_text() for p in run_dir.iterdir() if p.is_file()]
        assert any("connecting with ***" in text for text in written), written  # the command was given it, and it was masked
        for text in [result.out, result.err, *written]:
            assert password not in text, text[:300]
    finally:
        demo_db.execute(f"DROP ROLE {name}")


@pytest.mark.parametrize("name", ["DB_PASS", "POSTGRES_PASS", "DB_PWD"])
def test_a_password_in_a_setting_named_pass_reaches_no_run_file(name, demo_db, write_profile, cli, target_env, tmp_path):
    """Applications read their database password from DB_PASS or DB_PWD as often as from DB_PASSWORD; the backfill's
    environment, kept in run.json, showed such a setting's value in clear (and its output printed it unmasked)."""
    password = "pw-" + secrets.token_hex(8)
    profile = write_profile({"backfill": {"env": {name: f"${{{name}}}"}}})
    command = f"python3 -c \"import os; print('using', os.environ['{name}'])\""
    run_dir = tmp_path / "run"
    result = cli("run", "--profile", profile, "--collection", "tenant_globex", "--run-dir", run_dir, "--command", command,
                 "--json", env={**target_env, "DATABASE_URL": demo_db.dsn, name: password})
    assert "run_dir" in result.json
    written = [p.read_text() for p in run_dir.iterdir() if p.is_file()]
    assert any("using ***" in text for text in written), written
    for text in [result.out, result.err, *written]:
        assert password not in text, text[:300]

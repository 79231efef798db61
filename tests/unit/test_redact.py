"""Secrets never reach what the harness writes, whatever their spelling (#13 low 9 and 10)."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest

from harness import redact
from harness.db import connect
from harness.errors import ConfigError


def test_a_password_with_an_unescaped_at_sign_is_masked_whole():
    dsn = "postgresql://app:hunter2@prod-vault@db.internal:5432/app"
    assert redact.dsn_password(dsn) == "hunter2@prod-vault"
    shown = redact.redact(f"cannot connect to {dsn}: could not translate host name")
    assert "hunter2" not in shown and "prod-vault" not in shown


def test_the_tail_of_such_a_password_is_masked_even_alone():
    # libpq reads the first '@' as the end of the password: its errors name the rest as the host.
    redact.register(redact.dsn_password("postgresql://app:hunter2@prod-vault@db.internal/app"))
    shown = redact.redact('could not translate host name "prod-vault@db.internal" to address')
    assert "prod-vault" not in shown


def test_connecting_with_an_unescaped_at_sign_is_refused_naming_the_fix_not_the_password():
    with pytest.raises(ConfigError) as err:
        connect("postgresql://app:hunter2@prod-vault@db.internal:5432/app")
    message = str(err.value)
    assert "%40" in message and "hunter2" not in message and "prod-vault" not in message


@pytest.mark.parametrize("password", ["p@ss w%rd+more/x", "ünïcode-pass!", "a:b;c=d&e"])
def test_the_url_encoded_forms_of_a_password_are_masked(password):
    redact.register(password)
    for form in (password, quote(password, safe=""), quote(password), quote_plus(password)):
        assert form not in redact.redact(f"DATABASE_URL=postgresql://u:{form}@h/db echo {form}").replace(
            redact.MASK, ""), form


def test_the_password_of_an_encoded_dsn_is_registered_in_both_spellings():
    redact.register(redact.dsn_password("postgresql://u:s3cret%2Fpw%40x@h/db"))
    assert "s3cret%2Fpw%40x" not in redact.redact("printed: s3cret%2Fpw%40x")
    assert "s3cret/pw@x" not in redact.redact("printed: s3cret/pw@x")


def test_a_documented_dsn_with_a_placeholder_port_is_shown_with_its_password_masked():
    """Haystack's docstring shows `postgresql://USER:PASSWORD@HOST:PORT/DB_NAME`: reading it (locate, scope's contract
    of a command importing the library) must mask the password, not raise on the port that is no number."""
    shown = redact.safe_dsn("postgresql://USER:PASSWORD@HOST:PORT/DB_NAME")
    assert "PASSWORD" not in shown and shown.endswith("@HOST:PORT/DB_NAME")


def test_a_dsn_shown_masks_a_password_in_its_query_beside_one_in_its_authority():
    # libpq reads the query's password after the authority's (the one it connects with); safe_dsn masked the
    # authority's and returned the query as written: settings, the checks' header and errors showed it in clear.
    shown = redact.safe_dsn("postgresql://app:first-pw@db:5432/app?password=query-pw&sslmode=require")
    assert "first-pw" not in shown and "query-pw" not in shown and shown.startswith("postgresql://app:***@db:5432/app?")


@pytest.mark.parametrize("dsn", ["postgresql://app@db/app?sslpassword=key-pass", "host=db sslpassword=key-pass dbname=app"])
def test_the_passphrase_of_a_client_key_is_masked(dsn):
    # libpq's sslpassword (the client key's passphrase) is a secret as password is; no rule masked it.
    assert "key-pass" not in redact.redact(dsn) and "key-pass" not in redact.safe_dsn(dsn)


def test_a_password_with_a_space_is_masked_in_libpqs_refusal_that_names_it():
    from harness.errors import DatabaseError

    with pytest.raises(DatabaseError) as err:
        connect("postgresql://app:open sesame-77@127.0.0.1:1/app", connect_timeout=1)
    assert "sesame-77" not in str(err.value) and "postgresql://app:***@127.0.0.1:1/app" in str(err.value)


@pytest.mark.parametrize(("dsn", "password"), [
    ("postgresql://app@db/app?password=query-pw-77&sslmode=require", "query-pw-77"),
    ("host=db password='it\\'s a secret' dbname=app", "it's a secret"),
    ("host=db password=open\\ sesame-77 dbname=app", "open sesame-77"),
])
def test_the_password_registered_is_the_one_libpq_connects_with(dsn, password):
    # The query's password ran to the end of the DSN ('query-pw-77&sslmode=require'), and a quoted or unquoted
    # value stopped at its first escaped character: the password itself, which {database_password} hands the
    # command, was never registered, so the command's environment and output showed it in clear.
    assert redact.dsn_password(dsn) == password
    redact.register(redact.dsn_password(dsn))
    assert password not in redact.redact(f"DB_PASS={password}")
    assert password not in redact.safe_dsn(dsn)


@pytest.mark.parametrize("dsn", ["postgresql://app:pa/ss@127.0.0.1:5432/local_rag_db", "https://bot:tok/en@example.com/x"])
def test_a_password_with_an_unescaped_slash_is_masked(dsn):
    """locate builds a DSN of a file's literals (f"postgresql://{user}:{password}@..."): a password with a '/' in it
    was shown whole, as the patterns ended a password at the first '/'."""
    assert "pa/ss" not in redact.safe_dsn(dsn) and "tok/en" not in redact.safe_dsn(dsn)
    assert "pa/ss" not in redact.redact(f"cannot connect to {dsn}") and "tok/en" not in redact.redact(dsn)


def test_an_address_with_a_port_and_an_at_sign_in_its_path_keeps_its_port():
    assert redact.redact("http://localhost:11434/users/@me") == "http://localhost:11434/users/@me"


def test_locate_shows_a_dsn_built_of_the_files_literals_with_its_password_masked():
    from harness.locate.contract import read_contract

    source = ('user = "app"\npassword = "pa/ss"\nhost = "127.0.0.1"\n'
              'DSN = f"postgresql://{user}:{password}@{host}:5432/local_rag_db"\n')
    assert read_contract("app.py", source).hardcoded_urls == ("postgresql://app:***@127.0.0.1:5432/local_rag_db",)


@pytest.mark.parametrize("line, shown", [
    ("ingest.py --password hunter2-sekrit --collection a", "ingest.py --password *** --collection a"),
    ("ingest.py --openai-api-key=sk-live-9f8e7d6c", "ingest.py --openai-api-key=***"),
    ("ingest.py --auth-token 'ghp abc def' --x", "ingest.py --auth-token *** --x"),
    ("ingest.py --max-tokens 512 --token-limit 5 -p 5432", "ingest.py --max-tokens 512 --token-limit 5 -p 5432"),
    ("ingest.py --no-password --collection a", "ingest.py --no-password --collection a"),
])
def test_a_secret_a_command_takes_as_a_flag_is_masked_and_other_flags_kept(line, shown):
    assert redact.redact(line) == shown

"""Default expressions from the profile: one SQL expression or refused, placeholders bound as literals."""

import pytest
from psycopg import sql

from harness.errors import ConfigError
from harness.profile import parse_profile
from harness.sqlexpr import compose, problem

BASE = """
name: t
provider: {model: m}
chunks: {table: c, collection_name: x}
embeddings: {table: e, key: cid, defaults: {id: %s}}
"""


@pytest.mark.parametrize("expression", ["gen_random_uuid()::text", "{dims}", "'it''s; fine'", "coalesce(1, (2))",
                                        '"Weird;Col"', "lower({model})"])
def test_single_expressions_are_accepted(expression):
    assert problem(expression) is None


@pytest.mark.parametrize("expression, why", [
    ("1; DROP TABLE e", "';'"), ("1 -- x", "comment"), ("1 /* x */", "comment"), ("$$x$$", "'$'"),
    ("(1", "not closed"), ("1)", "closes more"), ("'open", "not closed"), ("E'\\x'", "escape strings"),
    ("{tenant_id}", "placeholder"), ("5 % 2", "'%'"), ("  ", "empty"),
])
def test_anything_but_one_expression_is_refused(expression, why):
    assert why in problem(expression)


def test_placeholders_become_literals_never_text():
    composed = compose("{model} || '{dims}'", {"model": "x'); DROP TABLE e; --", "dims": 3, "collection": "c"})
    text = composed.as_string(None)
    assert text == "('x''); DROP TABLE e; --' || '{dims}')"  # the quoted '{dims}' is the owner's text, left alone
    assert isinstance(composed, sql.Composed)


def test_profile_names_the_key_of_a_bad_default():
    with pytest.raises(ConfigError, match=r"embeddings.defaults.id.*one SQL expression.*';'"):
        parse_profile(BASE % '"1; DROP TABLE e"', env={})


def test_profile_keeps_defaults_session_tenants_and_probe_command():
    profile = parse_profile(BASE % '"gen_random_uuid()::text"' + """
database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme, 7]}
backfill: {probe_command: "npm run embed -- --limit {limit}"}
""", env={})
    assert profile.embeddings.defaults == {"id": "gen_random_uuid()::text"}
    assert profile.database.session == {"app.current_tenant_id": "{tenant}"} and profile.database.per_tenant
    assert profile.database.tenants == ("acme", "7")
    assert profile.backfill.probe_command == "npm run embed -- --limit {limit}"


def test_session_setting_names_must_be_custom_dotted_names():
    with pytest.raises(ConfigError, match="database.session.role"):
        parse_profile(BASE % "x" + 'database: {session: {role: admin}}', env={})

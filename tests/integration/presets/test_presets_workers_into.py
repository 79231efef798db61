"""``backfill --workers N --into NEW`` on a store whose collections are tables of their own: the closing count the
starter measures is NEW's table, never the live one's (where NEW has no rows, so nothing would look needed)."""

import pytest

from .conftest import NEW_MODEL


@pytest.mark.slow  # two worker processes, each importing the harness
def test_workers_into_a_new_llamaindex_table_count_the_new_table(llamaindex_store, cli):
    db, env = llamaindex_store.db, {**llamaindex_store.env, "EMBED_DIMENSIONS": ""}
    first = cli("backfill", "--profile", "llamaindex", "--collection", "licenses", "--into", "licenses_v2", "--model",
                NEW_MODEL, "--json", env=env)
    assert first.code == 0, first.out + first.err
    db.execute("UPDATE data_licenses_v2 SET embedding = NULL WHERE id IN (SELECT id FROM data_licenses_v2 LIMIT 3)")
    again = cli("backfill", "--profile", "llamaindex", "--collection", "licenses", "--into", "licenses_v2", "--model",
                NEW_MODEL, "--workers", "2", "--json", env=env)
    assert again.json["after"]["chunks"] == 12, again.out + again.err
    assert again.json["ok"] and again.json["remaining"] == 0 and again.json["embedded"] == 3


@pytest.mark.slow  # two worker processes, each importing the harness
def test_workers_into_a_new_llamaindex_table_make_it_once(llamaindex_store, cli):
    """Both workers find NEW's table missing as they start: one makes it, the other fills it beside it."""
    db, env = llamaindex_store.db, {**llamaindex_store.env, "EMBED_DIMENSIONS": ""}
    result = cli("backfill", "--profile", "llamaindex", "--collection", "licenses", "--into", "licenses_v2", "--model",
                 NEW_MODEL, "--workers", "2", "--json", env=env)
    assert result.code == 0 and result.json["ok"], result.out + result.err
    assert result.json["after"]["chunks"] == 12 and result.json["embedded"] == 12
    assert db.scalar("SELECT count(*) FROM data_licenses_v2 WHERE embedding IS NOT NULL") == 12

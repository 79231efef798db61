"""Recompute's tight tolerance on small samples: where the provider reproduces the stored vectors, a row made from
other input fails, however few rows there are."""

import numpy as np

from ..conftest import TEST_MODEL

NOTES = "CREATE TABLE notes (id text PRIMARY KEY, body text NOT NULL, embedding vector(384))"
PROFILE = (f"name: notes\nprovider: {{model: {TEST_MODEL}, dimensions: 384}}\n"
           "chunks: {table: notes, id: id, text: body, collection_name: notes}\nembeddings: {vector: embedding}\n")


def _long(n: int) -> str:
    return " ".join(f"word{n}x{i}" for i in range(400))


def _stored(db, url, rows: dict[str, str], older: set[str]) -> None:
    """``rows`` (id: text) stored with the vector of their text, those in ``older`` with the text three words ago."""
    from harness.provider import OllamaProvider

    db.execute(NOTES)
    with OllamaProvider(url, TEST_MODEL) as provider, db.connect(autocommit=True) as conn:
        for key, text in rows.items():
            made_from = text.rsplit(" ", 3)[0] if key in older else text
            vector = np.asarray(provider.embed([made_from]).vectors[0])
            conn.execute("INSERT INTO notes VALUES (%s, %s, %s)", (key, text, vector))


def _recompute(dsn, url):
    from harness.checks import CheckOptions, open_session, recompute
    from harness.profile import parse_profile
    from harness.settings import resolve

    session = open_session(resolve(parse_profile(PROFILE, env={}), database_url=dsn, env={"OLLAMA_HOST": url}),
                           CheckOptions(collections=("notes",)))
    try:
        return recompute(session, "notes")
    finally:
        session.close()


def test_of_two_rows_one_made_from_other_input_fails_where_the_other_reproduces(empty_db, embed_server):
    """The median of two rows is no row: their mean (0.9995) hid that one row reproduces to 1.0."""
    _stored(empty_db, embed_server.url, {"n1": _long(1), "n2": _long(2)}, older={"n2"})
    outcome = _recompute(empty_db.dsn, embed_server.url)
    assert outcome.status == "failed", outcome.message()
    assert [o.id for o in outcome.offenders] == ["n2"]


def test_half_the_rows_made_from_other_input_fail_where_the_other_half_reproduces(empty_db, embed_server):
    rows = {f"n{i}": _long(i) for i in range(1, 5)}
    _stored(empty_db, embed_server.url, rows, older={"n1", "n3"})
    outcome = _recompute(empty_db.dsn, embed_server.url)
    assert outcome.status == "failed", outcome.message()
    assert sorted(o.id for o in outcome.offenders) == ["n1", "n3"]


def test_rows_that_all_reproduce_pass(empty_db, embed_server):
    _stored(empty_db, embed_server.url, {"n1": _long(1), "n2": _long(2)}, older=set())
    outcome = _recompute(empty_db.dsn, embed_server.url)
    assert outcome.status in ("passed", "unproven"), outcome.message()
    assert outcome.metrics["below"] == 0


def test_most_rows_made_from_other_input_beside_one_that_reproduces_is_unproven_not_passed(empty_db, embed_server):
    """The median row does not reproduce, yet one row does: the provider made some of these vectors and not the
    others, and the sample cannot tell other input from another build of the model: not DONE."""
    rows = {f"n{i}": _long(i) for i in range(1, 4)}
    _stored(empty_db, embed_server.url, rows, older={"n1", "n2"})
    outcome = _recompute(empty_db.dsn, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "1 of 3 rows reproduce to cosine 0.999999 and 2 are below 0.9999" in outcome.note, outcome.note


def test_every_row_made_from_other_input_is_unproven_not_passed(empty_db, embed_server):
    """No row reproduces, so the sample's own median row set the floor at 0.99, which a text three words longer than
    the one embedded stays above (about 0.996): every row of the sample damaged, and recompute passed."""
    rows = {f"n{i}": _long(i) for i in range(1, 4)}
    _stored(empty_db, embed_server.url, rows, older=set(rows))
    outcome = _recompute(empty_db.dsn, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "0 of 3 rows reproduce to cosine 0.999999 and 3 are below 0.9999" in outcome.note, outcome.note
    assert "the sample proves only 0 of 3 rows below cosine 0.99 (every row checked" in outcome.note, outcome.note
    assert "an edit that moves a vector less than cosine 0.99" in outcome.note, outcome.note

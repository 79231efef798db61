"""distinct_vectors excuses a vector shared by rows of different texts only where the model itself embeds those texts
alike; a provider that answers one vector for every text (a broken build, a wrong pooling) excuses nothing: its
vectors on every row are the damage the check is there to find, and recompute, asking the same provider, agrees."""

from __future__ import annotations

import httpx
import numpy as np

from harness.checks import distinct_vectors
from harness.embedserver.models import Embedded, HashEmbed
from harness.embedserver.server import EmbeddingServer
from tests.conftest import TEST_MODEL
from tests.integration.conftest import check_session

PROFILE = f"""
name: notes
provider: {{model: {TEST_MODEL}, dimensions: 384}}
chunks: {{table: notes, id: id, text: body, collection_name: notes}}
embeddings: {{table: notes, key: id, vector: embedding}}
"""


class OneVector:
    """A model that answers the same vector whatever the text."""

    def __init__(self) -> None:
        self.info = HashEmbed(384).info
        self.vector = HashEmbed(384).embed(["the one answer"]).vectors[0]

    def embed(self, texts: list[str], truncate: bool = True) -> Embedded:
        return Embedded(np.tile(self.vector, (len(texts), 1)), len(texts), 0)


def load(db, url: str, texts: list[str], stored: list[str] | None = None) -> None:
    """One note per text, each holding the vector of its text (or of the text ``stored`` names in its place)."""
    stored = stored or texts
    vectors = httpx.post(f"{url}/api/embed", json={"model": TEST_MODEL, "input": stored}).json()["embeddings"]
    db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, embedding vector(384))")
    with db.connect(autocommit=True) as conn:
        for key, (text, vector) in enumerate(zip(texts, vectors), start=1):
            conn.execute("INSERT INTO notes VALUES (%s, %s, %s::vector)", (key, text, str(vector)))


def distinct(db, server, tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE)
    session = check_session(db, server, path, "notes")
    try:
        return distinct_vectors(session, "notes")
    finally:
        session.close()


def test_vectors_of_a_provider_answering_one_vector_for_every_text_fail_distinct_vectors(empty_db, tmp_path):
    server = EmbeddingServer(models=[TEST_MODEL])
    server.registry.preload(TEST_MODEL, OneVector())
    with server:
        load(empty_db, server.url, [f"note {i} on {topic}" for i, topic in enumerate(["tides", "rope", "sails", "knots"])])
        outcome = distinct(empty_db, server, tmp_path)
    assert outcome.status == "failed" and {o.id for o in outcome.offenders} == {1, 2, 3, 4}, outcome.message()


def test_texts_the_model_itself_embeds_alike_may_share_a_vector(empty_db, embed_server, tmp_path):
    """The lexical test model reads 'Mr. Mime' and 'mr mime' as the same words: one vector, rightly."""
    load(empty_db, embed_server.url, ["Mr. Mime", "mr mime", "Pikachu"])
    outcome = distinct(empty_db, embed_server, tmp_path)
    assert outcome.status == "passed", outcome.message()


def test_texts_the_model_embeds_alike_holding_another_texts_vector_fail_distinct_vectors(empty_db, embed_server,
                                                                                        tmp_path):
    """The model ties 'Mr. Mime' and 'mr mime', but the vector both rows hold is Pikachu's: not the model's tie."""
    load(empty_db, embed_server.url, ["Mr. Mime", "mr mime"], stored=["Pikachu", "Pikachu"])
    outcome = distinct(empty_db, embed_server, tmp_path)
    assert outcome.status == "failed" and {o.id for o in outcome.offenders} == {1, 2}, outcome.message()


def test_a_shared_vector_is_excused_only_when_every_text_holding_it_was_asked(empty_db, embed_server, tmp_path):
    """Nine spellings the model ties, then Pikachu's row holding their vector too: the tenth text was never asked."""
    spellings = ["Mr. Mime", "mr mime", "MR MIME", "Mr Mime", "mr. mime", "Mr-Mime", "MR. MIME!", "mr, mime", "(mr mime)"]
    load(empty_db, embed_server.url, spellings + ["Pikachu"], stored=spellings + ["Mr. Mime"])
    outcome = distinct(empty_db, embed_server, tmp_path)
    assert outcome.status == "failed" and 10 in {o.id for o in outcome.offenders}, outcome.message()


def test_of_two_rows_sharing_a_vector_only_the_one_whose_text_is_not_its_is_named(empty_db, embed_server, tmp_path):
    """A vector copied onto another row: the row of the text it was made from holds its own vector, and re-embedding
    it changes nothing, so it is not named; the copy is (LightRAG: a workspace's healthy chunk was named in its own
    verify because another workspace's row of the same id, edited, kept the old vector)."""
    load(empty_db, embed_server.url, ["note on tides", "note on rope", "note on sails"],
         stored=["note on tides", "note on tides", "note on sails"])
    outcome = distinct(empty_db, embed_server, tmp_path)
    assert outcome.status == "failed" and {o.id for o in outcome.offenders} == {2}, outcome.message()


def test_a_shared_vector_is_excused_only_when_every_row_holding_it_was_read(empty_db, embed_server, tmp_path,
                                                                             monkeypatch):
    """The rows sharing vectors are read up to the offenders' cap (100,000; 3 here, so the test stays small): rows of
    one text, the vector's own, fill it, and the row of another text holding that vector lies beyond it. The texts
    read are then not all the vector's texts, and the copy was passed unseen."""
    import harness.checks.distinct as distinct_module

    monkeypatch.setattr(distinct_module, "OFFENDERS_CAP", 3)
    load(empty_db, embed_server.url, ["note on tides"] * 3 + ["note on rope"], stored=["note on tides"] * 4)
    outcome = distinct(empty_db, embed_server, tmp_path)
    assert outcome.status == "failed", outcome.message()

"""profile init takes the distance the application's vector store names for the column, only where its stores agree."""

from types import SimpleNamespace

from harness.locate.schema import VectorDeclaration
from harness.profile_draft import _store_distance

SHAPE = SimpleNamespace(embeddings=SimpleNamespace(name="notes", qualified="public.notes"),
                        vector=SimpleNamespace(column="vec"))


def declared(path: str, distance: str | None, table: str = "notes", column: str = "vec") -> VectorDeclaration:
    return VectorDeclaration(path, 3, None, "langchain", table, column, distance=distance)


def test_the_stores_distance_of_the_column_is_taken_with_where_it_is_said():
    assert _store_distance([declared("a.ts", "ip"), declared("b.ts", "ip")], SHAPE) == ("ip", "a.ts:3")


def test_stores_that_disagree_give_no_distance():
    assert _store_distance([declared("a.ts", "ip"), declared("b.ts", "cosine")], SHAPE) is None


def test_a_store_of_another_table_or_column_says_nothing_of_this_one():
    assert _store_distance([declared("a.ts", "ip", table="other"), declared("b.ts", "l2", column="embedding"),
                            declared("c.sql", None)], SHAPE) is None


def test_a_column_the_code_declares_only_in_a_table_named_at_runtime_takes_the_codes_distance_in_every_collection():
    """cognee: `PGVectorDataPoint.c.vector.cosine_distance(q)` names the column `vector` of a table reflected per
    collection (`__tablename__ = collection_name`); the database's DocumentChunk_text, Entity_name, ... are its
    collections, not other tables whose `vector` the use might mean."""
    from harness.locate.distances import DistanceUse
    from harness.profile_draft import code_distances

    def shape(name):
        return SimpleNamespace(embeddings=SimpleNamespace(name=name, qualified=f"public.{name}"),
                               vector=SimpleNamespace(column="vector"))

    cosine = DistanceUse("pg.py", 590, "cosine", "sqlalchemy", None, "vector", "cosine_distance()")
    runtime = VectorDeclaration("pg.py", 318, None, "sqlalchemy", "{collection_name}", "vector")
    found = SimpleNamespace(declarations=[runtime], distances=[cosine])
    this, others = shape("DocumentChunk_text"), (shape("Entity_name"), shape("TextSummary_text"))
    assert code_distances(found, this, others) == (cosine,)
    # A literal table declaring the column too: the use may mean that one, so it says nothing of this column.
    literal = VectorDeclaration("models.py", 7, 768, "sqlalchemy", "notes", "vector")
    assert code_distances(SimpleNamespace(declarations=[runtime, literal], distances=[cosine]), this, others) == ()

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

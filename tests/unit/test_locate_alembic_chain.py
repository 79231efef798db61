"""Alembic revisions named by their hash (`alembic revision` names them so by default) are ordered by their
`down_revision` chain, not by their names: a later revision supersedes, drops and re-indexes what an earlier made."""

from harness.locate.alembic import Revision, chain_order, revision_of
from harness.locate.schema import superseded

from .test_locate_stacks import located

# named so that sorting the names puts the later revision first: only the chain says which came first
CREATE = '''"""create chunks

Revision ID: e5b1c0d2a9f3
Revises:
"""
import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision = "e5b1c0d2a9f3"
down_revision = None


def upgrade():
    op.create_table(
        "chunks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("embedding", Vector(768)),
    )
    op.execute("CREATE INDEX chunks_embedding_idx ON chunks USING hnsw (embedding vector_l2_ops)")


def downgrade():
    op.drop_table("chunks")
'''

WIDEN = '''"""a larger model

Revision ID: 1b2f7a9c4d6e
Revises: e5b1c0d2a9f3
"""
from alembic import op
from pgvector.sqlalchemy import Vector

revision: str = "1b2f7a9c4d6e"
down_revision: str | None = "e5b1c0d2a9f3"


def upgrade():
    op.execute("DROP INDEX chunks_embedding_idx")
    op.alter_column("chunks", "embedding", type_=Vector(1536))
    op.execute("CREATE INDEX chunks_embedding_idx ON chunks USING hnsw (embedding vector_cosine_ops)")


def downgrade():
    op.alter_column("chunks", "embedding", type_=Vector(768))
'''

DROP = '''"""drop chunks

Revision ID: 0a9d8c7b6e5f
Revises: 1b2f7a9c4d6e
"""
from alembic import op

revision = '0a9d8c7b6e5f'
down_revision = '1b2f7a9c4d6e'


def upgrade():
    op.drop_table("chunks")


def downgrade():
    pass
'''



def test_a_later_hash_named_revision_supersedes_the_dimension_an_earlier_one_declared(tmp_path):
    result = located(tmp_path, {"alembic/versions/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                "alembic/versions/1b2f7a9c4d6e_a_larger_model.py": WIDEN})
    now = {(d.path, d.dimensions) for d in result.declarations if d not in superseded(result.declarations)}
    assert now == {("alembic/versions/1b2f7a9c4d6e_a_larger_model.py", 1536)}, result.declarations


def test_what_a_hash_named_revisions_downgrade_declares_is_no_declaration(tmp_path):
    result = located(tmp_path, {"alembic/versions/1b2f7a9c4d6e_a_larger_model.py": WIDEN})
    assert [d.dimensions for d in result.declarations] == [1536]


def test_a_table_a_later_hash_named_revision_drops_is_no_current_declaration(tmp_path):
    result = located(tmp_path, {"alembic/versions/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                "alembic/versions/1b2f7a9c4d6e_a_larger_model.py": WIDEN,
                                "alembic/versions/0a9d8c7b6e5f_drop_chunks.py": DROP})
    assert all(d in superseded(result.declarations) for d in result.declarations), result.declarations


def test_an_index_a_later_hash_named_revision_recreates_says_the_later_distance(tmp_path):
    result = located(tmp_path, {"alembic/versions/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                "alembic/versions/1b2f7a9c4d6e_a_larger_model.py": WIDEN})
    assert {(u.path, u.distance) for u in result.distances if u.kind == "sql-index"} == {
        ("alembic/versions/1b2f7a9c4d6e_a_larger_model.py", "cosine")}


def test_the_column_an_alter_column_retypes_is_its_declarations_column_and_the_type_it_replaces_is_none(tmp_path):
    text = WIDEN.replace('type_=Vector(1536)', 'existing_type=Vector(768),\n        type_=Vector(1536),\n    ')
    result = located(tmp_path, {"alembic/versions/1b2f7a9c4d6e_a_larger_model.py": text})
    assert [(d.table, d.column, d.dimensions) for d in result.declarations] == [("chunks", "embedding", 1536)]


def test_a_batch_alter_tables_column_is_declared_on_that_table(tmp_path):
    text = WIDEN.replace('    op.alter_column("chunks", "embedding", type_=Vector(1536))\n',
                         '    with op.batch_alter_table("chunks") as batch_op:\n'
                         '        batch_op.alter_column("embedding", type_=Vector(1536))\n')
    result = located(tmp_path, {"alembic/versions/1b2f7a9c4d6e_a_larger_model.py": text})
    assert [(d.table, d.column, d.dimensions) for d in result.declarations] == [("chunks", "embedding", 1536)]


def test_a_merge_revision_comes_after_every_revision_it_merges():
    revisions = {"migrations/versions/a.py": Revision("a", ()), "migrations/versions/b.py": Revision("b", ("a",)),
                 "migrations/versions/c.py": Revision("c", ("a",)), "migrations/versions/d.py": Revision("d", ("c",)),
                 "migrations/versions/m.py": Revision("m", ("b", "d"))}
    places = {p.rsplit("/", 1)[-1]: place for p, (_, place) in chain_order(revisions).items()}
    assert {name for name, place in places.items() if place.before(places["m.py"])} == {"a.py", "b.py", "c.py", "d.py"}
    # the two branches it merges run in no order to each other
    assert not places["b.py"].before(places["d.py"]) and not places["d.py"].before(places["b.py"])


def test_a_folder_with_a_revision_whose_place_is_unread_is_left_to_its_names():
    revisions = {"alembic/versions/a.py": Revision("a", ()), "alembic/versions/b.py": None}
    assert chain_order(revisions) == {}


def test_revision_ids_are_read_with_annotations_and_a_merges_tuple():
    text = 'revision: str = "m1"\ndown_revision: Union[str, Sequence[str], None] = ("b1", "d1")\n'
    assert revision_of(text) == Revision("m1", ("b1", "d1"))
    assert revision_of('revision = "x"\ndown_revision = None\n') == Revision("x", ())
    assert revision_of('revision = make_id()\ndown_revision = None\n') is None


def test_revisions_whose_parents_are_missing_are_left_to_their_names():
    revisions = {"alembic/versions/73_x.py": Revision("73", ("72",)), "alembic/versions/122_y.py": Revision("122", ("121",))}
    assert chain_order(revisions) == {}


RENAME = '''revision = "0a9d8c7b6e5f"
down_revision = "1b2f7a9c4d6e"


def upgrade():
    op.rename_table("chunks", "passages")


def downgrade():
    op.rename_table("passages", "chunks")
'''


def test_a_table_a_later_revision_renames_is_no_current_declaration(tmp_path):
    result = located(tmp_path, {"alembic/versions/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                "alembic/versions/1b2f7a9c4d6e_a_larger_model.py": WIDEN,
                                "alembic/versions/0a9d8c7b6e5f_rename.py": RENAME})
    assert all(d.dropped for d in result.declarations), result.declarations


def test_a_column_a_later_revision_drops_or_renames_is_no_current_declaration(tmp_path):
    for change in ('op.drop_column("chunks", "embedding")',
                   'op.alter_column("chunks", "embedding", new_column_name="vector")'):
        folder = tmp_path / str(len(change))
        result = located(folder, {"alembic/versions/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                  "alembic/versions/0a9d8c7b6e5f_change.py": RENAME.replace(
                                      'down_revision = "1b2f7a9c4d6e"', 'down_revision = "e5b1c0d2a9f3"').replace(
                                      'op.rename_table("chunks", "passages")', change, 1)})
        assert [d.dropped for d in result.declarations] == [True], (change, result.declarations)


def test_a_versions_folders_package_marker_and_helpers_leave_its_chain_ordered(tmp_path):
    # `versions/__init__.py` (a packaged migrations folder) and a helper module name no revision: not unread revisions
    result = located(tmp_path, {"alembic/versions/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                "alembic/versions/1b2f7a9c4d6e_a_larger_model.py": WIDEN,
                                "alembic/versions/__init__.py": "",
                                "alembic/versions/_helpers.py": "def vector_index(table):\n    return table\n"})
    now = {(d.path, d.dimensions) for d in result.declarations if d not in superseded(result.declarations)}
    assert now == {("alembic/versions/1b2f7a9c4d6e_a_larger_model.py", 1536)}, result.declarations


def test_a_merges_parents_formatted_over_several_lines_are_read():
    # black splits a long `down_revision` tuple over lines; the revision is still read, and its folder stays ordered
    text = ('revision: str = "m1"\ndown_revision: Union[str, Sequence[str], None] = (\n'
            '    "1b2f7a9c4d6e",  # widen\n    "e5b1c0d2a9f3",\n)\n')
    assert revision_of(text) == Revision("m1", ("1b2f7a9c4d6e", "e5b1c0d2a9f3"))


def test_revisions_in_subfolders_of_versions_are_one_chain(tmp_path):
    # Alembic's recursive_version_locations: alembic/versions/2024_01/x.py is a revision of alembic/versions' chain
    result = located(tmp_path, {"alembic/versions/2024_01/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                "alembic/versions/2024_02/1b2f7a9c4d6e_a_larger_model.py": WIDEN})
    now = {(d.path, d.dimensions) for d in result.declarations if d not in superseded(result.declarations)}
    assert now == {("alembic/versions/2024_02/1b2f7a9c4d6e_a_larger_model.py", 1536)}, result.declarations


# `alembic revision` run on two branches from one parent: two heads, which `alembic upgrade heads` both applies
NARROW = '''revision = "7c3e9b1a2f40"
down_revision = "e5b1c0d2a9f3"


def upgrade():
    op.add_column("chunks", sa.Column("title", sa.Text()))
'''

NARROW_AFTER = '''from alembic import op
from pgvector.sqlalchemy import Vector

revision = "3f8d2c6b9e17"
down_revision = "7c3e9b1a2f40"


def upgrade():
    op.alter_column("chunks", "embedding", type_=Vector(384))
'''


def test_a_table_one_head_drops_is_no_current_declaration_whatever_the_other_head_declares(tmp_path):
    """WIDEN and the drop both follow the create (the same down_revision): after both heads the table is gone, but the
    drop, no deeper in the chain than WIDEN, was not seen as coming after it and 1536 stayed declared."""
    result = located(tmp_path, {"alembic/versions/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                "alembic/versions/1b2f7a9c4d6e_a_larger_model.py": WIDEN,
                                "alembic/versions/0a9d8c7b6e5f_drop_chunks.py": DROP.replace(
                                    "down_revision = '1b2f7a9c4d6e'", "down_revision = 'e5b1c0d2a9f3'")})
    assert all(d in superseded(result.declarations) for d in result.declarations), result.declarations


def test_a_column_two_heads_declare_differently_is_declared_by_both_not_by_the_deeper_one(tmp_path):
    """One head widens the column to 1536, the other (two revisions after the fork) narrows it to 384: neither runs
    after the other, so both dimensions are declared; the deeper branch's 384 alone was taken as the column's."""
    result = located(tmp_path, {"alembic/versions/e5b1c0d2a9f3_create_chunks.py": CREATE,
                                "alembic/versions/1b2f7a9c4d6e_a_larger_model.py": WIDEN,
                                "alembic/versions/7c3e9b1a2f40_title.py": NARROW,
                                "alembic/versions/3f8d2c6b9e17_narrow.py": NARROW_AFTER})
    now = {d.dimensions for d in result.declarations if d not in superseded(result.declarations)}
    assert now == {1536, 384}, result.declarations
    assert {u.distance for u in result.distances if u.kind == "sql-index"} == {"cosine"}, result.distances

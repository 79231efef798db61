"""locate reads an Elixir application's Ecto migrations: pgvector-elixir's `:vector` columns (`size:` their width)
in `create table(...)` / `alter table(...)` blocks, and a later migration's `remove` of one."""

from harness.locate.files import language
from harness.locate.schema import scan as declarations
from harness.steps.locate import locate

CREATE = '''defmodule Notes.Repo.Migrations.CreatePassages do
  use Ecto.Migration

  def up do
    execute "CREATE EXTENSION IF NOT EXISTS vector"

    create table(:passages) do
      add :body, :text, null: false
      add :embedding, :vector, size: 1536, null: false  # the provider's width
      add :notebook_id, references(:notebooks, on_delete: :delete_all)
    end

    create_if_not_exists table("snippets", primary_key: false) do
      add(:vec, :halfvec, size: 512)
    end

    alter table(:notebooks) do
      add :title_embedding, :vector, size: 384
    end
  end

  def down do
    alter table(:notebooks) do
      add :old_embedding, :vector, size: 64
    end
    drop table(:passages)
  end
end
'''

WIDEN = '''defmodule Notes.Repo.Migrations.NarrowPassages do
  use Ecto.Migration

  def up do
    alter table(:passages) do
      remove :embedding
    end

    alter table(:passages) do
      add :embedding, :vector, size: 768, null: false
    end
  end

  def down do
    alter table(:passages) do
      remove :embedding
      add :embedding, :vector, size: 1536, null: false
    end
  end
end
'''


def test_an_ecto_migration_declares_each_vector_column_of_its_table_and_nothing_in_down():
    rel = "priv/repo/migrations/20250101000000_create_passages.exs"
    found = [(d.table, d.column, d.type, d.dimensions, d.kind, d.line)
             for d in declarations(rel, CREATE, language(rel))]
    assert found == [("passages", "embedding", "vector", 1536, "ecto", 9),
                     ("snippets", "vec", "halfvec", 512, "ecto", 14),
                     ("notebooks", "title_embedding", "vector", 384, "ecto", 18)], found


def test_a_later_ecto_migration_removing_and_re_adding_the_column_supersedes_the_earlier_width(tmp_path):
    folder = tmp_path / "priv" / "repo" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20250101000000_create_passages.exs").write_text(CREATE)
    (folder / "20250301000000_narrow_passages.exs").write_text(WIDEN)
    located = locate(tmp_path)
    passages = sorted((d.path.rsplit("/", 1)[-1], d.dimensions, d.dropped) for d in located.declarations
                      if d.table == "passages")
    assert passages == [("20250101000000_create_passages.exs", 1536, True),
                        ("20250301000000_narrow_passages.exs", 768, False)], passages
    assert 1536 not in located.declared_dimensions and 768 in located.declared_dimensions, located.declared_dimensions


def test_the_index_an_ecto_migrations_down_executes_again_is_no_distance_of_the_schema():
    from harness.locate.distances import scan as distances

    text = WIDEN.replace("      add :embedding, :vector, size: 768, null: false\n    end\n",
                         "      add :embedding, :vector, size: 768, null: false\n    end\n\n"
                         '    execute "CREATE INDEX passages_embedding_idx ON passages USING hnsw (embedding vector_cosine_ops)"\n', 1)
    text = text.replace("      add :embedding, :vector, size: 1536, null: false\n    end\n",
                        "      add :embedding, :vector, size: 1536, null: false\n    end\n"
                        '    # execute "CREATE INDEX passages_l2 ON passages USING hnsw (embedding vector_ip_ops)"\n'
                        '    execute "CREATE INDEX passages_embedding_idx ON passages USING hnsw (embedding vector_l2_ops)"\n', 1)
    rel = "priv/repo/migrations/20250301000000_narrow_passages.exs"
    assert [(u.distance, u.table, u.column, u.line) for u in distances(rel, text, language(rel))] == [
        ("cosine", "passages", "embedding", 13)]

"""locate reads an Elixir application: its Ecto migrations (pgvector-elixir's `:vector` columns, `size:` their width,
in `create table(...)` / `alter table(...)` blocks, and a later migration's `remove` of one) and ollama-ex's embedding
calls (the model a keyword list sends, the server `Ollama.init` is given or defaults to)."""

from harness.locate.files import language
from harness.locate.schema import scan as declarations
from harness.steps.locate import locate

CREATE = '''defmodule Shelf.Repo.Migrations.CreatePassages do
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

WIDEN = '''defmodule Shelf.Repo.Migrations.NarrowPassages do
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


def elixir_app(tmp_path, embedder: str, init: str = "Ollama.init()"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "mix.exs").write_text('defmodule Shelf.MixProject do\n  use Mix.Project\nend\n')
    lib = tmp_path / "lib" / "shelf"
    lib.mkdir(parents=True)
    (lib / "settings.ex").write_text(
        'defmodule Shelf.Settings do\n  @moduledoc "Which models the app uses."\n\n'
        '  @embedder "hf.co/example/tiny-embed-gguf"\n  @chat "llama3.2"\n\n'
        '  def embedder, do: @embedder\n  def chat do\n    @chat\n  end\nend\n')
    (lib / "embedder.ex").write_text(embedder)
    (lib / "ingest.ex").write_text(
        'defmodule Shelf.Ingest do\n  alias Shelf.Embedder\n\n  def run(texts) do\n'
        f'    client = {init}\n    Enum.map(texts, &Embedder.vector(client, &1))\n  end\nend\n')
    return tmp_path


EMBEDDER = """defmodule Shelf.Embedder do
  alias Shelf.Settings

  def vector(client, text) do
    params = [model: Settings.embedder(), input: [text]]
    # Ollama.embed(client, model: "old-model", input: [text])
    {:ok, %{"embeddings" => [v]}} = Ollama.embed(client, params)
    v
  end
end
"""


def test_an_ollama_ex_embed_call_names_the_model_another_module_returns_and_the_clients_default_server(tmp_path):
    located = locate(elixir_app(tmp_path, EMBEDDER))
    assert [(c.path, c.line, c.kind, c.model, c.model_env, c.url, c.url_env, c.url_at)
            for c in located.embedding_calls] == [
        ("lib/shelf/embedder.ex", 7, "ollama-client", "hf.co/example/tiny-embed-gguf", None,
         "http://localhost:11434", None, "lib/shelf/ingest.ex:5")], located.embedding_calls


def test_an_ollama_ex_client_given_a_url_or_an_env_read_says_that_server(tmp_path):
    inline = EMBEDDER.replace("Ollama.embed(client, params)", 'Ollama.embeddings(client, model: @model, prompt: text)')
    inline = inline.replace("  alias Shelf.Settings\n", '  @model "nomic-embed-text"\n')
    located = locate(elixir_app(tmp_path / "a", inline, init='Ollama.init("http://ollama:11434/api")'))
    assert [(c.model, c.url, c.url_env) for c in located.embedding_calls] == [
        ("nomic-embed-text", "http://ollama:11434", None)], located.embedding_calls
    located = locate(elixir_app(tmp_path / "b", inline,
                                init='Ollama.init(System.get_env("OLLAMA_URL", "http://localhost:11434/api"))'))
    assert [(c.model, c.url, c.url_env) for c in located.embedding_calls] == [
        ("nomic-embed-text", "http://localhost:11434", "OLLAMA_URL")], located.embedding_calls


def test_pgvector_ecto_query_distances_say_the_table_of_the_schema_module_they_query(tmp_path):
    lib = tmp_path / "lib" / "shelf"
    lib.mkdir(parents=True)
    (lib / "passage.ex").write_text('defmodule Shelf.Library.Passage do\n  use Ecto.Schema\n\n  schema "passages" do\n'
                                    '    field :body, :string\n    field :embedding, Pgvector.Ecto.Vector\n  end\nend\n')
    (lib / "search.ex").write_text(
        'defmodule Shelf.Search do\n  import Ecto.Query\n  import Pgvector.Ecto.Query\n  alias Shelf.Library.Passage\n\n'
        '  def near(v) do\n    from(p in Passage, order_by: cosine_distance(p.embedding, ^v), limit: 5)\n  end\n\n'
        '  def far(v) do\n    query =\n      from x in Passage,\n        order_by: l2_distance(x.embedding, ^v)\n'
        '    # order_by: max_inner_product(x.embedding, ^v)\n    query\n  end\nend\n')
    located = locate(tmp_path)
    assert [(u.path, u.line, u.distance, u.kind, u.table, u.column) for u in located.distances] == [
        ("lib/shelf/search.ex", 7, "cosine", "ecto", "passages", "embedding"),
        ("lib/shelf/search.ex", 13, "l2", "ecto", "passages", "embedding")], located.distances


def test_the_columns_an_ecto_search_keeps_to_by_equality_are_its_filters():
    """A search function's `where(query, [c], c.shelf_id == ^id)` (or `where: p.kind == ^k` in its `from`) partitions
    the rows it searches, as Django's `.filter(project__id=...)` does; a range or another function's `where` does not."""
    text = ('defmodule Shelf.Search do\n  import Ecto.Query\n  import Pgvector.Ecto.Query\n\n'
            '  def near(v, shelf_id) do\n    query = from(p in Passage, where: p.kind == ^"note",\n'
            '      order_by: cosine_distance(p.embedding, ^v), limit: 5)\n'
            '    query = if shelf_id, do: where(query, [c], c.shelf_id == ^shelf_id), else: query\n'
            '    where(query, [c], c.inserted_at > ^yesterday())\n  end\n\n'
            '  def count(shelf_id) do\n    from(p in Passage, where: p.owner_id == ^shelf_id) |> Repo.aggregate(:count)\n'
            '  end\nend\n')
    from harness.locate.distances import scan as distances

    rel = "lib/shelf/search.ex"
    assert [(u.line, u.distance, u.filters) for u in distances(rel, text, language(rel))] == [
        (7, "cosine", ("kind", "shelf_id"))]


def test_an_ecto_migrations_size_given_as_a_module_attribute_is_that_attributes_number():
    """`@dims 768` above `add :embedding, :vector, size: @dims`: the column is 768 wide (it was read as no width)."""
    text = ('defmodule Shelf.Repo.Migrations.CreateChunks do\n  use Ecto.Migration\n\n  @dims 768\n\n'
            '  def change do\n    create table(:chunks) do\n      add :embedding, :vector, size: @dims\n    end\n  end\nend\n')
    rel = "priv/repo/migrations/20250101000000_create_chunks.exs"
    assert [(d.table, d.column, d.dimensions) for d in declarations(rel, text, language(rel))] == [
        ("chunks", "embedding", 768)]


def test_an_ecto_schema_modules_pgvector_field_declares_the_column_on_its_table():
    """rag_phoenix's `DocumentChunk`: `schema "document_chunks"` with `field :embedding, Pgvector.Ecto.Vector` says the
    column exists (its width is the migration's), as a Django or SQLAlchemy model does; an embedded schema has no table."""
    text = ('defmodule Shelf.Chunk do\n  use Ecto.Schema\n  alias Pgvector.Ecto.HalfVector\n\n'
            '  schema "document_chunks" do\n    field :content, :string\n    field :embedding, Pgvector.Ecto.Vector\n'
            '    field(:summary_embedding, HalfVector)\n  end\n\n'
            '  embedded_schema do\n    field :scratch, Pgvector.Ecto.Vector\n  end\nend\n')
    rel = "lib/shelf/chunk.ex"
    assert [(d.table, d.column, d.type, d.dimensions, d.kind, d.line)
            for d in declarations(rel, text, language(rel))] == [
        ("document_chunks", "embedding", "vector", None, "ecto-schema", 7),
        ("document_chunks", "summary_embedding", "halfvec", None, "ecto-schema", 8)]


MIX_TASK = '''defmodule Mix.Tasks.Shelf.EmbedChunks do
  @moduledoc "Fills the embedding of every chunk that has none."
  use Mix.Task

  @shortdoc "Embeds the chunks still without a vector"
  def run(_args) do
    Mix.Task.run("app.start")
    Shelf.Ingest.run(Shelf.Repo.all(Shelf.Chunk))
  end
end
'''

SCRIPT_TASK = '''defmodule Mix.Tasks.Models.UpdateScript do
  use Mix.Task

  @shortdoc "Updates setup_models.sh with current model configuration"
  def run(_args) do
    File.write!("setup_models.sh", "ollama pull " <> Shelf.Settings.embedder())
  end
end
'''


def test_a_mix_task_that_embeds_is_the_apps_entrypoint_run_as_mix_and_its_dotted_name(tmp_path):
    """`defmodule Mix.Tasks.Shelf.EmbedChunks` with `use Mix.Task` is `mix shelf.embed_chunks`, run where mix.exs is;
    rag_phoenix's `models.update_script`, which writes a shell script, is no backfill. No Mix task was read at all."""
    root = elixir_app(tmp_path, EMBEDDER)
    tasks = root / "lib" / "mix" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "embed_chunks.ex").write_text(MIX_TASK)
    (tasks / "models").mkdir()
    (tasks / "models" / "update_script.ex").write_text(SCRIPT_TASK)
    found = [(e.path, e.kind, e.command, e.workdir) for e in locate(root).entrypoints]
    assert found == [("lib/mix/tasks/embed_chunks.ex", "mix-task", "mix shelf.embed_chunks", ".")], found


def test_a_mix_tasks_contract_is_unknown_and_says_why(tmp_path):
    """Mix runs the task in the application booted for its MIX_ENV (config/*.exs): what it reads is not read here, said
    so, not that `mix` is a tool outside the repository; a task the application does not define is named as missing."""
    from harness.locate.contract import command_contract

    root = elixir_app(tmp_path, EMBEDDER)
    (root / "lib" / "mix" / "tasks").mkdir(parents=True)
    (root / "lib" / "mix" / "tasks" / "embed_chunks.ex").write_text(MIX_TASK)
    contract = command_contract("mix shelf.embed_chunks", root)
    assert not contract.known and contract.reason == (
        "mix shelf.embed_chunks runs lib/mix/tasks/embed_chunks.ex in the application booted for its MIX_ENV "
        "(config/*.exs), whose settings locate does not read"), contract.reason
    missing = command_contract("mix shelf.nothing", root)
    assert not missing.known and missing.reason == (
        "mix shelf.nothing is no task of the application's lib/ (Mix's own or a dependency's: code outside the "
        "repository)"), missing.reason

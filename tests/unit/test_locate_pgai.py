"""locate reads pgai's vectorizers: ``ai.create_vectorizer(...)`` (SQL, or a string of code) and pgai's Python
configuration declare the store pgai's worker makes (named as pgai names it) and the embedder the worker calls."""

from harness.locate.pgai import declarations, embedding_calls


def stores(rel: str, text: str, lang: str = "sql") -> list[tuple]:
    return [(d.table, d.column, d.dimensions, d.kind, d.distance) for d in declarations(rel, text, lang)]


def embedders(rel: str, text: str, lang: str = "sql") -> list[tuple]:
    return [(c.kind, c.model, c.dimensions, c.url, c.url_env) for c in embedding_calls(rel, text, lang)]


NAMED = """SELECT ai.create_vectorizer(
    'dapr_web'::regclass,
    loading => ai.loading_column('text'),
    destination => ai.destination_table (target_table => 'dapr_web_embeddings_store',
                     view_name => 'dapr_web_embeddings'),
    embedding => ai.embedding_ollama('all-minilm', 384),
    chunking => ai.chunking_recursive_character_text_splitter(800));
"""


def test_a_destination_tables_target_table_is_the_store_and_its_ollama_embedder_the_call():
    """The store as target_table names it; the worker's Ollama client reads OLLAMA_HOST where no base_url is given."""
    assert stores("sql/v.sql", NAMED) == [("dapr_web_embeddings_store", "embedding", 384, "pgai", "cosine")]
    assert embedders("sql/v.sql", NAMED) == [("ollama-pgai", "all-minilm", 384, None, "OLLAMA_HOST")]


def test_a_vectorizer_in_a_comment_declares_nothing():
    """pgai 0.9's form kept in a /* */ block (or after --) beside the one run: only the one run is read."""
    text = "/*\n" + NAMED.replace("dapr_web_embeddings_store", "old_store") + "*/\n-- SELECT ai.create_vectorizer('x'::regclass);\n"
    assert stores("sql/v.sql", text) == [] and embedders("sql/v.sql", text) == []


def test_pgais_default_names_follow_the_destination_or_the_source():
    """destination_table('NAME'): NAME_store; none: SOURCE_embedding_store; pgai < 0.10's `destination => 'NAME'`
    string: NAME_store; a target_schema qualifies the store."""
    assert stores("a.sql", "SELECT ai.create_vectorizer('blog'::regclass, destination => ai.destination_table("
                           "'blog_embeddings'), embedding => ai.embedding_openai('text-embedding-3-small', 768))") == [
        ("blog_embeddings_store", "embedding", 768, "pgai", "cosine")]
    assert stores("a.sql", "SELECT ai.create_vectorizer('public.blog'::regclass, embedding => "
                           "ai.embedding_ollama('nomic-embed-text', 768, base_url => 'http://ollama:11434'))") == [
        ("blog_embedding_store", "embedding", 768, "pgai", "cosine")]
    assert stores("a.sql", "SELECT ai.create_vectorizer('blog'::regclass, destination => 'blog_vectors', "
                           "embedding => ai.embedding_ollama('all-minilm', 384))") == [
        ("blog_vectors_store", "embedding", 384, "pgai", "cosine")]
    assert stores("a.sql", "SELECT ai.create_vectorizer('blog'::regclass, destination => ai.destination_table("
                           "target_schema => 'vec', target_table => 'posts'), embedding => ai.embedding_ollama("
                           "'all-minilm', 384), indexing => ai.indexing_hnsw(opclass => 'vector_l2_ops'))") == [
        ("vec.posts", "embedding", 384, "pgai", "l2")]


def test_a_base_url_is_the_embedders_url_and_another_provider_is_no_ollama_one():
    text = ("SELECT ai.create_vectorizer('blog'::regclass, embedding => ai.embedding_ollama('nomic-embed-text', 768, "
            "base_url => 'http://ollama:11434'))")
    assert embedders("a.sql", text) == [("ollama-pgai", "nomic-embed-text", 768, "http://ollama:11434", None)]
    text = "SELECT ai.create_vectorizer('blog'::regclass, embedding => ai.embedding_openai('text-embedding-3-small', 1536))"
    assert embedders("a.sql", text) == [("openai", "text-embedding-3-small", 1536, None, None)]


def test_destination_column_declares_a_column_of_the_source_table():
    text = ("SELECT ai.create_vectorizer('blog'::regclass, destination => ai.destination_column('contents_embedding'), "
            "chunking => ai.chunking_none(), embedding => ai.embedding_ollama('all-minilm', 384))")
    assert stores("a.sql", text) == [("blog", "contents_embedding", 384, "pgai", "cosine")]


def test_pgais_python_configuration_and_sql_in_a_string_of_code():
    """`CreateVectorizer(source=..., embedding=EmbeddingOllamaConfig(model=..., dimensions=...), destination=
    DestinationTableConfig(destination=...))` as pgai's Python API and Alembic operation take it; the SQL in a
    Python string as a script executes it."""
    code = '''from pgai.vectorizer import CreateVectorizer
from pgai.vectorizer.configuration import EmbeddingOllamaConfig, DestinationTableConfig
vectorizer = CreateVectorizer(
    source="wiki",
    embedding=EmbeddingOllamaConfig(model="nomic-embed-text", dimensions=768),
    destination=DestinationTableConfig(destination="wiki_embeddings"),
)
'''
    assert stores("app/setup.py", code, "python") == [("wiki_embeddings_store", "embedding", 768, "pgai", "cosine")]
    assert embedders("app/setup.py", code, "python") == [("ollama-pgai", "nomic-embed-text", 768, None, "OLLAMA_HOST")]
    script = 'cur.execute("SELECT ai.create_vectorizer(\'notes\'::regclass, embedding => ai.embedding_ollama(\'all-minilm\', 384))")\n'
    assert stores("load.py", script, "python") == [("notes_embedding_store", "embedding", 384, "pgai", "cosine")]


def test_a_python_configurations_model_read_from_the_environment_is_its_env_and_default():
    """`EmbeddingOllamaConfig(model=os.getenv("OLLAMA_MODEL", "nomic-embed-text"), dimensions=int(os.getenv(
    "EMBED_DIMENSIONS", 768)))`: the default is the model, the variable where it comes from; the dimension's default too."""
    code = '''import os
from pgai.vectorizer import CreateVectorizer
task = CreateVectorizer(
    source="task",
    destination=DestinationTableConfig(destination="task_embedding"),
    embedding=EmbeddingOllamaConfig(
        model=os.getenv("OLLAMA_MODEL", "nomic-embed-text"),
        dimensions=int(os.getenv("EMBED_DIMENSIONS", 768)),
    ),
)
'''
    assert stores("app/vectorizers.py", code, "python") == [("task_embedding_store", "embedding", 768, "pgai", "cosine")]
    [call] = embedding_calls("app/vectorizers.py", code, "python")
    assert (call.model, call.model_env, call.dimensions, call.dimensions_env) == (
        "nomic-embed-text", "OLLAMA_MODEL", 768, "EMBED_DIMENSIONS")


def test_an_embedding_configuration_bound_to_a_name_is_read_where_it_is_made():
    """One `EmbeddingOllamaConfig` bound to a name and passed to two vectorizers: each is that embedder (its model
    the environment's, no default), each store as its destination names it."""
    code = '''import os
_embedding_config = EmbeddingOllamaConfig(
    model=os.environ["EMBED_MODEL"],
    dimensions=int(os.environ["EMBED_DIMENSIONS"]),
)
_task = CreateVectorizer(source="task", destination=DestinationTableConfig(destination="task_embedding"),
                         embedding=_embedding_config)
_project = CreateVectorizer(source="project", destination=DestinationTableConfig(destination="project_embedding"),
                            embedding=_embedding_config)
'''
    assert stores("app/v.py", code, "python") == [("task_embedding_store", "embedding", None, "pgai", "cosine"),
                                                  ("project_embedding_store", "embedding", None, "pgai", "cosine")]
    assert [(c.kind, c.model, c.model_env, c.dimensions_env) for c in embedding_calls("app/v.py", code, "python")] == [
        ("ollama-pgai", None, "EMBED_MODEL", "EMBED_DIMENSIONS")] * 2

"""Two chunk tables, each one fixed collection (``chunks.collection_name``), beside one embedding table shared by
both and keyed by (key, collection) (``embeddings.collection``): a run of one collection writes its own rows and
leaves the other collection's vectors of the same keys as they are."""

SCHEMA = """
CREATE TABLE articles (id int PRIMARY KEY, body text NOT NULL);
CREATE TABLE faqs (id int PRIMARY KEY, body text NOT NULL);
CREATE TABLE vectors (key int, source text, embedding vector(384), model text, input_hash text, PRIMARY KEY (key, source));
INSERT INTO articles SELECT g, 'article ' || g || ' about tea' FROM generate_series(1, 6) g;
INSERT INTO faqs SELECT g, 'question ' || g || ' about rain' FROM generate_series(1, 6) g;
"""


def profile(name: str) -> str:
    return (f"name: {name}\nprovider: {{model: hash-embed:384}}\n"
            f"chunks: {{table: {name}, id: id, text: body, collection_name: {name}}}\n"
            "embeddings: {table: vectors, key: key, vector: embedding, model: model, input_hash: input_hash, collection: source}\n")


def test_a_run_of_one_fixed_collection_keeps_the_vectors_another_collection_filed_under_the_same_keys(
        cli, empty_db, embed_server, tmp_path):
    """Before: the faqs run re-embedding its edited chunks deleted every row of keys 1..6, the articles' vectors among them (6 -> 0)."""
    empty_db.execute(SCHEMA)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    targets = {}
    for name in ("articles", "faqs"):
        (tmp_path / f"{name}.yaml").write_text(profile(name))
        targets[name] = ("--profile", tmp_path / f"{name}.yaml", "--collection", name)
    assert cli("backfill", *targets["articles"], "--json", env=env).json["embedded"] == 6
    assert cli("backfill", *targets["faqs"], "--json", env=env).json["embedded"] == 6
    empty_db.execute("UPDATE faqs SET body = body || ' and snow'")
    faqs = cli("backfill", *targets["faqs"], "--json", env=env)
    assert faqs.code == 0 and faqs.json["embedded"] == 6, faqs.out + faqs.err
    assert empty_db.scalar("SELECT count(*) FROM vectors WHERE source = 'articles'") == 6
    assert empty_db.scalar("SELECT count(*) FROM vectors WHERE source = 'faqs'") == 6

"""A key the run finds rows by that no index leads: every batch reads the whole table, so scope and run say so."""

from harness.backfill import BackfillOptions, run_backfill
from harness.profile import load_profile
from harness.settings import resolve

from ..conftest import TEST_MODEL

FILLER = ("INSERT INTO document_embeddings (chunk_id, collection, embedding, model_name, input_hash) "
          "SELECT k, 'filler', array_fill(0.5::real, ARRAY[384])::vector, %s, '' FROM generate_series(1000000, 1012000) AS k")


def _filled(db):
    """12,000 more rows, enough that a batch reading the table shows. The ANN index is beside the point: 12,000 equal
    vectors inserted into it took 10 s per test."""
    db.execute("DROP INDEX document_embeddings_embedding_idx")
    db.execute(FILLER, (TEST_MODEL,))


def _without_key_index(db):
    db.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
    _filled(db)


def test_scope_warns_that_each_batch_reads_the_whole_table_where_no_index_leads_the_embedding_key(cli, demo_db, demo_profile,
                                                                                                 target_env):
    _without_key_index(demo_db)
    result = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    warnings = [a for a in result.json["assumptions"] if "no index" in a]
    assert len(warnings) == 1, result.json["assumptions"]
    assert warnings[0].startswith("WARNING: document_embeddings.chunk_id leads no index")
    assert "CREATE INDEX CONCURRENTLY ON public.document_embeddings (chunk_id)" in warnings[0]


def test_scope_says_nothing_of_indexes_where_the_keys_lead_one(cli, demo_db, demo_profile, target_env):
    _filled(demo_db)
    result = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert not [a for a in result.json["assumptions"] if "no index" in a]


def test_a_run_notes_the_key_without_an_index(demo_db, demo_profile, demo_env):
    _without_key_index(demo_db)
    settings = resolve(load_profile(demo_profile, env=demo_env), database_url=demo_db.dsn, env=demo_env)
    summary = run_backfill(settings, BackfillOptions("tenant_acme", progress=False))
    assert summary.ok
    assert any(n.startswith("document_embeddings.chunk_id leads no index") for n in summary.notes), summary.notes


# -- tables of every kind: the line is true, and its statement runs -------------------------------------------------

ITEMS = ("CREATE TABLE items (id bigint PRIMARY KEY, coll text, content text); "
         "INSERT INTO items SELECT g, 'docs', 't' FROM generate_series(1, 12000) g")
VECTORS = ("INSERT INTO {} SELECT g, 'docs', array_fill(0.5::real, ARRAY[3])::vector FROM generate_series(1, 12000) g")
KEYS = """
name: keys
provider: {model: hash-embed:384}
%s
chunks: {table: %s, id: id, text: content, collection: coll}
embeddings: {schema: %s, table: %s, key: %s, vector: embedding, collection: coll}
"""


def _lines(dsn, chunks="items", schema="public", table="vecs", key="item_id", database=""):
    from harness import rls
    from harness.backfill.unindexed import unindexed_keys
    from harness.db import connect
    from harness.profile import parse_profile
    from harness.target import Target

    target = Target(parse_profile(KEYS % (database, chunks, schema, table, key), env={}))
    with connect(dsn, autocommit=True) as conn:
        return unindexed_keys(conn, target, rls.tenants(conn, target.profile))


def test_the_suggested_index_quotes_names_postgres_reserves(empty_db):
    empty_db.execute(ITEMS)
    empty_db.execute('CREATE SCHEMA "App"; CREATE TABLE "App"."order" ("user" bigint, coll text, embedding vector(3))')
    empty_db.execute(VECTORS.format('"App"."order"'))
    [line] = _lines(empty_db.dsn, schema="App", table="order", key="user")
    empty_db.execute(line.split("e.g. ", 1)[1])  # the statement as the line gives it creates the index
    assert _lines(empty_db.dsn, schema="App", table="order", key="user") == []


def test_a_partitioned_table_whose_every_partition_indexes_the_key_is_indexed(empty_db):
    empty_db.execute(ITEMS)
    empty_db.execute("CREATE TABLE vecs (item_id bigint, coll text, embedding vector(3)) PARTITION BY RANGE (item_id); "
                     "CREATE TABLE vecs_a PARTITION OF vecs FOR VALUES FROM (0) TO (6000); "
                     "CREATE TABLE vecs_b PARTITION OF vecs FOR VALUES FROM (6000) TO (100000); "
                     "CREATE INDEX ON vecs_a (item_id); CREATE INDEX ON vecs_b (item_id)")
    empty_db.execute(VECTORS.format("vecs"))
    assert _lines(empty_db.dsn) == []


def test_a_partitioned_table_with_a_partition_lacking_the_index_gets_a_statement_postgres_runs(empty_db):
    empty_db.execute(ITEMS)
    empty_db.execute("CREATE TABLE vecs (item_id bigint, coll text, embedding vector(3)) PARTITION BY RANGE (item_id); "
                     "CREATE TABLE vecs_a PARTITION OF vecs FOR VALUES FROM (0) TO (6000); "
                     "CREATE TABLE vecs_b PARTITION OF vecs FOR VALUES FROM (6000) TO (100000); "
                     "CREATE INDEX ON vecs_a (item_id)")
    empty_db.execute(VECTORS.format("vecs"))
    [line] = _lines(empty_db.dsn)
    assert line.startswith("vecs.item_id leads no index")
    empty_db.execute(line.split("e.g. ", 1)[1])  # CREATE INDEX CONCURRENTLY is refused on a partitioned table
    assert _lines(empty_db.dsn) == []


def test_a_chunk_view_gets_no_index_statement(empty_db):
    # No index can be made on a view: the tables it reads have theirs (items.id, its primary key, here).
    empty_db.execute(ITEMS)
    empty_db.execute("CREATE VIEW items_v AS SELECT * FROM items; "
                     "CREATE TABLE vecs (item_id bigint PRIMARY KEY, coll text, embedding vector(3))")
    empty_db.execute(VECTORS.format("vecs"))
    assert _lines(empty_db.dsn, chunks="items_v") == []


def test_a_role_that_may_not_read_the_embedding_table_is_told_from_the_catalog_not_stopped(empty_db, pg):
    empty_db.execute(ITEMS)
    empty_db.execute("CREATE TABLE vecs (item_id bigint, coll text, embedding vector(3))")
    empty_db.execute(VECTORS.format("vecs"))
    empty_db.execute("ANALYZE vecs")
    role = f"r_{empty_db.name}"
    empty_db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'; GRANT SELECT ON items TO {role}")
    try:
        [line] = _lines(pg.dsn(empty_db.name, user=role, password="pw"))
    finally:
        empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
    assert line.startswith("vecs.item_id leads no index")


def test_rows_under_row_level_security_are_counted_in_the_sessions_view(empty_db, pg):
    # The policy reads its setting without missing_ok: read outside database.session it stopped with an error.
    empty_db.execute(ITEMS)
    empty_db.execute("CREATE TABLE vecs (item_id bigint, coll text, embedding vector(3))")
    empty_db.execute(VECTORS.format("vecs"))
    role = f"r_{empty_db.name}"
    empty_db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'; GRANT SELECT ON items, vecs TO {role}; "
                     "ALTER TABLE vecs ENABLE ROW LEVEL SECURITY; "
                     "CREATE POLICY by_coll ON vecs USING (coll = current_setting('app.coll'))")
    try:
        [line] = _lines(pg.dsn(empty_db.name, user=role, password="pw"), database="database: {session: {app.coll: docs}}")
    finally:
        empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
    assert line.startswith("vecs.item_id leads no index")


# -- the tables that place a chunk in its collections: chunks.collection_join, chunks.collection_table -------------

PLACED = """
name: placed
provider: {model: hash-embed:384}
chunks: {table: items, id: id, text: content, collection: %s, %s}
embeddings: {table: vecs, key: item_id, vector: embedding}
"""
JOINED = PLACED % ("brain", "collection_join: {table: links, key: item_id}")
NAMED = PLACED % ("coll_id", "collection_table: {table: colls, key: cid, name: name}")


def _placed_lines(dsn, text):
    from harness import rls
    from harness.backfill.unindexed import unindexed_keys
    from harness.db import connect
    from harness.profile import parse_profile
    from harness.target import Target

    target = Target(parse_profile(text, env={}))
    with connect(dsn, autocommit=True) as conn:
        return unindexed_keys(conn, target, rls.tenants(conn, target.profile))


def _joined(db):
    db.execute("CREATE TABLE items (id bigint PRIMARY KEY, content text); "
               "CREATE TABLE links (item_id bigint, brain text); "
               "CREATE TABLE vecs (item_id bigint PRIMARY KEY, embedding vector(3)); "
               "INSERT INTO items SELECT g, 't' FROM generate_series(1, 12000) g; "
               "INSERT INTO links SELECT g, 'docs' FROM generate_series(1, 12000) g")


def test_a_join_tables_chunk_key_that_no_index_leads_is_warned_with_a_statement_postgres_runs(empty_db):
    _joined(empty_db)
    [line] = _placed_lines(empty_db.dsn, JOINED)
    assert line.startswith("links.item_id leads no index"), line
    empty_db.execute(line.split("e.g. ", 1)[1])
    assert _placed_lines(empty_db.dsn, JOINED) == []


def test_a_join_table_indexed_on_the_collection_then_the_chunk_key_gets_no_warning(empty_db):
    _joined(empty_db)
    empty_db.execute("CREATE INDEX ON links (brain, item_id)")
    assert _placed_lines(empty_db.dsn, JOINED) == []


def test_a_collection_tables_key_that_no_index_leads_is_warned(empty_db):
    empty_db.execute("CREATE TABLE items (id bigint PRIMARY KEY, coll_id bigint, content text); "
                     "CREATE TABLE colls (cid bigint, name text); "
                     "CREATE TABLE vecs (item_id bigint PRIMARY KEY, embedding vector(3)); "
                     "INSERT INTO colls SELECT g, 'c' || g FROM generate_series(1, 12000) g; "
                     "INSERT INTO items SELECT g, g, 't' FROM generate_series(1, 100) g")
    [line] = _placed_lines(empty_db.dsn, NAMED)
    assert line.startswith("colls.cid leads no index"), line


# -- one rule of "an index leads this column" (introspect.leads_an_index): the warning's, and the skip scan's ----------

def _leads(dsn, table, column, within=None):
    from harness.db import connect
    from harness.introspect import leads_an_index

    with connect(dsn, autocommit=True) as conn:
        return leads_an_index(conn, "public", table, column, within)


def test_a_table_whose_inheritance_child_lacks_the_index_is_not_led_by_one(empty_db):
    # A read of the parent reads the child too: its index on the parent alone leaves the child's rows unordered.
    empty_db.execute("CREATE TABLE vecs (item_id bigint, coll text); CREATE INDEX ON vecs (coll); "
                     "CREATE TABLE vecs_old () INHERITS (vecs)")
    assert not _leads(empty_db.dsn, "vecs", "coll")
    empty_db.execute("CREATE INDEX ON vecs_old (coll)")
    assert _leads(empty_db.dsn, "vecs", "coll")


def test_a_partitioned_table_indexed_partition_by_partition_is_led_by_one(empty_db):
    empty_db.execute("CREATE TABLE vecs (item_id bigint, coll text) PARTITION BY LIST (coll); "
                     "CREATE TABLE vecs_a PARTITION OF vecs FOR VALUES IN ('a'); "
                     "CREATE TABLE vecs_b PARTITION OF vecs FOR VALUES IN ('b'); "
                     "CREATE INDEX ON vecs_a (coll); CREATE INDEX ON vecs_b (coll)")
    assert _leads(empty_db.dsn, "vecs", "coll")


def test_an_index_on_the_collection_then_the_key_leads_the_key_within_its_collection(empty_db):
    empty_db.execute("CREATE TABLE vecs (item_id bigint, coll text); CREATE INDEX ON vecs (coll, item_id)")
    assert _leads(empty_db.dsn, "vecs", "item_id", within="coll")
    assert not _leads(empty_db.dsn, "vecs", "item_id")


def test_a_view_is_led_by_no_index(empty_db):
    empty_db.execute("CREATE TABLE vecs (item_id bigint, coll text); CREATE INDEX ON vecs (coll); "
                     "CREATE VIEW vecs_v AS SELECT * FROM vecs")
    assert not _leads(empty_db.dsn, "vecs_v", "coll")

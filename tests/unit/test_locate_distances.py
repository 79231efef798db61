"""locate reads the distance an application's own code queries a vector column with: raw SQL operators, ORM helpers
and index declarations, each with where it is said; comments and strings that are not SQL say nothing."""

from harness.locate.distances import DistanceUse, for_column, scan


def found(rel: str, text: str, lang: str) -> list[tuple[str, str | None, str | None, int]]:
    return [(u.distance, u.table, u.column, u.line) for u in scan(rel, text, lang)]


# -- raw SQL in application code ----------------------------------------------------------------------------------

def test_a_prisma_raw_query_in_a_template_literal_says_cosine_for_its_table_and_column():
    # formbricks' shape: prisma.$queryRaw with the vector cast inline.
    text = ("export const similar = (vec: string) =>\n  prisma.$queryRaw`\n    SELECT id FROM \"Document\"\n"
            "    ORDER BY embedding <=> ${vec}::vector(512)\n    LIMIT 5`;\n")
    assert found("src/search.ts", text, "js") == [("cosine", "Document", "embedding", 4)]


def test_an_l2_operator_in_a_python_f_string_is_read_with_the_column_it_compares():
    text = ('def search(cur, q):\n    cur.execute(f"SELECT id, content FROM messages ORDER BY embedding <-> %s LIMIT {k}", (q,))\n')
    assert found("app/search.py", text, "python") == [("l2", "messages", "embedding", 2)]


def test_a_negative_inner_product_in_a_sql_file_is_ip():
    text = "-- search\nSELECT id FROM items\nORDER BY items.vec <#> $1\nLIMIT 10;\n"
    assert found("db/search.sql", text, "sql") == [("ip", "items", "vec", 3)]


def test_an_alias_in_the_from_clause_names_the_table():
    text = 'q = """SELECT d.id FROM documents AS d JOIN users u ON u.id = d.owner ORDER BY d.embedding <=> %s"""\n'
    assert found("app/q.py", text, "python") == [("cosine", "documents", "embedding", 1)]


def test_an_operator_in_a_code_comment_is_not_evidence():
    text = ("// ORDER BY embedding <-> $1 would be l2\n/* SELECT * FROM t ORDER BY embedding <#> $1 */\n"
            "# SELECT id FROM t ORDER BY embedding <-> %s\nconst x = 1;\n")
    assert scan("src/a.ts", text, "js") == []
    assert scan("app/a.py", "# SELECT id FROM t ORDER BY embedding <-> %s\nx = 1\n", "python") == []


def test_an_operator_in_a_sql_comment_or_sql_string_is_not_evidence():
    text = "-- ORDER BY embedding <-> $1\n/* SELECT 1 FROM t ORDER BY embedding <#> $1 */\nSELECT 'a <-> b' FROM t;\n"
    assert scan("db/x.sql", text, "sql") == []


def test_an_arrow_in_a_string_that_is_not_sql_is_not_evidence():
    text = ('const label = "Press <-> to swap panels";\nconst help = `a <=> b compares`;\n'
            "fn swap<'a>(x: &'a str) -> &'a str { x } // <->\n")
    assert scan("src/ui.ts", text, "js") == []
    assert scan("src/lib.rs", 'let s = "use <-> to swap"; // SELECT <->\n', "other") == []


# -- ORM helpers ----------------------------------------------------------------------------------------------------

def test_sqlalchemy_helpers_of_pgvector_python_say_each_distance():
    text = ("from pgvector.sqlalchemy import Vector\n\nclass Item(Base):\n    __tablename__ = 'items'\n"
            "    embedding = mapped_column(Vector(3))\n\n"
            "a = select(Item).order_by(Item.embedding.l2_distance(q))\n"
            "b = select(Item).order_by(Item.embedding.cosine_distance(q))\n"
            "c = select(Item).order_by(Item.embedding.max_inner_product(q))\n")
    assert found("app/models.py", text, "python") == [("l2", "items", "embedding", 7), ("cosine", "items", "embedding", 8),
                                                      ("ip", "items", "embedding", 9)]


def test_django_distance_functions_name_their_column():
    text = ("from pgvector.django import CosineDistance, L2Distance, MaxInnerProduct\n"
            "a = Item.objects.order_by(L2Distance('embedding', q))[:5]\n"
            "b = Item.objects.annotate(d=CosineDistance(\"embedding\", q))\n"
            "c = Item.objects.order_by(MaxInnerProduct(F('vec'), q))\n")
    assert [(d, c, line) for d, _, c, line in found("shop/views.py", text, "python")] == [
        ("l2", "embedding", 2), ("cosine", "embedding", 3), ("ip", "vec", 4)]


def test_a_django_search_says_the_columns_it_keeps_to_by_equality():
    """labs' ``Embedding.objects.filter(project__id=project_id).values(...).annotate(d=Min(CosineDistance(...)))``:
    the search keeps to one project (``project_id``); a range lookup (``created__gte``) keeps to no partition."""
    text = ("from pgvector.django import CosineDistance\n"
            "rows = (Embedding.objects.filter(project__id=project_id, created__gte=since)\n"
            "        .filter(kind='code').values('file_path')\n"
            "        .annotate(distance=Min(CosineDistance('embedding', q))))\n"
            "other = Item.objects.order_by(L2Distance('embedding', q))\n")
    assert [(u.column, u.filters) for u in scan("labs/embedder.py", text, "python")] == [
        ("embedding", ("project_id", "kind")), ("embedding", ())]


def test_drizzle_distance_helpers_name_the_tables_column():
    text = ("import { cosineDistance, l2Distance, innerProduct } from 'drizzle-orm';\n"
            "export const docs = pgTable('documents', { id: serial('id'), embedding: vector('embedding_vec', "
            "{ dimensions: 3 }) });\n"
            "const a = db.select().from(docs).orderBy(cosineDistance(docs.embedding, q));\n"
            "const b = l2Distance(docs.embedding, q);\nconst c = sql`${innerProduct(docs.embedding, q)}`;\n")
    assert found("src/db.ts", text, "js") == [("cosine", "documents", "embedding_vec", 3),
                                              ("l2", "documents", "embedding_vec", 4),
                                              ("ip", "documents", "embedding_vec", 5)]


def test_rails_neighbor_names_the_distance_and_column():
    text = ('class Item < ApplicationRecord\n  has_neighbors :embedding\nend\n'
            'Item.nearest_neighbors(:embedding, q, distance: "cosine").first(5)\n'
            "doc.nearest_neighbors(:vec, distance: :euclidean)\n"
            "Item.nearest_neighbors(:embedding, q, distance: 'inner_product')\n")
    assert [(d, c, line) for d, _, c, line in found("app/models/item.rb", text, "other")] == [
        ("cosine", "embedding", 4), ("l2", "vec", 5), ("ip", "embedding", 6)]


# -- index declarations in code -------------------------------------------------------------------------------------

def test_a_django_hnsw_index_names_its_operator_class():
    text = ("from pgvector.django import HnswIndex, VectorField\n\nclass Item(models.Model):\n"
            "    embedding = VectorField(dimensions=3)\n\n    class Meta:\n        indexes = [\n"
            "            HnswIndex(name='idx', fields=['embedding'], m=16, opclasses=['vector_l2_ops'])\n        ]\n")
    assert found("shop/models.py", text, "python") == [("l2", "shop_item", "embedding", 8)]


def test_a_drizzle_index_names_its_operator_class():
    text = ("export const docs = pgTable('documents', {\n  embedding: vector('embedding', { dimensions: 3 }),\n"
            "}, (t) => [index('ix').using('hnsw', t.embedding.op('vector_ip_ops'))]);\n")
    assert found("src/schema.ts", text, "js") == [("ip", "documents", "embedding", 3)]


def test_an_index_in_a_migration_file_names_its_operator_class():
    text = "CREATE INDEX IF NOT EXISTS docs_vec ON public.documents USING hnsw (embedding vector_cosine_ops);\n"
    assert found("migrations/0003_index.sql", text, "sql") == [("cosine", "public.documents", "embedding", 1)]


def test_a_rails_migration_index_names_its_operator_class():
    text = ("class AddIndex < ActiveRecord::Migration[7.1]\n  def change\n"
            "    add_index :items, :embedding, using: :hnsw, opclass: :vector_l2_ops\n  end\nend\n")
    assert found("db/migrate/20240101_add_index.rb", text, "other") == [("l2", "items", "embedding", 3)]


def test_a_sqlalchemy_index_names_its_operator_class():
    text = ("index = Index('ix', Item.embedding, postgresql_using='hnsw', postgresql_with={'m': 16},\n"
            "              postgresql_ops={'embedding': 'vector_ip_ops'})\n")
    assert [(d, c) for d, _, c, _ in found("app/models.py", text, "python")] == [("ip", "embedding")]


# -- one answer per column ------------------------------------------------------------------------------------------

def use(distance: str, table: str | None = "docs", column: str | None = "embedding", line: int = 1) -> DistanceUse:
    return DistanceUse("a.py", line, distance, "sql", table, column)


def test_uses_of_the_column_that_agree_give_its_distance():
    assert for_column([use("l2"), use("l2", line=9), use("ip", table="other")], "docs", "public.docs",
                      "embedding", ()) == [use("l2"), use("l2", line=9)]


def test_two_different_distances_for_one_column_are_both_returned_for_the_draft_to_name():
    uses = for_column([use("l2"), use("cosine", line=9)], "docs", "public.docs", "embedding", ())
    assert {u.distance for u in uses} == {"l2", "cosine"}


def test_a_use_tied_to_no_column_counts_only_when_the_repository_has_one_vector_column():
    loose = use("ip", table=None, column=None)
    assert for_column([loose], "docs", "public.docs", "embedding", (("docs", "embedding"),)) == [loose]
    assert for_column([loose], "docs", "public.docs", "embedding", (("docs", "embedding"), ("notes", "vec"))) == []


def test_a_use_naming_the_column_but_no_table_counts_unless_another_table_has_a_vector_column_so_named():
    loose = use("ip", table=None)
    assert for_column([loose], "docs", "public.docs", "embedding", (("docs", "embedding"), ("notes", "vec"))) == [loose]
    assert for_column([loose], "docs", "public.docs", "embedding", (("docs", "embedding"), ("notes", "embedding"))) == []


def test_an_arrow_between_two_words_of_a_string_that_mentions_select_and_from_is_not_evidence():
    assert scan("app/ui.py", 'print("Select items from the list <-> to swap them")\n', "python") == []


def test_a_search_function_defined_in_a_python_migration_string_names_its_parameter_operand():
    text = ('op.execute("""\nCREATE OR REPLACE FUNCTION match_documents(query_embedding vector(3))\n'
            'RETURNS SETOF documents LANGUAGE sql AS $$\n  SELECT * FROM documents\n'
            '  ORDER BY documents.embedding <#> query_embedding LIMIT 5;\n$$;\n""")\n')
    assert found("alembic/versions/0002_match.py", text, "python") == [("ip", "documents", "embedding", 5)]


# -- locate lists them ----------------------------------------------------------------------------------------------

def test_locate_lists_where_the_code_says_a_distance_in_json_and_text():
    from pathlib import Path

    from harness.steps.locate import locate

    result = locate(Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "ts-prisma-raw-l2")
    listed = result.as_dict()["distances"]
    assert [(d["path"], d["line"], d["distance"], d["table"], d["column"], d["said"]) for d in listed] == [
        ("src/similar.ts", 10, "l2", "passages", "embedding", "<->"),
        ("src/similar.ts", 11, "l2", "passages", "embedding", "<->")]
    assert "  src/similar.ts:10  passages.embedding l2 (<->)  [sql]" in result.text()


def test_test_code_is_no_evidence_of_the_applications_distance(tmp_path):
    from harness.steps.locate import locate

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_search.py").write_text('Q = "SELECT id FROM t ORDER BY embedding <#> %s"\n')
    assert locate(tmp_path).distances == ()


def test_a_table_the_code_interpolates_or_a_cte_ties_the_operator_to_its_column_only():
    # R2R's shape: the table is a method's result in an f-string, and the outer query reads a CTE.
    text = ('q = f"""\nWITH scores AS (\n  SELECT id, (summary_embedding <=> $1::vector({dim})) AS d\n'
            '  FROM {self._table_name("documents")}\n)\nSELECT * FROM scores ORDER BY d"""\n')
    assert found("core/documents.py", text, "python") == [("cosine", None, "summary_embedding", 3)]


def test_a_django_query_of_another_apps_model_is_tied_to_that_models_table(tmp_path):
    # khoj's shape: the adapters module queries Entry, a model of the `database` app.
    from harness.steps.locate import locate

    (tmp_path / "database" / "adapters").mkdir(parents=True)
    (tmp_path / "database" / "models.py").write_text(
        "from django.db import models\nfrom pgvector.django import VectorField\n\n"
        "class Entry(models.Model):\n    embeddings = VectorField(dimensions=None)\n")
    (tmp_path / "database" / "adapters" / "__init__.py").write_text(
        "from pgvector.django import CosineDistance\n\n"
        "def search(q):\n    return Entry.objects.annotate(distance=CosineDistance('embeddings', q))\n")
    assert [(u.table, u.column, u.distance) for u in locate(tmp_path).distances] == [
        ("database_entry", "embeddings", "cosine")]


def test_an_index_created_from_code_on_a_table_it_interpolates_is_tied_to_the_column_only():
    text = 'cur.execute(f"CREATE INDEX IF NOT EXISTS ix ON {table} USING hnsw (embedding vector_ip_ops)")\n'
    assert found("app/db.py", text, "python") == [("ip", None, "embedding", 1)]


def test_a_trigram_or_postgis_distance_between_operands_that_name_no_vector_is_not_evidence():
    # pg_trgm's and PostGIS's <-> and PostGIS's <#> on the same table as the vector column: no column tied, no vector.
    text = ('trigram = "SELECT id FROM documents ORDER BY lower(title) <-> lower(%s) LIMIT 5"\n'
            'nearby = "SELECT id FROM documents ORDER BY ST_SetSRID(location, 4326) <-> ST_MakePoint(%s, %s) LIMIT 5"\n'
            'boxes = "SELECT id FROM documents ORDER BY ST_Envelope(area) <#> ST_MakeEnvelope(%s, %s, %s, %s)"\n')
    uses = scan("app/search.py", text, "python")
    assert for_column(uses, "documents", "public.documents", "embedding", (("documents", "embedding"),)) == []


def test_an_operator_between_a_vector_cast_and_an_expression_is_still_evidence():
    text = 'q = "SELECT id FROM documents ORDER BY subvector(embedding, 1, 256)::vector(256) <-> %s::vector LIMIT 5"\n'
    assert [u.distance for u in scan("app/search.py", text, "python")] == ["l2"]
    normalised = 'q = "SELECT id FROM documents ORDER BY l2_normalize(embedding) <#> %s LIMIT 5"\n'
    assert [u.distance for u in scan("app/search.py", normalised, "python")] == ["ip"]


def test_an_orm_helper_named_in_a_docstring_is_not_evidence():
    text = ('"""Search notes by cosine distance (not Item.embedding.l2_distance(q), nor L2Distance("embedding", q))."""\n'
            "from pgvector.sqlalchemy import Vector\n\n\nclass Item(Base):\n    __tablename__ = 'items'\n\n\n"
            "def search(q):\n    \"\"\"Nearest first; MaxInnerProduct('embedding', q) would rank by length.\"\"\"\n"
            "    return select(Item).order_by(Item.embedding.cosine_distance(q))\n")
    assert found("app/search.py", text, "python") == [("cosine", "items", "embedding", 11)]


def test_a_sqlalchemy_core_columns_subscripted_comparator_says_its_distance_and_column():
    """txtai's PGVector: `self.table.c["embedding"].max_inner_product(query)` on a Core `Table` (its name a setting)."""
    text = ('from pgvector.sqlalchemy import VECTOR\n\nclass PGVector:\n    def query(self, query):\n'
            '        return self.table.c["embedding"].max_inner_product(query).label("score")\n')
    assert found("ann/pgvector.py", text, "python") == [("ip", None, "embedding", 5)]


def test_an_operator_interpolated_into_a_query_is_read_as_the_default_its_variable_is_given():
    """Flowise's TypeORM driver: ``embedding ${distanceOperator} $1`` in a method whose parameter defaults to
    ``'<=>'`` (the node's distance strategy, cosine unless configured): the default is the distance said; a name
    with no operator default says nothing."""
    text = ("class Store {\n  static search = async (query: number[], tablePath: string, distanceOperator: string = '<=>') => {\n"
            "    const q = `\n      SELECT *, embedding ${distanceOperator} $1 as \"_distance\"\n      FROM ${tablePath}\n"
            "      ORDER BY \"_distance\" ASC LIMIT $2;`\n  }\n  other = `SELECT 1 FROM t ORDER BY v ${op} $1`\n}\n")
    [use] = scan("driver/TypeORM.ts", text, "js")
    assert (use.distance, use.table, use.column, use.line, use.said) == (
        "cosine", None, "embedding", 4, "${distanceOperator} (default <=>)")
    py = 'def search(cur, q, op="<#>"):\n    cur.execute(f"SELECT id FROM items ORDER BY vec {op} %s LIMIT 5", (q,))\n'
    assert found("app/search.py", py, "python") == [("ip", "items", "vec", 2)]


def test_an_interpolated_operator_whose_variable_is_given_several_operators_says_each():
    # Before: the first operator literal assigned to the name in the file was read as the one distance (l2 here),
    # though the code switches to cosine; each is now said, so the draft says the code names several.
    text = ("let op: string = '<->'\nif (metric === 'cosine') op = '<=>'\n"
            "const q = `SELECT id FROM items ORDER BY embedding ${op} $1 LIMIT 5`\n")
    uses = scan("app/search.ts", text, "js")
    assert sorted((u.distance, u.column, u.said) for u in uses) == [
        ("cosine", "embedding", "${op} (one of <->, <=>)"), ("l2", "embedding", "${op} (one of <->, <=>)")]


def test_an_index_whose_operator_class_is_schema_qualified_names_its_distance():
    """SurfSense's initial Alembic revision: `USING hnsw (embedding public.vector_cosine_ops)` in an `sa.text(...)`."""
    text = ('from alembic import op\nimport sqlalchemy as sa\n\ndef upgrade():\n    op.execute(\n        sa.text(\n'
            '            "CREATE INDEX IF NOT EXISTS chucks_vector_index ON chunks USING hnsw (embedding public.vector_cosine_ops)"\n'
            '        )\n    )\n')
    assert found("alembic/versions/0_initial_schema.py", text, "python") == [("cosine", "chunks", "embedding", 7)]


def test_a_sqlalchemy_column_compared_with_op_and_a_pgvector_operator_says_its_distance():
    """SurfSense's searches: `query.order_by(Chunk.embedding.op("<=>")(query_embedding))`, the model's table read."""
    text = ('class Chunk(Base):\n    __tablename__ = "chunks"\n\n\n'
            'def search(q):\n    return select(Chunk).order_by(Chunk.embedding.op("<=>")(q)).limit(5)\n')
    assert found("app/retriever.py", text, "python") == [("cosine", "chunks", "embedding", 6)]
    assert found("app/retriever.py", 'rank = Document.embedding.op("<->")(q)\n', "python") == [("l2", None, "embedding", 1)]


def test_an_index_an_alembic_downgrade_makes_again_says_no_distance():
    """SurfSense's `122_...py` drops user_memories; its downgrade() recreates the table and its HNSW index."""
    text = ('from alembic import op\n\n\ndef upgrade():\n    op.execute("DROP TABLE IF EXISTS user_memories CASCADE;")\n\n\n'
            'def downgrade():\n    op.execute(\n        "CREATE INDEX IF NOT EXISTS user_memories_vector_index ON user_memories '
            'USING hnsw (embedding vector_cosine_ops);"\n    )\n')
    assert found("alembic/versions/122_migrate_and_drop_old_memory_tables.py", text, "python") == []


def test_a_rust_query_string_over_several_lines_says_its_distance_and_a_raw_string_too():
    """Rust's string literals span lines (rust_3ex's sqlx `query("SELECT ...\\n ORDER BY embedding <=> $1 ...")`)
    and raw strings hold quotes (`r#"..."#`); `#[derive]` is an attribute, not a comment. Until this, no string
    of a Rust file was SQL and its searches said nothing."""
    text = ('#[derive(Debug)]\nstruct Row { id: i32 }\n\nasync fn search(pool: &PgPool, v: &Vector) {\n'
            '    let rows = sqlx::query(\n        "SELECT id, content , embedding\n         FROM documents\n'
            '         ORDER BY embedding <=> $1\n         LIMIT 3"\n    )\n    .bind(v);\n'
            '    let near = sqlx::query(r#"SELECT "id" FROM notes ORDER BY vec <-> $1"#).bind(v);\n'
            "    let c = '\"'; // ORDER BY embedding <#> $1 in a comment says nothing\n}\n")
    assert found("src/mod_search.rs", text, "other") == [("cosine", "documents", "embedding", 8),
                                                          ("l2", "notes", "vec", 12)]


TYPEORM_ENTITY = ("import { Entity, PrimaryGeneratedColumn, Column } from 'typeorm';\n\n"
                  "@Entity('document_chunks')\nexport class DocumentChunk {\n  @PrimaryGeneratedColumn('uuid')\n"
                  "  id: string;\n\n  @Column({ type: 'vector', length: 768 })\n  embedding: number[];\n}\n")
TYPEORM_SERVICE = ("import { InjectRepository } from '@nestjs/typeorm';\nimport { Repository } from 'typeorm';\n"
                   "import { DocumentChunk } from './entities/document-chunk.entity';\n\n"
                   "export class DocumentsService {\n  constructor(\n    @InjectRepository(DocumentChunk)\n"
                   "    private chunkRepository: Repository<DocumentChunk>,\n  ) {}\n\n"
                   "  async search(vec: number[]) {\n    return this.chunkRepository\n"
                   "      .createQueryBuilder('chunk')\n"
                   "      .addSelect('1 - (chunk.embedding <=> :queryVec::vector)', 'similarity')\n"
                   "      .where('1 - (chunk.embedding <=> :queryVec::vector) > :threshold', { threshold: 0.5 })\n"
                   "      .orderBy('similarity', 'DESC')\n      .getRawMany();\n  }\n}\n")


def test_typeorm_query_builder_fragments_name_the_distance_and_the_repositorys_entity():
    """AgentF/cortex's search: the fragments of a TypeORM query builder hold no SELECT or FROM, and the alias is the
    one ``createQueryBuilder('chunk')`` gives the repository of an entity (locate found no distance: the draft's
    cosine was the bare guess)."""
    uses = scan("src/documents.service.ts", TYPEORM_SERVICE, "js")
    assert [(u.distance, u.kind, u.model, u.table, u.column, u.line) for u in uses] == [
        ("cosine", "typeorm", "DocumentChunk", None, "embedding", 14),
        ("cosine", "typeorm", "DocumentChunk", None, "embedding", 15)]


def test_a_typeorm_search_is_tied_to_its_entitys_table_in_another_file(tmp_path):
    from harness.steps.locate import locate

    (tmp_path / "src" / "entities").mkdir(parents=True)
    (tmp_path / "src" / "entities" / "document-chunk.entity.ts").write_text(TYPEORM_ENTITY)
    (tmp_path / "src" / "documents.service.ts").write_text(TYPEORM_SERVICE)
    assert {(u.table, u.column, u.distance) for u in locate(tmp_path).distances} == {
        ("document_chunks", "embedding", "cosine")}


def test_an_unnamed_typeorm_entity_is_tied_to_typeorms_default_table_name(tmp_path):
    """``@Entity()`` on ``class DocumentChunk`` makes ``document_chunk`` (TypeORM's ``snakeCase``); the declaration
    said the class name as the table."""
    from harness.steps.locate import locate

    (tmp_path / "src" / "entities").mkdir(parents=True)
    (tmp_path / "src" / "entities" / "document-chunk.entity.ts").write_text(
        TYPEORM_ENTITY.replace("@Entity('document_chunks')", "@Entity()").replace("DocumentChunk", "RAGDocumentChunk"))
    (tmp_path / "src" / "documents.service.ts").write_text(TYPEORM_SERVICE.replace("DocumentChunk", "RAGDocumentChunk"))
    found = locate(tmp_path)
    assert [(d.table, d.column) for d in found.declarations] == [("rag_document_chunk", "embedding")]
    assert {(u.table, u.column, u.distance) for u in found.distances} == {("rag_document_chunk", "embedding", "cosine")}


def test_a_typeorm_builders_receiver_is_read_back_from_the_call_past_a_long_padded_line():
    """The receiver is read backwards from `.createQueryBuilder(` (a pattern that looked for it forwards from every
    position took minutes on anything-llm's bundled files: quadratic in a run of whitespace, 0.56 s at 20,000 spaces);
    a long padded line before it changes nothing."""
    code = ("const bundle = '" + "a" * 100_000 + "';" + " " * 100_000 + "\n"
            "class Search {\n  constructor(@InjectRepository(Chunk) private readonly chunks: Repository<Chunk>) {}\n"
            "  find() { return this.chunks.createQueryBuilder('c').orderBy('c.embedding <=> :q', 'ASC').getMany(); }\n}\n")
    [use] = scan("search.service.ts", code, "js")
    assert (use.distance, use.column, use.model) == ("cosine", "embedding", "Chunk")
    assert scan("bundle.min.js", "var " + "x." * 100_000 + "y=1;", "js") == []

"""Which tables a command adds rows to and which it changes, read from its ORM's calls (Prisma, Knex, Kysely, TypeORM,
Sequelize, SQLAlchemy, Django): a script that only inserts is an ingest, never drafted as the backfill, and the same
script with the ORM's upsert, update or delete changes the rows there are."""

from pathlib import Path

import pytest

from harness.locate.contract import command_contract

ONLY_ADDS = "it only adds rows (INSERT INTO chunks at "


def contract_of(root: Path, files: dict[str, str], command: str):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return command_contract(command, root)


EMBED_JS = """import OpenAI from "openai";
const openai = new OpenAI();
const texts = ["a", "b"];
const res = await openai.embeddings.create({ model: "text-embedding-3-small", input: texts });
"""

# Prisma: the client's accessor is the model's name, its table the model's @@map
PRISMA_SCHEMA = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model DocumentChunk {
  id        Int    @id @default(autoincrement())
  text      String
  embedding Unsupported("vector(1536)")?

  @@map("chunks")
}
"""
PRISMA_INGEST = EMBED_JS + """import { PrismaClient } from "@prisma/client";
const prisma = new PrismaClient();
await prisma.documentChunk.createMany({ data: texts.map((text) => ({ text })) });
"""


def prisma(root: Path, ingest: str = PRISMA_INGEST):
    return contract_of(root, {"prisma/schema.prisma": PRISMA_SCHEMA, "scripts/ingest.mjs": ingest},
                       "node scripts/ingest.mjs")


def test_a_prisma_create_of_the_chunk_model_only_adds_its_rows(tmp_path):
    assert prisma(tmp_path).adds_again("chunks").startswith(ONLY_ADDS + "scripts/ingest.mjs:")


@pytest.mark.parametrize("call", ["upsert", "update", "updateMany", "deleteMany"])
def test_a_prisma_upsert_update_or_delete_of_the_chunk_model_changes_its_rows(tmp_path, call):
    script = PRISMA_INGEST + f"await prisma.documentChunk.{call}({{ where: {{ id: 1 }}, data: {{ text: 'x' }} }});\n"
    assert prisma(tmp_path, script).adds_again("chunks") == ""


def test_prismas_raw_sql_update_changes_the_chunk_rows(tmp_path):
    script = PRISMA_INGEST + "await prisma.$executeRaw`UPDATE chunks SET embedding = NULL`;\n"
    assert prisma(tmp_path, script).adds_again("chunks") == ""


def test_an_sdks_create_call_is_no_prisma_insert(tmp_path):
    """`openai.embeddings.create(...)` reads like a Prisma create: only a model of the schema is a table."""
    inserts = prisma(tmp_path).inserts
    assert inserts == (("chunks", "scripts/ingest.mjs:7"),), inserts


def test_a_prisma_create_many_that_skips_duplicates_adds_no_row_again(tmp_path):
    script = PRISMA_INGEST.replace("({ text })) }", "({ text })), skipDuplicates: true }")
    assert "skipDuplicates" in script
    assert prisma(tmp_path, script).adds_again("chunks") == ""


# T3's layout: the client made once in the app's own module, imported under another name (`db`)
T3_DB = """import { PrismaClient } from "@prisma/client";
export const db = new PrismaClient();
"""
T3_INGEST = EMBED_JS + """import { db } from "~/server/db";
await db.documentChunk.createMany({ data: texts.map((text) => ({ text })) });
"""


def t3(root: Path, ingest: str = T3_INGEST):
    return contract_of(root, {"prisma/schema.prisma": PRISMA_SCHEMA, "src/server/db.ts": T3_DB,
                              "scripts/ingest.ts": ingest}, "npx tsx scripts/ingest.ts")


def test_a_prisma_create_through_the_apps_own_client_module_only_adds_its_rows(tmp_path):
    assert t3(tmp_path).adds_again("chunks").startswith(ONLY_ADDS + "scripts/ingest.ts:6")


def test_a_prisma_delete_through_the_apps_own_client_module_changes_its_rows(tmp_path):
    contract = t3(tmp_path, T3_INGEST + "await db.documentChunk.deleteMany({});\n")
    assert "chunks" in contract.changes and contract.adds_again("chunks") == ""


def test_a_create_on_a_client_not_imported_from_the_apps_own_module_is_no_prisma_insert(tmp_path):
    """A model's accessor on another library's object (`cache.documentChunk.create`) in a file naming no Prisma."""
    script = EMBED_JS + "const cache = { documentChunk: { create: (x) => x } };\ncache.documentChunk.create({});\n"
    assert t3(tmp_path, script).inserts == ()


KNEX_INGEST = EMBED_JS + """import knex from "knex";
const db = knex({ client: "pg", connection: process.env.DATABASE_URL });
await db("chunks").insert(texts.map((text) => ({ text })));
"""


def knex(root: Path, ingest: str = KNEX_INGEST):
    return contract_of(root, {"ingest.mjs": ingest}, "node ingest.mjs")


def test_a_knex_insert_into_the_chunk_table_only_adds_its_rows(tmp_path):
    assert knex(tmp_path).adds_again("chunks").startswith(ONLY_ADDS + "ingest.mjs:7")


@pytest.mark.parametrize("change", [
    '.onConflict("id").merge()', ';\nawait db("chunks").where({ id: 1 }).update({ text: "x" })',
    ';\nawait db("chunks").where({ id: 1 }).del()'])
def test_a_knex_merge_update_or_delete_of_the_chunk_table_changes_its_rows(tmp_path, change):
    assert knex(tmp_path, KNEX_INGEST.replace(");\n", ")" + change + ";\n")).adds_again("chunks") == ""


@pytest.mark.parametrize("insert", [
    'db.insert(texts.map((text) => ({ text }))).into("chunks")', 'db.into("chunks").insert(texts.map((text) => ({ text })))',
    'db.table("chunks").insert(texts.map((text) => ({ text })))', 'db.insert({ text: "a" }).into("chunks")'])
def test_a_knex_insert_naming_its_table_with_into_or_table_only_adds_its_rows(tmp_path, insert):
    script = KNEX_INGEST.replace('db("chunks").insert(texts.map((text) => ({ text })))', insert)
    assert insert in script
    assert knex(tmp_path, script).adds_again("chunks").startswith(ONLY_ADDS + "ingest.mjs:7")


@pytest.mark.parametrize("change", [
    'db.table("chunks").where({ id: 1 }).update({ text: "x" })', 'db.from("chunks").where({ id: 1 }).del()',
    'db.insert({ text: "a" }).into("chunks").onConflict("id").merge()'])
def test_a_knex_change_naming_its_table_with_table_from_or_into_changes_its_rows(tmp_path, change):
    assert knex(tmp_path, KNEX_INGEST + f"await {change};\n").adds_again("chunks") == ""


def test_a_call_ending_the_statement_before_a_knex_insert_is_no_call_of_its_chain(tmp_path):
    # no semicolons: the Map's delete ends the line before, it is not chained to `db("chunks")`
    script = KNEX_INGEST.replace('await db("chunks")', 'seen.delete(key)\ndb("chunks")').replace(";\n", "\n")
    assert knex(tmp_path, script).adds_again("chunks").startswith(ONLY_ADDS + "ingest.mjs:8")


def test_a_bracket_in_a_string_of_the_insert_chained_before_into_leaves_it_an_insert(tmp_path):
    script = KNEX_INGEST.replace('db("chunks").insert(texts.map((text) => ({ text })))',
                                 'db.insert({ text: "a (b" }).into("chunks")')
    assert knex(tmp_path, script).adds_again("chunks").startswith(ONLY_ADDS + "ingest.mjs:7")


def test_a_minified_bundle_of_long_names_before_into_is_read_in_linear_time():
    # the name before a call's bracket was read by a pattern anchored at its end, tried from each of the 1,500
    # characters before it and backtracking over a long name not next to the bracket (`xxx+(y)`): 24 s for 1 MB
    import time

    from harness.locate.lexing import lex
    from harness.locate.orm_writes import writes

    text = 'import knex from "knex";\n' + ("x" * 1400 + '+(y).into("t")\n') * 700
    started = time.monotonic()
    writes("bundle.min.js", text, "js", *lex(text, "js"))
    assert time.monotonic() - started < 5


def test_an_import_before_a_long_run_of_blanks_is_read_in_linear_time():
    # `import` then `\s+`, a lazy clause and `\s+from` split a run of blanks every way: 96 s for 5,000 spaces
    import time

    from harness.locate.orm_writes import own_module_names

    started = time.monotonic()
    assert own_module_names("import" + " " * 5000 + "x\nvar" + " " * 5000 + "x") == set()
    assert time.monotonic() - started < 5


KYSELY_INGEST = EMBED_JS + """import { Kysely, PostgresDialect } from "kysely";
const db = new Kysely({ dialect: new PostgresDialect({}) });
await db.insertInto("chunks").values(texts.map((text) => ({ text }))).execute();
"""


def kysely(root: Path, ingest: str = KYSELY_INGEST):
    return contract_of(root, {"ingest.mjs": ingest}, "node ingest.mjs")


def test_a_kysely_insert_into_the_chunk_table_only_adds_its_rows(tmp_path):
    assert kysely(tmp_path).adds_again("chunks").startswith(ONLY_ADDS + "ingest.mjs:7")


@pytest.mark.parametrize("change", [
    '.values({ text: "x" }).onConflict((oc) => oc.column("id").doUpdateSet({ text: "x" }))',
    ';\nawait db.updateTable("chunks").set({ text: "x" }).execute()',
    ';\nawait db.deleteFrom("chunks").execute()'])
def test_a_kysely_upsert_update_or_delete_of_the_chunk_table_changes_its_rows(tmp_path, change):
    assert kysely(tmp_path, KYSELY_INGEST.replace(".execute();\n", change + ";\n")).adds_again("chunks") == ""


def test_a_kysely_insert_that_does_nothing_on_conflict_adds_no_row_again(tmp_path):
    script = KYSELY_INGEST.replace(".execute();", '.onConflict((oc) => oc.column("id").doNothing()).execute();')
    assert kysely(tmp_path, script).adds_again("chunks") == ""


TYPEORM_ENTITY = """import { Entity, PrimaryGeneratedColumn, Column } from "typeorm";

@Entity("chunks")
export class Chunk {
  @PrimaryGeneratedColumn() id: number;
  @Column() text: string;
}
"""
TYPEORM_INGEST = EMBED_JS + """import { AppDataSource } from "./data-source";
import { Chunk } from "./entity";
const repo = AppDataSource.getRepository(Chunk);
await repo.insert(texts.map((text) => ({ text })));
"""


def typeorm(root: Path, ingest: str = TYPEORM_INGEST):
    return contract_of(root, {"entity.ts": TYPEORM_ENTITY, "data-source.ts": "export const AppDataSource = {};\n",
                              "ingest.ts": ingest}, "npx tsx ingest.ts")


def test_a_typeorm_repository_insert_only_adds_its_entitys_rows(tmp_path):
    assert typeorm(tmp_path).adds_again("chunks").startswith(ONLY_ADDS + "ingest.ts:8")


def test_a_call_ending_the_statement_before_a_typeorm_repository_insert_is_no_call_of_its_chain(tmp_path):
    script = TYPEORM_INGEST.replace("await repo.insert", "seen.delete(key)\nrepo.insert")
    assert typeorm(tmp_path, script).adds_again("chunks").startswith(ONLY_ADDS + "ingest.ts:9")


def test_an_unnamed_typeorm_entity_under_other_decorators_is_bound_to_typeorms_default_table_name(tmp_path):
    """`@Entity()` and an `@Index([...], {where: "(...)"})` above `class RAGChunk`: its rows are `rag_chunk`'s, the
    name TypeORM's snakeCase gives and locate's declarations say (`r_a_g_chunk` before)."""
    entity = TYPEORM_ENTITY.replace('@Entity("chunks")', '@Entity()\n@Index(["text"], { where: "(text IS NOT NULL)" })')
    contract = contract_of(tmp_path, {"entity.ts": entity.replace("Chunk", "RAGChunk"),
                                      "data-source.ts": "export const AppDataSource = {};\n",
                                      "ingest.ts": TYPEORM_INGEST.replace("Chunk", "RAGChunk")}, "npx tsx ingest.ts")
    assert contract.adds_again("rag_chunk").startswith("it only adds rows (INSERT INTO rag_chunk at ingest.ts:8")


def test_a_typeorm_repository_save_changes_its_entitys_rows(tmp_path):
    """`save` updates the row of an entity whose primary key is stored: an upsert."""
    assert typeorm(tmp_path, TYPEORM_INGEST.replace("repo.insert(", "repo.save(")).adds_again("chunks") == ""


TYPEORM_BUILT = EMBED_JS + """import { AppDataSource } from "./data-source";
import { Chunk } from "./entity";
await AppDataSource.createQueryBuilder().insert().into(Chunk).values(texts.map((text) => ({ text }))).execute();
"""


def test_a_typeorm_query_builders_insert_into_an_entity_only_adds_its_rows(tmp_path):
    assert typeorm(tmp_path, TYPEORM_BUILT).adds_again("chunks").startswith(ONLY_ADDS + "ingest.ts:7")


@pytest.mark.parametrize("change", [
    'AppDataSource.createQueryBuilder().update(Chunk).set({ text: "x" }).where("id = 1").execute()',
    'AppDataSource.createQueryBuilder().delete().from(Chunk).where("id = 1").execute()'])
def test_a_typeorm_query_builders_update_or_delete_of_an_entity_changes_its_rows(tmp_path, change):
    contract = typeorm(tmp_path, TYPEORM_BUILT + f"await {change};\n")
    assert "chunks" in contract.changes and contract.adds_again("chunks") == ""


def test_a_typeorm_query_builders_insert_that_updates_conflicts_changes_its_rows(tmp_path):
    contract = typeorm(tmp_path, TYPEORM_BUILT.replace(".values(", '.orUpdate(["text"], ["id"]).values('))
    assert "chunks" in contract.changes and contract.adds_again("chunks") == ""


def test_a_typeorm_query_builders_insert_that_ignores_conflicts_adds_no_row_again(tmp_path):
    contract = typeorm(tmp_path, TYPEORM_BUILT.replace(".values(", ".orIgnore().values("))
    assert contract.inserts == () and contract.adds_again("chunks") == ""


SEQUELIZE_INGEST = EMBED_JS + """import { Sequelize, DataTypes } from "sequelize";
const sequelize = new Sequelize(process.env.DATABASE_URL);
const Chunk = sequelize.define("Chunk", { text: DataTypes.TEXT }, { tableName: "chunks" });
await Chunk.bulkCreate(texts.map((text) => ({ text })));
"""


def test_a_sequelize_bulk_create_only_adds_its_models_rows(tmp_path):
    contract = contract_of(tmp_path, {"ingest.mjs": SEQUELIZE_INGEST}, "node ingest.mjs")
    assert contract.adds_again("chunks").startswith(ONLY_ADDS + "ingest.mjs:8")


@pytest.mark.parametrize("change", ["Chunk.upsert({ id: 1, text: 'x' })", "Chunk.update({ text: 'x' }, { where: {} })",
                                    "Chunk.destroy({ where: {} })"])
def test_a_sequelize_upsert_update_or_destroy_changes_its_models_rows(tmp_path, change):
    contract = contract_of(tmp_path, {"ingest.mjs": SEQUELIZE_INGEST + f"await {change};\n"}, "node ingest.mjs")
    assert contract.adds_again("chunks") == ""


SQLALCHEMY_MODELS = """from sqlalchemy import Column, Integer, Text
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Chunk(Base):
    __tablename__ = "chunks"
    id = Column(Integer, primary_key=True)
    text = Column(Text)
"""
PY_EMBED = """import os
from openai import OpenAI

texts = ["a", "b"]
vectors = OpenAI().embeddings.create(model="text-embedding-3-small", input=texts)
"""
SQLALCHEMY_INGEST = PY_EMBED + """from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from models import Chunk

with Session(create_engine(os.environ["DATABASE_URL"])) as session:
    for text in texts:
        session.add(Chunk(text=text))
    session.commit()
"""


def sqlalchemy(root: Path, ingest: str = SQLALCHEMY_INGEST):
    return contract_of(root, {"models.py": SQLALCHEMY_MODELS, "ingest.py": ingest}, "python ingest.py")


def test_a_sqlalchemy_session_add_only_adds_its_models_rows(tmp_path):
    assert sqlalchemy(tmp_path).adds_again("chunks").startswith(ONLY_ADDS + "ingest.py:12")


@pytest.mark.parametrize("adds", [
    "chunk = Chunk(text=text)\n        session.add(chunk)",
    "chunk: Chunk = Chunk(\n            text=text,\n        )\n        session.add(chunk)",
    "rows = [Chunk(text=t) for t in texts]\n        session.add_all(rows)"])
def test_a_sqlalchemy_session_add_of_a_model_made_beforehand_only_adds_its_models_rows(tmp_path, adds):
    script = SQLALCHEMY_INGEST.replace("session.add(Chunk(text=text))", adds)
    assert adds in script
    assert sqlalchemy(tmp_path, script).adds_again("chunks").startswith(ONLY_ADDS + "ingest.py:")


def test_a_sqlalchemy_session_add_of_an_object_no_model_made_adds_no_rows(tmp_path):
    script = SQLALCHEMY_INGEST.replace("session.add(Chunk(text=text))", "seen = set()\n        seen.add(text)")
    assert sqlalchemy(tmp_path, script).inserts == ()


def test_a_sqlalchemy_file_with_a_long_run_of_blank_lines_is_read_in_linear_time():
    # the made models' pattern began `^\s*` on every line: each blank line's match ran over all those after it
    import time

    from harness.locate.lexing import lex
    from harness.locate.orm_writes import writes

    text = "from sqlalchemy.orm import Session\nchunk = Chunk(text=t)\nsession.add(chunk)\n" + "\n" * 30_000 + "x\n"
    started = time.monotonic()
    assert writes("ingest.py", text, "python", *lex(text, "python"))[0] == (("?Chunk", "ingest.py:3"),)
    assert time.monotonic() - started < 5


def test_a_sqlalchemy_insert_statement_only_adds_its_models_rows(tmp_path):
    script = SQLALCHEMY_INGEST.replace("session.add(Chunk(text=text))",
                                       "session.execute(insert(Chunk).values(text=text))")
    assert sqlalchemy(tmp_path, "from sqlalchemy import insert\n" + script).adds_again("chunks").startswith(ONLY_ADDS)


@pytest.mark.parametrize("change", [
    "session.merge(Chunk(id=1, text=text))",
    "session.execute(update(Chunk).where(Chunk.id == 1).values(text=text))",
    "session.execute(pg_insert(Chunk).values(text=text).on_conflict_do_update(index_elements=['id'], set_={'text': text}))",
])
def test_a_sqlalchemy_merge_update_or_upsert_changes_its_models_rows(tmp_path, change):
    script = "from sqlalchemy import update\nfrom sqlalchemy.dialects.postgresql import insert as pg_insert\n" + \
        SQLALCHEMY_INGEST.replace("    session.commit()", f"        {change}\n    session.commit()")
    assert sqlalchemy(tmp_path, script).adds_again("chunks") == ""


def test_a_sqlalchemy_upsert_built_in_steps_changes_its_models_rows(tmp_path):
    script = SQLALCHEMY_INGEST.replace(
        "session.add(Chunk(text=text))",
        "stmt = pg_insert(Chunk).values(text=text)\n        "
        "session.execute(stmt.on_conflict_do_update(index_elements=['id'], set_={'text': text}))")
    assert sqlalchemy(tmp_path, "from sqlalchemy.dialects.postgresql import insert as pg_insert\n" + script
                      ).adds_again("chunks") == ""


DJANGO_MODELS = """from django.db import models


class Chunk(models.Model):
    text = models.TextField()
"""
DJANGO_COMMAND = PY_EMBED + """from django.core.management.base import BaseCommand
from docs.models import Chunk


class Command(BaseCommand):
    def handle(self, *args, **options):
        Chunk.objects.bulk_create([Chunk(text=text) for text in texts])
"""


def django(root: Path, command: str = DJANGO_COMMAND, models: str = DJANGO_MODELS):
    return contract_of(root, {"manage.py": "import os\n", "docs/__init__.py": "", "docs/models.py": models,
                              "docs/management/commands/ingest.py": command}, "python manage.py ingest")


def test_a_django_bulk_create_only_adds_its_models_rows(tmp_path):
    # Django's table: the app's label and the model's name
    assert django(tmp_path).adds_again("docs_chunk").startswith("it only adds rows (INSERT INTO docs_chunk at ")


def test_a_django_bulk_create_that_ignores_conflicts_adds_no_row_again(tmp_path):
    command = DJANGO_COMMAND.replace("for text in texts])", "for text in texts], ignore_conflicts=True)")
    assert django(tmp_path, command).adds_again("docs_chunk") == ""


def test_a_django_model_saved_as_it_is_made_only_adds_its_rows(tmp_path):
    command = DJANGO_COMMAND.replace("Chunk.objects.bulk_create([Chunk(text=text) for text in texts])",
                                     "for text in texts:\n            Chunk(text=text).save()")
    assert django(tmp_path, command).adds_again("docs_chunk").startswith("it only adds rows (INSERT INTO docs_chunk at ")


def test_a_django_models_db_table_names_its_table(tmp_path):
    models = DJANGO_MODELS + "\n    class Meta:\n        db_table = \"chunks\"\n"
    assert django(tmp_path, models=models).adds_again("chunks").startswith(ONLY_ADDS)


@pytest.mark.parametrize("change", [
    "Chunk.objects.update_or_create(id=1, defaults={'text': 'x'})",
    "Chunk.objects.filter(embedding__isnull=True).update(text='x')",
    "Chunk.objects.bulk_create([Chunk(text='x')], update_conflicts=True, unique_fields=['id'], update_fields=['text'])",
])
def test_a_django_update_or_upsert_changes_its_models_rows(tmp_path, change):
    command = DJANGO_COMMAND + f"        {change}\n"
    assert django(tmp_path, command).adds_again("docs_chunk") == ""

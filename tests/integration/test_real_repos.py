"""Public applications nobody here wrote, taken through the procedure as a new user would.

Each repository is named in ``tests/fixtures/real/<owner>__<name>/SOURCE.md`` (repository, commit, licence).
Its files are read at that commit from a local snapshot (``BACKFILL_REAL_REPOS_MIRROR``, default
``/work/.mirror``); without one the test skips and says why. Per repository: its schema from its own
definition in a fresh database, a few dozen rows of text, then locate, profile init, scope, run, verify and
record through the CLI, with ``hash-embed:N`` served under the model name the application uses.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.embedserver import EmbeddingServer

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real"
MIRROR = Path(os.environ.get("BACKFILL_REAL_REPOS_MIRROR", "/work/.mirror"))


# -- the repositories ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    fixture: str
    repo: str
    commit: str
    snapshot: str = ""  # a fork whose snapshot carries ``commit`` (the repository's own is too large to fetch)

    @classmethod
    def of(cls, fixture: str) -> "Source":
        text = (FIXTURES / fixture / "SOURCE.md").read_text()
        repo = re.search(r"^- repository: https://github.com/(\S+)", text, re.M).group(1)
        commit = re.search(r"^- commit: ([0-9a-f]{40})", text, re.M).group(1)
        fork = re.search(r"^- snapshot: https://github.com/(\S+)", text, re.M)
        return cls(fixture, repo, commit, fork.group(1) if fork else "")

    def checkout(self, folder: str, dest: Path, only: tuple[str, ...] = ()) -> Path:
        """The files under ``folder`` at the pinned commit, written to ``dest`` (blobs the snapshot lacks are left out);
        with ``only``, just the paths (under ``folder``) that start with one of them: a large monorepo's few parts."""
        git_dir = MIRROR / (self.snapshot or self.repo).replace("/", "+") / "repo"
        if not git_dir.is_dir():
            pytest.skip(f"no snapshot of {self.snapshot or self.repo} at {git_dir} (fetch it, or set BACKFILL_REAL_REPOS_MIRROR)")
        git = ["git", f"--git-dir={git_dir}"]
        listing = subprocess.run([*git, "ls-tree", "-r", "-z", self.commit, *(["--", folder] if folder else [])],
                                 capture_output=True,
                                 check=False)
        if listing.returncode != 0 or not listing.stdout:
            pytest.skip(f"snapshot of {self.repo} lacks commit {self.commit} or folder {folder!r}")
        wanted = []
        for entry in listing.stdout.split(b"\0"):
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            mode, kind, sha = meta.split()
            if kind != b"blob" or mode == b"120000":
                continue
            if only and not path.decode().removeprefix(folder).lstrip("/").startswith(only):
                continue
            wanted.append((sha, path.decode()))
        # One `git cat-file --batch` for every blob (a process per blob took minutes on a large monorepo).
        batch = subprocess.run([*git, "cat-file", "--batch"], input=b"".join(sha + b"\n" for sha, _ in wanted),
                               capture_output=True, check=True).stdout
        at = 0
        for _sha, path in wanted:
            end = batch.index(b"\n", at)
            header = batch[at:end].split()
            at = end + 1
            if len(header) < 3:
                continue  # "<sha> missing": a large file the snapshot does not carry
            size = int(header[2])
            target = dest / Path(path).relative_to(folder) if folder else dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(batch[at:at + size])
            at += size + 1
        return dest


@pytest.fixture(scope="module")
def server():
    """hash-embed models served under the names the applications ask for."""
    with_aliases = EmbeddingServer(
        models=["hash-embed:4096", "hash-embed:3072", "hash-embed:2560", "hash-embed:1536", "hash-embed:1024", "hash-embed:768", "hash-embed:512",
                "hash-embed:384"],
        aliases={"text-embedding-ada-002": "hash-embed:1536", "nomic-embed-text": "hash-embed:768",
                 "qwen3-embedding:4b": "hash-embed:2560", "qwen3-embedding:0.6b": "hash-embed:1024",
                 "nomic-embed-text:v1.5": "hash-embed:768", "snowflake-arctic-embed:22m": "hash-embed:384",
                 "mxbai-embed-large": "hash-embed:1024", "all-minilm": "hash-embed:384",
                 "text-embedding-3-small": "hash-embed:1536",
                 "thenlper/gte-small": "hash-embed:384", "gte-small": "hash-embed:384",
                 "embeddings": "hash-embed:512",  # formbricks: the Azure deployment's default name
                 "llama3.2": "hash-embed:3072",  # llm-app: embeds with its chat model
                 "hf.co/CompendiumLabs/bge-base-en-v1.5-gguf": "hash-embed:768",  # rag_phoenix: a GGUF from HF
                 "bge-m3:567m": "hash-embed:1024", "gemini-embedding-001": "hash-embed:3072",  # imara
                 "nomic-embed-text-v2-moe": "hash-embed:768",  # cortex: through the ollama client's /api/embeddings
                 "text-embedding-004": "hash-embed:768",  # Git-Forge: Gemini's embedder
                 "llama2": "hash-embed:4096"},  # quivr: langchain_community's OllamaEmbeddings without a model
    ).start()
    try:
        yield with_aliases
    finally:
        with_aliases.stop()


# -- the procedure, as a user runs it -------------------------------------------------------------------------------

@dataclass
class Trial:
    locate: object
    init: object
    scope: object
    run: object
    verify: object
    record: object
    profile: Path
    plan: object = None


def procedure(cli, db, server, repo: Path, tmp_path: Path, collection: str, *, model: str | None = None, init_args=(),
              edit=None, run_args=("--engine",), plan: bool = False) -> Trial:
    """locate, profile init (+ the user's edits), scope, (plan,) run, verify, record: each through the CLI."""
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    tmp_path.mkdir(parents=True, exist_ok=True)
    located = cli("locate", "--repo", repo, "--json", env=env)
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", repo, "--database-url", db.dsn, "--output", profile,
               *(("--model", model) if model else ()), *init_args, "--json", env=env)
    assert init.code == 0, init.err
    if edit is not None:
        profile.write_text(edit(profile.read_text()))
    run_dir, log = tmp_path / "run", tmp_path / "historylog.md"
    target = ("--profile", profile, "--collection", collection)
    scoped = cli("scope", *target, "--json", env=env)
    planned = cli("plan", *target, "--run-dir", tmp_path / "plan", *(a for a in run_args if a == "--engine"), "--json",
                  env=env) if plan and scoped.code == 0 else None
    ran = cli("run", *target, "--run-dir", run_dir, *run_args, "--json", env=env) if scoped.code == 0 else None
    verified = cli("verify", *target, "--run-dir", run_dir, "--json", env=env) if ran is not None else None
    recorded = cli("record", *target, "--run-dir", run_dir, "--historylog", log, "--repo", repo, "--json", env=env) \
        if ran is not None else None
    return Trial(located, init, scoped, ran, verified, recorded, profile, planned)


def assert_whole_procedure_ok(trial: Trial, db, table: str, vector: str, rows: int, needed: int | None = None) -> None:
    assert trial.scope.code == 0, trial.scope.out + trial.scope.err
    assert trial.scope.json["counts"]["needed"] == (rows if needed is None else needed)
    assert trial.run.code == 0, trial.run.out + trial.run.err
    assert trial.verify.code == 0, trial.verify.out + trial.verify.err
    assert trial.record.code == 0, trial.record.out + trial.record.err
    # Measured, not parsed: every row now has a vector.
    assert db.scalar(f'SELECT count(*) FROM {table} WHERE "{vector}" IS NULL') == 0
    assert db.scalar(f"SELECT count(*) FROM {table}") == rows


def damage_inline(db, table: str, text: str, *, edited, reversed_, swapped: tuple, gone=None,
                  vector: str = "embedding") -> None:
    """The damage round of a table holding its vectors inline (``id``, ``vector``, as SQL writes them): a text edited
    after its vector, a vector reversed (another model's, under the right name), two chunks holding each other's
    vectors, a lost one (none where ``gone`` is None: a NOT NULL column)."""
    a, b = swapped
    with db.connect(autocommit=True) as conn:
        conn.execute(f"UPDATE {table} SET {text} = {text} || ' (edited)' WHERE id = %s", (edited,))
        conn.execute(f"UPDATE {table} SET {vector} = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     f"unnest({vector}::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (reversed_,))
        conn.execute(f"UPDATE {table} d SET {vector} = o.{vector} FROM {table} o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (a, b, b, a))
        if gone is not None:
            conn.execute(f"UPDATE {table} SET {vector} = NULL WHERE id = %s", (gone,))


def offenders_by_check(path: Path) -> dict[str, set]:
    """offenders.jsonl as {check: keys}; a source row (its "key" null: no chunk to re-embed) as (source_table, key)."""
    by_check: dict[str, set] = {}
    for o in (json.loads(line) for line in path.read_text().splitlines()):
        by_check.setdefault(o["check"], set()).add(o["key"] if o["key"] is not None else (o["source_table"], o["source_key"]))
    return by_check


def repaired_verified_and_recorded(cli, target: tuple, run_dir: Path, historylog: Path, app: Path, env: dict,
                                   embedded: int) -> None:
    """The damage round's end: ``backfill --keys-from`` the offenders verify listed in ``run_dir`` re-embeds
    ``embedded`` rows, verify then fails nothing, and record takes the run."""
    fixed = cli("backfill", *target, "--keys-from", run_dir / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == embedded, fixed.out + fixed.err
    after = cli("verify", *target, "--run-dir", run_dir, "--json", env=env)
    assert after.code == 0 and not [c for c in after.json["checks"] if c["status"] == "failed"], after.out
    recorded = cli("record", *target, "--run-dir", run_dir, "--historylog", historylog, "--repo", app, "--json", env=env)
    assert recorded.code == 0, recorded.out + recorded.err


def checked_again(profile: Path, env: dict[str, str], collection: str) -> dict[str, str]:
    """Every DONE check's status, run in-process (a second `verify` costs seconds)."""
    from harness import CheckOptions, open_session, resolve, run_all

    session = open_session(resolve(str(profile), env=env), CheckOptions(collections=(collection,)))
    try:
        return {o.check: o.status for o in run_all(session)}
    finally:
        session.close()


# -- vercel/examples: TypeScript + drizzle, and the same app on Prisma ------------------------------------------

POKEMON_COLUMNS = ("number", "name", "type1", "type2", "total", "hp", "attack", "defense", "spAtk", "spDef", "speed",
                   "generation", "legendary")


def drizzle_ddl(schema_ts: str) -> str:
    """The DDL drizzle-kit push derives from a pgTable definition (the column kinds this schema uses)."""
    table = re.search(r"pgTable\(\s*'(\w+)'", schema_ts).group(1)
    columns = []
    for kind, name, dims, rest in re.findall(
            r"\w+:\s*(text|integer|boolean|vector)\('(\w+)'(?:,\s*\{\s*dimensions:\s*(\d+)\s*\})?\)([^\n]*(?:\n\s*\.[^\n]*)*)",
            schema_ts):
        sqltype = f"vector({dims})" if kind == "vector" else kind
        columns.append(f'"{name}" {sqltype}' + (" PRIMARY KEY" if ".primaryKey()" in rest else "")
                       + (" NOT NULL" if ".notNull()" in rest else ""))
    ddl = f'CREATE TABLE "{table}" ({", ".join(columns)});'
    index = re.search(r"using\(\s*'(\w+)',\s*table\.(\w+)\.op\('(\w+)'\)", schema_ts)
    if index:
        ddl += f' CREATE INDEX ON "{table}" USING {index.group(1)} ("{index.group(2)}" {index.group(3)});'
    return ddl


def prisma_ddl(schema_prisma: str) -> str:
    """The DDL prisma db push derives from one model (the field kinds this schema uses)."""
    body = re.search(r"model \w+ \{(.*?)\n\}", schema_prisma, re.S).group(1)
    table = re.search(r'@@map\("(\w+)"\)', body).group(1)
    kinds = {"String": "text", "Int": "integer", "Boolean": "boolean"}
    columns = []
    for name, kind, unsupported, optional, attrs in re.findall(
            r'^\s*(\w+)\s+(String|Int|Boolean|Unsupported\("([^"]+)"\))(\?)?([^\n]*)$', body, re.M):
        sqltype = unsupported or kinds[kind]
        columns.append(f'"{name}" {sqltype}' + ("" if optional else " NOT NULL") + (" PRIMARY KEY" if "@id" in attrs else ""))
    return f'CREATE TABLE "{table}" ({", ".join(columns)});'


def load_pokemon(db, app: Path, data: str, count: int) -> None:
    records = json.loads((app / data).read_text())["data"][:count]
    with db.connect(autocommit=True) as conn:
        for r in records:
            # The key is the application's (randomUUID() / cuid()): the database never fills it.
            conn.execute(
                'INSERT INTO pokemon (id, ' + ", ".join(f'"{c}"' for c in POKEMON_COLUMNS) + ") VALUES (gen_random_uuid()::text, "
                + ", ".join(["%s"] * len(POKEMON_COLUMNS)) + ")", [r[c] for c in POKEMON_COLUMNS])


def fails_with_citations_at_most(checks: list[dict], expected: set[str]) -> None:
    """Exactly the checks ``expected`` fail, and perhaps citations: it searches 3 chunks drawn per run by their own
    text, and fails (truthfully) when it draws a damaged one, a vector its own text no longer finds."""
    failed = {c["check"] for c in checks if c["status"] == "failed"}
    assert expected <= failed <= expected | {"citations"}, failed


def test_vercel_drizzle_pgvector_example(cli, empty_db, server, tmp_path):
    app = Source.of("vercel__examples__drizzle").checkout("storage/postgres-pgvector", tmp_path / "app")
    empty_db.execute(drizzle_ddl((app / "drizzle" / "schema.ts").read_text()))
    load_pokemon(empty_db, app, "drizzle/pokemon.json", 40)
    # No model column: the model is the one the seed script names (text-embedding-ada-002, found by locate).
    trial = procedure(cli, empty_db, server, app, tmp_path, "pokemon")
    assert trial.init.json["todo"] == []
    drafted = trial.profile.read_text()
    assert "model: text-embedding-ada-002  # guess: the model the entrypoint names" in drafted
    assert "table: pokemon" in drafted and "text: name" in drafted and "collection_name: pokemon" in drafted
    assert "dimensions: 1536" in drafted
    assert_whole_procedure_ok(trial, empty_db, "pokemon", "embedding", 40)


def test_vercel_prisma_pgvector_example(cli, empty_db, server, tmp_path):
    app = Source.of("vercel__examples__prisma").checkout("storage/postgres-pgvector", tmp_path / "app")
    empty_db.execute(prisma_ddl((app / "prisma" / "schema.prisma").read_text()))
    load_pokemon(empty_db, app, "prisma/pokemon.json", 40)
    trial = procedure(cli, empty_db, server, app, tmp_path, "pokemon")
    assert trial.init.json["todo"] == []
    assert trial.scope.code == 0 and trial.run.code == 0, trial.run.out
    assert empty_db.scalar("SELECT count(*) FROM pokemon WHERE embedding IS NULL") == 0
    # schema.prisma declares no vector index (the drizzle version added HNSW). At 40 rows a scan is fast enough,
    # so verify passes and says the queries scan ...
    assert trial.verify.code == 0, trial.verify.out
    index = next(c for c in trial.verify.json["checks"] if c["check"] == "index")
    assert index["status"] == "passed" and "scan" in index["found"], index
    # ... and an owner who wants one from 10 rows on is told it is missing, and only that.
    profile = trial.profile.read_text().replace("embeddings:\n", "embeddings:\n  index_min_rows: 10\n", 1)
    trial.profile.write_text(profile)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    strict = cli("verify", "--profile", trial.profile, "--collection", "pokemon", "--run-dir", tmp_path / "run", "--json", env=env)
    assert strict.code == 1
    assert [c["check"] for c in strict.json["checks"] if c["status"] == "failed"] == ["index"], strict.out
    # The fix the check asks for, then verify again.
    empty_db.execute("CREATE INDEX ON pokemon USING hnsw (embedding vector_cosine_ops)")
    again = cli("verify", "--profile", trial.profile, "--collection", "pokemon", "--run-dir", tmp_path / "run", "--json", env=env)
    assert again.code == 0, again.out


# -- Azure-Samples/rag-postgres-openai-python: Python + SQLAlchemy, two inline vector columns ------------------------

ITEMS = [
    ("Footwear", "Daybird", f"Trail shoe {i}", f"A light trail running shoe, model {i}, with a grippy sole.", 80.0 + i)
    for i in range(15)
] + [
    ("Climbing", "Gravitator", f"Harness {i}", f"A padded climbing harness, size {i}, for long multi-pitch days.", 60.0 + i)
    for i in range(15)
]


def create_sqlalchemy_schema(backend: Path, dsn: str) -> None:
    """The app's own schema: ``Base.metadata.create_all`` of its models, as setup_postgres_database.py does."""
    # The package's __init__ starts the FastAPI app (fastapi, azure-monitor, openai): load the models file alone.
    code = ("import sys, sqlalchemy, importlib.util\n"
            "spec = importlib.util.spec_from_file_location('postgres_models', 'fastapi_app/postgres_models.py')\n"
            "models = sys.modules['postgres_models'] = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(models); Base = models.Base\n"
            "engine = sqlalchemy.create_engine(sys.argv[1].replace('postgresql://', 'postgresql+psycopg://', 1))\n"
            "Base.metadata.create_all(engine)\n")
    subprocess.run([sys.executable, "-c", code, dsn], cwd=backend, check=True, capture_output=True, timeout=60)


def test_azure_rag_postgres_openai_python(cli, empty_db, server, tmp_path):
    repo = Source.of("Azure-Samples__rag-postgres-openai-python").checkout("", tmp_path / "app")
    create_sqlalchemy_schema(repo / "src" / "backend", empty_db.dsn)
    with empty_db.connect(autocommit=True) as conn:
        for item in ITEMS:
            conn.execute("INSERT INTO items (type, brand, name, description, price) VALUES (%s, %s, %s, %s, %s)", item)

    def choose_ollama_column(text: str) -> str:
        # With OPENAI_EMBED_HOST=ollama the app fills embedding_nomic (768): of the two vector columns the draft takes
        # the one of the model's dimension, as the provider says it, and names the other.
        assert "vector: embedding_nomic" in text and "dimensions: 768" in text, text
        assert "embedding_3l" in text
        # to_str_for_embedding() joins name, description and type.
        return re.sub(r"\n  text: \w+[^\n]*", "\n  text: [name, description, type]", text)

    trial = procedure(cli, empty_db, server, repo, tmp_path, "items", model="nomic-embed-text",
                      edit=choose_ollama_column)
    assert trial.init.json["todo"] == []
    assert_whole_procedure_ok(trial, empty_db, "items", "embedding_nomic", len(ITEMS))
    assert empty_db.scalar("SELECT count(*) FROM items WHERE embedding_3l IS NOT NULL") == 0


# -- run-llama/create-llama: a LlamaIndex app (PGVectorStore + OllamaEmbedding), its own ingest command ------------

LOADER = '''"""File loader as create-llama's (SimpleDirectoryReader over DATA_DIR), without LlamaParse."""
from llama_index.core.readers import SimpleDirectoryReader


def get_documents():
    return SimpleDirectoryReader("data", recursive=True, filename_as_id=True).load_data()
'''


def create_llama_app(tmp_path: Path) -> Path:
    """The files create-llama copies for a Python app with the pg vector store and the Ollama provider."""
    src = Source.of("run-llama__create-llama")
    templates = src.checkout("templates", tmp_path / "templates")
    app = tmp_path / "app"
    (app / "app" / "engine" / "loaders").mkdir(parents=True)
    (app / "app" / "__init__.py").write_text("")
    (app / "app" / "engine" / "__init__.py").write_text("")
    (app / "app" / "engine" / "generate.py").write_bytes((templates / "types/streaming/fastapi/app/engine/generate.py").read_bytes())
    (app / "app" / "engine" / "vectordb.py").write_bytes((templates / "components/vectordbs/python/pg/vectordb.py").read_bytes())
    (app / "app" / "settings.py").write_bytes((templates / "components/settings/python/settings.py").read_bytes())
    # The template's loaders import LlamaParse and the web and database readers; the file loader is all this needs.
    (app / "app" / "engine" / "loaders" / "__init__.py").write_text(LOADER)
    (app / "data").mkdir()
    for i in range(30):
        (app / "data" / f"note_{i:02d}.txt").write_text(f"Note {i}: how to rotate the API keys of service number {i}.")
    return app


CHAT_LLM = '''"""Stands in for llama-index-llms-ollama: the app's settings build a chat LLM that ingest never calls."""
from llama_index.core.llms.mock import MockLLM

DEFAULT_REQUEST_TIMEOUT = 30.0


class Ollama(MockLLM):
    def __init__(self, base_url=None, model=None, request_timeout=None, **kwargs):
        super().__init__()
'''


def ollama_llm_stand_in(folder: Path) -> list[str]:
    """Where ``llama_index.llms.ollama`` is found: installed, or a stand-in written under ``folder``."""
    if subprocess.run([sys.executable, "-c", "import llama_index.llms.ollama"], capture_output=True).returncode == 0:
        return []
    package = folder / "llama_index" / "llms" / "ollama"  # llama_index and llama_index.llms are namespace packages
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .base import Ollama  # noqa: F401\n")
    (package / "base.py").write_text(CHAT_LLM)
    return [str(folder)]


def test_create_llama_pgvector_ollama_app(cli, empty_db, server, tmp_path):
    try:
        import llama_index.vector_stores.postgres  # noqa: F401
    except ImportError:
        pytest.skip("llama-index-vector-stores-postgres is not installed")
    app = create_llama_app(tmp_path)
    deps = ollama_llm_stand_in(tmp_path / "stand-in")
    # The app's contract: PG_CONNECTION_STRING, OLLAMA_BASE_URL, EMBEDDING_MODEL, EMBEDDING_DIM; PYTHONPATH finds app/.
    contract = {"PG_CONNECTION_STRING": empty_db.dsn, "OLLAMA_BASE_URL": server.url, "EMBEDDING_MODEL": "nomic-embed-text",
                "EMBEDDING_DIM": "768", "MODEL_PROVIDER": "ollama", "MODEL": "llama3.1", "PYTHONPATH": os.pathsep.join([str(app), *deps, os.environ.get("PYTHONPATH", "")])}
    first = subprocess.run([sys.executable, "-m", "app.engine.generate"], cwd=app, env={**os.environ, **contract},
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    table = "data_llamaindex_embedding"
    assert empty_db.scalar(f"SELECT count(*) FROM {table} WHERE embedding IS NOT NULL") == 30
    # A restore lost a third of the vectors: the backfill's job.
    empty_db.execute(f"UPDATE {table} SET embedding = NULL WHERE id % 3 = 0")
    lost = empty_db.scalar(f"SELECT count(*) FROM {table} WHERE embedding IS NULL")

    def map_contract(text: str) -> str:
        # locate read the app's contract: the draft maps what carries our settings ...
        for line in ('PG_CONNECTION_STRING: "{database_url}"', 'OLLAMA_BASE_URL: "{provider_url}"',
                     'EMBEDDING_MODEL: "{model}"', 'EMBEDDING_DIM: "{dimensions}"'):
            assert line in text, text
        assert re.search(r'command: "python -m app.engine.generate"', text), text
        # MODEL, the chat model beside EMBEDDING_MODEL, and MODEL_PROVIDER, a selector, are left to the user ...
        assert 'MODEL: "{model}"' not in text.replace('EMBEDDING_MODEL: "{model}"', "")
        # ... who adds them (and the interpreter that has LlamaIndex).
        text = text.replace('command: "python -m app.engine.generate"', "command: " + json.dumps(f"{sys.executable} -m app.engine.generate"))
        return re.sub(r"\n  env:[^\n]*\n", lambda m: m.group(0) + '    MODEL_PROVIDER: "ollama"\n    MODEL: "llama3.1"\n'
                      + f"    PYTHONPATH: {json.dumps(contract['PYTHONPATH'])}\n", text, count=1)

    own = procedure(cli, empty_db, server, app, tmp_path / "own", table, model="nomic-embed-text", edit=map_contract,
                    run_args=())
    assert own.scope.code == 0, own.scope.out + own.scope.err
    assert own.scope.json["counts"]["needed"] == lost
    # The app's ingest skips documents its docstore has seen: the lost vectors stay lost; run and verify say so.
    assert own.run.code == 1, own.run.out + own.run.err
    assert own.run.json["problems"] == [f"{lost} of 30 rows still need a vector"], own.run.out
    assert empty_db.scalar(f"SELECT count(*) FROM {table} WHERE embedding IS NULL") == lost
    assert own.verify.code == 1
    # The engine fills exactly what is missing ...
    engine = procedure(cli, empty_db, server, app, tmp_path / "engine", table, model="nomic-embed-text")
    assert engine.scope.code == 0 and engine.scope.json["counts"]["needed"] == lost
    assert engine.run.code == 0, engine.run.out + engine.run.err
    assert empty_db.scalar(f"SELECT count(*) FROM {table} WHERE embedding IS NULL") == 0
    # ... with what LlamaIndex embeds (each node's metadata header, "file_name: ...", before its text): the draft
    # found the serialized nodes in metadata_, so recompute agrees with the vectors the app wrote.
    assert yaml.safe_load(engine.profile.read_text())["chunks"]["text_format"] == "llamaindex"
    assert engine.verify.code == 0, engine.verify.out
    assert engine.record.code == 0 and '"outcome": "passed"' in engine.record.out, engine.record.out


# -- Django: pgvector's VectorField on a model, embedded by a management command -----------------------------------

DJANGO_TYPES = {"CharField": "varchar(255)", "SlugField": "varchar(255)", "TextField": "text", "URLField": "varchar(200)",
                "IntegerField": "integer", "FloatField": "double precision", "DateField": "date",
                "DateTimeField": "timestamptz", "JSONField": "jsonb", "BooleanField": "boolean"}


def django_ddl(models_py: str, app_label: str, model: str) -> str:
    """The DDL ``manage.py migrate`` gives one model (the field kinds these apps use; a BigAutoField key)."""
    body = re.search(rf"^class {model}\(models\.Model\):\n((?:[ \t]+.*\n|[ \t]*\n)+)", models_py, re.M).group(1)
    table = re.search(r"db_table\s*=\s*['\"](\w+)['\"]", body)
    columns = ['"id" bigserial PRIMARY KEY']
    for name, kind, args in re.findall(r"^    (\w+)\s*=\s*(?:models\.)?(\w+Field)\(([^\n]*)\)", body, re.M):
        if kind == "VectorField":
            sqltype = "vector(%s)" % re.search(r"dimensions=(\d+)", args).group(1)
        elif kind in DJANGO_TYPES:
            sqltype = DJANGO_TYPES[kind]
        else:
            continue  # relations and managers: not in these tables' text
        nullable = "null=True" in args or "blank=True" in args
        columns.append(f'"{name}" {sqltype}' + ("" if nullable or kind == "VectorField" else " NOT NULL")
                       + (" UNIQUE" if "unique=True" in args else ""))
    name = table.group(1) if table else f"{app_label}_{model.lower()}"
    return f'CREATE TABLE "{name}" ({", ".join(columns)});'


def test_own_django_fixture_goes_through_the_whole_procedure(cli, empty_db, server, tmp_path):
    """tests/fixtures/repos/django-vectors (ours): VectorField(dimensions=1024), an Ollama management command."""
    repo = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "django-vectors"
    empty_db.execute(django_ddl((repo / "library" / "models.py").read_text(), "library", "Book"))
    with empty_db.connect(autocommit=True) as conn:
        for i in range(25):
            conn.execute("INSERT INTO library_book (title, summary) VALUES (%s, %s)",
                         (f"Book {i}", f"A story about lighthouse keeper number {i} and the sea."))
    trial = procedure(cli, empty_db, server, repo, tmp_path, "library_book")
    assert trial.locate.code == 0 and trial.init.json["todo"] == []
    drafted = trial.profile.read_text()
    # The command hard-codes its model: the draft names it; the vector column and dimension come from the database.
    assert "model: mxbai-embed-large  # guess: the model the entrypoint names" in drafted
    assert "table: library_book" in drafted and "vector: summary_embedding" in drafted and "dimensions: 1024" in drafted
    assert 'command: "python manage.py embed_books"' in drafted and 'OLLAMA_BASE_URL: "{provider_url}"' in drafted
    assert_whole_procedure_ok(trial, empty_db, "library_book", "summary_embedding", 25)
    entry = (tmp_path / "historylog.md").read_text()
    assert "library_book" in entry and "mxbai-embed-large" in entry


def test_gamesub_django_app_with_a_sentence_transformers_command(cli, empty_db, server, tmp_path):
    """Calamia92/GameSub: Django, ``VectorField(dimensions=384)`` on ``games``, embedded in-process."""
    repo = Source.of("Calamia92__GameSub").checkout("", tmp_path / "app")
    empty_db.execute(django_ddl((repo / "games" / "models.py").read_text(), "games", "Game"))
    with empty_db.connect(autocommit=True) as conn:
        for i in range(30):
            conn.execute("INSERT INTO games (external_id, name, slug, description, genres, platforms, stores, tags, "
                         "created_at, updated_at) VALUES (%s, %s, %s, %s, '[]', '[]', '[]', '[]', now(), now())",
                         (i, f"Game {i}", f"game-{i}", f"A puzzle game with {i} islands to explore."))

    def choose(text: str) -> str:
        # The draft reads the in-process model the command loads (all-MiniLM-L6-v2, Ollama's all-minilm) ...
        assert "embeds_in_process: true" in text and "in_process_model: all-MiniLM-L6-v2" in text, text
        assert re.search(r'command: "python manage.py \w*embeddings"', text), text
        # ... and the engine embeds here (sentence-transformers is not installed), with the server's all-minilm:
        # the user drops the app's command (scope checks the contract of a command that would run).
        text = re.sub(r"\n  (?:command|workdir|embeds_in_process|in_process_model):[^\n]*", "", text)
        return text

    trial = procedure(cli, empty_db, server, repo, tmp_path, "games", model="all-minilm", edit=choose)
    declared = {(d["path"], d["table"], d["column"], d["dimensions"]) for d in trial.locate.json["declarations"]}
    assert ("games/models.py", "games", "embedding", 384) in declared
    assert trial.init.json["todo"] == []
    drafted = trial.profile.read_text()
    assert "table: games" in drafted and "vector: embedding" in drafted and "dimensions: 384" in drafted
    assert_whole_procedure_ok(trial, empty_db, "games", "embedding", 30)


# -- khoj-ai/khoj: Django, an untyped inline vector beside its own texts, the model in another table -------------

# The tables ``manage.py migrate`` gives khoj's models at the pinned commit (the columns the trial needs; Django is no
# dependency here). ``Entry.embeddings`` is ``VectorField(dimensions=None)``: an untyped vector, NOT NULL.
KHOJ_DDL = """
CREATE TABLE database_khojuser (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, password varchar(128) NOT NULL,
  username varchar(150) NOT NULL UNIQUE, first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL,
  email varchar(254) NOT NULL, uuid uuid NOT NULL UNIQUE);
CREATE TABLE database_agent (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name varchar(200) NOT NULL,
  personality text NULL);
CREATE TABLE database_searchmodelconfig (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, name varchar(200) NOT NULL,
  bi_encoder varchar(200) NOT NULL, embeddings_inference_endpoint_api_key varchar(200) NULL);
CREATE TABLE database_fileobject (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, file_name varchar(400) NULL,
  raw_text text NOT NULL, user_id bigint NULL REFERENCES database_khojuser (id) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE database_entry (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL, embeddings vector NOT NULL, raw text NOT NULL, compiled text NOT NULL,
  heading varchar(1000) NULL, file_source varchar(30) NOT NULL, file_type varchar(30) NOT NULL,
  file_path varchar(400) NULL, file_name varchar(400) NULL, url varchar(400) NULL, hashed_value varchar(100) NOT NULL,
  corpus_id uuid NOT NULL,
  user_id bigint NULL REFERENCES database_khojuser (id) DEFERRABLE INITIALLY DEFERRED,
  agent_id bigint NULL REFERENCES database_agent (id) DEFERRABLE INITIALLY DEFERRED,
  search_model_id bigint NULL REFERENCES database_searchmodelconfig (id) DEFERRABLE INITIALLY DEFERRED,
  file_object_id bigint NULL REFERENCES database_fileobject (id) DEFERRABLE INITIALLY DEFERRED);
"""


def load_khoj_entries(db, server) -> None:
    """40 entries of two users, embedded from ``compiled`` (as khoj does) with hash-embed:384, ``file_name`` and
    ``url`` left NULL as ``update_embeddings`` leaves them for local files; entries 27-30 hold
    an older 768-dimensional model's vectors; entry 3 was edited after it was embedded."""
    import httpx

    def embed(model: str, texts: list[str]) -> list[list[float]]:
        return httpx.post(server.url + "/api/embed", json={"model": model, "input": texts}).json()["embeddings"]

    with db.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO database_khojuser (id, password, username, first_name, last_name, email, uuid) VALUES "
                     "(1, 'x', 'alice', 'Alice', '', 'a@example.org', gen_random_uuid()), "
                     "(2, 'x', 'bob', 'Bob', '', 'b@example.org', gen_random_uuid())")
        conn.execute("INSERT INTO database_searchmodelconfig (id, created_at, updated_at, name, bi_encoder, "
                     "embeddings_inference_endpoint_api_key) VALUES (1, now(), now(), 'default', 'thenlper/gte-small', "
                     "'sk-khoj-trial-key'), (2, now(), now(), 'prev_default_2', 'old-encoder-768', NULL)")
        topics = ["garden", "taxes", "recipes", "travel", "bikes", "lighthouse", "piano", "chess", "sourdough", "hiking"]
        rows = []
        for i in range(40):
            topic = topics[i % 10]
            heading = f"* {topic.title()} note {i}"
            body = f"Notes about {topic} number {i}: what worked and what did not."
            rows.append((1 if i < 26 else 2, f"{heading}\n{body}", f"{heading}.\n{body}\n{topic}.org", heading,
                         f"/notes/{topic}.org"))
        vectors = embed("hash-embed:384", [r[2] for r in rows])
        for i, ((user, raw, compiled, heading, path), vector) in enumerate(zip(rows, vectors), 1):
            old = 27 <= i <= 30
            if old:
                vector = embed("hash-embed:768", [compiled])[0]
            conn.execute(
                "INSERT INTO database_entry (created_at, updated_at, embeddings, raw, compiled, heading, file_source, "
                "file_type, file_path, hashed_value, corpus_id, user_id, search_model_id) VALUES "
                "(now(), now(), %s::vector, %s, %s, %s, 'computer', 'org', %s, md5(%s), gen_random_uuid(), %s, %s)",
                (json.dumps(vector), raw, compiled, heading, path, compiled, user, 2 if old else 1))
        conn.execute("UPDATE database_entry SET compiled = compiled || ' Edited: the frost came early.' WHERE id = 3")


def test_khoj_entries_untyped_inline_vectors_beside_their_own_texts(cli, empty_db, server, tmp_path):
    """khoj-ai/khoj: ``Entry`` holds its texts, an untyped vector, the user, the model through a foreign key and
    an MD5 of its text; the app's re-embedding command needs Django and a model download: the engine runs."""
    app = tmp_path / "app"
    Source.of("khoj-ai__khoj").checkout("src/khoj", app / "src" / "khoj")
    models = (app / "src/khoj/database/models/__init__.py").read_text()
    entry = models[models.index("class Entry(DbBaseModel)"):models.index("class EntryDates")]
    for field in ("embeddings = VectorField(dimensions=None)", "raw = models.TextField()", "compiled = models.TextField()",
                  "hashed_value = models.CharField", "search_model = models.ForeignKey(SearchModelConfig"):
        assert field in entry  # the DDL above is this model's
    empty_db.execute(KHOJ_DDL)
    load_khoj_entries(empty_db, server)
    md5s = empty_db.scalar("SELECT md5(string_agg(hashed_value, ',' ORDER BY id)) FROM database_entry WHERE id <> 3")

    def choose(text: str) -> str:
        # The draft: inline database_entry (not the user table its user_id references), per-user rows, the model
        # the command names, hashed_value as the input hash with its algorithm measured (MD5), and where the model
        # is named.
        assert "table: database_entry  # inline" in text and "tenant: user_id" in text, text
        assert "model: \"thenlper/gte-small\"" in text and "input_hash: hashed_value" in text, text
        assert "input_hash_algorithm: md5" in text, text
        assert "search_model_id -> database_searchmodelconfig" in text, text
        assert 'sources: ["file_path"]' in text and "left out, empty in some rows read: file_name, url" in text, text
        # its --search_model_id is the application's data: the draft leaves the command TODO, saying so
        assert ('command: TODO  # TODO: locate\'s best entrypoint (django-command src/khoj/database/management/commands/'
                'change_default_model.py), "python manage.py change_default_model", requires --search_model_id, which '
                'it is not given') in text and 'POSTGRES_HOST: "{database_host}"' in text, text
        # khoj hashes and embeds `compiled` (text_to_entries.update_embeddings): its MD5 column says so.
        # (39 of 40 before the repair: the entry edited after its vector; 40 after)
        assert re.search(r"text: compiled  # guess: the application's hashed_value holds its MD5 \((39|40) of 40 rows "
                         r"read hold the MD5 of compiled\)", text), text
        # The engine runs, not the app's command (Django, khoj's dependencies, a model download).
        return re.sub(r"\n  (?:command|workdir|env|embeds_in_process|in_process_model):[^\n]*(?:\n    [^\n]*)*", "", text)

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "database_entry", edit=choose)
    assert trial.init.json["todo"] == ["backfill.command"]
    located = trial.locate.json
    assert ("src/khoj/database/models/__init__.py", "database_entry", "embeddings", None) in {
        (d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]}
    command = next(e for e in located["entrypoints"] if e["name"] == "change_default_model")
    assert command["contract"]["required_flags"] == ["--search_model_id"]
    assert not any(c["name"] == "CrossEncoder" for c in located["embedding_calls"])
    # The untyped column holds 4 vectors the 384-dimensional model cannot have made, beside 36 of its own: scope
    # counts them needed (it refused and sent the user to verify and --keys-from), and the run re-embeds them.
    dims = next(c for c in trial.scope.json["checks"] if c["check"] == "dimensions agree")
    assert dims["status"] == "passed" and "4 stored vectors of 768 dimensions" in dims["found"], dims
    assert "each is counted needed, and a run re-embeds it" in dims["found"], dims
    # khoj's own MD5 proves freshness: the entry edited after its vector is counted stale by its hash.
    hashed = next(c for c in trial.scope.json["checks"] if c["check"] == "input hash")
    assert hashed["status"] == "passed" and "39 equal the MD5 of the current text" in hashed["found"], hashed["found"]
    counts = trial.scope.json["counts"]
    assert (counts["stale"], counts["other_dims"], counts["needed"]) == (1, 4, 5), counts
    assert_whole_procedure_ok(trial, empty_db, "database_entry", "embeddings", 40, needed=5)
    assert trial.run.json["counts_after"]["needed"] == 0
    assert empty_db.scalar("SELECT count(*) FROM database_entry WHERE vector_dims(embeddings) <> 384") == 0
    # The app's own hashes are what khoj writes: the others untouched, the edited entry's now the MD5 of its text
    # (khoj's next sync sees nothing changed); its endpoint key is in no output.
    assert empty_db.scalar("SELECT md5(string_agg(hashed_value, ',' ORDER BY id)) FROM database_entry WHERE id <> 3") == md5s
    assert empty_db.scalar("SELECT count(*) FROM database_entry WHERE hashed_value = md5(compiled)") == 40
    for result in (trial.locate, trial.init, trial.scope, trial.run, trial.verify, trial.record):
        assert "sk-khoj-trial-key" not in result.out + result.err


# -- Mintplex-Labs/anything-llm: a JS monorepo whose pgvector store keeps the text in a JSONB column ---------------

def anything_llm_ddl(provider_js: str, dims: int) -> str:
    """The table the provider's createTableSql() builds (its default name), at the embedder's dimension."""
    ddl = re.search(r"CREATE TABLE IF NOT EXISTS [^`]+", provider_js).group(0)
    return ddl.replace("${PGVector.tableName()}", "anythingllm_vectors").replace("${Number(dimensions)}", str(dims))


def load_workspaces(db, server) -> tuple[str, ...]:
    """Two workspaces of 12 chunks, as addDocumentToNamespace() writes them; then 3 + 2 vectors lost and one text
    edited in metadata after its vector. Returns the edited chunk's id."""
    import uuid

    import httpx

    rows = []
    for ns, docs in (("my-workspace", ("onboarding guide", "vacation policy", "expense reports")),
                     ("research", ("vector databases", "tokenizers", "retrieval"))):
        for title in docs:
            for part in range(4):
                text = (f"<document_metadata>\nsourceDocument: {title}.pdf\n</document_metadata>\n\n"
                        f"Part {part} of the {title}: who does what, and when, in this {title}.")
                rows.append((str(uuid.uuid4()), ns, {"id": str(uuid.uuid4()), "url": f"file:///docs/{title}.pdf",
                                                     "title": f"{title}.pdf", "wordCount": 17, "text": text}))
    answer = httpx.post(f"{server.url}/api/embed", json={"model": "nomic-embed-text", "input": [m["text"] for *_, m in rows]})
    with db.connect(autocommit=True) as conn:
        for (key, ns, meta), vector in zip(rows, answer.json()["embeddings"]):
            conn.execute('INSERT INTO "anythingllm_vectors" (id, namespace, embedding, metadata) VALUES (%s, %s, %s, %s)',
                         (key, ns, str(vector), json.dumps(meta)))
        for ns, lost in (("my-workspace", 3), ("research", 2)):
            conn.execute("UPDATE anythingllm_vectors SET embedding = NULL WHERE id IN "
                         "(SELECT id FROM anythingllm_vectors WHERE namespace = %s ORDER BY id LIMIT %s)", (ns, lost))
        return conn.execute(
            "UPDATE anythingllm_vectors SET metadata = jsonb_set(metadata, '{text}', '\"Leave is now thirty days.\"') "
            "WHERE id = (SELECT id FROM anythingllm_vectors WHERE namespace = 'my-workspace' AND embedding IS NOT NULL "
            "ORDER BY id LIMIT 1) RETURNING id::text").fetchone()[0]


def test_anything_llm_pgvector_store_with_the_text_in_jsonb_metadata(cli, empty_db, server, pg_password, tmp_path):
    app = Source.of("Mintplex-Labs__anything-llm").checkout("", tmp_path / "app")
    provider_js = (app / "server/utils/vectorDbProviders/pgvector/index.js").read_text()
    empty_db.execute(anything_llm_ddl(provider_js, 768))
    edited = load_workspaces(empty_db, server)
    trial = procedure(cli, empty_db, server, app, tmp_path, "my-workspace", model="nomic-embed-text")

    # locate: the table built in JS code, the app's own PGVector class is no LangChain store, the env names the
    # Ollama embedder reads, and no entrypoint that embeds (prisma generate / seed are not backfills).
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"], d["kind"]) for d in located["declarations"]] == [
        ("server/utils/vectorDbProviders/pgvector/index.js", "anythingllm_vectors", "embedding", None, "sql")]
    ollama = next(c for c in located["embedding_calls"] if c["path"] == "server/utils/EmbeddingEngines/ollama/index.js")
    assert (ollama["url_env"], ollama["model_env"]) == ("EMBEDDING_BASE_PATH", "EMBEDDING_MODEL_PREF")
    assert not [c for c in located["embedding_calls"] if c["kind"] == "ollama-http"]  # route files, its own widget API
    assert located["best_entrypoint"] is None
    assert "npm run prisma:generate" not in [e["command"] for e in located["entrypoints"]]

    # profile init: the text is a key of the JSONB column, citations its url and title; no command.
    assert trial.init.json["todo"] == []
    raw = yaml.safe_load(trial.profile.read_text())
    assert raw["chunks"]["text"] == "metadata->>'text'" and raw["chunks"]["collection"] == "namespace"
    assert raw["chunks"]["sources"] == ["metadata->>'url'", "metadata->>'title'"]
    assert "command" not in (raw.get("backfill") or {})

    # scope counts the lost vectors; with no hash column it cannot see the edited text, and says so.
    assert trial.scope.code == 0, trial.scope.out + trial.scope.err
    assert trial.scope.json["counts"]["missing"] == 3 and trial.scope.json["counts"]["stale"] is None
    assert trial.run.code == 0, trial.run.out + trial.run.err
    # verify measures what scope could not: the edited text's vector, and nothing else.
    assert trial.verify.code == 1
    fails_with_citations_at_most(trial.verify.json["checks"], {"recompute"})
    offenders = [json.loads(line) for line in (tmp_path / "run" / "offenders.jsonl").read_text().splitlines()]
    assert ("recompute", edited) in [(o["check"], o["key"]) for o in offenders]
    assert {o["key"] for o in offenders} == {edited}, offenders
    assert trial.record.code == 0 and trial.record.json["entry"]["outcome"] == "failed"

    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "my-workspace")
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "run" / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 1, fixed.out + fixed.err
    again = cli("verify", *target, "--run-dir", tmp_path / "run2", "--json", env=env)
    assert again.code == 0, again.out
    assert empty_db.scalar("SELECT count(*) FROM anythingllm_vectors WHERE namespace = 'my-workspace' "
                           "AND embedding IS NULL") == 0
    # The other workspace is untouched: its two lost vectors are still lost.
    assert empty_db.scalar("SELECT count(*) FROM anythingllm_vectors WHERE namespace = 'research' AND embedding IS NULL") == 2
    for result in (trial.locate, trial.init, trial.scope, trial.run, trial.verify, trial.record, fixed, again):
        assert pg_password not in result.out + result.err
    for path in [*(tmp_path / "run").iterdir(), tmp_path / "historylog.md", trial.profile]:
        assert pg_password not in path.read_text()


# -- lobehub/lobe-chat: a TypeScript monorepo, drizzle migrations, chunks + embeddings tables, per-user rows -----------

def lobe_chat_schema(db, app: Path) -> None:
    """The app's schema as ``drizzle-kit migrate`` builds it: every migration of the journal, in order."""
    migrations = app / "packages" / "database" / "migrations"
    journal = json.loads((migrations / "meta" / "_journal.json").read_text())
    with db.connect(autocommit=True) as conn:
        for entry in journal["entries"]:
            for statement in (migrations / f"{entry['tag']}.sql").read_text().split("--> statement-breakpoint"):
                if statement.strip():
                    conn.execute(statement)


LOBE_USERS = ("user_alice", "user_bob")


def load_lobe_chat_files(db, server, model: str = "mxbai-embed-large") -> dict[str, list[str]]:
    """Two users' uploaded files, 4 chunks each (3 files of Alice, 2 of Bob), every chunk embedded as the app's
    ``embeddingChunks`` does: one ``embeddings`` row per chunk, ``model`` named, ``user_id`` the chunk owner's.
    Returns each user's chunk ids in order."""
    import uuid

    import httpx

    chunks: dict[str, list[str]] = {u: [] for u in LOBE_USERS}
    with db.connect(autocommit=True) as conn:
        for user in LOBE_USERS:
            conn.execute("INSERT INTO users (id, username, email) VALUES (%s, %s, %s)", (user, user, f"{user}@example.org"))
        files = [("user_alice", "handbook.pdf"), ("user_alice", "recipes.md"), ("user_alice", "taxes-2024.pdf"),
                 ("user_bob", "bike-repair.md"), ("user_bob", "garden-plan.txt")]
        rows = []
        for user, name in files:
            file_id = f"file_{uuid.uuid4().hex[:12]}"  # the app's idGenerator('files'): text keys it makes itself
            conn.execute("INSERT INTO files (id, user_id, file_type, name, size, url) VALUES (%s, %s, %s, %s, %s, %s)",
                         (file_id, user, "text/plain", name, 1000, f"files/{user}/{name}"))
            for part in range(4):
                chunk_id = str(uuid.uuid4())  # drizzle's defaultRandom() is the database's, but the app sets its own
                text = f"Part {part} of {name}: what to do first, what to check, and who to ask about {name}."
                conn.execute("INSERT INTO chunks (id, text, index, type, user_id) VALUES (%s, %s, %s, 'Text', %s)",
                             (chunk_id, text, part, user))
                conn.execute("INSERT INTO file_chunks (file_id, chunk_id, user_id) VALUES (%s, %s, %s)",
                             (file_id, chunk_id, user))
                rows.append((chunk_id, text, user))
                chunks[user].append(chunk_id)
        vectors = httpx.post(f"{server.url}/api/embed", json={"model": model, "input": [t for _, t, _ in rows]}).json()["embeddings"]
        for (chunk_id, _, user), vector in zip(rows, vectors):
            conn.execute("INSERT INTO embeddings (chunk_id, embeddings, model, user_id) VALUES (%s, %s, %s, %s)",
                         (chunk_id, str(vector), model, user))
    return chunks


def damage_lobe_chat(db, server, chunks: dict[str, list[str]]) -> dict[str, list[str]]:
    """What real life does to these rows; returns the chunk ids of each harm."""
    import httpx

    def other_vector(text: str) -> str:
        return str(httpx.post(f"{server.url}/api/embed", json={"model": "mxbai-embed-large", "input": [text]}).json()["embeddings"][0])

    alice, bob = chunks["user_alice"], chunks["user_bob"]
    harm = {"no_row": [alice[0]], "null_vector": [bob[1]], "old_model": alice[4:7], "other_user": [alice[2]],
            "mislabelled": bob[2:4]}
    with db.connect(autocommit=True) as conn:
        # A chunk whose embedding row was never written (the task timed out), and one whose vector write failed.
        conn.execute("DELETE FROM embeddings WHERE chunk_id = %s", (alice[0],))
        conn.execute("UPDATE embeddings SET embeddings = NULL WHERE chunk_id = %s", (bob[1],))
        # Embedded before the switch to Ollama: the model column says so.
        for key in harm["old_model"]:
            conn.execute("UPDATE embeddings SET model = 'text-embedding-3-small', embeddings = %s::vector WHERE chunk_id = %s",
                         (other_vector(f"openai {key}"), key))
        # Alice's chunk filed under Bob.
        conn.execute("UPDATE embeddings SET user_id = 'user_bob' WHERE chunk_id = %s", (alice[2],))
        # The model column names the configured model, but the vectors are another's.
        for key in harm["mislabelled"]:
            conn.execute("UPDATE embeddings SET embeddings = %s::vector WHERE chunk_id = %s", (other_vector(f"old {key}"), key))
        # No harm: two users' chat queries, embedded by semanticSearchForChat into the same table with no chunk.
        for user, query in (("user_alice", "who do I ask about taxes"), ("user_bob", "how to fix a flat tyre")):
            conn.execute("INSERT INTO embeddings (embeddings, model, user_id) VALUES (%s::vector, 'text-embedding-3-small', %s)",
                         (other_vector(query), user))
    return harm


def test_lobe_chat_chunks_and_embeddings_per_user_from_its_drizzle_migrations(cli, empty_db, server, tmp_path):
    """lobehub/lobe-chat: ``chunks`` (text, user_id) and ``embeddings`` (vector(1024), chunk_id unique, model,
    user_id), built by the app's own drizzle migrations; embedding runs inside its server (no command): the engine
    runs, after scope refuses the model switch it finds and the owner approves it."""
    app = Source.of("lobehub__lobe-chat").checkout("", tmp_path / "app")
    lobe_chat_schema(empty_db, app)
    harm = damage_lobe_chat(empty_db, server, load_lobe_chat_files(empty_db, server))
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "chunks")

    # locate: the drizzle table, its migration, and the same column in drizzle's JSON (snapshots, compiled
    # migrations) with table and column named; no command embeds.
    located = trial.locate.json
    decls = {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]}
    assert {("packages/database/src/schemas/rag.ts", "embeddings", "embeddings", 1024),
            ("packages/database/migrations/0006_add_knowledge_base.sql", "embeddings", "embeddings", 1024),
            ("packages/database/src/core/migrations.json", "embeddings", "embeddings", 1024),
            ("packages/database/migrations/meta/0033_snapshot.json", "embeddings", "embeddings", 1024)} <= decls
    assert {(t, c) for _, t, c, _ in decls} == {("embeddings", "embeddings")}
    assert located["declared_dimensions"] == [1024] and located["best_entrypoint"] is None
    # The embedder is chosen by a setting of the app's own name; its UI strings in 19 languages are no code.
    assert (".env.example", "DEFAULT_FILES_CONFIG") in {(s["path"], s["name"]) for s in located["settings"]}
    assert not [h["path"] for h in located["service"] if "locales/" in h["path"]]

    # profile init: the chunk table through the foreign key, per-user rows on both, the model column, and the
    # model most stored vectors name (13 of 18).
    assert trial.init.json["todo"] == []
    raw = yaml.safe_load(trial.profile.read_text())
    assert raw["chunks"] == {"table": "chunks", "id": "id", "text": "text", "collection_name": "chunks", "tenant": "user_id"}
    assert {k: raw["embeddings"][k] for k in ("table", "key", "vector", "model", "tenant")} == {
        "table": "embeddings", "key": "chunk_id", "vector": "embeddings", "model": "model", "tenant": "user_id"}
    assert raw["provider"]["model"] == "mxbai-embed-large" and raw["provider"]["dimensions"] == 1024

    # scope: the two chunks without a vector, three vectors of text-embedding-3-small (a model switch it refuses
    # without the owner's approval), and Alice's vector filed under Bob (needed: her searches never find it).
    assert trial.scope.code == 2 and trial.run is None
    counts = trial.scope.json["counts"]
    assert (counts["missing"], counts["other_model"], counts["misfiled"], counts["needed"]) == (2, 3, 1, 6), counts
    assert trial.scope.json["stored_models"] == {"mxbai-embed-large": 15, "text-embedding-3-small": 3}

    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "chunks")
    planned = cli("plan", *target, "--run-dir", tmp_path / "run", "--engine", "--approve-model-change", "--json", env=env)
    assert planned.code == 0 and planned.json["rows"]["to_embed"] == 6, planned.out + planned.err
    assert any("in place" in r for r in planned.json["risk"]["reasons"])
    assert not any("swap" in r for r in planned.json["risk"]["reasons"])
    ran = cli("run", *target, "--run-dir", tmp_path / "run", "--engine", "--approve-model-change", "--json", env=env)
    assert ran.code == 0 and ran.json["embedded_rows"] == 6, ran.out + ran.err
    # verify finds what no count could: the vectors of another model under the right name (Alice's row filed under
    # Bob, which only verify's tenant_isolation found, is re-filed by the run); the offenders are exactly those.
    verified = cli("verify", *target, "--run-dir", tmp_path / "run", "--json", env=env)
    assert verified.code == 1
    fails_with_citations_at_most(verified.json["checks"], {"recompute"})
    offenders = [json.loads(line) for line in (tmp_path / "run" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders} == set(harm["mislabelled"])

    fixed = cli("backfill", *target, "--keys-from", tmp_path / "run" / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 2, fixed.out + fixed.err
    again = procedure(cli, empty_db, server, app, tmp_path / "second", "chunks")
    assert_whole_procedure_ok(again, empty_db, "chunks", "text", 20, needed=0)
    # Measured: one vector per chunk, of the configured model, filed under the chunk's owner.
    assert empty_db.scalar("SELECT count(*) FROM chunks c JOIN embeddings e ON e.chunk_id = c.id WHERE e.embeddings IS NOT NULL "
                           "AND e.model = 'mxbai-embed-large' AND e.user_id = c.user_id") == 20
    assert empty_db.scalar("SELECT count(*) FROM embeddings WHERE chunk_id IS NOT NULL") == 20
    # The chat queries' vectors reference no chunk: no orphans, said apart, and left as they were.
    coverage = next(c for c in again.verify.json["checks"] if c["check"] == "coverage")
    assert "0 orphans" in coverage["found"] and "2 rows with no chunk key left out" in coverage["found"], coverage
    assert empty_db.scalar("SELECT count(*) FROM embeddings WHERE chunk_id IS NULL AND model = 'text-embedding-3-small'") == 2



# -- danny-avila/rag_api: LibreChat's RAG API, LangChain-community's PGVector store (collections by name) ------------

def langchain_community_schema(dsn: str) -> None:
    """The tables langchain-community's PGVector creates (``_get_embedding_collection_store(None, use_jsonb=True)``
    under ``create_all``), built with the same SQLAlchemy column types: uuid keys made in Python, an untyped vector."""
    import uuid as uuids

    import sqlalchemy
    from pgvector.sqlalchemy import Vector
    from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID
    from sqlalchemy.orm import declarative_base

    base = declarative_base()

    class BaseModel(base):
        __abstract__ = True
        uuid = sqlalchemy.Column(UUID(as_uuid=True), primary_key=True, default=uuids.uuid4)

    class CollectionStore(BaseModel):  # noqa: F841 - registered on the metadata
        __tablename__ = "langchain_pg_collection"
        name = sqlalchemy.Column(sqlalchemy.String)
        cmetadata = sqlalchemy.Column(JSON)

    class EmbeddingStore(BaseModel):  # noqa: F841
        __tablename__ = "langchain_pg_embedding"
        collection_id = sqlalchemy.Column(UUID(as_uuid=True), sqlalchemy.ForeignKey("langchain_pg_collection.uuid",
                                                                                    ondelete="CASCADE"))
        embedding = sqlalchemy.Column(Vector(None))
        document = sqlalchemy.Column(sqlalchemy.String, nullable=True)
        cmetadata = sqlalchemy.Column(JSONB, nullable=True)
        custom_id = sqlalchemy.Column(sqlalchemy.String, nullable=True)
        __table_args__ = (sqlalchemy.Index("ix_cmetadata_gin", "cmetadata", postgresql_using="gin",
                                           postgresql_ops={"cmetadata": "jsonb_path_ops"}),)

    engine = sqlalchemy.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        base.metadata.create_all(engine)
    finally:
        engine.dispose()


def load_rag_api_uploads(db, server) -> None:
    """Two collections, two users, two files each of four chunks, stored as store_data_in_vector_db does
    (custom_id = file_id; cmetadata with file_id, user_id, digest = MD5 of the chunk, source, page)."""
    import hashlib
    import uuid

    import httpx

    rows = []
    with db.connect(autocommit=True) as conn:
        for name in ("testcollection", "archive"):
            key = conn.execute("INSERT INTO langchain_pg_collection (uuid, name) VALUES (gen_random_uuid(), %s) "
                               "RETURNING uuid", (name,)).fetchone()[0]
            for user in ("user-alice", "user-bob"):
                for f in range(2):
                    file_id = str(uuid.uuid4())
                    for page in range(4):
                        text = f"{name} file {f} of {user}, page {page}: how the quarterly budget review is approved."
                        meta = {"file_id": file_id, "user_id": user, "digest": hashlib.md5(text.encode()).hexdigest(),
                                "source": f"/app/uploads/{user}/{file_id}_report{f}.pdf", "page": page}
                        rows.append((key, text, meta, file_id))
        vectors = httpx.post(f"{server.url}/api/embed", json={"model": "nomic-embed-text",
                                                              "input": [r[1] for r in rows]}).json()["embeddings"]
        for (key, text, meta, file_id), vector in zip(rows, vectors):
            conn.execute("INSERT INTO langchain_pg_embedding (uuid, collection_id, embedding, document, cmetadata, "
                         "custom_id) VALUES (gen_random_uuid(), %s, %s::vector, %s, %s, %s)",
                         (key, json.dumps(vector), text, json.dumps(meta), file_id))


RAG_ROWS = ("SELECT e.uuid::text FROM langchain_pg_embedding e JOIN langchain_pg_collection c ON c.uuid = e.collection_id "
            "WHERE c.name = %s ORDER BY e.uuid")


def test_rag_api_langchain_community_store_with_collections_by_name(cli, empty_db, server, tmp_path):
    app = Source.of("danny-avila__rag_api").checkout("", tmp_path / "app")
    # The schema is LangChain-community's: the app subclasses its PGVector with use_jsonb=True and no embedding_length.
    store = (app / "app/services/vector_store/extended_pg_vector.py").read_text()
    assert "from langchain_community.vectorstores.pgvector import" in store and "class ExtendedPgVector(PGVector)" in store
    assert "use_jsonb=True" in (app / "app/services/vector_store/factory.py").read_text()
    langchain_community_schema(empty_db.dsn)
    load_rag_api_uploads(empty_db, server)
    with empty_db.connect() as conn:
        live = [r[0] for r in conn.execute(RAG_ROWS, ("testcollection",)).fetchall()]
    empty_db.execute("UPDATE langchain_pg_embedding SET embedding = NULL WHERE uuid::text = ANY(%s)", (live[:3],))
    empty_db.execute("UPDATE langchain_pg_embedding SET embedding = NULL WHERE uuid = (SELECT min(e.uuid::text)::uuid "
                     "FROM langchain_pg_embedding e JOIN langchain_pg_collection c ON c.uuid = e.collection_id "
                     "WHERE c.name = 'archive')")
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "testcollection", model="nomic-embed-text")

    # locate: LangChain's table through the app's subclass; the Ollama embedder's env through get_env_variable and
    # init_embeddings(PROVIDER, EMBEDDINGS_MODEL) (one default per provider: none taken); no command embeds.
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("app/services/vector_store/extended_pg_vector.py", "langchain_pg_embedding", "embedding", None)]
    ollama = next(c for c in located["embedding_calls"] if c["name"] == "OllamaEmbeddings")
    assert (ollama["url_env"], ollama["url"], ollama["model_env"], ollama["model"]) == (
        "OLLAMA_BASE_URL", "http://ollama:11434", "EMBEDDINGS_MODEL", None)
    assert not next(c for c in located["embedding_calls"] if c["name"] == "HuggingFaceEndpointEmbeddings")["in_process"]
    assert located["best_entrypoint"] is None
    # The server's contract: its split DSN by part, the collection it writes, never the Mongo URI as our database.
    contract = cli("locate", "--repo", app, "--command", "python main.py", "--workdir", app, "--json").json
    assert {k: contract["backfill_env"].get(k) for k in ("POSTGRES_DB", "DB_HOST", "COLLECTION_NAME",
                                                         "ATLAS_MONGO_DB_URI", "EMBEDDINGS_MODEL")} == {
        "POSTGRES_DB": "{database_name}", "DB_HOST": "{database_host}", "COLLECTION_NAME": "{into}",
        "ATLAS_MONGO_DB_URI": None, "EMBEDDINGS_MODEL": "{model}"}
    assert "EMBEDDINGS_MODEL" not in contract["env_defaults"]

    # profile init: the collection by name through langchain_pg_collection, citations under cmetadata, the owner said.
    assert trial.init.json["todo"] == []
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"]) == ("langchain_pg_embedding", "uuid", "document")
    assert raw["chunks"]["collection_table"] == {"table": "langchain_pg_collection", "key": "uuid", "name": "name"}
    assert raw["chunks"]["sources"] == ["cmetadata->>'source'"]
    assert "each row's owner is under cmetadata->>'user_id'" in trial.profile.read_text()
    assert trial.init.json["todo"] == [] and "input_hash" not in raw["embeddings"]  # cmetadata's digest is an MD5

    # scope, run --engine, verify, record: the three lost vectors of testcollection, archive's left alone.
    assert next(c for c in trial.scope.json["checks"] if c["check"] == "collection key")["status"] == "passed"
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 3, trial.scope.out + trial.scope.err
    for step in (trial.run, trial.verify, trial.record):
        assert step.code == 0, step.out + step.err
    # Measured: testcollection has every vector; archive's lost one is still lost (not this run's collection).
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding e JOIN langchain_pg_collection c ON "
                           "c.uuid = e.collection_id WHERE c.name = 'testcollection' AND e.embedding IS NULL") == 0
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding WHERE embedding IS NULL") == 1

    # Damage as life does it: two vectors of the 384-dimensional model that came before, two of another model of the
    # same dimension (a model switch nobody recorded: no model column), and a file uploaded twice (duplicate texts).
    with empty_db.connect(autocommit=True) as conn:
        old = httpx_embed(server, "all-minilm", [conn.execute("SELECT document FROM langchain_pg_embedding WHERE "
                                                             "uuid::text = %s", (k,)).fetchone()[0] for k in live[3:5]])
        for key, vector in zip(live[3:5], old):
            conn.execute("UPDATE langchain_pg_embedding SET embedding = %s::vector WHERE uuid::text = %s",
                         (json.dumps(vector), key))
        for key in live[5:7]:
            conn.execute("UPDATE langchain_pg_embedding SET embedding = (SELECT (array_agg(x ORDER BY i DESC))::real[] "
                         "FROM unnest(embedding::real[]) WITH ORDINALITY AS u(x, i))::vector WHERE uuid::text = %s", (key,))
        conn.execute("INSERT INTO langchain_pg_embedding SELECT collection_id, embedding, document, cmetadata, custom_id, "
                     "gen_random_uuid() FROM langchain_pg_embedding WHERE uuid::text = ANY(%s)", (live[8:12],))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "testcollection")
    scoped = cli("scope", *target, "--json", env=env)
    dims = next(c for c in scoped.json["checks"] if c["check"] == "dimensions agree")
    # The two of another dimension are needed (a plain run re-embeds them); the two of the same dimension only
    # recompute can see: verify names all four.
    assert scoped.code == 0 and dims["status"] == "passed" and "2 stored vectors of 384 dimensions" in dims["found"]
    assert (scoped.json["counts"]["other_dims"], scoped.json["counts"]["needed"]) == (2, 2), scoped.json["counts"]
    checked = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert checked.code == 1
    failed = {c["check"] for c in checked.json["checks"] if c["status"] == "failed"}
    assert {"dimensions", "recompute"} <= failed and "coverage" not in failed and "distinct_vectors" not in failed
    offenders = {json.loads(line)["key"] for line in (tmp_path / "damaged" / "offenders.jsonl").read_text().splitlines()}
    assert offenders == set(live[3:7])
    repaired = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--json", env=env)
    assert repaired.code == 0 and repaired.json["embedded"] == 4, repaired.out + repaired.err
    again = cli("verify", *target, "--run-dir", tmp_path / "repaired", "--json", env=env)
    assert again.code == 0, again.out

    # A model change the safe way: a new collection made as LangChain makes one (uuid keys), verified, swapped in.
    into = cli("backfill", *target, "--into", "testcollection_v2", "--json", env=env)
    assert into.code == 0 and into.json["embedded"] == 20, into.out + into.err
    swapped = cli("swap", "--profile", trial.profile, "--to", "testcollection", "--from", "testcollection_v2", "--json",
                  env=env)
    assert swapped.code == 0, swapped.out + swapped.err
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_collection WHERE name = 'testcollection'") == 1

    # Two workers racing get_or_create left a second 'archive' row holding two chunks: the app reads one of them.
    empty_db.execute("INSERT INTO langchain_pg_collection (uuid, name) VALUES (gen_random_uuid(), 'archive'); "
                     "UPDATE langchain_pg_embedding SET collection_id = (SELECT uuid FROM langchain_pg_collection "
                     "WHERE name = 'archive' AND cmetadata IS NULL ORDER BY uuid DESC LIMIT 1) WHERE uuid IN "
                     "(SELECT e.uuid FROM langchain_pg_embedding e JOIN langchain_pg_collection c ON "
                     "c.uuid = e.collection_id WHERE c.name = 'archive' ORDER BY e.uuid LIMIT 2)")
    archive = ("--profile", trial.profile, "--collection", "archive")
    twice = cli("scope", *archive, "--json", env=env)
    key = next(c for c in twice.json["checks"] if c["check"] == "collection key")
    assert twice.code != 0 and key["status"] == "failed" and "'archive' names 2 rows" in key["found"], key
    refused = cli("backfill", *archive, "--json", env=env)
    assert refused.code == 2 and empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding WHERE embedding IS NULL") == 1
    split = cli("verify", *archive, "--run-dir", tmp_path / "split", "--json", env=env)
    coverage = next(c for c in split.json["checks"] if c["check"] == "coverage")
    assert split.code == 1 and coverage["status"] == "failed" and "'archive' names 2 rows" in coverage["found"], coverage



@contextlib.contextmanager
def app_database(pg, templates, label: str):
    """A database made from the session's empty template for one application's tables (named for this process, so
    two test workers never share it), dropped afterwards; yields its name."""
    import psycopg

    name = f"tmpl_{label}_{os.getpid()}"
    with psycopg.connect(pg.dsn(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{templates["empty"]}"')
    try:
        yield name
    finally:
        pg.drop_database(name)

def httpx_embed(server, model: str, texts: list[str]) -> list[list[float]]:
    import httpx

    return httpx.post(f"{server.url}/api/embed", json={"model": model, "input": texts}).json()["embeddings"]



# -- open-webui/open-webui: Python + SQLAlchemy, one document_chunk table, vectors padded to a fixed length ----------

# Open WebUI's own PgvectorClient, loaded alone: its imports of the app (config, env, the vector base classes) are
# stood in for, the settings it reads given; it creates document_chunk and its indexes, and insert() pads each
# vector with zeros to VECTOR_LENGTH, as save_docs_to_vector_db has it do.
OPEN_WEBUI_STORE = '''
import json, sys, types, importlib.util
path, dsn, length, items = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.load(open(sys.argv[4]))
settings = dict(PGVECTOR_DB_URL=dsn.replace("postgresql://", "postgresql+psycopg://", 1),
                PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH=length, PGVECTOR_CREATE_EXTENSION=True, PGVECTOR_PGCRYPTO=False,
                PGVECTOR_PGCRYPTO_KEY=None, PGVECTOR_POOL_SIZE=None, PGVECTOR_POOL_MAX_OVERFLOW=0,
                PGVECTOR_POOL_TIMEOUT=30, PGVECTOR_POOL_RECYCLE=3600, PGVECTOR_INDEX_METHOD="", PGVECTOR_HNSW_M=16,
                PGVECTOR_HNSW_EF_CONSTRUCTION=64, PGVECTOR_IVFFLAT_LISTS=100, PGVECTOR_USE_HALFVEC=False)
class Base: pass
given = {"open_webui.config": settings, "open_webui.env": {"SRC_LOG_LEVELS": {"RAG": "INFO"}},
         "open_webui.retrieval.vector.utils": {"process_metadata": lambda m: m},
         "open_webui.retrieval.vector.main": {"VectorDBBase": Base, "VectorItem": dict, "SearchResult": dict,
                                             "GetResult": dict}}
class StandIn:  # any other module of the app: empty, each name it is asked for None (a setting not given: off)
    def find_spec(self, name, path=None, target=None):
        if name == "open_webui" or name.startswith("open_webui."):
            return importlib.util.spec_from_loader(name, self, is_package=True)
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__dict__.update(given.get(spec.name, {}))
        module.__getattr__ = lambda attr: None
        return module
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, StandIn())
spec = importlib.util.spec_from_file_location("open_webui_pgvector", path)
store = importlib.util.module_from_spec(spec)
spec.loader.exec_module(store)
client = store.PgvectorClient()
for collection, chunks in items.items():
    client.insert(collection, chunks)
'''

HANDBOOK = "5e0d2c9a-1f4b-4c8e-9a7d-3b6f1e2d4c80"  # a knowledge base's collection is its id
HANDBOOK_PAGES = ("vacation policy", "expense reports", "onboarding", "security training", "office hours", "parking")


def open_webui_chunks(server, model: str, texts: list[str], source: str) -> list[dict]:
    """Items as save_docs_to_vector_db builds them: uuid ids, the text, metadata naming the embedding settings."""
    import uuid

    import httpx

    vectors = httpx.post(f"{server.url}/api/embed", json={"model": model, "input": texts}).json()["embeddings"]
    config = json.dumps({"engine": "ollama", "model": model})
    return [{"id": str(uuid.uuid4()), "text": text, "vector": vector,
             "metadata": {"name": source, "source": source, "file_id": source, "start_index": i * 80,
                          "embedding_config": config}} for i, (text, vector) in enumerate(zip(texts, vectors))]


def load_open_webui(db, server, backend: Path, tmp_path: Path, vector_length: int, model: str = "nomic-embed-text",
                    older: int = 4) -> None:
    """A knowledge base of 24 chunks embedded with ``model``, ``older`` of them earlier with all-minilm (384
    dimensions, padded by the app), and a chat upload's own collection of 8 chunks."""
    pages = [f"Chunk {i} of the {HANDBOOK_PAGES[i % 6]} page: who approves what, and how long it takes."
             for i in range(24)]
    handbook = ((open_webui_chunks(server, "all-minilm", pages[:older], "handbook.pdf") if older else [])
                + open_webui_chunks(server, model, pages[older:], "handbook.pdf"))
    upload = open_webui_chunks(server, model, [f"Meeting notes, line {i}: the roadmap for the next "
                                                           f"quarter." for i in range(8)], "notes.txt")
    items = tmp_path / "items.json"
    items.write_text(json.dumps({HANDBOOK: handbook, "file-7c1e9f0a": upload}))
    subprocess.run([sys.executable, "-c", OPEN_WEBUI_STORE, str(backend / "open_webui/retrieval/vector/dbs/pgvector.py"),
                    db.dsn, str(vector_length), str(items)], check=True, capture_output=True, timeout=120)


def open_webui_backend(tmp_path: Path) -> Path:
    try:
        import pgvector.sqlalchemy  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        pytest.skip("sqlalchemy and pgvector's SQLAlchemy types are needed to run Open WebUI's store")
    app = tmp_path / "app"
    Source.of("open-webui__open-webui").checkout("backend", app / "backend")
    store = (app / "backend/open_webui/retrieval/vector/dbs/pgvector.py").read_text()
    for line in ('__tablename__ = "document_chunk"', "vector = Column(VECTOR_TYPE_FACTORY(dim=VECTOR_LENGTH)",
                 "collection_name = Column(Text, nullable=False)", "vector += [0.0] * (VECTOR_LENGTH - current_length)"):
        assert line in store  # the shape the assertions below rely on
    return app


def test_open_webui_document_chunk_with_the_model_in_metadata(cli, empty_db, server, tmp_path):
    """One table for every collection; no model column: each row names its model inside a JSON text of vmetadata.
    A restore lost 5 vectors of the knowledge base and 2 of an upload; 4 vectors are of the model used before."""
    app = open_webui_backend(tmp_path)
    load_open_webui(empty_db, server, app / "backend", tmp_path, 768)
    old = {r[0] for r in empty_db.connect(autocommit=True).execute(
        "SELECT id FROM document_chunk WHERE vmetadata->>'embedding_config' LIKE '%all-minilm%'").fetchall()}
    for collection, lost in ((HANDBOOK, 5), ("file-7c1e9f0a", 2)):
        empty_db.execute(f"UPDATE document_chunk SET vector = NULL WHERE id IN (SELECT id FROM document_chunk WHERE "
                         f"collection_name = '{collection}' AND vmetadata->>'embedding_config' NOT LIKE '%all-minilm%' "
                         f"ORDER BY id LIMIT {lost})")
    upload = "SELECT md5(string_agg(id || coalesce(vector::text, '-'), ',' ORDER BY id)) FROM document_chunk " \
             "WHERE collection_name = 'file-7c1e9f0a'"
    upload_before = empty_db.scalar(upload)
    trial = procedure(cli, empty_db, server, app, tmp_path, HANDBOOK)

    # locate: the SQLAlchemy model (its type chosen once: HALFVEC or Vector) and the app's Ollama call.
    located = trial.locate.json
    assert ("backend/open_webui/retrieval/vector/dbs/pgvector.py", "document_chunk", "vector", "sqlalchemy") in {
        (d["path"], d["table"], d["column"], d["kind"]) for d in located["declarations"]}
    assert any(c["path"].startswith("backend/open_webui/retrieval/") and c["kind"].startswith("ollama")
               for c in located["embedding_calls"]), located["embedding_calls"]
    # profile init: the citation is a key of vmetadata; the model the rows name is measured and said, not read.
    assert trial.init.json["todo"] == []
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["text"], raw["chunks"]["collection"]) == (
        "document_chunk", "text", "collection_name")
    assert raw["chunks"]["sources"] == ["vmetadata->>'source'"] and raw["provider"]["model"] == "nomic-embed-text"
    assert "vmetadata->>'embedding_config' (a JSON text; its key model): nomic-embed-text (" in drafted, drafted
    assert "all-minilm (4)" in drafted

    # scope counts the lost vectors only: the rows' model is not read, and scope says so.
    assert trial.scope.code == 0, trial.scope.out + trial.scope.err
    assert trial.scope.json["counts"]["missing"] == 5 and trial.scope.json["counts"]["needed"] == 5
    assert any(c["check"] == "stored model" and c["status"] == "unproven" for c in trial.scope.json["checks"])
    assert trial.run.code == 0, trial.run.out + trial.run.err
    assert empty_db.scalar(f"SELECT count(*) FROM document_chunk WHERE collection_name = '{HANDBOOK}' "
                           "AND vector IS NULL") == 0
    # verify measures the older model's vectors (padded from 384): recompute fails on exactly those.
    assert trial.verify.code == 1
    fails_with_citations_at_most(trial.verify.json["checks"], {"recompute"})
    offenders = [json.loads(line) for line in (tmp_path / "run" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders if o["check"] == "recompute"} == old
    assert trial.record.code == 0 and trial.record.json["entry"]["outcome"] == "failed"

    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", HANDBOOK)
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "run" / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 4, fixed.out + fixed.err
    again = cli("verify", *target, "--run-dir", tmp_path / "run2", "--json", env=env)
    assert again.code == 0, again.out
    # Measured, not parsed: every vector of the knowledge base is now nomic-embed-text's of its text.
    import httpx

    rows = empty_db.connect(autocommit=True).execute(
        f"SELECT text, vector::text FROM document_chunk WHERE collection_name = '{HANDBOOK}' ORDER BY id").fetchall()
    expected = httpx.post(f"{server.url}/api/embed", json={"model": "nomic-embed-text",
                                                           "input": [r[0] for r in rows]}).json()["embeddings"]
    for (_, stored), want in zip(rows, expected):
        assert max(abs(a - b) for a, b in zip(json.loads(stored), want)) < 1e-6
    # The upload's collection is untouched, its two lost vectors still lost.
    assert empty_db.scalar(upload) == upload_before
    # Every collection at once (an upload is a collection of its own): the table described as one collection.
    whole = tmp_path / "whole.yaml"
    whole.write_text(trial.profile.read_text().replace("  collection: collection_name", "  collection_name: all"))
    scoped = cli("scope", "--profile", whole, "--collection", "all", "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 2, scoped.out + scoped.err
    filled = cli("backfill", "--profile", whole, "--collection", "all", "--json", env=env)
    assert filled.code == 0 and filled.json["embedded"] == 2, filled.out + filled.err
    assert empty_db.scalar("SELECT count(*) FROM document_chunk WHERE vector IS NULL") == 0


def test_open_webui_default_vector_length_pads_every_vector_and_the_draft_pads_them_too(cli, empty_db, server, tmp_path):
    """PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH defaults to 1536: a 768-dimensional Ollama model's vectors fill half the
    column. Measured in the rows, the draft says the application pads (embeddings.pad_to: 1536, provider.dimensions:
    768); the engine fills the 3 lost vectors padded the same way, and verify finds the 4 older all-minilm vectors
    (zeros beyond 384, so beyond 768 too) by recompute. Before, scope refused and advised shrinking the column."""
    app = open_webui_backend(tmp_path)
    load_open_webui(empty_db, server, app / "backend", tmp_path, 1536)
    empty_db.execute(f"UPDATE document_chunk SET vector = NULL WHERE id IN (SELECT id FROM document_chunk WHERE "
                     f"collection_name = '{HANDBOOK}' AND vmetadata->>'embedding_config' NOT LIKE '%all-minilm%' "
                     f"ORDER BY id LIMIT 3)")
    trial = procedure(cli, empty_db, server, app, tmp_path, HANDBOOK, model="nomic-embed-text")
    raw = yaml.safe_load(trial.profile.read_text())
    assert raw["provider"]["dimensions"] == 768 and raw["embeddings"]["pad_to"] == 1536, trial.profile.read_text()
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 3, trial.scope.out
    assert trial.run.code == 0, trial.run.out + trial.run.err
    assert empty_db.scalar(f"SELECT count(*) FROM document_chunk WHERE collection_name = '{HANDBOOK}' "
                           "AND vector IS NULL") == 0
    assert empty_db.scalar("SELECT count(*) FROM document_chunk WHERE vector_dims(vector) <> 1536 "
                           "OR vector_norm(subvector(vector, 769, 768)) > 0") == 0
    assert trial.verify.code == 1
    fails_with_citations_at_most(trial.verify.json["checks"], {"recompute"})


def test_open_webui_above_2000_dimensions_keeps_halfvec_and_the_engine_fills_it(cli, empty_db, server, tmp_path):
    """VECTOR_LENGTH > 2000: the app makes the column halfvec with an HNSW index; the engine writes halves."""
    app = open_webui_backend(tmp_path)
    load_open_webui(empty_db, server, app / "backend", tmp_path, 2560, model="qwen3-embedding:4b", older=0)
    assert empty_db.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                           "WHERE attrelid = 'document_chunk'::regclass AND attname = 'vector'") == "halfvec(2560)"
    empty_db.execute(f"UPDATE document_chunk SET vector = NULL WHERE id IN (SELECT id FROM document_chunk "
                     f"WHERE collection_name = '{HANDBOOK}' ORDER BY id LIMIT 3)")
    trial = procedure(cli, empty_db, server, app, tmp_path, HANDBOOK)
    assert "model: \"qwen3-embedding:4b\"" in trial.profile.read_text()
    assert_whole_procedure_ok(trial, empty_db, "document_chunk", "vector", 32, needed=3)


# -- mckaywrigley/chatbot-ui: Supabase, two vector columns in one table, row-level security by auth.uid() ------------

# What Supabase gives every project and chatbot-ui's migrations use: the auth, storage and extensions schemas, the
# JWT's subject as auth.uid() (Supabase's own definition), the API roles.
SUPABASE_AUTH = """
DROP EXTENSION IF EXISTS vector;
CREATE SCHEMA extensions; CREATE SCHEMA auth; CREATE SCHEMA storage;
CREATE FUNCTION extensions.uuid_generate_v4() RETURNS uuid LANGUAGE sql AS 'SELECT gen_random_uuid()';
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN CREATE ROLE service_role NOLOGIN BYPASSRLS; END IF;
END $$;
CREATE TABLE auth.users (instance_id uuid, id uuid PRIMARY KEY, aud text, role text, email text,
                         created_at timestamptz DEFAULT now());
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text, public boolean);
"""
SUPABASE_STAND_IN = SUPABASE_AUTH + """
CREATE TABLE storage.objects (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), bucket_id text, name text, owner_id text);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE sql AS
  $$ SELECT (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1] $$;
CREATE FUNCTION storage.filename(name text) RETURNS text LANGUAGE sql AS
  $$ SELECT (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)] $$;
"""
CHATBOT_ALICE, CHATBOT_BOB = "a11ce000-0000-4000-8000-000000000001", "b0b00000-0000-4000-8000-000000000002"


def chatbot_ui_schema(db, app: Path) -> str:
    """The app's migrations in order, after Supabase's stand-in; returns the DSN of a login role the policies apply
    to (granted ``authenticated``, as the API's requests are, and ``service_role``, which row-level security skips)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(SUPABASE_STAND_IN)
        conn.execute(f'ALTER DATABASE {db.name} SET search_path = "$user", public, extensions')
    with psycopg.connect(db.dsn, autocommit=True) as conn:  # a new session, with Supabase's search path
        for migration in sorted((app / "supabase" / "migrations").glob("*.sql")):
            conn.execute(migration.read_text().replace("create extension http with schema extensions;", ""))
        role = f"chatbot_{db.name}"
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'chatbot-pw'; GRANT authenticated, service_role TO {role}; "
                     "GRANT USAGE ON SCHEMA auth, extensions, storage TO authenticated, service_role; "
                     "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO authenticated; "
                     "GRANT SELECT ON ALL TABLES IN SCHEMA public TO service_role")
    return make_conninfo(db.dsn, user=role, password="chatbot-pw")


def load_chatbot_ui_files(db, server) -> None:
    """Two users, three files each (two embedded locally, one by OpenAI), 5 items per file, written as the
    retrieval route writes them: only the column of the workspace's provider filled."""
    import psycopg

    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for user, mail in ((CHATBOT_ALICE, "alice@example.org"), (CHATBOT_BOB, "bob@example.org")):
            conn.execute("INSERT INTO auth.users (id, aud, role, email) VALUES (%s, 'authenticated', 'authenticated', %s)",
                         (user, mail))  # the app's trigger makes the profile and the home workspace
        for user, name, provider in ((CHATBOT_ALICE, "handbook.md", "local"), (CHATBOT_ALICE, "recipes.txt", "local"),
                                     (CHATBOT_ALICE, "taxes.pdf", "openai"), (CHATBOT_BOB, "bike-repair.md", "local"),
                                     (CHATBOT_BOB, "garden.txt", "local"), (CHATBOT_BOB, "notes.pdf", "openai")):
            file_id = conn.execute("INSERT INTO files (user_id, name, description, file_path, size, tokens, type) "
                                   "VALUES (%s, %s, %s, %s, 1000, 0, %s) RETURNING id",
                                   (user, name, f"{name} of {user[:4]}", f"{user}/{name}", name.rsplit(".", 1)[1])).fetchone()[0]
            texts = [f"Part {i} of {name}: what to do first, what to check, and who to ask about {name}." for i in range(5)]
            model, column = ("all-minilm", "local_embedding") if provider == "local" else ("text-embedding-3-small", "openai_embedding")
            for text, vector in zip(texts, httpx_embed(server, model, texts)):
                conn.execute(f"INSERT INTO file_items (file_id, user_id, content, tokens, {column}) "
                             "VALUES (%s, %s, %s, %s, %s::vector)", (file_id, user, text, len(text) // 4, str(vector)))


def chatbot_items(db, file: str, limit: int) -> list[str]:
    """The first ``limit`` items of a file, by text."""
    import psycopg

    with psycopg.connect(db.dsn) as conn:
        return [r[0] for r in conn.execute("SELECT i.id::text FROM file_items i JOIN files f ON f.id = i.file_id "
                                           "WHERE f.name = %s ORDER BY i.content LIMIT %s", (file, limit)).fetchall()]


def test_chatbot_ui_supabase_file_items_with_two_vector_columns_under_row_level_security(cli, empty_db, server, tmp_path,
                                                                                          request):
    """mckaywrigley/chatbot-ui: ``file_items`` holds each chunk with ``local_embedding vector(384)`` (transformers.js,
    all-MiniLM-L6-v2) and ``openai_embedding vector(1536)``; Supabase's policies show each user their own rows by
    ``auth.uid()``. The harness runs as a role those policies apply to and fills the local column."""
    from types import SimpleNamespace

    app = Source.of("mckaywrigley__chatbot-ui").checkout("", tmp_path / "app")
    as_app = SimpleNamespace(dsn=chatbot_ui_schema(empty_db, app))
    request.addfinalizer(lambda: empty_db.execute(f"DROP OWNED BY chatbot_{empty_db.name}; DROP ROLE chatbot_{empty_db.name}"))
    load_chatbot_ui_files(empty_db, server)
    # A restore lost two of Alice's local vectors.
    lost = chatbot_items(empty_db, "handbook.md", 2)
    empty_db.execute("UPDATE file_items SET local_embedding = NULL WHERE id = ANY(%s::uuid[])", (lost,))
    openai_before = empty_db.scalar("SELECT md5(string_agg(openai_embedding::text, ',' ORDER BY id)) FROM file_items")
    tenants = f"tenants: [{CHATBOT_ALICE}, {CHATBOT_BOB}]"

    def list_tenants(text: str) -> str:
        return re.sub(r"tenants: TODO.*", tenants, text)

    trial = procedure(cli, as_app, server, app, tmp_path / "first", "file_items", model="all-minilm", edit=list_tenants)

    # locate: both columns, both embedders (the local one in process, with its model), no command.
    located = trial.locate.json
    assert {(d["table"], d["column"], d["dimensions"]) for d in located["declarations"]} == {
        ("file_items", "local_embedding", 384), ("file_items", "openai_embedding", 1536)}
    assert ("lib/generate-local-embedding.ts", "transformers", "Xenova/all-MiniLM-L6-v2") in {
        (c["path"], c["kind"], c["model"]) for c in located["embedding_calls"]}
    assert located["embeds_in_process"] and located["best_entrypoint"] is None

    # profile init: inline, the 384 column named with the other one said, and the session auth.uid() reads; the
    # tenants, which the policies hide from this role, are the one thing left to the user.
    assert trial.init.json["todo"] == ["database.tenants"]
    text = trial.profile.read_text()
    raw = yaml.safe_load(text)
    assert raw["database"]["session"] == {"request.jwt.claim.sub": "{tenant}"} and "through auth.uid()" in text
    # No column named like a citation: the file each item is cut from, by its foreign key (the doc-search trial's rule).
    assert raw["chunks"] == {"table": "file_items", "id": "id", "text": "content", "collection_name": "file_items",
                             "tenant": "user_id", "sources": ["file_id"]}
    assert raw["embeddings"] == {"vector": "local_embedding"} and "other vector columns: openai_embedding" in text
    assert raw["provider"]["dimensions"] == 384 and "the dimension of all-minilm (384" in text
    # The other provider's model fills the other column: the draft takes the column of the model's dimension.
    env = {"DATABASE_URL": as_app.dsn, "OLLAMA_HOST": server.url}
    openai = cli("profile", "init", "--repo", app, "--database-url", as_app.dsn, "--output", tmp_path / "openai.yaml",
                 "--model", "text-embedding-3-small", "--json", env=env)
    assert openai.code == 0, openai.err
    assert yaml.safe_load((tmp_path / "openai.yaml").read_text())["embeddings"] == {"vector": "openai_embedding"}

    # scope: every view read, added up and proven whole (counted as service_role); the rows with an OpenAI vector
    # only need a local one too.
    counts = trial.scope.json["counts"]
    assert (counts["chunks"], counts["missing"]) == (30, 12), trial.scope.out
    coverage = next(c for c in trial.scope.json["checks"] if c["check"] == "tenant coverage")
    assert coverage["status"] == "passed", coverage
    assert_whole_procedure_ok(trial, empty_db, "file_items", "local_embedding", 30, needed=12)
    assert empty_db.scalar("SELECT md5(string_agg(openai_embedding::text, ',' ORDER BY id)) FROM file_items") == openai_before

    target = ("--profile", trial.profile, "--collection", "file_items")
    # Bob edits a chunk after its vector was made: no hash or timestamp says so, recompute finds exactly that row.
    edited = chatbot_items(empty_db, "garden.txt", 1)
    empty_db.execute("UPDATE file_items SET content = content || ' Edited: ask Carol.' WHERE id = %s::uuid", (edited[0],))
    verified = cli("verify", *target, "--run-dir", tmp_path / "edited", "--json", env=env)
    assert verified.code == 1, verified.out
    offenders = [json.loads(x) for x in (tmp_path / "edited" / "offenders.jsonl").read_text().splitlines()]
    assert {(o["check"], o["key"], o["tenant"]) for o in offenders} == {("recompute", edited[0], CHATBOT_BOB)}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "edited" / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 1, fixed.out + fixed.err
    assert cli("verify", *target, "--run-dir", tmp_path / "fixed", "--json", env=env).code == 0

    # Bob left out of the tenants: his rows are invisible, so nothing says ok, and his lost vector stays lost.
    bobs = chatbot_items(empty_db, "bike-repair.md", 1)
    empty_db.execute("UPDATE file_items SET local_embedding = NULL WHERE id = %s::uuid", (bobs[0],))
    only_alice = tmp_path / "alice.yaml"
    only_alice.write_text(trial.profile.read_text().replace(tenants, f"tenants: [{CHATBOT_ALICE}]"))
    alone = ("--profile", only_alice, "--collection", "file_items")
    scoped = cli("scope", *alone, "--json", env=env)
    coverage = next(c for c in scoped.json["checks"] if c["check"] == "tenant coverage")
    assert coverage["status"] == "unproven" and "15 of 30 chunks" in coverage["note"], coverage
    ran = cli("run", *alone, "--run-dir", tmp_path / "alice", "--engine", "--json", env=env)
    assert ran.code != 0, ran.out
    assert empty_db.scalar("SELECT local_embedding IS NULL FROM file_items WHERE id = %s::uuid", (bobs[0],))

    # Bob shares the file with everyone: Alice's view shows its items too, but each row is read in its owner's view
    # (chunks.tenant), so it is counted and written once, and the views still add up to the table.
    empty_db.execute("UPDATE files SET sharing = 'public' WHERE name = 'bike-repair.md'")
    scoped = cli("scope", *target, "--json", env=env)
    assert (scoped.json["counts"]["chunks"], scoped.json["counts"]["missing"]) == (30, 1), scoped.out
    assert next(c for c in scoped.json["checks"] if c["check"] == "tenant coverage")["status"] == "passed"
    shared = cli("backfill", *target, "--json", env=env)
    assert shared.code == 0 and (shared.json["embedded"], shared.json["failed"]) == (1, 0), shared.out
    assert empty_db.scalar("SELECT count(*) FROM file_items WHERE local_embedding IS NULL") == 0
    assert cli("verify", *target, "--run-dir", tmp_path / "shared", "--json", env=env).code == 0
    # The app role's password is in no evidence.
    for path in [*(tmp_path / "first" / "run").iterdir(), tmp_path / "first" / "historylog.md", trial.profile]:
        assert "chatbot-pw" not in path.read_text()


# -- run-llama/sec-insights: LlamaIndex PGVectorStore subclassed, one table for every SEC filing ---------------------

# What the app's ingest does (app/chat/engine.py): each filing's pages read by PDFReader (page_label, file_name) with
# extra_info {db_document_id: the document row's id}, split by Settings.node_parser (SentenceSplitter) and embedded
# into CustomPGVectorStore.from_params(host, port, database, user, password, VECTOR_STORE_TABLE_NAME).
SEC_INSIGHTS_INGEST = r'''
import json, sys
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter
from llama_index.embeddings.ollama import OllamaEmbedding
from llama_index.vector_stores.postgres import PGVectorStore
from sqlalchemy.engine import make_url
dsn, ollama, table, chunk_size, overlap, filings = sys.argv[1:7]
url = make_url(dsn)
store = PGVectorStore.from_params(url.host, str(url.port), url.database, url.username, url.password, table)
for doc_id, pages in json.loads(open(filings).read()).items():
    documents = [Document(text=text, metadata={"page_label": str(i + 1), "file_name": f"{doc_id}.pdf",
                                               "db_document_id": doc_id}) for i, text in enumerate(pages)]
    VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(vector_store=store),
                                    embed_model=OllamaEmbedding(model_name="text-embedding-3-small", base_url=ollama),
                                    transformations=[SentenceSplitter(chunk_size=int(chunk_size), chunk_overlap=int(overlap))])
'''
SEC_FILINGS = {"b3a4f915-b735-54d8-84f6-dd50b5a91962": "Uber", "fbbefa9a-c218-5f49-a902-5e9aea529ea7": "Lyft"}


def load_sec_insights(db, server, backend: Path, tmp_path: Path) -> str:
    """The app's own tables' shape (its alembic migration) and its vector table as LlamaIndex creates it, 36 nodes."""
    migration = (backend / "alembic/versions/90a1d6a26343_create_doc_tables.py").read_text()
    assert "op.create_table('document'" in migration and "sa.UniqueConstraint('url')" in migration
    db.execute("CREATE TABLE document (url varchar NOT NULL UNIQUE, metadata_map jsonb, id uuid PRIMARY KEY, "
               "created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now())")
    table = re.search(r'VECTOR_STORE_TABLE_NAME: str = "(\w+)"', (backend / "app/core/config.py").read_text()).group(1)
    constants = (backend / "app/chat/constants.py").read_text()
    size, overlap = (re.search(rf"{n} = (\d+)", constants).group(1) for n in ("NODE_PARSER_CHUNK_SIZE",
                                                                            "NODE_PARSER_CHUNK_OVERLAP"))
    filings = {}
    for doc_id, company in SEC_FILINGS.items():
        db.execute("INSERT INTO document (id, url, metadata_map) VALUES (%s, %s, %s)",
                   (doc_id, f"https://cdn.example.com/sec-edgar-filings/{company}/10-K.pdf",
                    json.dumps({"sec_document": {"company_name": company, "year": 2022, "doc_type": "10-K"}})))
        filings[doc_id] = [" ".join(f"{company} annual report page {p} sentence {s}: revenue, risk factors and "
                                    f"operations in fiscal 2022, item {s * p}." for s in range(40)) for p in range(1, 7)]
    (tmp_path / "filings.json").write_text(json.dumps(filings))
    done = subprocess.run([sys.executable, "-c", SEC_INSIGHTS_INGEST, db.dsn, server.url, table, size, overlap,
                           str(tmp_path / "filings.json")], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return f"data_{table}"


def test_sec_insights_llamaindex_nodes_of_every_filing_in_one_table(cli, empty_db, server, tmp_path):
    """One LlamaIndex table for every filing; the filing a node belongs to is db_document_id in metadata_ (json).
    A restore lost 5 vectors; then a re-chunk left 3 old vectors, 2 are of another model, a filing went in twice and
    a deleted filing left its nodes behind."""
    try:
        import llama_index.embeddings.ollama  # noqa: F401
        import llama_index.vector_stores.postgres  # noqa: F401
    except ImportError:
        pytest.skip("llama-index-vector-stores-postgres and llama-index-embeddings-ollama are needed to fill the table")
    app = Source.of("run-llama__sec-insights").checkout("backend", tmp_path / "app")
    table = load_sec_insights(empty_db, server, app, tmp_path)
    assert table == "data_pg_vector_store" and empty_db.scalar(f"SELECT count(*) FROM {table}") == 36
    library = dict(empty_db.connect(autocommit=True).execute(f"SELECT id, embedding::text FROM {table}").fetchall())
    empty_db.execute(f"UPDATE {table} SET embedding = NULL WHERE id % 7 = 0")
    trial = procedure(cli, empty_db, server, app, tmp_path, table, model="text-embedding-3-small", plan=True)

    # locate: the app's subclass built by from_params, its table a setting, LlamaIndex's default dimension.
    assert ("app/chat/pg_vector.py", "data_{settings.VECTOR_STORE_TABLE_NAME}", "embedding", 1536, "llamaindex") in {
        (d["path"], d["table"], d["column"], d["dimensions"], d["kind"]) for d in trial.locate.json["declarations"]}
    assert ("app/llama_index_settings.py", "OpenAIEmbedding", "text-embedding-3-small") in {
        (c["path"], c["name"], c["model"]) for c in trial.locate.json["embedding_calls"]}
    # The seed scripts embed through VectorStoreIndex.from_documents with Settings.embed_model (OpenAI, set in a
    # module they never import): said so, and left candidates; the engine runs.
    seeds = {e["path"]: e for e in trial.locate.json["entrypoints"]}
    assert not seeds["scripts/seed_storage_context.py"]["may_embed"]
    assert any(b.startswith("app/chat/engine.py:") and b.endswith("VectorStoreIndex.from_documents")
               for b in seeds["scripts/seed_storage_context.py"]["contract"]["index_builds"])
    # profile init: LlamaIndex's embedded text (metadata lines, then the text), the filing as the citation.
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["chunks"]["text"], raw["chunks"]["text_format"], raw["chunks"]["metadata"]) == (
        "text", "llamaindex", "metadata_")
    assert raw["chunks"]["sources"] == ["metadata_->>'file_name'", "metadata_->>'db_document_id'"]
    # The filing table each node names is said, left commented (a filing not chatted about yet has no nodes).
    suggested = "# source: {table: document, key: id, chunk_key: \"metadata_->>'db_document_id'\"}"
    assert suggested in trial.profile.read_text() and "source" not in raw
    assert trial.init.json["todo"] == []
    assert_whole_procedure_ok(trial, empty_db, table, "embedding", 36, needed=5)
    # plan (before the run): no hash or model column, so the 31 stored vectors are embedded, current unknown.
    planned = trial.plan.json
    assert planned["rows"]["to_embed"] == 5 and planned["rows"]["current"] is None, planned["rows"]
    assert "already embedded, whether current unknown (no hash column, no model column): 31" in (
        tmp_path / "plan" / "plan.md").read_text()
    # Measured: the engine wrote exactly the vectors LlamaIndex wrote (its embed text, not the bare text column).
    now = dict(empty_db.connect(autocommit=True).execute(f"SELECT id, embedding::text FROM {table}").fetchall())
    assert now == library

    # A re-chunk changed 3 nodes of Lyft's filing and kept their vectors; 2 of Uber's are of another model.
    with empty_db.connect(autocommit=True) as conn:
        rechunked = [r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE metadata_->>'db_document_id' LIKE "
                                                "'fbbe%' ORDER BY id LIMIT 3").fetchall()]
        for key in rechunked:
            meta = conn.execute(f"SELECT metadata_ FROM {table} WHERE id = %s", (key,)).fetchone()[0]
            node = json.loads(meta["_node_content"])
            node["text"] = "Re-chunked: total revenue grew; see the segment table for the details."
            meta["_node_content"] = json.dumps(node)
            conn.execute(f"UPDATE {table} SET text = %s, metadata_ = %s WHERE id = %s", (node["text"], json.dumps(meta), key))
        other = [r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE metadata_->>'db_document_id' LIKE 'b3a4%' "
                                            "ORDER BY id LIMIT 2").fetchall()]
        conn.execute(f"UPDATE {table} SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM unnest(embedding::real[]) "
                     "WITH ORDINALITY AS u(x, o))::vector WHERE id = ANY(%s)", (other,))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", table)
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"recompute"})
    offenders = [json.loads(line) for line in (tmp_path / "damaged" / "offenders.jsonl").read_text().splitlines()]
    assert {int(o["key"]) for o in offenders if o["check"] == "recompute"} == {*rechunked, *other}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5, fixed.out + fixed.err
    assert cli("verify", *target, "--run-dir", tmp_path / "fixed", "--json", env=env).code == 0

    # Uber's filing ingested a second time (the app's dedupe_vector_store.py exists for it) and Lyft's document row
    # deleted with its nodes left behind. The same text with the same vector passes every built-in check (a chunk
    # stored twice is no wrong vector); with the drafted source uncommented (the filing's key read from each node's
    # metadata_), source_coverage fails on exactly Lyft's nodes, and the app's dedupe invariant (a custom check) on
    # the copies.
    lyft = {r[0] for r in empty_db.connect(autocommit=True).execute(
        f"SELECT id FROM {table} WHERE metadata_->>'db_document_id' LIKE 'fbbe%'").fetchall()}
    empty_db.execute(f"INSERT INTO {table} (text, metadata_, node_id, embedding) SELECT text, metadata_, node_id, "
                     f"embedding FROM {table} WHERE metadata_->>'db_document_id' LIKE 'b3a4%'")
    empty_db.execute("DELETE FROM document WHERE id = 'fbbefa9a-c218-5f49-a902-5e9aea529ea7'")
    plain = cli("verify", *target, "--run-dir", tmp_path / "dupes", "--json", env=env)
    assert plain.code == 0, plain.out
    invariants = tmp_path / "invariants.yaml"
    invariants.write_text(trial.profile.read_text().replace(suggested, suggested[2:]) + (
        "custom_checks:\n"
        "  - name: one row per node\n"
        f"    sql: SELECT count(*) = count(DISTINCT node_id) FROM {table}\n"
        "    expect: true\n"))
    checked = cli("verify", "--profile", invariants, "--collection", table, "--run-dir", tmp_path / "inv", "--json",
                  env=env)
    assert checked.code == 1
    assert {c["check"] for c in checked.json["checks"] if c["status"] == "failed"} == {
        "custom one row per node", "source_coverage"}, checked.out
    left = [json.loads(line) for line in (tmp_path / "inv" / "offenders.jsonl").read_text().splitlines()]
    assert {int(o["key"]) for o in left if o["check"] == "source_coverage"} == lyft


# -- letta-ai/letta: Python, SQLAlchemy + alembic, archival memory padded to MAX_EMBEDDING_DIM ------------------------

# archival_passages as Letta's migrations leave it on Postgres (74e860718e0d renames agent_passages, 54c76f7cabca adds
# tags, 297e8217e952 makes embedding_config nullable), with the two tables its foreign keys name, reduced to their
# columns. No vector index: pgvector indexes at most 2,000 dimensions, and the column is MAX_EMBEDDING_DIM wide.
LETTA_DDL = """
CREATE TABLE organizations (id varchar PRIMARY KEY, name varchar NOT NULL, created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(), is_deleted boolean NOT NULL DEFAULT false, _created_by_id varchar,
  _last_updated_by_id varchar);
CREATE TABLE archives (id varchar PRIMARY KEY, name varchar NOT NULL, description varchar,
  vector_db_provider varchar NOT NULL DEFAULT 'native', embedding_config json, metadata_ json,
  _vector_db_namespace varchar, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(),
  is_deleted boolean NOT NULL DEFAULT false, _created_by_id varchar, _last_updated_by_id varchar,
  organization_id varchar NOT NULL REFERENCES organizations (id));
CREATE TABLE archival_passages (text varchar NOT NULL, embedding_config json, metadata_ json NOT NULL,
  embedding vector(4096), id varchar NOT NULL PRIMARY KEY, created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(), is_deleted boolean NOT NULL DEFAULT false, _created_by_id varchar,
  _last_updated_by_id varchar, organization_id varchar NOT NULL REFERENCES organizations (id),
  archive_id varchar NOT NULL REFERENCES archives (id) ON DELETE CASCADE, tags json);
CREATE INDEX ix_archival_passages_org_archive ON archival_passages (organization_id, archive_id);
CREATE INDEX archival_passages_created_at_id_idx ON archival_passages (created_at, id);
CREATE INDEX ix_archival_passages_archive_id ON archival_passages (archive_id);
"""
LETTA_ORGS = {"org-4f1c2a9e": ("Agent alpha's Archive", "Agent beta's Archive"), "org-9b7d3e10": ("Agent gamma's Archive",)}


def letta_config(model: str, dims: int) -> dict:
    """An EmbeddingConfig as OllamaProvider lists it (an OpenAI-compatible endpoint at /v1), as model_dump writes it."""
    return {"embedding_endpoint_type": "openai", "embedding_endpoint": "http://localhost:11434/v1",
            "embedding_model": model, "embedding_dim": dims, "embedding_chunk_size": 300, "handle": f"ollama/{model}",
            "batch_size": 32, "azure_endpoint": None, "azure_version": None, "azure_deployment": None}


def load_letta_passages(db, server) -> dict[str, list[str]]:
    """36 archival memories of three agents' archives in two organizations, as PassageManager writes them: id
    ``passage-<uuid4>``, the Ollama model's vector padded with zeros to 4096, the embedding config beside it.
    Returns the ids by archive, in insertion order."""
    import uuid

    import httpx

    facts = ["birthday is in May", "favourite food is ramen", "works as a nurse", "grew up in Lisbon",
             "has a cat called Miso", "plays the cello", "is planning a trip to Oslo", "reads science fiction"]
    config = json.dumps(letta_config("nomic-embed-text:latest", 768))
    ids: dict[str, list[str]] = {}
    with db.connect(autocommit=True) as conn:
        n = 0
        for org, archives in LETTA_ORGS.items():
            conn.execute("INSERT INTO organizations (id, name) VALUES (%s, %s)", (org, org))
            for name in archives:
                n += 1
                archive = f"archive-{uuid.UUID(int=n)}"
                conn.execute("INSERT INTO archives (id, name, organization_id, embedding_config) VALUES (%s, %s, %s, %s)",
                             (archive, name, org, config))
                texts = [f"The user {facts[i % 8]} (said in conversation {n}.{i})." for i in range(12)]
                vectors = httpx.post(f"{server.url}/api/embed", json={"model": "nomic-embed-text:latest",
                                                                      "input": texts}).json()["embeddings"]
                for text, vector in zip(texts, vectors):
                    key = f"passage-{uuid.uuid4()}"
                    ids.setdefault(archive, []).append(key)
                    conn.execute("INSERT INTO archival_passages (id, text, embedding_config, metadata_, embedding, "
                                 "organization_id, archive_id, tags) VALUES (%s, %s, %s, '{}', %s::vector, %s, %s, '[]')",
                                 (key, text, config, json.dumps(vector + [0.0] * (4096 - len(vector))), org, archive))
    return ids


def test_letta_archival_passages_padded_to_max_embedding_dim_with_the_model_in_embedding_config(cli, empty_db, server,
                                                                                                 tmp_path):
    """letta-ai/letta: archival memory inline beside its text, app keys, the model and dimension per row in a JSON
    embedding_config, every vector padded with zeros to MAX_EMBEDDING_DIM (4096). A backfill gone wrong: 5 vectors
    lost, a text edited after its vector, 2 vectors of another model (1024 dimensions, padded too), 2 vectors swapped.
    Letta embeds through Ollama's OpenAI-compatible /v1/embeddings, which our server does not serve: the engine runs."""
    app = Source.of("letta-ai__letta").checkout("", tmp_path / "app")
    passage = (app / "letta/orm/passage.py").read_text()
    for line in ("__abstract__ = True", "embedding = mapped_column(Vector(MAX_EMBEDDING_DIM), nullable=True)",
                 '__tablename__ = "archival_passages"', "embedding_config: Mapped[Optional[dict]] = mapped_column("
                 "EmbeddingConfigColumn, nullable=True"):
        assert line in passage  # the DDL above is this model's
    assert "MAX_EMBEDDING_DIM = 4096" in (app / "letta/constants.py").read_text()
    assert "np.pad(np_embedding, (0, MAX_EMBEDDING_DIM - np_embedding.shape[0])" in (
        app / "letta/services/passage_manager.py").read_text()
    empty_db.execute(LETTA_DDL)
    ids = load_letta_passages(empty_db, server)
    alpha, _beta, gamma = ids.values()
    lost, edited, other, swapped = alpha[:3] + gamma[:2], alpha[5], gamma[3:5], (alpha[7], gamma[8])
    import httpx

    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE archival_passages SET embedding = NULL WHERE id = ANY(%s)", (lost,))
        conn.execute("UPDATE archival_passages SET text = 'The user now works as a pilot.' WHERE id = %s", (edited,))
        for key in other:  # written by an earlier configuration: mxbai-embed-large, 1024 dimensions, padded
            text = conn.execute("SELECT text FROM archival_passages WHERE id = %s", (key,)).fetchone()[0]
            vector = httpx.post(f"{server.url}/api/embed", json={"model": "mxbai-embed-large",
                                                                 "input": [text]}).json()["embeddings"][0]
            conn.execute("UPDATE archival_passages SET embedding = %s::vector, embedding_config = %s WHERE id = %s",
                         (json.dumps(vector + [0.0] * 3072), json.dumps(letta_config("mxbai-embed-large", 1024)), key))
        conn.execute("UPDATE archival_passages a SET embedding = b.embedding FROM archival_passages b "
                     "WHERE (a.id, b.id) IN ((%s, %s), (%s, %s))", (*swapped, *swapped[::-1]))

    # The owner's one edit: Letta searches only passages not soft-deleted (passage_manager.py:
    # ``ArchivalPassage.is_deleted == False``), which profile init leaves TODO and never guesses.
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "archival_passages",
                      edit=lambda text: text.replace("filter: {is_deleted: TODO}", "filter: {is_deleted: false}"))
    # locate: the abstract BasePassage's column on both tables, its dimension from letta.constants.
    declared = {(d["path"], d["table"], d["column"], d["dimensions"]) for d in trial.locate.json["declarations"]}
    assert {("letta/orm/passage.py", "archival_passages", "embedding", 4096),
            ("letta/orm/passage.py", "source_passages", "embedding", 4096)} <= declared, declared
    # profile init: no edit needed but the soft-delete filter. The rows measure the padding: the model's own
    # dimension and pad_to.
    assert trial.init.json["todo"] == ["chunks.filter.is_deleted"]
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert raw["provider"]["model"] == "nomic-embed-text:latest" and raw["provider"]["dimensions"] == 768, drafted
    assert raw["embeddings"]["pad_to"] == 4096 and raw["embeddings"]["vector"] == "embedding", drafted
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["tenant"]) == (
        "archival_passages", "id", "text", "organization_id"), drafted
    assert "29 of 31 stored vectors read are zeros beyond the model's 768 dimensions" in drafted, drafted
    # The model each row names in its embedding_config is the model column (read, and written under its key).
    assert raw["embeddings"]["model"] == "embedding_config->>'embedding_model'", drafted
    assert "the rows name their model there: nomic-embed-text:latest (29), mxbai-embed-large (2)" in drafted, drafted

    # scope: the two vectors of the other model have values past 768 (not this model's vectors padded), and their
    # rows name mxbai-embed-large: replacing them is a model switch, refused without the owner's approval (exit 2).
    assert trial.scope.code == 2 and trial.run is None
    dims = next(c for c in trial.scope.json["checks"] if c["check"] == "dimensions agree")
    assert dims["status"] == "failed" and "2 of 31 stored vectors are not zeros beyond dimension 768" in dims["found"]
    counts = trial.scope.json["counts"]
    assert (counts["missing"], counts["other_model"], counts["needed"]) == (5, 2, 7), counts
    assert "holds 2 vectors of mxbai-embed-large (2)" in trial.scope.out
    # verify lists every offender by check; nothing is said ok that is not.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "archival_passages")
    first = cli("verify", *target, "--run-dir", tmp_path / "verify0", "--json", env=env)
    assert first.code == 1
    status = {c["check"]: c["status"] for c in first.json["checks"]}
    assert status["coverage"] == "failed" and status["dimensions"] == "failed" and status["recompute"] == "failed"
    assert status["model"] == "failed" and status["fresh"] != "passed", status
    offenders = [json.loads(line) for line in (tmp_path / "verify0" / "offenders.jsonl").read_text().splitlines()]
    by_check = {}
    for o in offenders:
        by_check.setdefault(o["check"], set()).add(o["key"])
    assert by_check["coverage"] == set(lost) and by_check["dimensions"] == set(other) == by_check["model"]
    assert by_check["recompute"] == {edited, *swapped}, by_check  # it samples the rows that name this model
    refused = cli("backfill", *target, "--keys-from", tmp_path / "verify0" / "offenders.jsonl", "--json", env=env)
    assert refused.code == 2 and "model switch" in refused.out + refused.err, refused.out + refused.err
    repaired = cli("backfill", *target, "--keys-from", tmp_path / "verify0" / "offenders.jsonl",
                   "--approve-model-change", "--json", env=env)
    assert repaired.code == 0, repaired.out + repaired.err

    # Then the procedure again with the same draft (scope, run, verify, record; locate read the repository once).
    run_dir = tmp_path / "second"
    again = Trial(trial.locate, trial.init, cli("scope", *target, "--json", env=env),
                  cli("run", *target, "--run-dir", run_dir, "--engine", "--json", env=env),
                  cli("verify", *target, "--run-dir", run_dir, "--json", env=env),
                  cli("record", *target, "--run-dir", run_dir, "--historylog", tmp_path / "historylog.md", "--repo", app,
                      "--json", env=env), trial.profile)
    assert_whole_procedure_ok(again, empty_db, "archival_passages", "embedding", 36, needed=0)
    # Measured, not parsed: every vector is nomic-embed-text's of its current text, padded with zeros to 4096.
    rows = empty_db.connect(autocommit=True).execute(
        "SELECT text, embedding::text FROM archival_passages ORDER BY id").fetchall()
    wanted = httpx.post(f"{server.url}/api/embed", json={"model": "nomic-embed-text:latest",
                                                         "input": [r[0] for r in rows]}).json()["embeddings"]
    for (_, stored), want in zip(rows, wanted):
        stored = json.loads(stored)
        assert len(stored) == 4096 and not any(stored[768:])
        assert max(abs(a - b) for a, b in zip(stored, want)) < 1e-6
    # Each row names the model now, the rest of its config kept (embedding_dim too: still 1024 where mxbai was).
    configs = dict(empty_db.connect(autocommit=True).execute(
        "SELECT id, embedding_config::text FROM archival_passages").fetchall())
    assert {json.loads(c)["embedding_model"] for c in configs.values()} == {"nomic-embed-text:latest"}
    assert {json.loads(configs[k])["embedding_dim"] for k in other} == {1024}
    assert all(json.loads(c)["handle"] for c in configs.values())


# -- mem0ai/mem0: one table per collection (id, vector, payload jsonb), the text and an MD5 of it in the payload --------

# mem0's own store and embedder, loaded from the snapshot (the package's __init__ needs the installed distribution);
# each memory goes in with the payload Memory._create_memory writes (the LLM that extracts facts is not run).
MEM0_STORE = '''
import hashlib, json, sys, types, uuid
src, dsn, ollama, collection, facts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
package = types.ModuleType("mem0")
package.__path__ = [src + "/mem0"]
sys.modules["mem0"] = package
from psycopg.conninfo import conninfo_to_dict
from mem0.configs.embeddings.base import BaseEmbedderConfig
from mem0.embeddings.ollama import OllamaEmbedding
from mem0.vector_stores.pgvector import PGVector
c = conninfo_to_dict(dsn)
store = PGVector(dbname=c["dbname"], collection_name=collection, embedding_model_dims=768, user=c["user"],
                 password=c["password"], host=c["host"], port=int(c["port"]), diskann=False, hnsw=True)
embedder = OllamaEmbedding(BaseEmbedderConfig(ollama_base_url=ollama, embedding_dims=768))
for i, (user, data) in enumerate(facts):
    at = f"2026-11-01T{i % 24:02d}:00:00+00:00"
    payload = {"user_id": user, "agent_id": "assistant", "data": data, "hash": hashlib.md5(data.encode()).hexdigest(),
               "created_at": at, "updated_at": at, "text_lemmatized": data.lower()}
    store.insert(vectors=[embedder.embed(data, memory_action="add")], ids=[str(uuid.uuid4())], payloads=[payload])
'''
MEM0_FACTS = [("alice", f) for f in ("Is vegetarian", "Allergic to peanuts", "Lives in Lisbon", "Works night shifts as a "
                                     "nurse", "Prefers tea over coffee", "Has a dog named Biscuit", "Is learning Portuguese",
                                     "Runs 5 km every Saturday", "Birthday is on 14 March", "Dislikes horror movies",
                                     "Plays the cello", "Wants to visit Japan next spring")] + \
    [("bob", f) for f in ("Drives an electric car", "Is allergic to cats", "Supports FC Porto", "Works remotely for a bank",
                          "Has two daughters", "Likes spicy food", "Is training for a marathon", "Reads science fiction",
                          "Uses Linux at home", "Prefers window seats on flights")]


def load_mem0(db, server, src: Path, collection: str, facts) -> None:
    done = subprocess.run([sys.executable, "-c", MEM0_STORE, str(src), db.dsn, server.url, collection, json.dumps(facts)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_mem0_memories_with_the_text_and_its_md5_in_a_jsonb_payload(cli, empty_db, server, tmp_path):
    """mem0's pgvector store: a table per collection (`memories`, the REST server's; `mem0`, the library's default),
    the text under payload->>'data' beside its MD5, owners and timestamps in the payload too. A restore lost 3
    vectors; then a memory was edited without its vector, 2 vectors are another model's, 2 were swapped, 1 row went."""
    try:
        import ollama  # noqa: F401
        import psycopg_pool  # noqa: F401
        import pydantic  # noqa: F401
    except ImportError:
        pytest.skip("ollama, psycopg_pool and pydantic are needed to run mem0's own store and embedder")
    app = tmp_path / "app"
    for folder in ("mem0", "server", "mem0-ts/src/oss"):  # the library, its REST server, the TypeScript port's own
        Source.of("mem0ai__mem0").checkout(folder, app / folder)
    store = (app / "mem0/vector_stores/pgvector.py").read_text()
    assert "vector vector({})," in store and 'self.config.model or "nomic-embed-text"' in (
        app / "mem0/embeddings/ollama.py").read_text()  # the shape the assertions below rely on
    load_mem0(empty_db, server, app, "memories", MEM0_FACTS)
    load_mem0(empty_db, server, app, "mem0", MEM0_FACTS[:5])
    app_vectors = dict(empty_db.connect(autocommit=True).execute("SELECT id, vector::text FROM memories").fetchall())
    other = "SELECT md5(string_agg(id::text || vector::text || payload::text, ',' ORDER BY id)) FROM mem0"
    other_before = empty_db.scalar(other)
    empty_db.execute("UPDATE memories SET vector = NULL WHERE id IN (SELECT id FROM memories ORDER BY id LIMIT 3)")
    trial = procedure(cli, empty_db, server, app, tmp_path, "memories", init_args=("--table", "memories"), plan=True)

    # locate: the store's CREATE TABLE composed by psycopg's sql.SQL(...).format(...), the Ollama embedder's default
    # model; a sparse BM25 embedder is none, and no module of the TypeScript port is an entrypoint.
    located = trial.locate.json
    declared = {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]}
    assert ("mem0/vector_stores/pgvector.py", "{self.collection_name}", "vector", None) in declared
    assert ("mem0-ts/src/oss/src/vector_stores/pgvector.ts", "{this.collectionName}", "vector", None) in declared
    assert ("mem0/embeddings/ollama.py", "ollama-client", "nomic-embed-text") in {
        (c["path"], c["kind"], c["model"]) for c in located["embedding_calls"]}
    assert not any(c["model"] == "Qdrant/bm25" for c in located["embedding_calls"])
    assert located["best_entrypoint"] is None
    assert not any(e["path"].endswith("vector_stores/vectorize.ts") for e in located["entrypoints"])
    # profile init needs no edit: the text is the payload key its MD5 sits beside, the model the Ollama embedder's.
    assert trial.init.json["todo"] == []
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["text"], raw["provider"]["model"]) == (
        "memories", "payload->>'data'", "nomic-embed-text")
    assert "input_hash" not in raw["embeddings"] and "22 of 22 rows read hold the MD5 of payload->>'data'" in drafted
    assert "each row's owner is under payload->>'user_id'" in drafted and not raw.get("backfill")
    assert_whole_procedure_ok(trial, empty_db, "memories", "vector", 22, needed=3)
    planned = trial.plan.json
    assert planned["rows"]["to_embed"] == 3 and planned["rows"]["current"] is None
    assert "19 stored vectors whether current unknown (no hash column, no model column)" in planned["risk"]["reasons"][0]
    # Measured: the engine wrote what mem0's own embedder wrote (the text as is), and the other collection is as it was.
    assert dict(empty_db.connect(autocommit=True).execute("SELECT id, vector::text FROM memories").fetchall()) == app_vectors
    assert empty_db.scalar(other) == other_before

    # Damage: Alice moved (the payload edited as _update_memory does, the vector kept), 2 vectors of another model,
    # two of Bob's vectors swapped, a row deleted.
    with empty_db.connect(autocommit=True) as conn:
        def key(data):
            return conn.execute("SELECT id FROM memories WHERE payload->>'data' = %s", (data,)).fetchone()[0]
        edited, others, swapped = key("Lives in Lisbon"), [key("Likes spicy food"), key("Plays the cello")], [
            key("Has two daughters"), key("Reads science fiction")]
        conn.execute("UPDATE memories SET payload = payload || jsonb_build_object('data', 'Lives in Porto', 'hash', "
                     "md5('Lives in Porto'), 'updated_at', '2026-11-20T00:00:00+00:00') WHERE id = %s", (edited,))
        conn.execute("UPDATE memories SET vector = (SELECT array_agg(x ORDER BY o DESC) FROM unnest(vector::real[]) "
                     "WITH ORDINALITY AS u(x, o))::vector WHERE id = ANY(%s)", (others,))
        conn.execute("UPDATE memories m SET vector = s.vector FROM memories s WHERE m.id = %s AND s.id = %s OR "
                     "m.id = %s AND s.id = %s", (swapped[0], swapped[1], swapped[1], swapped[0]))
        conn.execute("DELETE FROM memories WHERE payload->>'data' = 'Is vegetarian'")
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "memories")
    # No hash or model column: scope and run count nothing to embed, and say that 21 vectors are of unknown currency.
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 0 and scoped.json["counts"]["stale"] is None
    assert "Scope ok: 0 rows to embed into memories. 21 stored vectors whether current unknown" in cli(
        "scope", *target, env=env).out
    ran = cli("run", *target, "--run-dir", tmp_path / "rerun", "--engine", env=env)
    assert "21 stored vectors whether current unknown" in ran.out, ran.out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    assert {c["check"] for c in damaged.json["checks"] if c["status"] == "failed"} <= {"recompute", "citations"}
    offenders = [json.loads(line) for line in (tmp_path / "damaged" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders if o["check"] == "recompute"} == {str(k) for k in (edited, *others, *swapped)}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5, fixed.out + fixed.err
    again = cli("verify", *target, "--run-dir", tmp_path / "fixed", "--json", env=env)
    assert again.code == 0, again.out
    # The deleted memory: nothing in Postgres kept it (mem0's history is a SQLite file), so no check can miss it.
    assert empty_db.scalar("SELECT count(*) FROM memories") == 21
    assert empty_db.scalar(other) == other_before


@pytest.mark.slow
def test_mem0_whole_procedure_on_the_librarys_default_collection_says_what_is_unproven(cli, empty_db, server, tmp_path):
    """Without --table the draft takes one table (each collection is one) and names the other; `procedure --engine`
    fills the lost vectors and its verify line says the checks no column can prove (fresh, model) and what covers them."""
    try:
        import ollama  # noqa: F401
        import psycopg_pool  # noqa: F401
        import pydantic  # noqa: F401
    except ImportError:
        pytest.skip("ollama, psycopg_pool and pydantic are needed to run mem0's own store and embedder")
    app = tmp_path / "app"
    for folder in ("mem0", "server"):
        Source.of("mem0ai__mem0").checkout(folder, app / folder)
    load_mem0(empty_db, server, app, "mem0", MEM0_FACTS[:8])
    load_mem0(empty_db, server, app, "memories", MEM0_FACTS[8:])
    empty_db.execute("UPDATE mem0 SET vector = NULL WHERE id IN (SELECT id FROM mem0 ORDER BY id LIMIT 2)")
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    raw = yaml.safe_load(profile.read_text())
    assert raw["chunks"]["table"] == "mem0" and "other vector columns in this database: public.memories.vector" in (
        profile.read_text())
    done = cli("procedure", "--profile", profile, "--collection", "mem0", "--engine", "--historylog",
               tmp_path / "historylog.md", "--run-dir", tmp_path / "run", "--json", env=env)
    assert done.code == 0, done.out + done.err
    verify = next(s for s in done.json["steps"] if s["step"] == "verify")
    assert "2 unproven (covered by recompute's bound: fresh [mem0], model [mem0])" in verify["summary"], verify
    assert empty_db.scalar("SELECT count(*) FROM mem0 WHERE vector IS NULL") == 0


# -- supabase-community/chatgpt-your-files: Supabase, sections under their document, vectors by an Edge Function ------

# Beside Supabase's auth: storage.objects as the app's policies and upload trigger read it (owner, path_tokens), pg_net's
# http_post recording each call instead of sending it, and the vault secret its triggers read the project URL from.
YOURFILES_STAND_IN = SUPABASE_AUTH + """
CREATE SCHEMA net; CREATE SCHEMA vault;
CREATE TABLE storage.objects (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), bucket_id text REFERENCES storage.buckets,
  name text, owner uuid, created_at timestamptz DEFAULT now(),
  path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
CREATE TABLE net.calls (id bigserial PRIMARY KEY, url text, headers jsonb, body jsonb);
CREATE FUNCTION net.http_post(url text, body jsonb DEFAULT '{}', params jsonb DEFAULT '{}', headers jsonb DEFAULT '{}',
  timeout_milliseconds int DEFAULT 5000) RETURNS bigint LANGUAGE sql AS
  $$ INSERT INTO net.calls (url, headers, body) VALUES (url, headers, body) RETURNING id $$;
CREATE TABLE vault.secrets (name text PRIMARY KEY, secret text);
CREATE VIEW vault.decrypted_secrets AS SELECT name, secret AS decrypted_secret FROM vault.secrets;
CREATE FUNCTION vault.create_secret(secret text, name text) RETURNS uuid LANGUAGE sql AS
  $$ INSERT INTO vault.secrets VALUES (name, secret) RETURNING gen_random_uuid() $$;
"""
YOURFILES_USERS = {"alice": ("a11ce000-0000-4000-8000-000000000001", ("roman-empire-1.md", "roman-empire-2.md")),
                   "bob": ("b0b00000-0000-4000-8000-000000000002", ("roman-empire-3.md",))}


def yourfiles_schema(db, app: Path) -> str:
    """The app's migrations and seed in order, after the stand-in; returns the DSN of a login role granted
    ``authenticated`` (the policies apply to it) and ``service_role`` (row-level security skips it)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(YOURFILES_STAND_IN)
        conn.execute(f'ALTER DATABASE {db.name} SET search_path = "$user", public, extensions')
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for migration in sorted((app / "supabase" / "migrations").glob("*.sql")):
            conn.execute(migration.read_text().replace("create extension if not exists pg_net with schema extensions;", ""))
        conn.execute((app / "supabase" / "seed.sql").read_text())
        role = f"yourfiles_{db.name}"
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'yourfiles-pw'; GRANT authenticated, service_role TO {role}; "
                     "GRANT USAGE ON SCHEMA auth, extensions, storage TO authenticated, service_role; "
                     "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO authenticated; "
                     "GRANT SELECT ON ALL TABLES IN SCHEMA public TO service_role")
    return make_conninfo(db.dsn, user=role, password="yourfiles-pw")


def upload_yourfiles(db, server, app: Path, *, lost_call: int) -> None:
    """Each user's files uploaded as the app does: the storage row (its trigger makes the document), one section per
    markdown heading (their trigger queues the embed calls, 5 rows each), then every queued call run as the Edge
    Function runs it (the rows of the call whose vector is still NULL), except call ``lost_call``, which failed."""
    import psycopg

    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for user, (uid, files) in YOURFILES_USERS.items():
            conn.execute("INSERT INTO auth.users (id, aud, role, email) VALUES (%s, 'authenticated', 'authenticated', %s)",
                         (uid, f"{user}@example.org"))
            conn.execute("SELECT set_config('request.headers', %s, false)", (json.dumps({"authorization": f"Bearer {user}"}),))
            for name in files:
                obj = conn.execute("INSERT INTO storage.objects (bucket_id, name, owner) VALUES ('files', %s, %s) "
                                   "RETURNING id", (f"{uid}/{name}", uid)).fetchone()[0]
                doc = conn.execute("SELECT id FROM documents WHERE storage_object_id = %s", (obj,)).fetchone()[0]
                text = (app / "sample-files" / name).read_text()
                sections = [s.strip() for s in re.split(r"(?m)^(?=#)", text) if s.strip()][:6]
                with conn.cursor() as cur:  # one statement, as process/index.ts inserts them: one trigger call
                    cur.execute("INSERT INTO document_sections (document_id, content) SELECT %s, unnest(%s::text[])",
                                (doc, sections))
        calls = conn.execute("SELECT id, body FROM net.calls WHERE url LIKE '%%/functions/v1/embed' ORDER BY id").fetchall()
        for n, (_, body) in enumerate(calls):
            if n == lost_call:
                continue
            table, text, vector = body["table"], body["contentColumn"], body["embeddingColumn"]
            rows = conn.execute(f"SELECT id, {text} FROM {table} WHERE id = ANY(%s) AND {vector} IS NULL",
                                (body["ids"],)).fetchall()
            for (key, _), embedding in zip(rows, httpx_embed(server, "gte-small", [r[1] for r in rows])):
                conn.execute(f"UPDATE {table} SET {vector} = %s::vector WHERE id = %s", (json.dumps(embedding), key))


def test_chatgpt_your_files_sections_embedded_by_an_edge_function_under_their_documents_policies(cli, empty_db, server,
                                                                                                 tmp_path, request):
    """supabase-community/chatgpt-your-files: ``document_sections`` holds each markdown section with an inline
    ``embedding vector(384)``, written asynchronously by an Edge Function (Supabase's built-in gte-small) that a
    trigger calls; no owner column: the policies reach the owner through the document. One embed call failed."""
    from types import SimpleNamespace

    app = Source.of("supabase-community__chatgpt-your-files").checkout("", tmp_path / "app")
    as_app = SimpleNamespace(dsn=yourfiles_schema(empty_db, app))
    request.addfinalizer(lambda: empty_db.execute(f"DROP OWNED BY yourfiles_{empty_db.name}; "
                                                  f"DROP ROLE yourfiles_{empty_db.name}"))
    upload_yourfiles(empty_db, server, app, lost_call=0)  # Alice's first five sections
    rows = empty_db.scalar("SELECT count(*) FROM document_sections")
    lost = empty_db.scalar("SELECT count(*) FROM document_sections WHERE embedding IS NULL")
    assert (rows, lost) == (18, 5)
    app_vectors = dict(empty_db.connect(autocommit=True).execute(
        "SELECT id, embedding::text FROM document_sections WHERE embedding IS NOT NULL").fetchall())
    users = [uid for uid, _ in YOURFILES_USERS.values()]
    tenants = f"tenants: [{', '.join(users)}]"
    trial = procedure(cli, as_app, server, app, tmp_path / "first", "document_sections", model="gte-small",
                      edit=lambda text: re.sub(r"tenants: TODO.*", tenants, text), plan=True)

    # locate: the table from the migration; both embedders with their model, in process; no command.
    located = trial.locate.json
    assert [(d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("document_sections", "embedding", 384)]
    calls = {(c["path"], c["kind"], c["model"]) for c in located["embedding_calls"]}
    assert {("supabase/functions/embed/index.ts", "supabase-ai", "gte-small"),
            ("app/chat/page.tsx", "transformers", "Supabase/gte-small")} <= calls, calls
    assert located["embeds_in_process"] and located["best_entrypoint"] is None

    # profile init: inline, the session auth.uid() reads, the inner product of the app's index, the documents said
    # as a source (read as service_role: the policies show this role no row); only the tenants left to the user.
    assert trial.init.json["todo"] == ["database.tenants"]
    text = trial.profile.read_text()
    raw = yaml.safe_load(text)
    assert raw["database"]["session"] == {"request.jwt.claim.sub": "{tenant}"}
    assert raw["chunks"] == {"table": "document_sections", "id": "id", "text": "content",
                             "collection_name": "document_sections", "sources": ["document_id"]}
    assert raw["embeddings"] == {"vector": "embedding"} and raw["distance"] == "ip"
    suggested = "# source: {table: documents, key: id, chunk_key: document_id}"
    assert suggested in text and "source" not in raw

    # scope: both users' views added up and proven whole; the failed call's 5 rows to embed; then ok end to end.
    coverage = next(c for c in trial.scope.json["checks"] if c["check"] == "tenant coverage")
    assert coverage["status"] == "passed", coverage
    assert_whole_procedure_ok(trial, empty_db, "document_sections", "embedding", 18, needed=5)
    # plan: the lost rows' texts read in the users' views and timed (before: "nothing to embed: no probe needed").
    assert trial.plan.json["rows"]["to_embed"] == 5 and trial.plan.json["estimate"]["probe_rows"] == 5, trial.plan.out
    now = dict(empty_db.connect(autocommit=True).execute("SELECT id, embedding::text FROM document_sections").fetchall())
    assert {k: now[k] for k in app_vectors} == app_vectors  # the app's vectors untouched

    # Damage: 2 vectors lost, a section rewritten after its vector, 2 vectors of another model, Alice's and Bob's
    # vectors swapped between two sections; then a re-process that deleted one document's sections.
    keys = [r[0] for r in empty_db.connect(autocommit=True).execute(
        "SELECT s.id FROM document_sections s JOIN documents d ON d.id = s.document_id ORDER BY s.id").fetchall()]
    alices = [r[0] for r in empty_db.connect(autocommit=True).execute(
        "SELECT s.id FROM document_sections s JOIN documents d ON d.id = s.document_id WHERE d.created_by = %s "
        "ORDER BY s.id", (users[0],)).fetchall()]
    bobs = [k for k in keys if k not in alices]
    lost, rewritten, other, swapped = alices[:2], [bobs[0]], alices[2:4], [alices[5], bobs[3]]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE document_sections SET embedding = NULL WHERE id = ANY(%s)", (lost,))
        conn.execute("UPDATE document_sections SET content = '# Aqueducts\nThe aqueducts carried water from distant "
                     "springs into the cities, feeding baths, fountains and private houses.' WHERE id = %s", rewritten)
        conn.execute("UPDATE document_sections SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = ANY(%s)", (other,))
        conn.execute("UPDATE document_sections d SET embedding = s.embedding FROM document_sections s "
                     "WHERE (d.id, s.id) IN ((%s, %s), (%s, %s))", (*swapped, *swapped[::-1]))
    env = {"DATABASE_URL": as_app.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "document_sections")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"coverage", "recompute"})
    found = next(c for c in damaged.json["checks"] if c["check"] == "coverage")["found"]
    assert f"tenant {users[0]}: " in found and "tenant None" not in found, found
    offenders = [json.loads(x) for x in (tmp_path / "damaged" / "offenders.jsonl").read_text().splitlines()]
    assert {(o["check"], o["key"]) for o in offenders if o["check"] != "citations"} == {
        *(("coverage", k) for k in lost), *(("recompute", k) for k in (*rewritten, *other, *swapped))}
    assert {o["key"] for o in offenders if o["check"] == "citations"} <= {*rewritten, *other, *swapped}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and (fixed.json["embedded"], fixed.json["failed"]) == (7, 0), fixed.out + fixed.err

    # Then a re-process deleted one document's sections. With the drafted source uncommented, that document fails
    # source_coverage, by its key; everything the repair fixed passes (one verify for both: each takes seconds).
    gone = empty_db.scalar("SELECT document_id FROM document_sections WHERE id = %s", (bobs[0],))
    empty_db.execute("DELETE FROM document_sections WHERE document_id = %s", (gone,))
    sourced = tmp_path / "sourced.yaml"
    sourced.write_text(trial.profile.read_text().replace(suggested, suggested[2:]))
    checked = cli("verify", "--profile", sourced, "--collection", "document_sections", "--run-dir", tmp_path / "gone",
                  "--json", env=env)
    assert checked.code == 1
    status = {c["check"]: c["status"] for c in checked.json["checks"]}
    assert {c for c, s in status.items() if s == "failed"} == {"source_coverage"}, checked.out
    assert (status["coverage"], status["recompute"], status["index"]) == ("passed", "passed", "passed"), status
    left = [json.loads(x) for x in (tmp_path / "gone" / "offenders.jsonl").read_text().splitlines()]
    # a document row, not a chunk: `backfill --keys-from` must not take its key for a section's
    assert [(o["check"], o["key"], o["source_table"], str(o["source_key"])) for o in left] == [
        ("source_coverage", None, "documents", str(gone))]
    # The app role's password is in no evidence.
    for path in [*(tmp_path / "first" / "run").iterdir(), tmp_path / "first" / "historylog.md", trial.profile]:
        assert "yourfiles-pw" not in path.read_text()


# -- formbricks/formbricks: TypeScript monorepo, Prisma with Unsupported("vector(512)") written by $executeRaw --------

FORMBRICKS_ENVIRONMENTS = ("clprodenv000000000000000", "cldevenv0000000000000000")


def formbricks_schema(db, app: Path) -> None:
    """The app's own schema: its Prisma migrations in order (the data migrations, migration.ts, touch rows only)."""
    migrations = sorted((app / "packages/database/migration").glob("*/migration.sql"))
    assert len(migrations) == 110
    with db.connect(autocommit=True) as conn:
        for sql_file in migrations:
            conn.execute(sql_file.read_text())


def load_formbricks(db, server) -> None:
    """Two environments of one project, 12 open-text answers each as the pipeline stores them (getPromptText's
    `**headline**\nanswer`) and 3 insights each, embedded as the app embeds them (an insight: `${title}: ${description}`)."""
    with db.connect(autocommit=True) as conn:
        conn.execute("""INSERT INTO "Organization" (id, updated_at, name, billing) VALUES ('clorg', now(), 'Acme', '{}')""")
        conn.execute("""INSERT INTO "Project" (id, updated_at, name, "organizationId") VALUES ('clproj', now(), 'Web', 'clorg')""")
        for env, kind in zip(FORMBRICKS_ENVIRONMENTS, ("production", "development")):
            conn.execute("""INSERT INTO "Environment" (id, updated_at, type, "projectId") VALUES (%s, now(), %s, 'clproj')""",
                         (env, kind))
            conn.execute("""INSERT INTO "Survey" (id, updated_at, name, "environmentId") VALUES (%s, now(), 'NPS', %s)""",
                         (f"s{env}", env))
            texts = [f"**What could we do better?**\nThe CSV export of survey {i} is slow in {kind}." for i in range(12)]
            for i, (text, vector) in enumerate(zip(texts, httpx_embed(server, "embeddings", texts))):
                response = f"clr{i:02d}{env[2:20]}"
                conn.execute("""INSERT INTO "Response" (id, "surveyId", data) VALUES (%s, %s, '{}')""", (response, f"s{env}"))
                conn.execute("""INSERT INTO "Document" (id, updated_at, "environmentId", "surveyId", "responseId", """
                             """"questionId", sentiment, "isSpam", text) VALUES (%s, now(), %s, %s, %s, 'q1', 'negative', """
                             """false, %s)""", (f"cld{i:02d}{env[2:20]}", env, f"s{env}", response, text))
                conn.execute("""UPDATE "Document" SET "vector" = %s::vector(512) WHERE "id" = %s""",
                             (str(vector), f"cld{i:02d}{env[2:20]}"))
            found = [("Slow export", "CSV export takes minutes"), ("Dark mode", "users ask for a dark theme"),
                     ("Pricing", "too expensive for small teams")]
            vectors = httpx_embed(server, "embeddings", [f"{t}: {d}" for t, d in found])
            for j, ((title, description), vector) in enumerate(zip(found, vectors)):
                conn.execute("""INSERT INTO "Insight" (id, updated_at, "environmentId", category, title, description, """
                             """vector) VALUES (%s, now(), %s, 'featureRequest', %s, %s, %s::vector(512))""",
                             (f"cli{j}{env[2:20]}", env, title, description, str(vector)))


def formbricks(empty_db, server, tmp_path: Path) -> Path:
    app = Source.of("formbricks__formbricks").checkout("", tmp_path / "app", only=(
        "package.json", "pnpm-workspace.yaml", "turbo.json", ".env.example", "packages/", "apps/web/package.json",
        "apps/web/app/api/(internal)/"))
    formbricks_schema(empty_db, app)
    load_formbricks(empty_db, server)
    return app


def test_formbricks_prisma_documents_in_a_turbo_monorepo(cli, empty_db, server, tmp_path):
    """Prisma's quoted camelCase schema, an inline vector written by $executeRaw, the model an Azure deployment built
    in another package, no command (the running app embeds): lost, stale, foreign and swapped vectors told apart."""
    app = formbricks(empty_db, server, tmp_path)
    empty_db.execute("""UPDATE "Document" SET vector = NULL WHERE id IN (SELECT id FROM "Document" ORDER BY id LIMIT 3)""")
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}

    trial = procedure(cli, empty_db, server, app, tmp_path / "documents", "Document", model="embeddings",
                      init_args=("--table", "Document"))
    located = trial.locate.json
    declared = {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]}
    assert {("packages/database/schema.prisma", "Document", "vector", 512),
            ("packages/database/schema.prisma", "Insight", "vector", 512),
            ("apps/web/app/api/(internal)/pipeline/lib/documents.ts", "Document", "vector", 512)} <= declared
    assert ("packages/lib/aiModels.ts", "ai-sdk", "embeddings", "AI_AZURE_EMBEDDINGS_DEPLOYMENT_ID") in {
        (c["path"], c["kind"], c["model"], c["model_env"]) for c in located["embedding_calls"]}
    # turbo's `generate` (prisma generate in packages/database) is no backfill: no command, the engine runs.
    assert "pnpm run generate" not in [e["command"] for e in located["entrypoints"]]
    raw = yaml.safe_load(trial.profile.read_text())
    assert trial.init.json["todo"] == [] and not raw.get("backfill")
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"]) == ("Document", "id", "text")
    assert "measured: embeddings re-embedding text reproduces the stored vectors of 5 of the 5" in trial.profile.read_text()
    assert_whole_procedure_ok(trial, empty_db, '"Document"', "vector", 24, needed=3)

    # A backfill gone wrong: an answer edited after its vector, a vector of another model, two documents' vectors
    # swapped, two lost. Scope counts the lost; verify names every offender; the offenders re-embedded, verify ok.
    with empty_db.connect(autocommit=True) as conn:
        keys = [r[0] for r in conn.execute('SELECT id FROM "Document" ORDER BY id').fetchall()]
        conn.execute("""UPDATE "Document" SET text = text || ' And the PDF export too.' WHERE id = %s""", (keys[4],))
        conn.execute("""UPDATE "Document" SET vector = (SELECT array_agg(x ORDER BY o DESC) FROM unnest(vector::real[]) """
                     """WITH ORDINALITY AS u(x, o))::vector WHERE id = %s""", (keys[5],))
        conn.execute("""UPDATE "Document" d SET vector = o.vector FROM "Document" o WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))""",
                     (keys[6], keys[7], keys[7], keys[6]))
        conn.execute("""UPDATE "Document" SET vector = NULL WHERE id = ANY(%s)""", (keys[8:10],))
    target = ("--profile", trial.profile, "--collection", "Document")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.json["counts"]["missing"] == 2 and scoped.json["counts"]["needed"] == 2, scoped.out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"coverage", "recompute"})
    offenders = [json.loads(line) for line in (tmp_path / "damaged" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders if o["check"] == "recompute"} == set(keys[4:8])
    assert {o["key"] for o in offenders if o["check"] == "coverage"} == set(keys[8:10])
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 6, fixed.out + fixed.err
    assert cli("verify", *target, "--run-dir", tmp_path / "fixed", "--json", env=env).code == 0


def test_formbricks_prisma_insights_embed_two_columns_joined(cli, empty_db, server, tmp_path):
    """An insight embeds `${title}: ${description}` (getInsightVectorText): the draft measures it."""
    app = formbricks(empty_db, server, tmp_path)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}

    # locate without a model: the model is the deployment's default, read through the validated env object, and
    # drafted since the provider serves that name at the column's 512.
    draft = tmp_path / "no-model.yaml"
    assert cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output", draft, env=env).code == 0
    assert ("model: embeddings  # guess: the application's embedder names it (ai-sdk, packages/lib/aiModels.ts:12, the "
            "default of $AI_AZURE_EMBEDDINGS_DEPLOYMENT_ID) and the provider serves it at 512 dimensions, as "
            "Document.vector holds") in draft.read_text()

    # Insight embeds `${title}: ${description}`: the draft measures it (hash-embed cannot tell ': ' from ' ', a real
    # model can); the column the names alone suggest is said, and verify fails every insight with it.
    insight = procedure(cli, empty_db, server, app, tmp_path / "insights", "Insight", model="embeddings",
                        init_args=("--table", "Insight"))
    raw = yaml.safe_load(insight.profile.read_text())
    assert raw["chunks"]["text"] == ["title", "description"], insight.profile.read_text()
    assert "(the names alone suggested description)" in insight.profile.read_text()
    assert_whole_procedure_ok(insight, empty_db, '"Insight"', "vector", 6, needed=0)
    named = tmp_path / "named.yaml"
    named.write_text(re.sub(r"(?m)^  text: .*\n  text_separator: .*\n", "  text: description\n",
                            insight.profile.read_text()))
    wrong = cli("verify", "--profile", named, "--collection", "Insight", "--run-dir", tmp_path / "named", "--json", env=env)
    assert wrong.code == 1
    recompute = next(c for c in wrong.json["checks"] if c["check"] == "recompute")
    assert recompute["status"] == "failed" and "6 of 6 rows off" in recompute["found"], recompute


# -- sujeet-agrahari/llm-app: TypeScript, LangChain.js's PGVectorStore with its own column names, no collection table --

# What PGVectorStore.ensureTableInDatabase() creates for the app's dbConfig (no `dimensions`: an untyped vector).
LANGCHAIN_JS_DDL = """CREATE TABLE IF NOT EXISTS langchain_pg_embedding (
  "id" uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY, "document" text, "cmetadata" jsonb, "embedding" vector)"""


def load_llm_app(db, server, app: Path, model: str = "llama3.2") -> list[str]:
    """The app's ten seeded documents and twenty more of the same shape, as addDocuments writes them (no ids: the
    table's uuids). Returns the keys in insertion order."""
    seeder = (app / "src/seeder.ts").read_text()
    docs = [(m.group(1), {"id": m.group(2), "location": m.group(3), "topic": m.group(4)}) for m in re.finditer(
        r"pageContent: '([^']+)',\s*metadata: \{ id: '(\d+)', location: '([^']+)', topic: '([^']+)' \}", seeder)]
    assert len(docs) == 10
    docs += [(f"Event {i}: volunteers meet at the {place} to plan the {topic} week.",
              {"id": str(111 + i), "location": place, "topic": topic})
             for i, (place, topic) in enumerate((p, t) for p in ("library", "harbour", "stadium", "museum", "school")
                                                 for t in ("reading", "sailing", "running", "painting"))]
    vectors = httpx_embed(server, model, [d[0] for d in docs])
    with db.connect(autocommit=True) as conn:
        return [conn.execute("INSERT INTO langchain_pg_embedding (document, embedding, cmetadata) "
                             "VALUES (%s, %s::vector, %s) RETURNING id::text",
                             (text, json.dumps(v), json.dumps(meta))).fetchone()[0]
                for (text, meta), v in zip(docs, vectors)]


def test_llm_app_langchain_js_pgvector_store_with_its_own_column_names(cli, empty_db, server, tmp_path):
    app = Source.of("sujeet-agrahari__llm-app").checkout("", tmp_path / "app")
    assert "PGVectorStore.initialize(" in (app / "src/dbConnection.ts").read_text()
    empty_db.execute(LANGCHAIN_JS_DDL)
    keys = load_llm_app(empty_db, server, app)
    empty_db.execute("UPDATE langchain_pg_embedding SET embedding = NULL WHERE id::text = ANY(%s)", (keys[:3],))
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "langchain_pg_embedding", plan=True)

    # locate: the store's config object (a module constant) names the table and its vector column; the embedder's
    # model is a key of the object src/config.ts exports; `tsx watch ./src/app.ts` (seed, then a question) no backfill.
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"], d["kind"]) for d in located["declarations"]] == [
        ("src/dbConnection.ts", "langchain_pg_embedding", "embedding", None, "langchain")]
    assert [(c["name"], c["model"]) for c in located["embedding_calls"]] == [("OllamaEmbeddings", "llama3.2")]
    assert located["best_entrypoint"] is None

    # profile init needs no edit: the model the app names, served at the stored vectors' dimension (untyped column).
    assert trial.init.json["todo"] == []
    raw = yaml.safe_load(trial.profile.read_text())
    assert raw["provider"]["model"] == "llama3.2" and (raw["chunks"]["table"], raw["chunks"]["id"],
                                                       raw["chunks"]["text"]) == ("langchain_pg_embedding", "id", "document")
    assert raw["embeddings"]["vector"] == "embedding" and "table" not in raw["embeddings"]
    assert raw["distance"] == "cosine" and "the distance the application's store queries with (src/dbConnection.ts:" \
        in trial.profile.read_text()
    assert_whole_procedure_ok(trial, empty_db, "langchain_pg_embedding", "embedding", 30, needed=3)
    assert trial.plan.code == 0 and trial.plan.json["rows"]["to_embed"] == 3, trial.plan.out + trial.plan.err

    # Damage as a backfill leaves it: 2 lost vectors, a text edited after its vector, 2 vectors of nomic-embed-text
    # (768), two vectors swapped between rows; and 2 rows deleted (nothing in this schema remembers them).
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE langchain_pg_embedding SET embedding = NULL WHERE id::text = ANY(%s)", (keys[3:5],))
        conn.execute("UPDATE langchain_pg_embedding SET document = 'The lake festival moved to the harbour this year.' "
                     "WHERE id::text = %s", (keys[5],))
        texts = [conn.execute("SELECT document FROM langchain_pg_embedding WHERE id::text = %s", (k,)).fetchone()[0]
                 for k in keys[6:8]]
        for key, vector in zip(keys[6:8], httpx_embed(server, "nomic-embed-text", texts)):
            conn.execute("UPDATE langchain_pg_embedding SET embedding = %s::vector WHERE id::text = %s",
                         (json.dumps(vector), key))
        conn.execute("UPDATE langchain_pg_embedding e SET embedding = o.embedding FROM langchain_pg_embedding o WHERE "
                     "(e.id::text, o.id::text) IN ((%s, %s), (%s, %s))", (keys[8], keys[9], keys[9], keys[8]))
        conn.execute("DELETE FROM langchain_pg_embedding WHERE id::text = ANY(%s)", (keys[28:30],))
    target = ("--profile", trial.profile, "--collection", "langchain_pg_embedding")
    scoped = cli("scope", *target, "--json", env=env)
    dims = next(c for c in scoped.json["checks"] if c["check"] == "dimensions agree")
    assert dims["status"] == "passed" and "2 stored vectors of 768 dimensions" in dims["found"], dims
    counts = scoped.json["counts"]
    assert (counts["missing"], counts["other_dims"], counts["needed"]) == (2, 2, 4), scoped.out
    checked = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert checked.code == 1, checked.out
    failed = {c["check"] for c in checked.json["checks"] if c["status"] == "failed"}
    assert {"coverage", "dimensions", "recompute"} <= failed, checked.out
    offenders = [json.loads(line) for line in (tmp_path / "damaged" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders} == set(keys[3:10]), offenders
    repaired = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--json", env=env)
    assert repaired.code == 0 and repaired.json["embedded"] == 7, repaired.out + repaired.err
    again = cli("verify", *target, "--run-dir", tmp_path / "repaired", "--json", env=env)
    assert again.code == 0, again.out
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding WHERE embedding IS NULL") == 0


# ensureCollectionTableInDatabase(), when the config names a collectionTableName: rows by collection name.
LANGCHAIN_JS_COLLECTIONS_DDL = """CREATE TABLE IF NOT EXISTS collections (
  uuid uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY, name character varying, cmetadata jsonb);
CREATE INDEX IF NOT EXISTS idx_collections_name ON collections(name);
ALTER TABLE langchain_pg_embedding ADD COLUMN collection_id uuid;
ALTER TABLE langchain_pg_embedding ADD CONSTRAINT langchain_pg_embedding_collection_id_fkey FOREIGN KEY (collection_id)
  REFERENCES collections(uuid) ON DELETE CASCADE"""


def test_llm_app_with_a_collection_table_backfills_one_collection_by_name(cli, empty_db, server, tmp_path):
    """The same app configured with `collectionTableName: 'collections', collectionName: 'events'` (a deployment's
    edit of dbConfig, made in the checkout only): LangChain.js's collection table, two collections by name."""
    app = Source.of("sujeet-agrahari__llm-app").checkout("", tmp_path / "app")
    connection = app / "src/dbConnection.ts"
    connection.write_text(connection.read_text().replace(
        "  tableName: 'langchain_pg_embedding',", "  tableName: 'langchain_pg_embedding',\n"
        "  collectionTableName: 'collections',\n  collectionName: 'events',"))
    empty_db.execute(LANGCHAIN_JS_DDL)
    empty_db.execute(LANGCHAIN_JS_COLLECTIONS_DDL)
    keys = load_llm_app(empty_db, server, app)
    empty_db.execute("INSERT INTO collections (name, cmetadata) VALUES ('events', NULL), ('archive', NULL);"
                     "UPDATE langchain_pg_embedding e SET collection_id = (SELECT uuid FROM collections c WHERE c.name = "
                     "CASE WHEN e.cmetadata->>'id' < '121' THEN 'events' ELSE 'archive' END)")
    empty_db.execute("UPDATE langchain_pg_embedding SET embedding = NULL WHERE id::text = ANY(%s)", (keys[:2] + keys[-1:],))
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "events")
    assert [(d["table"], d["column"]) for d in trial.locate.json["declarations"]] == [("langchain_pg_embedding", "embedding")]
    assert trial.init.json["todo"] == [], trial.init.out
    raw = yaml.safe_load(trial.profile.read_text())
    assert raw["chunks"]["collection_table"] == {"table": "collections", "key": "uuid", "name": "name"}, raw
    assert trial.scope.code == 0 and trial.scope.json["counts"]["chunks"] == 20, trial.scope.out + trial.scope.err
    assert trial.scope.json["counts"]["needed"] == 2
    for step in (trial.run, trial.verify, trial.record):
        assert step.code == 0, step.out + step.err
    # Measured: every chunk of 'events' has its vector; the other collection's lost vector is left as it was.
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding WHERE embedding IS NULL") == 1
    # A model change the safe way: a new collection beside it (uuid keys made as LangChain.js makes them), swapped in.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    into = cli("backfill", "--profile", trial.profile, "--collection", "events", "--into", "events_v2", "--json", env=env)
    assert into.code == 0 and into.json["embedded"] == 20, into.out + into.err
    swapped = cli("swap", "--profile", trial.profile, "--to", "events", "--from", "events_v2", "--json", env=env)
    assert swapped.code == 0, swapped.out + swapped.err
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding e JOIN collections c ON c.uuid = e.collection_id "
                           "WHERE c.name = 'events' AND e.embedding IS NOT NULL") == 20
    assert empty_db.scalar("SELECT count(*) FROM collections WHERE name = 'events'") == 1


# -- shanewin/falkor-rentalintel: Django, an upload's chunks under its file name, the column altered 768 -> 1536 -----

# What `manage.py sqlmigrate doc_analysis 0001` and `0002` print at the pinned commit (Django is no dependency here).
FALKOR_DDL = """
CREATE TABLE "doc_analysis_documentembedding" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
  "file_name" varchar(255) NOT NULL, "content" text NOT NULL, "embedding" vector(768) NOT NULL);
ALTER TABLE "doc_analysis_documentembedding" ALTER COLUMN "embedding" TYPE vector(1536) USING "embedding"::vector(1536);
"""
FALKOR_UPLOADS = {"bank_statement_march.pdf": "Checking account statement for March: deposit of payroll number {i}.",
                  "paystub_2025_04.pdf": "Pay stub for April: gross pay, federal tax withheld, net pay line {i}.",
                  "w2_2024.pdf": "Form W-2 wage and tax statement, box {i}: wages, tips, other compensation."}


def falkor(empty_db, server, tmp_path: Path) -> Path:
    """The app's table from its migrations, 3 uploads of 8 chunks each stored as store_document_embeddings stores
    them (one request per upload, the chunks as the splitter cut them)."""
    app = Source.of("shanewin__falkor-rentalintel").checkout("", tmp_path / "app", only=(
        "manage.py", "realestate/", "doc_analysis/", "apartments/management/", "users/management/", "requirements.txt"))
    migrations = sorted(p.name for p in (app / "doc_analysis" / "migrations").glob("0*.py"))
    assert migrations[:2] == ["0001_initial.py", "0002_alter_documentembedding_embedding.py"]
    empty_db.execute(FALKOR_DDL)
    with empty_db.connect(autocommit=True) as conn:
        for name, template in FALKOR_UPLOADS.items():
            chunks = [template.format(i=i) for i in range(8)]
            for chunk, vector in zip(chunks, httpx_embed(server, "text-embedding-3-small", chunks)):
                conn.execute('INSERT INTO doc_analysis_documentembedding (file_name, content, embedding) '
                             'VALUES (%s, %s, %s::vector)', (name, chunk, str(vector)))
    return app


def test_falkor_rentalintel_django_chunks_whose_column_a_later_migration_altered(cli, empty_db, server, tmp_path):
    """A Django app embedding an upload's chunks with OpenAI in its upload view (no command): its initial migration
    made the column vector(768), a later one altered it to 1536; a model named ``DocumentEmbedding`` is a row."""
    app = falkor(empty_db, server, tmp_path)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    table = "doc_analysis_documentembedding"
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", table, model="text-embedding-3-small", plan=True)
    located = trial.locate.json
    declared = {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]}
    assert {("doc_analysis/models.py", table, "embedding", 1536),
            ("doc_analysis/migrations/0001_initial.py", table, "embedding", 768),
            ("doc_analysis/migrations/0002_alter_documentembedding_embedding.py", table, "embedding", 1536)} <= declared
    assert located["declared_dimensions"] == [1536]  # 0001's 768 is what 0002 altered
    assert {d["path"] for d in located["declarations"] if d["superseded"]} == {"doc_analysis/migrations/0001_initial.py"}
    # Only the OpenAI calls embed; `DocumentEmbedding(file_name=..., content=..., embedding=vec)` builds a row.
    assert {(c["kind"], c["model"], c["model_env"]) for c in located["embedding_calls"]} == {
        ("openai", "text-embedding-3-small", "OPENAI_EMBEDDING_MODEL")}
    assert located["best_entrypoint"] is None  # ensure_pgvector and the rest embed nothing: the engine runs
    raw = yaml.safe_load(trial.profile.read_text())
    assert trial.init.json["todo"] == [] and not raw.get("backfill")
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["provider"]["dimensions"]) == (
        table, "id", "content", 1536)
    assert "reproduces the stored vectors of 5 of the 5 rows read" in trial.profile.read_text()
    # No index in the database; the app's own search (raw SQL in its view) orders by inner product.
    assert raw["distance"] == "ip" and "(<#> at doc_analysis/views.py:198, " in trial.profile.read_text()
    assert trial.plan.code == 0, trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, table, "embedding", 24, needed=0)

    # A backfill gone wrong (the column is NOT NULL: no vector is lost, they go wrong): a chunk re-cut after its vector,
    # a vector of another model, two chunks of different uploads with each other's vectors. Scope cannot count them
    # (no hash, model or timestamp column) and says so; verify names exactly those 4; the engine repairs them.
    with empty_db.connect(autocommit=True) as conn:
        keys = [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]
        conn.execute(f"UPDATE {table} SET content = content || ' Overdraft fee reversed.' WHERE id = %s", (keys[2],))
        conn.execute(f"UPDATE {table} SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     f"unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (keys[9],))
        conn.execute(f"UPDATE {table} d SET embedding = o.embedding FROM {table} o WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))",
                     (keys[4], keys[20], keys[20], keys[4]))
    target = ("--profile", trial.profile, "--collection", table)
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 0 and scoped.json["counts"]["stale"] is None
    assert "24 stored vectors whether current unknown" in cli("scope", *target, env=env).out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"recompute"})
    offenders = [json.loads(line) for line in (tmp_path / "damaged" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders} == {keys[2], keys[9], keys[4], keys[20]}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 4, fixed.out + fixed.err
    again = cli("verify", *target, "--run-dir", tmp_path / "fixed", "--json", env=env)
    assert again.code == 0, again.out


def test_falkor_rentalintel_database_one_migration_behind_its_code(cli, empty_db, server, tmp_path):
    """The database stopped at 0001 (vector(768), an earlier model's vectors) while the code embeds 1536: the draft
    says which migration declares 1536, scope fails `dimensions agree` with the three numbers and nothing runs."""
    app = Source.of("shanewin__falkor-rentalintel").checkout("", tmp_path / "app", only=("manage.py", "doc_analysis/"))
    empty_db.execute(FALKOR_DDL.split("ALTER TABLE")[0])
    chunks = [FALKOR_UPLOADS["w2_2024.pdf"].format(i=i) for i in range(4)]  # stored when the app embedded 768
    with empty_db.connect(autocommit=True) as conn:
        for chunk, vector in zip(chunks, httpx_embed(server, "nomic-embed-text", chunks)):
            conn.execute("INSERT INTO doc_analysis_documentembedding (file_name, content, embedding) "
                         "VALUES ('w2_2024.pdf', %s, %s::vector)", (chunk, str(vector)))
    trial = procedure(cli, empty_db, server, app, tmp_path / "behind", "doc_analysis_documentembedding",
                      model="text-embedding-3-small")
    assert ("dimensions: 768  # declared by doc_analysis_documentembedding.embedding (vector); but the application's "
            "schema declares 1536 (doc_analysis/migrations/0002_alter_documentembedding_embedding.py:15, "
            "doc_analysis/models.py:7): a migration not applied?") in trial.profile.read_text()
    assert trial.scope.code == 1 and trial.run is None
    dims = next(c for c in trial.scope.json["checks"] if c["check"] == "dimensions agree")
    assert dims["status"] == "failed" and "(profile 768, column 768, model 1536)" in dims["found"], dims


# -- nosia-ai/nosia: Ruby on Rails, the neighbor gem's columns, langchainrb_rails' vectorsearch -----------------------

NOSIA_DDL = """
CREATE TABLE users (id bigserial PRIMARY KEY, email varchar NOT NULL, created_at timestamp(6) NOT NULL DEFAULT now(),
  updated_at timestamp(6) NOT NULL DEFAULT now());
CREATE TABLE accounts (id bigserial PRIMARY KEY, name varchar, owner_id bigint NOT NULL REFERENCES users, uid varchar,
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now());
CREATE TABLE documents (id bigserial PRIMARY KEY, title varchar, content text, embedding vector(768),
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now(), source_url varchar,
  author_id bigint, uid varchar, content_hash varchar, purpose varchar, account_id bigint NOT NULL REFERENCES accounts);
CREATE TABLE texts (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, data text,
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now());
CREATE TABLE qnas (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, question text, answer text,
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now());
CREATE TABLE chunks (id bigserial PRIMARY KEY, chunkable_id bigint NOT NULL, content text, embedding vector(768),
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now(),
  chunkable_type varchar, account_id bigint NOT NULL REFERENCES accounts);
CREATE INDEX index_chunks_on_chunkable_type_and_chunkable_id ON chunks (chunkable_type, chunkable_id);
CREATE INDEX index_chunks_on_account_id ON chunks (account_id);
"""

NOSIA_TEXTS = {
    "Acme": ["Acme's support desk opens at eight.\n\nTickets older than two days are escalated to the on-call lead.",
             "Refunds are approved by the billing team within five working days.",
             "The VPN client must be updated every quarter.\n\nLaptops are encrypted with the standard disk policy.\n\n"
             "Lost devices are reported to security at once."],
    "Globex": ["Globex ships orders from the Springfield warehouse.\n\nOrders placed before noon leave the same day.",
               "Returns are accepted for thirty days with the receipt."],
}
NOSIA_QNAS = {
    "Acme": [("Who approves travel?", "Your manager approves travel above five hundred dollars."),
             ("Where is the style guide?", "The style guide lives in the brand folder of the shared drive.")],
    "Globex": [("How do I track a parcel?", "Use the tracking number from the shipping e-mail."),
               ("Can I change my address?", "Addresses can be changed until the order is packed.")],
}


@pytest.fixture(scope="module")
def nosia_db(pg, templates, server):
    """The tables as nosia's migrations leave them (EMBEDDING_DIMENSIONS unset: 768), two accounts' texts and Q&As
    chunked and vectorized as ``chunkify!`` and langchainrb_rails do: one request per chunk, its content as is."""
    from ..conftest import _database

    for db in _database(pg, templates["empty"]):
        db.execute(NOSIA_DDL)
        with db.connect(autocommit=True) as conn:
            for account in NOSIA_TEXTS:
                user = conn.execute("INSERT INTO users (email) VALUES (%s) RETURNING id", (f"{account}@example.com",)).fetchone()[0]
                acc = conn.execute("INSERT INTO accounts (name, owner_id) VALUES (%s, %s) RETURNING id", (account, user)).fetchone()[0]
                sources = [("Text", conn.execute("INSERT INTO texts (account_id, data) VALUES (%s, %s) RETURNING id",
                                                 (acc, data)).fetchone()[0], data.split("\n\n"))
                           for data in NOSIA_TEXTS[account]]
                sources += [("Qna", conn.execute("INSERT INTO qnas (account_id, question, answer) VALUES (%s, %s, %s) "
                                                 "RETURNING id", (acc, q, a)).fetchone()[0], ["\n\n".join((q, a))])
                            for q, a in NOSIA_QNAS[account]]
                for kind, key, pieces in sources:
                    for piece in pieces:
                        chunk = conn.execute("INSERT INTO chunks (chunkable_id, chunkable_type, account_id, content) "
                                             "VALUES (%s, %s, %s, %s) RETURNING id", (key, kind, acc, piece)).fetchone()[0]
                        vector = httpx_embed(server, "nomic-embed-text", [piece])[0]
                        conn.execute("UPDATE chunks SET embedding = %s::vector WHERE id = %s", (str(vector), chunk))
        yield db


def test_nosia_rails_chunks_of_two_accounts_from_active_record_migrations(cli, nosia_db, server, tmp_path):
    """A Rails app: the vector column in ActiveRecord migrations and schema.rb, the embedder langchainrb's Ollama LLM
    set up in an initializer, chunks of texts and Q&As through a polymorphic association, no command (jobs vectorize).
    One verify (each takes seconds) on a backfill gone wrong: lost vectors counted and filled, stale, foreign, swapped
    and deleted chunks each named by its key, the offenders repaired."""
    app = Source.of("nosia-ai__nosia").checkout("", tmp_path / "app", only=("app/", "config/", "db/", "Gemfile"))
    db, env = nosia_db, {"DATABASE_URL": nosia_db.dsn, "OLLAMA_HOST": server.url}
    # A chunk edited after its vector, a vector of another model, an Acme chunk and a Globex chunk with each other's
    # vectors, four lost (vectorize! raised after create!), and a Globex text whose chunks a re-chunk destroyed (its
    # texts row left).
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE chunks SET content = content || ' Weekends excluded.' WHERE id = 1")
        conn.execute("UPDATE chunks SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM unnest(embedding::real[]) "
                     "WITH ORDINALITY AS u(x, o))::vector WHERE id = 6")
        conn.execute("UPDATE chunks d SET embedding = o.embedding FROM chunks o WHERE (d.id, o.id) IN ((7, 10), (10, 7))")
        conn.execute("UPDATE chunks SET embedding = NULL WHERE id IN (2, 3, 9, 12)")
        gone = conn.execute("DELETE FROM chunks WHERE chunkable_type = 'Text' AND content LIKE 'Returns%' "
                            "RETURNING chunkable_id").fetchone()[0]
    assert gone == 5  # texts row 5: the key of a chunk too (chunk 5, healthy), which --keys-from must leave alone
    suggested = "# source: {table: texts, key: id, chunk_key: chunkable_id, chunk_filter: {chunkable_type: Text}}"
    trial = procedure(cli, db, server, app, tmp_path / "first", "chunks",
                      edit=lambda text: text.replace(suggested, suggested[2:]), plan=True)  # the user uncomments the source
    located = trial.locate.json
    declared = {(d["path"], d["table"], d["column"], d["dimensions"], d["superseded"]) for d in located["declarations"]}
    assert {("db/migrate/20240628203936_create_chunks.rb", "chunks", "embedding", 768, True),
            ("db/migrate/20241216213448_change_vector_limit.rb", "chunks", "embedding", 768, False),
            ("db/schema.rb", "chunks", "embedding", 3584, False),
            ("db/schema.rb", "documents", "embedding", 768, False)} <= declared
    assert {(c["path"], c["name"], c["model"], c["model_env"]) for c in located["embedding_calls"]} >= {
        ("config/initializers/langchainrb_rails.rb", "Langchain::LLM::Ollama", "nomic-embed-text", "EMBEDDING_MODEL"),
        ("config/initializers/langchainrb_rails.rb", "Langchain::LLM::OpenAI", "bge_multilingual_gemma2",
         "EMBEDDING_MODEL")}
    assert located["best_entrypoint"] is None  # the app vectorizes in its jobs: the engine runs
    # The draft needs no edit but the source: the model the Ollama embedder names, served at the column's 768; the
    # dimension said as EMBEDDING_DIMENSIONS's (schema.rb was dumped at 3584); the polymorphic association's pair as
    # the citation and its Text side as the source.
    raw = yaml.safe_load(trial.profile.read_text())
    assert trial.init.json["todo"] == [] and not raw.get("backfill")
    assert (raw["provider"]["model"], raw["provider"]["dimensions"], raw["chunks"]["text"], raw["chunks"]["tenant"],
            raw["chunks"]["sources"]) == ("nomic-embed-text", 768, "content", "account_id", ["chunkable_type", "chunkable_id"])
    assert "takes the dimension from $EMBEDDING_DIMENSIONS (default 768" in trial.profile.read_text()
    # the Ollama LLM vectorsearch embeds with is cited, not the chat's OpenAI-compatible client of the same model
    assert ("the application's Ollama embedder names it (langchain, config/initializers/langchainrb_rails.rb:30, "
            "the default of $EMBEDDING_MODEL)") in trial.profile.read_text()
    assert raw["source"] == {"table": "texts", "key": "id", "chunk_key": "chunkable_id",
                             "chunk_filter": {"chunkable_type": "Text"}}
    # Scope and plan count the lost (the rest no count can see: no hash, model or timestamp column), run fills them,
    # verify names every other offender by its key, record keeps the failed verdict.
    assert trial.scope.code == 0 and trial.scope.json["counts"]["missing"] == 4, trial.scope.out
    assert trial.run.code == 0 and trial.run.json["embedded_rows"] == 4, trial.run.out
    assert trial.plan.code == 0 and trial.plan.json["rows"]["to_embed"] == 4, trial.plan.out
    assert db.scalar("SELECT count(*) FROM chunks WHERE embedding IS NULL") == 0
    assert trial.verify.code == 1
    fails_with_citations_at_most(trial.verify.json["checks"], {"recompute", "source_coverage"})
    offenders = [json.loads(line) for line in (tmp_path / "first" / "run" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders if o["check"] == "recompute"} == {1, 6, 7, 10}
    assert [(o["key"], o["source_table"], o["source_key"]) for o in offenders if o["check"] == "source_coverage"] == [
        (None, "texts", 5)]
    assert trial.record.code == 0 and trial.record.json["entry"]["outcome"] != "succeeded", trial.record.out
    target = ("--profile", trial.profile, "--collection", "chunks")
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "first" / "run" / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 4, fixed.out + fixed.err
    # Measured: every chunk's vector is now its content's (the text without chunks stays for the app to re-chunk).
    with db.connect() as conn:
        rows = conn.execute("SELECT content, embedding::real[] FROM chunks ORDER BY id").fetchall()
    for (content, stored), fresh in zip(rows, httpx_embed(server, "nomic-embed-text", [r[0] for r in rows])):
        assert sum(a * b for a, b in zip(stored, fresh)) > 0.9999, content

# -- SciPhi-AI/R2R: asyncpg raw SQL, chunks in collections through a uuid[] array, the model in a TOML config ---------

R2R_DDL = """
CREATE SCHEMA IF NOT EXISTS "r2r_default";
CREATE OR REPLACE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql AS $$ SELECT gen_random_uuid() $$;
CREATE TABLE IF NOT EXISTS "r2r_default"."collections" (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(), owner_id UUID, name TEXT NOT NULL, description TEXT,
    graph_sync_status TEXT DEFAULT 'pending', graph_cluster_status TEXT DEFAULT 'pending',
    created_at TIMESTAMPTZ DEFAULT NOW(), updated_at TIMESTAMPTZ DEFAULT NOW(), user_count INT DEFAULT 0,
    document_count INT DEFAULT 0);
CREATE TABLE IF NOT EXISTS "r2r_default"."documents" (
    id UUID PRIMARY KEY, collection_ids UUID[], owner_id UUID, type TEXT, metadata JSONB, title TEXT, summary TEXT NULL,
    summary_embedding vector(1024) NULL, version TEXT, size_in_bytes INT, ingestion_status TEXT DEFAULT 'pending',
    extraction_status TEXT DEFAULT 'pending', created_at TIMESTAMPTZ DEFAULT NOW(), updated_at TIMESTAMPTZ DEFAULT NOW(),
    ingestion_attempt_number INT DEFAULT 0, total_tokens INT DEFAULT 0);
CREATE TABLE IF NOT EXISTS "r2r_default"."chunks" (
    id UUID PRIMARY KEY, document_id UUID, owner_id UUID, collection_ids UUID[], vec vector(1024), text TEXT,
    metadata JSONB, fts tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED);
CREATE INDEX IF NOT EXISTS idx_vectors_document_id ON "r2r_default"."chunks" (document_id);
CREATE INDEX IF NOT EXISTS idx_vectors_owner_id ON "r2r_default"."chunks" (owner_id);
CREATE INDEX IF NOT EXISTS idx_vectors_collection_ids ON "r2r_default"."chunks" USING GIN (collection_ids);
"""
R2R_OWNER = "2acb499e-8428-543b-bd85-0d9098718220"
R2R_DOCUMENTS = {"vacation.txt": ("handbook",), "holidays.txt": ("handbook",), "expenses.txt": ("handbook", "research"),
                 "paper.pdf": ("research",), "notes.txt": ("Default",)}  # expenses.txt is in two collections: so are its chunks
R2R_CHUNKS = "r2r_default.chunks"


def r2r_chunk_keys(db, title: str) -> list[str]:
    with db.connect() as conn:
        return [r[0] for r in conn.execute(
            "SELECT c.id::text FROM r2r_default.chunks c JOIN r2r_default.documents d ON d.id = c.document_id "
            "WHERE d.title = %s ORDER BY c.metadata->>'chunk_order'", (title,)).fetchall()]


@pytest.fixture(scope="module")
def r2r(pg, server, tmp_path_factory):
    """R2R's three tables (as create_tables makes them with base_dimension 1024) in one database for the module's
    tests, 5 documents of 6 chunks each stored as embed_document + upsert store them; 2 vectors lost."""
    from uuid import NAMESPACE_DNS, uuid5

    from tests.conftest import Database

    app = Source.of("SciPhi-AI__R2R").checkout("py", tmp_path_factory.mktemp("r2r") / "py", only=(
        "core/providers/database/", "core/providers/embeddings/", "core/configs/", "r2r/", "core/main/services/",
        "migrations/", "shared/abstractions/", "pyproject.toml"))
    created = (app / "core" / "providers" / "database" / "chunks.py").read_text()
    assert "collection_ids UUID[]" in created and 'vec vector({self.dimension})' in created
    name = "r2r_trial"
    pg.drop_database(name)
    db = Database(name, pg.create_database(name))
    db.execute(R2R_DDL)
    with db.connect(autocommit=True) as conn:
        ids = {c: conn.execute("INSERT INTO r2r_default.collections (owner_id, name) VALUES (%s, %s) RETURNING id::text",
                               (R2R_OWNER, c)).fetchone()[0] for c in ("Default", "handbook", "research")}
        for title, collections in R2R_DOCUMENTS.items():
            doc = uuid5(NAMESPACE_DNS, title)
            conn.execute("INSERT INTO r2r_default.documents (id, collection_ids, owner_id, type, metadata, title, version, "
                         "ingestion_status) VALUES (%s, %s::uuid[], %s, %s, %s, %s, 'v0', 'success')",
                         (doc, [ids[c] for c in collections], R2R_OWNER, title.rsplit(".", 1)[1],
                          json.dumps({"title": title, "version": "v0"}), title))
            texts = [f"{title} section {i}: the policy on {title.split('.')[0]} says rule {i} applies to everyone."
                     for i in range(6)]
            for i, (text, vector) in enumerate(zip(texts, httpx_embed(server, "mxbai-embed-large", texts))):
                conn.execute("INSERT INTO r2r_default.chunks (id, document_id, owner_id, collection_ids, vec, text, metadata) "
                             "VALUES (%s, %s, %s, %s::uuid[], %s::vector, %s, %s)",
                             (uuid5(doc, str(i)), doc, R2R_OWNER, [ids[c] for c in collections], str(vector), text,
                              json.dumps({"version": "v0", "chunk_order": i, "document_type": "txt"})))
    # One lost vector of a chunk in both collections, one of a research-only chunk.
    db.execute("UPDATE r2r_default.chunks SET vec = NULL WHERE id::text = ANY(%s)",
               ([r2r_chunk_keys(db, "expenses.txt")[1], r2r_chunk_keys(db, "paper.pdf")[4]],))
    try:
        yield app.parent, db, ids
    finally:
        pg.drop_database(name)


# -- supabase-community/nextjs-openai-doc-search: a build step that skips pages by their checksum -------------------

# Pages as `pages/**/*.mdx` files (the app's own one, read from the snapshot, plus ours); the app cuts each at its
# headings (the heading line stays in the section's content) and embeds the content with newlines as spaces.
DOCSEARCH_PAGES = {
    "/docs/guides": (None, "# Guides\n\nGuides on search and embeddings.\n\n## Row level security\n\n"
                           "Policies restrict which rows a role may read.\n"),
    "/docs/guides/search": ("/docs/guides", "# Semantic search\n\nMatch page sections by inner product.\n\n"
                                            "## Thresholds\n\nA match threshold of 0.78 keeps close sections only.\n"),
    "/docs/guides/auth": ("/docs/guides", "# Auth\n\nUsers sign in with a magic link.\n\n## Service role\n\n"
                                          "The service role key bypasses row level security.\n"),
    "/docs/faq": (None, "# FAQ\n\n## Why pgvector?\n\nIt keeps vectors beside the rows they describe.\n"),
}


def docsearch_sections(mdx: str) -> list[tuple[str, str | None]]:
    """(content, heading) of each section, cut at headings as the app's splitTreeBy does."""
    parts: list[list[str]] = []
    for line in mdx.splitlines():
        if line.startswith("#") and parts and any(x.strip() for x in parts[-1]):
            parts.append([])
        (parts[-1] if parts else parts.append([]) or parts[-1]).append(line)
    return [("\n".join(p).strip("\n") + "\n", p[0].lstrip("#").strip() if p[0].startswith("#") else None) for p in parts]


@pytest.fixture(scope="module")
def docsearch(pg, templates, server, tmp_path_factory):
    """The app's checkout and a template database: its migration, then every page stored as its build step stores
    it (the page with a NULL checksum, its sections with their vectors, then the page's checksum)."""
    import base64
    import hashlib

    import psycopg

    app = Source.of("supabase-community__nextjs-openai-doc-search").checkout("", tmp_path_factory.mktemp("docsearch"))
    pages = {"/docs/openai_embeddings": (None, (app / "pages" / "docs" / "openai_embeddings.mdx").read_text()),
             **DOCSEARCH_PAGES}
    with app_database(pg, templates, "docsearch") as name:
        with psycopg.connect(pg.dsn(name), autocommit=True) as conn:
            conn.execute((app / "supabase" / "migrations" / "20230406025118_init.sql").read_text())
            ids: dict[str, int] = {}
            for path, (parent, mdx) in pages.items():
                ids[path] = conn.execute("INSERT INTO nods_page (path, parent_page_id, checksum, type, source) "
                                         "VALUES (%s, %s, NULL, 'markdown', 'guide') RETURNING id",
                                         (path, ids.get(parent))).fetchone()[0]
                sections = docsearch_sections(mdx)
                vectors = httpx_embed(server, "text-embedding-ada-002", [c.replace("\n", " ") for c, _ in sections])
                for (content, heading), vector in zip(sections, vectors):
                    conn.execute("INSERT INTO nods_page_section (page_id, slug, heading, content, token_count, embedding) "
                                 "VALUES (%s, %s, %s, %s, %s, %s::vector)",
                                 (ids[path], heading and heading.lower().replace(" ", "-"), heading, content,
                                  len(content.split()), str(vector)))
                checksum = base64.b64encode(hashlib.sha256(mdx.encode()).digest()).decode()
                conn.execute("UPDATE nods_page SET checksum = %s WHERE id = %s", (checksum, ids[path]))
        yield app, name


def test_r2r_chunks_in_collections_through_a_uuid_array_with_the_model_in_a_toml_config(cli, r2r, server, tmp_path):
    """No --model: the draft takes the model from the Ollama config's [embedding] section at the column's dimension,
    the collection from the uuid[] column through the collections table it is named after (no foreign key)."""
    repo, db, _ = r2r
    handbook_before = db.scalar("SELECT count(*) FROM r2r_default.chunks WHERE vec IS NULL AND collection_ids && "
                                "(SELECT array_agg(id) FROM r2r_default.collections WHERE name = 'handbook')")
    trial = procedure(cli, db, server, repo, tmp_path, "research")
    located = trial.locate.json
    # The column interpolated into create_tables' CREATE TABLE (its table through _get_table_name: unresolved); a
    # SELECT's `$1::vector({vector_dim})`, a migration's UPDATE cast and the app's own `Vector(data=...)` are none.
    assert [(d["path"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("py/core/providers/database/chunks.py", "vec", None)]
    assert {(c["path"], c["kind"], c["model"], c["dimensions"]) for c in located["embedding_calls"]
            if c["kind"] == "ollama-config"} >= {("py/core/configs/ollama.toml", "ollama-config", "mxbai-embed-large", 1024)}
    assert located["best_entrypoint"] is None  # R2R re-embeds by re-ingesting through its API: the engine runs
    assert trial.init.json["todo"] == [], trial.init.json
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["provider"]["model"], raw["provider"]["dimensions"]) == ("mxbai-embed-large", 1024)
    assert "the application's Ollama embedder names it (ollama-config" in drafted
    assert raw["chunks"] | {"sources": None} == {
        "schema": "r2r_default", "table": "chunks", "id": "id", "text": "text", "collection": "collection_ids[]",
        "collection_table": {"schema": "r2r_default", "table": "collections", "key": "id", "name": "name"},
        "tenant": "owner_id", "sources": None}
    assert "reproduces the stored vectors of 5 of the 5 rows read" in drafted
    assert trial.scope.json["counts"].items() >= {"chunks": 12, "needed": 2}.items()
    assert_whole_procedure_ok(trial, db, R2R_CHUNKS, "vec", 30, needed=2)
    # The chunk shared with handbook was filled once, by research's run; Default's chunks untouched.
    assert handbook_before == 1
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    handbook = cli("scope", "--profile", trial.profile, "--collection", "handbook", "--json", env=env)
    assert handbook.code == 0 and handbook.json["counts"].items() >= {"chunks": 18, "needed": 0}.items(), handbook.out


def test_r2r_backfill_gone_wrong_is_named_row_by_row_and_repaired(cli, r2r, server, tmp_path):
    """Lost, stale, other-model and swapped vectors, and a document's chunks deleted, in the handbook collection:
    scope counts what it can and says what it cannot, verify names exactly those rows, --keys-from repairs them."""
    repo, db, _ = r2r
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", repo, "--database-url", db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0, init.err
    # The user takes up the draft's offer of the document table (source_coverage), as drafted.
    offer = ('# source: {schema: r2r_default, table: documents, key: id, chunk_key: document_id, '
             'collection: "collection_ids[]"}')
    text = profile.read_text()
    assert offer in text, text
    profile.write_text(text.replace(offer, offer[2:]))
    target = ("--profile", profile, "--collection", "handbook")
    if db.scalar("SELECT count(*) FROM r2r_default.chunks WHERE vec IS NULL"):  # the procedure's trial did not run
        assert cli("backfill", "--profile", profile, "--collection", "research", env=env).code == 0
    vacation, expenses = r2r_chunk_keys(db, "vacation.txt"), r2r_chunk_keys(db, "expenses.txt")
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE r2r_default.chunks SET vec = NULL WHERE id = %s", (vacation[0],))  # lost
        conn.execute("UPDATE r2r_default.chunks SET text = text || ' Unused days expire in March.' WHERE id = %s",
                     (vacation[1],))  # edited after its vector
        conn.execute("UPDATE r2r_default.chunks SET vec = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(vec::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (vacation[2],))  # another model
        conn.execute("UPDATE r2r_default.chunks d SET vec = o.vec FROM r2r_default.chunks o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (vacation[3], expenses[3], expenses[3], vacation[3]))
        # A document's chunks deleted, its row left (R2R deletes both): nothing of it is found any more.
        holidays = conn.execute("SELECT id::text FROM r2r_default.documents WHERE title = 'holidays.txt'").fetchone()[0]
        conn.execute("DELETE FROM r2r_default.chunks WHERE document_id = %s", (holidays,))
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"].items() >= {"chunks": 12, "missing": 1, "needed": 1,
                                                                       "stale": None}.items()
    # verify's checks, read in process (the procedure's trial runs the CLI's verify; a second pytest process would add
    # 5-9 s to the suite): each fails naming exactly the damaged rows.
    from harness.checks import CheckOptions, open_session
    from harness.checks.counted import coverage
    from harness.checks.recompute import recompute
    from harness.checks.source_coverage import source_coverage
    from harness.profile import load_profile
    from harness.settings import resolve

    session = open_session(resolve(load_profile(profile, env=env), database_url=db.dsn, env=env),
                           CheckOptions(collections=("handbook",)))
    try:
        found = {check.__name__: check(session, "handbook") for check in (coverage, recompute, source_coverage)}
    finally:
        session.close()
    assert {name: o.status for name, o in found.items()} == dict.fromkeys(found, "failed"), found
    assert {(name, str(off.id)) for name, o in found.items() for off in o.offenders} == {
        ("coverage", vacation[0]), ("recompute", vacation[1]), ("recompute", vacation[2]), ("recompute", vacation[3]),
        ("recompute", expenses[3]), ("source_coverage", holidays)}
    assert {off.collection for o in found.values() for off in o.offenders} == {"handbook"}
    assert "11 embedded, 1 missing" in found["coverage"].found and "4 of 11 rows off" in found["recompute"].found, found
    # handbook's 3 documents (vacation, holidays, expenses), not the other collections' 2
    assert "3 documents rows, 1 without chunks" in found["source_coverage"].found, found["source_coverage"]
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "keys.txt").write_text("".join(f"{off.id}\n" for o in found.values() for off in o.offenders))
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "keys.txt", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5 and fixed.json["keys_missing"] == 1, fixed.out + fixed.err
    # Measured, not parsed: each repaired row holds exactly the model's vector of its text now, the lost one too.
    repaired = [vacation[0], vacation[1], vacation[2], vacation[3], expenses[3]]
    with db.connect() as conn:
        rows = conn.execute("SELECT id::text, text, vec::text FROM r2r_default.chunks WHERE id::text = ANY(%s) ORDER BY 1",
                            (repaired,)).fetchall()
    assert len(rows) == 5 and all(vec is not None for _, _, vec in rows)
    expected = httpx_embed(server, "mxbai-embed-large", [text for _, text, _ in rows])
    assert all(json.loads(vec) == pytest.approx(want, abs=1e-6) for (_, _, vec), want in zip(rows, expected))

@pytest.fixture
def docsearch_db(pg, docsearch):
    from ..conftest import _database

    yield from _database(pg, docsearch[1])


def test_nextjs_openai_doc_search_sections_under_pages_whose_build_step_writes_through_supabases_api(
        cli, docsearch, docsearch_db, server, tmp_path):
    """The sections hold their own text and vector; the page holds the checksum the build step skips by. The build
    step reaches the database through Supabase's REST API and embeds through OpenAI's SDK: scope said `unknown`
    for both and `Scope ok`; the draft now leaves it out and the engine runs."""
    app, db = docsearch[0], docsearch_db
    db.execute("UPDATE nods_page_section SET embedding = NULL WHERE id IN (2, 5)")  # lost in a restore
    trial = procedure(cli, db, server, app, tmp_path, "nods_page_section", plan=True)
    assert trial.plan.code == 0 and trial.plan.json["rows"]["to_embed"] == 2, trial.plan.out
    located = trial.locate.json
    assert ("lib/generate-embeddings.ts", "createEmbedding", "text-embedding-ada-002") in {
        (c["path"], c["name"], c["model"]) for c in located["embedding_calls"]}
    assert [(d["table"], d["column"]) for d in located["declarations"]] == [("public.nods_page_section", "embedding")]
    assert located["best_entrypoint"] == "pnpm run embeddings:refresh"  # `embeddings` skips unchanged pages
    drafted, raw = trial.profile.read_text(), yaml.safe_load(trial.profile.read_text())
    assert trial.init.json["todo"] == [] and not raw.get("backfill")
    assert '# command: "pnpm run embeddings:refresh"' in drafted and "(NEXT_PUBLIC_SUPABASE_URL), never DATABASE_URL" in drafted
    assert "openai-node 3's client, which takes no base URL but from code" in drafted
    assert (raw["chunks"]["table"], raw["chunks"]["text"], raw["chunks"]["sources"], raw["distance"]) == (
        "nods_page_section", "content", ["page_id"], "ip")
    # The build step embeds `content.replace(/\n/g, ' ')`: so do the engine and recompute (hash-embed cannot tell).
    assert raw["chunks"]["text_newlines"] == "space"
    assert "# source: {table: nods_page, key: id, chunk_key: page_id}" in drafted
    assert "# nods_page.checksum is a hash of the whole nods_page row's document, not of a chunk's text" in drafted
    assert_whole_procedure_ok(trial, db, "nods_page_section", "embedding", 10, needed=2)

    # The build step itself, as the user's profile would name it: both contract checks fail, saying why.
    profile = tmp_path / "command.yaml"
    profile.write_text(trial.profile.read_text().replace(
        "\nbackfill:\n", f"\nbackfill:\n  command: pnpm run embeddings:refresh\n  workdir: {app}\n", 1))
    scoped = cli("scope", "--profile", profile, "--collection", "nods_page_section", "--json",
                 env={"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url, "NEXT_PUBLIC_SUPABASE_URL": ""})
    checks = {c["check"]: c for c in scoped.json["checks"]}
    assert scoped.code == 1
    assert checks["command receives the database"]["status"] == "failed"
    assert "HTTP API (NEXT_PUBLIC_SUPABASE_URL" in checks["command receives the database"]["found"]
    assert checks["command reaches the provider"]["status"] == "failed"
    assert "OpenAI's API (lib/generate-embeddings.ts:428: openai-node 3's client" in \
        checks["command reaches the provider"]["found"]

    # Row-level security is on with no policy: a role it applies to sees nothing, and no session could show a row.
    db.execute("CREATE ROLE docs_anon LOGIN PASSWORD 'anon-pw'; GRANT SELECT ON nods_page, nods_page_section TO docs_anon")
    anon = db.dsn.replace(db.dsn.split("//")[1].split("@")[0], "docs_anon:anon-pw")
    hidden = cli("scope", "--profile", trial.profile, "--collection", "nods_page_section", "--json",
                 env={"DATABASE_URL": anon, "OLLAMA_HOST": server.url})
    reason = hidden.json.get("reason") or hidden.json.get("error") or ""
    assert hidden.code != 0 and "shows no chunks to role docs_anon" in reason, hidden.out
    assert "has no policy" in reason and "database.session" not in reason, reason
    db.execute("DROP OWNED BY docs_anon; DROP ROLE docs_anon")


def test_nextjs_openai_doc_search_vectors_the_checksum_skip_left_behind(cli, docsearch, docsearch_db, server, tmp_path):
    """What a checksum per page leaves wrong: the pages the build step skipped after a model change keep the old
    model's vectors, a section edited in the database keeps its vector (its page's checksum is the file's), a
    crash after deleting a page's sections leaves the page without any; plus lost and swapped vectors. Scope
    counts what it can and says what it cannot; verify names exactly the offenders; the engine repairs them."""
    import numpy as np

    app, db = docsearch[0], docsearch_db
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0, init.err
    # The user takes the draft's advice: the page table as the source of the sections.
    profile.write_text(re.sub(r"^# (source: \{.*?\})  #.*$", r"\1", profile.read_text(), flags=re.M))
    with db.connect(autocommit=True) as conn:
        section = {(p, h): i for i, p, h in conn.execute(
            "SELECT s.id, p.path, s.heading FROM nods_page_section s JOIN nods_page p ON p.id = s.page_id").fetchall()}
        old = [section[("/docs/guides/auth", "Auth")], section[("/docs/guides/auth", "Service role")]]
        for key in old:  # an earlier model's vectors, never replaced: the page's checksum did not change
            text = conn.execute("SELECT content FROM nods_page_section WHERE id = %s", (key,)).fetchone()[0]
            v = np.tile(np.array(httpx_embed(server, "hash-embed:384", [text.replace("\n", " ")])[0]), 4)
            conn.execute("UPDATE nods_page_section SET embedding = %s::vector WHERE id = %s",
                         (str((v / np.linalg.norm(v)).tolist()), key))
        edited = section[("/docs/guides/search", "Thresholds")]
        conn.execute("UPDATE nods_page_section SET content = content || 'Raised to 0.8 for short pages.' "
                     "WHERE id = %s", (edited,))
        lost = [section[("/docs/openai_embeddings", "OpenAI Embeddings")], section[("/docs/faq", "FAQ")]]
        conn.execute("UPDATE nods_page_section SET embedding = NULL WHERE id = ANY(%s)", (lost,))
        swapped = [section[("/docs/guides/search", "Semantic search")], section[("/docs/faq", "Why pgvector?")]]
        conn.execute("UPDATE nods_page_section d SET embedding = o.embedding FROM nods_page_section o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (*swapped, *swapped[::-1]))
        page = conn.execute("UPDATE nods_page SET checksum = NULL WHERE path = '/docs/guides' RETURNING id").fetchone()[0]
        conn.execute("DELETE FROM nods_page_section WHERE page_id = %s", (page,))
    target = ("--profile", profile, "--collection", "nods_page_section")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and (scoped.json["counts"]["missing"], scoped.json["counts"]["needed"]) == (2, 2)
    assert scoped.json["counts"]["stale"] is None and scoped.json["counts"]["other_model"] is None  # unknowable here
    assert "6 stored vectors whether current unknown" in cli("scope", *target, env=env).out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"coverage", "recompute", "source_coverage"})
    coverage = next(c for c in damaged.json["checks"] if c["check"] == "coverage")
    assert "tenant None" not in coverage["found"] and "2 missing" in coverage["found"], coverage
    by_check = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert by_check["coverage"] == set(lost)
    assert by_check["recompute"] == {*old, edited, *swapped}
    assert by_check["source_coverage"] == {("nods_page", page)}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 7, fixed.out + fixed.err
    # Every row is right again; the deleted sections are the build step's to make again (the page's NULL checksum
    # makes it redo the page), so source_coverage still fails.
    again = checked_again(profile, env, "nods_page_section")
    assert [c for c, status in again.items() if status == "failed"] == ["source_coverage"], again
    assert again["coverage"] == again["recompute"] == "passed"


# -- discourse/discourse-ai: a plugin's halfvec table of every model side by side, the model a row of its own table --

DISCOURSE_AI_DDL = """
CREATE TABLE embedding_definitions (id bigserial PRIMARY KEY, display_name varchar NOT NULL, dimensions integer NOT NULL,
  max_sequence_length integer NOT NULL, version integer NOT NULL DEFAULT 1, pg_function varchar NOT NULL,
  provider varchar NOT NULL, tokenizer_class varchar NOT NULL, url varchar NOT NULL, api_key varchar,
  seeded boolean NOT NULL DEFAULT false, provider_params jsonb, created_at timestamp(6) NOT NULL,
  updated_at timestamp(6) NOT NULL, embed_prompt varchar NOT NULL DEFAULT '', search_prompt varchar NOT NULL DEFAULT '',
  matryoshka_dimensions boolean NOT NULL DEFAULT false);
CREATE TABLE rag_document_fragments (id bigserial PRIMARY KEY, fragment text NOT NULL, upload_id integer NOT NULL,
  fragment_number integer NOT NULL, created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL, metadata text,
  target_id bigint NOT NULL, target_type varchar(800) NOT NULL);
CREATE INDEX index_rag_document_fragments_on_target_type_and_target_id ON rag_document_fragments (target_type, target_id);
CREATE TABLE ai_document_fragments_embeddings (rag_document_fragment_id bigint NOT NULL, model_id bigint NOT NULL,
  model_version integer NOT NULL, strategy_id integer NOT NULL, strategy_version integer NOT NULL, digest text NOT NULL,
  embeddings halfvec NOT NULL, created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL);
CREATE UNIQUE INDEX index_ai_fragments_embeddings_on_model_strategy_fragment
  ON ai_document_fragments_embeddings (model_id, strategy_id, rag_document_fragment_id);
INSERT INTO embedding_definitions (id, display_name, dimensions, max_sequence_length, pg_function, provider,
  tokenizer_class, url, api_key, provider_params, created_at, updated_at) VALUES
  (1, 'mxbai-embed-large', 1024, 512, '<#>', 'open_ai', 'DiscourseAi::Tokenizer::BgeLargeEnTokenizer',
   'http://localhost:11434/v1/embeddings', 'none', '{"model_name": "mxbai-embed-large"}', now(), now()),
  (2, 'nomic-embed-text', 768, 8192, '<=>', 'open_ai', 'DiscourseAi::Tokenizer::AllMpnetBaseV2Tokenizer',
   'http://localhost:11434/v1/embeddings', 'none', '{"model_name": "nomic-embed-text"}', now(), now());
"""
DISCOURSE_AI_FRAGMENTS = ["Refunds are approved by the billing team within five working days.",
                          "The VPN client must be updated every quarter.",
                          "Travel above five hundred dollars needs a manager's approval.",
                          "Laptops are encrypted with the standard disk policy."]


def discourse_ai_model_rows(db, model_id: int) -> dict[int, str]:
    with db.connect() as conn:
        return dict(conn.execute("SELECT rag_document_fragment_id, embeddings::text FROM ai_document_fragments_embeddings "
                                 "WHERE model_id = %s", (model_id,)).fetchall())


def test_discourse_ai_fragments_of_two_models_side_by_side_in_one_halfvec_table(cli, empty_db, server, tmp_path):
    """A Discourse plugin: three halfvec tables (no width) keyed by (model_id, strategy_id, target), the model an
    integer id of its own embedding_definitions row, earlier per-model tables dropped by later migrations. Two models'
    vectors of 3 uploads' fragments side by side; definition 2's gone wrong (2 lost, an edit after its vector, another
    model's vector, 2 swapped across uploads, a fragment deleted under its rows). Scope counts the lost of model 2 only,
    run fills them, verify names the rest, --keys-from repairs them; model 1's 12 rows are never touched."""
    import hashlib

    app = Source.of("discourse__discourse-ai").checkout("", tmp_path / "app", only=("db/", "lib/", "app/models/",
                                                                                  "plugin.rb"))
    db, env = empty_db, {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    db.execute(DISCOURSE_AI_DDL)
    with db.connect(autocommit=True) as conn:
        for upload in (11, 12, 13):
            for number, text in enumerate(DISCOURSE_AI_FRAGMENTS):
                fragment = f"Upload {upload}, part {number}: {text}"
                key = conn.execute("INSERT INTO rag_document_fragments (fragment, upload_id, fragment_number, created_at, "
                                   "updated_at, target_id, target_type) VALUES (%s, %s, %s, now(), now(), %s, "
                                   "'AiPersona') RETURNING id", (fragment, upload, number, upload - 10)).fetchone()[0]
                for model_id, model in ((1, "mxbai-embed-large"), (2, "nomic-embed-text")):  # as Schema#store does
                    conn.execute("INSERT INTO ai_document_fragments_embeddings VALUES (%s, %s, 1, 1, 1, %s, %s::halfvec, "
                                 "now(), now())", (key, model_id, hashlib.sha1(fragment.encode()).hexdigest(),
                                                   str(httpx_embed(server, model, [fragment])[0])))
        conn.execute("UPDATE rag_document_fragments SET fragment = fragment || ' Weekends excluded.' WHERE id = 1")
        conn.execute("UPDATE ai_document_fragments_embeddings SET embeddings = (SELECT array_agg(x ORDER BY o DESC) "
                     "FROM unnest(embeddings::real[]) WITH ORDINALITY AS u(x, o))::halfvec "
                     "WHERE model_id = 2 AND rag_document_fragment_id = 6")
        conn.execute("UPDATE ai_document_fragments_embeddings d SET embeddings = o.embeddings FROM "
                     "ai_document_fragments_embeddings o WHERE d.model_id = 2 AND o.model_id = 2 AND "
                     "(d.rag_document_fragment_id, o.rag_document_fragment_id) IN ((3, 10), (10, 3))")
        conn.execute("DELETE FROM ai_document_fragments_embeddings WHERE model_id = 2 AND rag_document_fragment_id IN (4, 8)")
        conn.execute("DELETE FROM rag_document_fragments WHERE id = 12")
    model_1 = discourse_ai_model_rows(db, 1)

    def decide(text: str) -> str:  # the user's three decisions: the definition's versions, the digest (left empty)
        return (text.replace("model_version: TODO", 'model_version: "1"')
                .replace("strategy_version: TODO", 'strategy_version: "1"').replace("digest: TODO", "digest: \"''\""))

    trial = procedure(cli, db, server, app, tmp_path / "first", "rag_document_fragments", model="nomic-embed-text",
                      edit=decide, plan=True)
    located = trial.locate.json
    now = {(d["path"], d["table"], d["type"], d["dimensions"]) for d in located["declarations"] if not d["superseded"]}
    assert now == {("db/migrate/20241230153300_new_embeddings_tables.rb", t, "halfvec", None)
                   for t in ("ai_topics_embeddings", "ai_posts_embeddings", "ai_document_fragments_embeddings")}
    dropped = {d["table"] for d in located["declarations"] if d.get("dropped")}
    assert {"ai_topic_embeddings_1_1", "ai_document_fragment_embeddings_7_1", "ai_topic_embeddings"} <= dropped
    assert located["declared_dimensions"] == []  # each model's width is its definition row's, not the schema's
    # Its own backfill is a rake task the host Discourse runs (no Rakefile here): listed, never the command drafted.
    hosted = {e["command"]: e for e in located["entrypoints"] if e.get("host")}
    assert "bin/rails ai:embeddings:backfill" in hosted and located["best_entrypoint"] is None
    # The draft: the unique key's model column (two models stored) is the embedding_definitions row that names the
    # model, the strategy the one stored; the NOT NULL bookkeeping columns drafted (timestamps now(), the rest named).
    assert trial.init.json["todo"] == ["embeddings.defaults.model_version", "embeddings.defaults.strategy_version",
                                       "embeddings.defaults.digest"]
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["chunks"]["table"], raw["chunks"]["text"], raw["embeddings"]["key"], raw["embeddings"]["vector"]) == (
        "rag_document_fragments", "fragment", "rag_document_fragment_id", "embeddings")
    assert raw["embeddings"]["filter"] == {"model_id": 2, "strategy_id": 1}
    # The text measured on model 2's rows through the key: of the first 5 read, the damage left 2 reproducing.
    assert "not measured: no column of fragment" in trial.profile.read_text() and "(at best 2)" in trial.profile.read_text()
    assert ("Stored: {model_id: 1, strategy_id: 1} 12 rows; {model_id: 2, strategy_id: 1} 10 rows; model_id 2 is the "
            "embedding_definitions row id = 2, which names nomic-embed-text") in trial.profile.read_text()
    # scope counts model 2's rows alone: 11 fragments, 2 lost (each still has model 1's vector), no dimension mismatch
    # for model 1's 1024-wide ones; the edit, the foreign and the swapped vectors no count can see.
    assert trial.scope.code == 0, trial.scope.out
    counts = trial.scope.json["counts"]
    assert (counts["chunks"], counts["embedded"], counts["missing"], counts["needed"]) == (11, 9, 2, 2)
    checks = {c["check"]: c for c in trial.scope.json["checks"]}
    assert checks["rows per chunk"]["status"] == "passed" and checks["dimensions agree"]["status"] == "passed"
    assert trial.plan.code == 0 and trial.plan.json["rows"]["to_embed"] == 2, trial.plan.out
    assert trial.run.code == 0 and trial.run.json["embedded_rows"] == 2, trial.run.out
    assert trial.verify.code == 1
    failed = {c["check"] for c in trial.verify.json["checks"] if c["status"] == "failed"}
    assert failed == {"recompute", "coverage"}, trial.verify.out
    offenders = [json.loads(line) for line in (tmp_path / "first" / "run" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders if o["check"] == "recompute"} == {1, 3, 6, 10}
    assert {o["key"] for o in offenders if o["check"] == "coverage"} == {12}  # model 2's row of the deleted fragment
    assert trial.record.code == 0 and trial.record.json["entry"]["outcome"] != "succeeded", trial.record.out
    fixed = cli("backfill", "--profile", trial.profile, "--collection", "rag_document_fragments", "--keys-from",
                tmp_path / "first" / "run" / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 4, fixed.out + fixed.err
    # Measured: each fragment's model-2 row holds its text's vector, written with the filter's values; model 1's rows
    # are exactly as they were.
    with db.connect() as conn:
        rows = conn.execute("SELECT f.fragment, e.embeddings::text, e.strategy_id FROM rag_document_fragments f JOIN "
                            "ai_document_fragments_embeddings e ON e.rag_document_fragment_id = f.id AND e.model_id = 2 "
                            "ORDER BY f.id").fetchall()
    assert len(rows) == 11 and {r[2] for r in rows} == {1}
    for (fragment, stored, _), fresh in zip(rows, httpx_embed(server, "nomic-embed-text", [r[0] for r in rows])):
        assert sum(a * b for a, b in zip(json.loads(stored), fresh)) > 0.999, fragment
    assert discourse_ai_model_rows(db, 1) == model_1


# -- topoteretes/cognee: a table per collection (id uuid, payload json, vector), the text a key of the JSON payload ----

# cognee's index rows, written as PGVectorAdapter.create_collection / create_data_points write them: the table by
# SQLAlchemy from the three columns the adapter declares, each row's payload the model_dump() of the adapter's own
# IndexSchema (its class read from the snapshot), the vector from /api/embed with "dimensions" as OllamaEmbeddingEngine
# sends it (one text a request). The LLM calls of cognify (entities, summaries) are not run: their outputs are given.
COGNEE_INDEX = '''
import importlib.util, json, re, sys, types
from typing import List, Optional
from uuid import UUID
import httpx
from pgvector.sqlalchemy import Vector
from sqlalchemy import JSON, Column, create_engine, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
src, dsn, ollama, model, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
for name in ("cognee", "cognee.infrastructure", "cognee.infrastructure.engine", "cognee.infrastructure.engine.models",
             "cognee.infrastructure.engine.utils"):
    package = types.ModuleType(name)
    package.__path__ = [src + "/" + name.replace(".", "/")]
    sys.modules[name] = package
from cognee.infrastructure.engine.models.DataPoint import DataPoint
folder = src + "/cognee/infrastructure/databases/vector/pgvector/"
spec = importlib.util.spec_from_file_location("serialize_data", folder + "serialize_data.py")
serialize = importlib.util.module_from_spec(spec)
spec.loader.exec_module(serialize)
adapter = open(folder + "PGVectorAdapter.py").read()
exec(re.search(r"^class IndexSchema\\(DataPoint\\):.*?(?=^class )", adapter, re.S | re.M).group(0))
class Base(DeclarativeBase):
    pass
engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
tables = {}
for collection in dict.fromkeys(r["collection"] for r in rows):
    tables[collection] = type(collection, (Base,), {"__tablename__": collection, "__table_args__": {"extend_existing": True},
                                                    "__annotations__": {"id": Mapped[UUID]},
                                                    "id": mapped_column(primary_key=True), "payload": Column(JSON),
                                                    "vector": Column(Vector(768))}).__table__
Base.metadata.create_all(engine)
with httpx.Client(timeout=30) as client, engine.begin() as conn:
    for r in rows:
        point = IndexSchema(id=UUID(r["id"]), text=r["text"].strip(), **r.get("fields", {}))
        vector = client.post(ollama + "/api/embed", json={"model": model, "input": point.text,
                                                          "dimensions": 768}).json()["embeddings"][0]
        conn.execute(insert(tables[r["collection"]]).values(id=point.id, vector=vector,
                                                            payload=serialize.serialize_data(point.model_dump())))
'''
# cognee's relational `data` table (cognee/modules/data/models/Data.py), the columns a chunk's document_id names.
COGNEE_DATA_DDL = """CREATE TABLE data (id uuid PRIMARY KEY, label varchar, name varchar, extension varchar,
    mime_type varchar, raw_data_location varchar, owner_id uuid, tenant_id uuid, dataset_id uuid, content_hash varchar,
    created_at timestamptz, updated_at timestamptz)"""
COGNEE_DOCUMENTS = {
    "alpine_huts.txt": ("Alpine huts open in late June and close in September.",
                        "Bookings for the huts are made by phone; a deposit of thirty euros is required.",
                        "Dogs are not allowed inside the huts, but may sleep in the boot room.",
                        "Half board includes dinner and breakfast; packed lunches cost extra."),
    "glacier_safety.txt": ("Never cross a glacier without a rope team of at least three.",
                           "Crevasses hide under fresh snow in the early morning.",
                           "Carry a prusik loop, an ice screw and a pulley for crevasse rescue.",
                           "Turn back when the snow bridges soften in the afternoon sun."),
    "trail_markers.txt": ("White-red-white marks a mountain trail; white-blue-white an alpine route.",
                          "Yellow signposts give walking times, not distances.",
                          "A trail closed for rockfall is marked by a red and white barrier.",
                          "Cairns mark the way across scree where paint does not last."),
}
COGNEE_ENTITIES = ("alpine hut", "glacier", "crevasse", "rope team", "prusik loop", "trail marker", "cairn", "rockfall")


def cognee_rows(owner: str, dataset: str) -> tuple[list[dict], list[tuple]]:
    """The index rows cognify writes for the documents (chunk ids as TextChunker makes them) and the `data` rows."""
    import uuid

    rows, data = [], []
    for name, chunks in COGNEE_DOCUMENTS.items():
        document = uuid.uuid5(uuid.NAMESPACE_URL, f"cognee-trial/{name}")
        data.append((str(document), name, owner, dataset))
        for index, text in enumerate(chunks):
            chunk = uuid.uuid5(uuid.NAMESPACE_OID, f"{document}-{index}")
            fields = {"document_id": str(document), "document_name": name, "chunk_index": index}
            rows.append({"collection": "DocumentChunk_text", "id": str(chunk), "text": text + "\n", "fields": fields})
            rows.append({"collection": "TextSummary_text", "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"summary-{chunk}")),
                         "text": f"Summary: {text.lower()}"})
    rows += [{"collection": "Entity_name", "id": str(uuid.uuid5(uuid.NAMESPACE_OID, e.replace(" ", "_"))), "text": e}
             for e in COGNEE_ENTITIES]
    return rows, data


def load_cognee(db, server, src: Path) -> None:
    owner, dataset = "9a1f0c3e-7b2d-4c5e-8f60-1a2b3c4d5e6f", "2b7e4f10-3c8d-4a9b-b1c2-d3e4f5a6b7c8"
    rows, data = cognee_rows(owner, dataset)
    db.execute(COGNEE_DATA_DDL)
    with db.connect(autocommit=True) as conn:
        for key, name, own, ds in data:
            conn.execute("INSERT INTO data (id, name, extension, mime_type, owner_id, dataset_id, created_at) "
                         "VALUES (%s, %s, 'txt', 'text/plain', %s, %s, now())", (key, name, own, ds))
    done = subprocess.run([sys.executable, "-c", COGNEE_INDEX, str(src), db.dsn, server.url, "nomic-embed-text:latest",
                           json.dumps(rows)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def cognee_app(tmp_path: Path) -> Path:
    """The library's package (its 730 test files left out: locate skips them anyway), its .env template and
    pyproject; its examples, docs and frontend left out."""
    package = tuple(f"cognee/{p}" for p in (
        "modules/", "infrastructure/", "tasks/", "api/", "eval_framework/", "alembic", "cli/", "shared/",
        "memify_pipelines/", "pipelines/", "memory/", "__", "base_config.py", "context_global_variables.py",
        "low_level.py", "root_dir.py", "run_migrations.py", "version.py"))
    return Source.of("topoteretes__cognee").checkout("", tmp_path / "app", only=(*package, ".env.template",
                                                                                 "pyproject.toml"))


@pytest.fixture(scope="module")
def cognee(pg, templates, server, tmp_path_factory):
    """The app's checkout and a template database holding three of cognify's collections (DocumentChunk_text,
    TextSummary_text, Entity_name: a table each) and the relational `data` rows of the three documents."""

    from tests.conftest import Database

    app = cognee_app(tmp_path_factory.mktemp("cognee"))
    adapter = (app / "cognee/infrastructure/databases/vector/pgvector/PGVectorAdapter.py").read_text()
    assert "__tablename__ = collection_name" in adapter and "payload = Column(JSON)" in adapter  # the shape relied on
    with app_database(pg, templates, "cognee") as name:
        load_cognee(Database(name, pg.dsn(name)), server, app)
        yield app, name


@pytest.fixture
def cognee_db(pg, cognee):
    from ..conftest import _database

    yield from _database(pg, cognee[1])


COGNEE_CHUNKS = '"DocumentChunk_text"'
COGNEE_OTHERS = ("SELECT md5(string_agg(id::text || vector::text || payload::text, ',' ORDER BY id)) FROM "
                 "(SELECT * FROM \"Entity_name\" UNION ALL SELECT * FROM \"TextSummary_text\") o")


def cognee_chunk(conn, document: str, index: int) -> str:
    return conn.execute(f"SELECT id::text FROM {COGNEE_CHUNKS} WHERE payload->>'document_name' = %s "
                        "AND (payload->>'chunk_index')::int = %s", (document, index)).fetchone()[0]


def test_cognee_collection_tables_with_the_text_in_a_json_payload(cli, cognee, cognee_db, server, tmp_path):
    """cognee's PGVectorAdapter: a table per collection made at runtime (`id uuid`, `payload json`, `vector`), the
    text embedded under payload->>'text', the model and dimension in the .env template's Ollama block; cognify (an
    LLM pipeline) is no command to run here. A restore lost 3 chunk vectors."""
    app, db = cognee
    db = cognee_db
    with db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute(f"SELECT id, vector::text FROM {COGNEE_CHUNKS}").fetchall())
    others = db.scalar(COGNEE_OTHERS)
    db.execute(f"UPDATE {COGNEE_CHUNKS} SET vector = NULL WHERE id IN (SELECT id FROM {COGNEE_CHUNKS} ORDER BY id LIMIT 3)")
    trial = procedure(cli, db, server, app, tmp_path, "DocumentChunk_text", init_args=("--table", "DocumentChunk_text"),
                      plan=True)

    # locate: the adapter's table named at runtime (not its class), no LanceDB `Vector` taken for a column, the Ollama
    # block of the .env template with its model and dimension, and the benchmark's ingest not taken as the backfill.
    located = trial.locate.json
    assert {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]} == {
        ("cognee/infrastructure/databases/vector/pgvector/PGVectorAdapter.py", "{collection_name}", "vector", None)}
    assert (".env.template", "ollama-config", "nomic-embed-text:latest", "EMBEDDING_MODEL", 768) in {
        (c["path"], c["kind"], c["model"], c["model_env"], c["dimensions"]) for c in located["embedding_calls"]}
    assert located["best_entrypoint"] is None
    ingest = next(e for e in located["entrypoints"] if e["name"] == "cognee.eval_framework.beam.local_ingest")
    assert not ingest["may_embed"]
    # profile init needs no edit: the text is the payload's key, the model the template's Ollama one, no command.
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["text"], raw["provider"]["model"], raw["provider"]["dimensions"]) == (
        "DocumentChunk_text", "payload->>'text'", "nomic-embed-text", 768)
    assert ".env.template" in drafted and "command" not in (raw.get("backfill") or {})
    assert "other vector columns in this database: public.Entity_name.vector, public.TextSummary_text.vector" in drafted
    # The adapter's search (cosine_distance on the collection's `vector`) speaks of every collection's table.
    distance = next(line for line in drafted.splitlines() if line.startswith("distance:"))
    assert distance.startswith("distance: cosine") and "PGVectorAdapter.py:590" in distance, distance
    assert_whole_procedure_ok(trial, db, COGNEE_CHUNKS, "vector", 12, needed=3)
    assert trial.plan.json["rows"]["to_embed"] == 3
    assert "9 stored vectors whether current unknown" in trial.plan.json["risk"]["reasons"][0]
    # Measured: the engine wrote what cognee's own write path wrote, and the other collections are as they were.
    with db.connect(autocommit=True) as conn:
        assert dict(conn.execute(f"SELECT id, vector::text FROM {COGNEE_CHUNKS}").fetchall()) == app_vectors
    assert db.scalar(COGNEE_OTHERS) == others


def test_cognee_backfill_gone_wrong_is_named_row_by_row_and_repaired(cli, cognee, cognee_db, server, tmp_path):
    """The draft with its offered source uncommented (`data`, which each chunk names under payload->>'document_id');
    then a chunk's text edited in its payload, 2 vectors of another model, 2 swapped across documents, 1 lost and a
    document's chunks deleted: scope counts the lost one and says what it cannot see; verify names each offender."""
    app, db = cognee[0], cognee_db
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--output", profile, "--table",
               "DocumentChunk_text", "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    # The user takes the draft's advice: the documents (`data`, every chunk's payload->>'document_id') as the source.
    drafted = profile.read_text()
    assert "# source: {table: data, key: id, chunk_key: \"payload->>'document_id'\"}" in drafted, drafted
    profile.write_text(re.sub(r"^# (source: \{.*?\})  #.*$", r"\1", drafted, flags=re.M))
    with db.connect(autocommit=True) as conn:
        edited = cognee_chunk(conn, "alpine_huts.txt", 1)
        conn.execute(f"UPDATE {COGNEE_CHUNKS} SET payload = jsonb_set(payload::jsonb, '{{text}}', "
                     "'\"Bookings are made online; no deposit.\"')::json WHERE id = %s", (edited,))
        other = [cognee_chunk(conn, "alpine_huts.txt", 3), cognee_chunk(conn, "glacier_safety.txt", 0)]
        conn.execute(f"UPDATE {COGNEE_CHUNKS} SET vector = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(vector::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = ANY(%s::uuid[])", (other,))
        swapped = [cognee_chunk(conn, "glacier_safety.txt", 2), cognee_chunk(conn, "alpine_huts.txt", 0)]
        conn.execute(f"UPDATE {COGNEE_CHUNKS} d SET vector = o.vector FROM {COGNEE_CHUNKS} o "
                     "WHERE (d.id, o.id) IN ((%s::uuid, %s::uuid), (%s::uuid, %s::uuid))", (*swapped, *swapped[::-1]))
        lost = cognee_chunk(conn, "glacier_safety.txt", 3)
        conn.execute(f"UPDATE {COGNEE_CHUNKS} SET vector = NULL WHERE id = %s", (lost,))
        gone = conn.execute(f"DELETE FROM {COGNEE_CHUNKS} WHERE payload->>'document_name' = 'trail_markers.txt' "
                            "RETURNING payload->>'document_id'").fetchall()[0][0]
    target = ("--profile", profile, "--collection", "DocumentChunk_text")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and (scoped.json["counts"]["missing"], scoped.json["counts"]["needed"]) == (1, 1)
    assert scoped.json["counts"]["stale"] is None and scoped.json["counts"]["other_model"] is None
    assert "7 stored vectors whether current unknown" in cli("scope", *target, env=env).out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"coverage", "recompute", "source_coverage"})
    by_check = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert by_check["coverage"] == {lost}
    assert by_check["recompute"] == {edited, *other, *swapped}
    assert by_check["source_coverage"] == {("data", gone)}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 6, fixed.out + fixed.err
    again = checked_again(profile, env, "DocumentChunk_text")
    # The deleted chunks are cognify's to make again (an LLM pipeline): source_coverage still names their document.
    assert [c for c, status in again.items() if status == "failed"] == ["source_coverage"], again
    assert again["coverage"] == again["recompute"] == "passed"


COGNEE_COGNIFY = '''"""Re-run cognee's pipeline over every dataset: what a cognee user runs to rebuild the vectors."""
import asyncio

import cognee

if __name__ == "__main__":
    asyncio.run(cognee.cognify())
'''


def test_cognee_cognify_as_the_backfill_command_is_said_to_need_more_than_an_embedder(cli, cognee, cognee_db, server,
                                                                                      tmp_path):
    """What a cognee user runs to rebuild vectors (`cognee.cognify()`) as backfill.command: its contract is the
    package's settings (reached through registries), so scope names the DB_*, EMBEDDING_* names to map (the endpoint
    with Ollama's path, as the .env template gives it) and says, unproven, that it reads an LLM's settings, which
    this stack does not serve; plan says it too (medium risk) and promises nothing of the other vectors; run fails
    and says so."""
    app, db = cognee[0], cognee_db
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    db.execute(f"UPDATE {COGNEE_CHUNKS} SET vector = NULL WHERE id IN (SELECT id FROM {COGNEE_CHUNKS} ORDER BY id LIMIT 3)")
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--output", profile, "--table",
               "DocumentChunk_text", "--json", env=env)
    assert init.code == 0, init.out + init.err
    script = tmp_path / "cognify_all.py"
    script.write_text(COGNEE_COGNIFY)
    drafted = profile.read_text()
    profile.write_text(drafted.replace("\nbackfill:\n", f"\nbackfill:\n  command: python {script}\n  workdir: {app}\n"))
    target = ("--profile", profile, "--collection", "DocumentChunk_text")
    scoped = cli("scope", *target, "--json", env=env)
    checks = {c["check"]: c for c in scoped.json["checks"]}
    assert scoped.code == 1 and checks["command receives the database"]["status"] == "failed", scoped.out
    assert "nothing maps it" in checks["command receives the database"]["found"]
    assert checks["command reaches the provider"]["expected"] == (
        'add backfill.env: {EMBEDDING_ENDPOINT: "{provider_url}/api/embed"} to the profile')
    assert checks["command uses the model"]["status"] == "failed"
    llm = checks["command needs only the embedder"]
    assert llm["status"] == "unproven" and "LLM_PROVIDER, LLM_MODEL, LLM_ENDPOINT, LLM_API_KEY" in llm["note"]
    assert "--engine" in llm["note"]
    # The user maps what locate's contract of the command says (locate --command prints it).
    located = cli("locate", "--repo", app, "--command", f"python {script}", "--workdir", app, "--json", env=env)
    mapping = located.json["backfill_env"]
    assert mapping["EMBEDDING_ENDPOINT"] == "{provider_url}/api/embed" and mapping["DB_HOST"] == "{database_host}"
    assert mapping["EMBEDDING_MODEL"] == "{model}" and not any(n.startswith(("GRAPH_", "CACHE_", "LLM_")) for n in mapping)
    env_lines = "".join(f"    {name}: {json.dumps(value)}\n" for name, value in mapping.items())
    profile.write_text(profile.read_text().replace(f"  workdir: {app}\n", f"  workdir: {app}\n  env:\n{env_lines}"))
    scoped = cli("scope", *target, "--json", env=env)
    checks = {c["check"]: c["status"] for c in scoped.json["checks"]}
    assert scoped.code == 0, scoped.out
    assert (checks["command receives the database"], checks["command reaches the provider"],
            checks["command uses the model"], checks["command needs only the embedder"]) == (
        "passed", "passed", "passed", "unproven")
    planned = cli("plan", *target, "--run-dir", tmp_path / "plan", "--json", env=env)
    assert planned.code == 0 and planned.json["risk"]["level"] == "medium", planned.out
    assert any(r.startswith("it reads a language model's settings (LLM_PROVIDER") and "--engine" in r
               for r in planned.json["risk"]["reasons"]), planned.json["risk"]
    assert not any("untouched" in r for r in planned.json["risk"]["reasons"])
    ran = cli("run", *target, "--run-dir", tmp_path / "run", "--json", env=env)
    # cognify cannot run here (its LLM, its dependencies): the run fails, measured, and nothing is said ok.
    assert ran.code == 1 and ran.json["ok"] is False and ran.json["remaining"] == 3, ran.out
    assert db.scalar(f"SELECT count(*) FROM {COGNEE_CHUNKS} WHERE vector IS NULL") == 3


# -- pydantic/pydantic-ai (examples/pydantic_ai_examples/rag.py): one doc_sections table, each vector of a labelled text --

# The example's own module, run as `build_search_db` runs it, from the snapshot: its DB_SCHEMA, its DocsSection (url(),
# embedding_content()) and its insert_doc_section (skip a url already stored, else embed and INSERT). Stand-ins: logfire
# (spans and logs do nothing), pydantic_ai's Agent (the chat agent is not run) and openai's AsyncOpenAI, whose
# embeddings.create posts to our server's /api/embed (it serves no /v1/embeddings); the DSN is ours, not the code's
# localhost:54320; the sections are given, not fetched from the gist.
PYDANTIC_AI_BUILD = '''
import asyncio, contextlib, json, sys, types
import asyncpg, httpx
src, dsn, ollama, sections = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
logfire = types.ModuleType("logfire")
logfire.span = lambda *a, **k: contextlib.nullcontext()
logfire.configure = logfire.info = lambda *a, **k: None
logfire.instrument_asyncpg = logfire.instrument_pydantic_ai = logfire.instrument_openai = lambda *a, **k: None
class Agent:
    def __init__(self, *a, **k): pass
    def tool(self, f): return f
pydantic_ai = types.ModuleType("pydantic_ai")
pydantic_ai.Agent, pydantic_ai.RunContext = Agent, type("RunContext", (), {"__class_getitem__": classmethod(lambda c, k: c)})
class Embeddings:
    async def create(self, input, model):
        async with httpx.AsyncClient(timeout=30) as client:
            reply = (await client.post(ollama + "/api/embed", json={"model": model, "input": input})).json()
        return types.SimpleNamespace(data=[types.SimpleNamespace(embedding=reply["embeddings"][0])])
openai = types.ModuleType("openai")
openai.AsyncOpenAI = lambda: types.SimpleNamespace(embeddings=Embeddings())
sys.modules.update(logfire=logfire, pydantic_ai=pydantic_ai, openai=openai)
rag = sys.modules["rag"] = types.ModuleType("rag")
exec(compile(open(src).read(), src, "exec"), rag.__dict__)
async def build():
    pool = await asyncpg.create_pool(dsn)
    async with pool.acquire() as conn:
        await conn.execute(rag.DB_SCHEMA)
    sem, client = asyncio.Semaphore(10), openai.AsyncOpenAI()
    for s in rag.sections_ta.validate_python(sections):
        await rag.insert_doc_section(sem, client, pool, s)
    await pool.close()
asyncio.run(build())
'''
PYDANTIC_AI_SECTIONS = [
    ("guides/onboarding-checklist/integrate-logfire.md", "Integrate Logfire",
     "Install the SDK with pip install logfire, then call logfire.configure() once at startup."),
    ("guides/onboarding-checklist/integrate-logfire.md", "Authenticate",
     "Run logfire auth in a terminal; the token is stored in your home directory."),
    ("integrations/fastapi.md", "FastAPI",
     "Call logfire.instrument_fastapi(app) to record a span for every request, with its route and status."),
    ("integrations/fastapi.md", "Excluding URLs",
     "Pass excluded_urls to skip health checks; the pattern is a regular expression matched against the URL."),
    ("integrations/asyncpg.md", "Asyncpg",
     "logfire.instrument_asyncpg() records every query as a span, its SQL text attached."),
    ("integrations/httpx.md", "HTTPX",
     "Instrument one client or every client; request and response headers can be captured."),
    ("guides/advanced/sampling.md", "Sampling",
     "Head sampling keeps a fixed fraction of traces; tail sampling decides once a trace has ended."),
    ("guides/advanced/scrubbing.md", "Scrubbing sensitive data",
     "Attributes whose names look like passwords or tokens are replaced by a placeholder before export."),
    ("guides/web-ui/live.md", "Live view",
     "The live view streams spans as they arrive; filter them with SQL over the records table."),
    ("guides/web-ui/alerts.md", "Alerts",
     "An alert runs a SQL query every few minutes and notifies a channel when it returns rows."),
    ("reference/configuration.md", "Configuration",
     "Settings come from arguments to configure(), environment variables, or pyproject.toml, in that order."),
    ("reference/configuration.md", "Environment variables",
     "LOGFIRE_TOKEN, LOGFIRE_SERVICE_NAME and LOGFIRE_ENVIRONMENT override the pyproject settings."),
]


def pydantic_ai_sections(rows=PYDANTIC_AI_SECTIONS) -> list[dict]:
    """The gist's shape (DocsSection's fields): a section per title, its parent and level as the docs tree gives them."""
    return [{"id": i, "parent": None, "path": path, "level": 2, "title": title, "content": content}
            for i, (path, title, content) in enumerate(rows)]


def pydantic_ai_build(db, server, app: Path, sections: list[dict]) -> None:
    done = subprocess.run([sys.executable, "-c", PYDANTIC_AI_BUILD, str(app / "pydantic_ai_examples" / "rag.py"), db.dsn,
                           server.url, json.dumps(sections)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def pydantic_ai_app(tmp_path: Path) -> Path:
    """The examples package (its pyproject and modules), as a user who cloned the repository to try rag.py has it."""
    return Source.of("pydantic__pydantic-ai").checkout("examples", tmp_path / "app")


@pytest.fixture(scope="module")
def pydantic_ai(pg, templates, server, tmp_path_factory):
    """The examples folder's checkout and a template database as `rag.py build` leaves it: doc_sections, its HNSW index,
    a row per section with the vector of embedding_content()."""

    from tests.conftest import Database

    app = pydantic_ai_app(tmp_path_factory.mktemp("pydantic_ai"))
    with app_database(pg, templates, "pydantic_ai") as name:
        pydantic_ai_build(Database(name, pg.dsn(name)), server, app, pydantic_ai_sections())
        yield app, name


@pytest.fixture
def pydantic_ai_db(pg, pydantic_ai):
    from ..conftest import _database

    yield from _database(pg, pydantic_ai[1])


# What embedding_content() joins, said in the profile: the path is no column, but url() derives the url from it (the
# path without .md, then /#<slug of the title>): a SQL expression over url gives it back.
PYDANTIC_AI_TEXT = ('  text: ["path: {regexp_replace(url, \'^https://logfire[.]pydantic[.]dev/docs/(.*)/#.*$\', \'\\\\1.md\')}", '
                    '"title: {title}", content]\n  text_separator: "\\n\\n"\n')


def pydantic_ai_profile(text: str) -> str:
    """The user's edit: the composed text, and the engine (the build step connects to localhost:54320 only)."""
    text = re.sub(r"\n  text: [^\n]*\n", lambda _: "\n" + PYDANTIC_AI_TEXT, text)
    return re.sub(r"\n  command: [^\n]*\n  workdir: [^\n]*\n  env:[^\n]*\n(    [^\n]*\n)*", "\n", text)


def test_pydantic_ai_rag_doc_sections_each_vector_of_a_labelled_composition(cli, pydantic_ai, pydantic_ai_db, server,
                                                                              tmp_path):
    """rag.py's build step: doc_sections (url UNIQUE, title, content, embedding vector(1536) NOT NULL, HNSW l2), each
    row's vector of 'path: <path>\n\ntitle: <title>\n\n<content>', the path only in the url. Before the user says
    so, verify fails the app's own vectors (the text is another); once the labelled parts say it, every check passes
    and the engine's vectors are the app's."""
    app, db = pydantic_ai[0], pydantic_ai_db
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    with db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute("SELECT url, embedding::text FROM doc_sections").fetchall())
    located = cli("locate", "--repo", app, "--json", env=env).json
    assert {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]} == {
        ("pydantic_ai_examples/rag.py", "doc_sections", "embedding", 1536)}
    assert {(d["path"], d["distance"]) for d in located["distances"]} == {("pydantic_ai_examples/rag.py", "l2")}
    assert located["best_entrypoint"] == "python pydantic_ai_examples/rag.py build"
    best = next(e for e in located["entrypoints"] if e["command"] == located["best_entrypoint"])
    assert "postgresql://postgres:***@localhost:54320" in json.dumps(best["contract"])
    assert "postgres:postgres@" not in json.dumps(located)  # the code's password is never repeated

    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    drafted = profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["embeddings"]["vector"], raw["provider"]["model"],
            raw["provider"]["dimensions"], raw["distance"]) == (
        "doc_sections", "id", "embedding", "text-embedding-3-small", 1536, "l2"), drafted
    # The build step inserts only the sections it has not stored (`SELECT 1 ... WHERE url = $1`, then INSERT): no row
    # there is would be re-embedded, so the draft leaves it for the engine (until this session: drafted as the command).
    assert "command" not in (raw["backfill"] or {}), drafted
    assert ('# command: "python pydantic_ai_examples/rag.py build"  # locate\'s best entrypoint (python-script '
            "pydantic_ai_examples/rag.py), left out: it only adds rows (INSERT INTO doc_sections at "
            "pydantic_ai_examples/rag.py:159, no upsert, UPDATE or DELETE of it) and updates none") in drafted, drafted
    # The draft reads what the build step joins, and says the part no column holds.
    said = next(line for line in drafted.splitlines() if line.startswith("  # the application embeds"))
    assert "'path: {path}', 'title: {title}', 'content'" in said and "rag.py:183" in said, said
    assert "path is no column of doc_sections" in said, said
    # Named by hand, scope refuses it: it connects to the database its code names, and it re-embeds no row there is.
    named = tmp_path / "named.yaml"
    named.write_text(drafted.replace("\nbackfill:\n", f"\nbackfill:\n  command: python pydantic_ai_examples/rag.py build\n"
                                                    f"  workdir: {json.dumps(str(app))}\n"))
    scoped = cli("scope", "--profile", named, "--collection", "doc_sections", "--json", env=env)
    checks = {c["check"]: c for c in scoped.json["checks"]}
    assert scoped.code == 1 and checks["command receives the database"]["status"] == "failed", scoped.out
    assert "hard-codes postgresql://postgres:***@localhost:54320" in checks["command receives the database"]["found"]
    assert checks["command backfills in place"]["status"] == "failed", scoped.out
    # With the engine and the draft's text (content alone), verify fails every app vector: the text is not the app's.
    profile.write_text(re.sub(r"\n  command: [^\n]*\n  workdir: [^\n]*\n  env:[^\n]*\n(    [^\n]*\n)*", "\n", drafted))
    from harness import CheckOptions, open_session, resolve
    from harness.checks import FAIL, recompute

    session = open_session(resolve(str(profile), env=env), CheckOptions(collections=("doc_sections",)))
    try:
        guessed = recompute(session, session.collections[0])
    finally:
        session.close()
    assert guessed.status is FAIL and "12 of 12 rows off" in guessed.found, guessed
    assert "a template or other columns: chunks.text" in guessed.found

    trial = procedure(cli, db, server, app, tmp_path / "said", "doc_sections", edit=pydantic_ai_profile)
    assert_whole_procedure_ok(trial, db, "doc_sections", "embedding", 12, needed=0)
    with db.connect(autocommit=True) as conn:
        assert dict(conn.execute("SELECT url, embedding::text FROM doc_sections").fetchall()) == app_vectors


def test_pydantic_ai_rag_backfill_gone_wrong_is_named_row_by_row_and_repaired(cli, pydantic_ai, pydantic_ai_db, server,
                                                                               tmp_path):
    """The composed text said; then a section's content edited after its vector, another model's vector, the vector
    of the content alone (composed otherwise), two swapped, one at twice its length (l2 ranks by it) and a row lost
    (the vector is NOT NULL: a lost vector is a lost row): verify names each offender but the lost row, which nothing
    here can see (no source of the sections); backfill --keys-from repairs them."""
    app, db = pydantic_ai[0], pydantic_ai_db
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0, init.out + init.err
    profile.write_text(pydantic_ai_profile(profile.read_text()))
    key = {title: i for i, title in db.connect(autocommit=True).execute("SELECT id, title FROM doc_sections").fetchall()}
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE doc_sections SET content = 'Sampling is configured per service.' WHERE title = 'Sampling'")
        conn.execute("UPDATE doc_sections SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE title = 'Alerts'")
        bare = httpx_embed(server, "text-embedding-3-small", [conn.execute(
            "SELECT content FROM doc_sections WHERE title = 'HTTPX'").fetchone()[0]])[0]
        conn.execute("UPDATE doc_sections SET embedding = %s::vector WHERE title = 'HTTPX'", (str(bare),))
        conn.execute("UPDATE doc_sections d SET embedding = o.embedding FROM doc_sections o WHERE (d.title, o.title) "
                     "IN (('FastAPI', 'Live view'), ('Live view', 'FastAPI'))")
        conn.execute("UPDATE doc_sections SET embedding = (SELECT array_agg(x * 2) FROM unnest(embedding::real[]) x)::vector "
                     "WHERE title = 'Asyncpg'")
        conn.execute("DELETE FROM doc_sections WHERE title = 'Authenticate'")
    target = ("--profile", profile, "--collection", "doc_sections")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 0, scoped.out
    assert "11 stored vectors whether current unknown" in cli("scope", *target, env=env).out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"recompute"})
    wrong = {key[t] for t in ("Sampling", "Alerts", "HTTPX", "FastAPI", "Live view", "Asyncpg")}
    assert offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")["recompute"] == wrong
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 6, fixed.out + fixed.err
    again = checked_again(profile, env, "doc_sections")
    assert not [c for c, status in again.items() if status == "failed"], again
    assert db.scalar("SELECT count(*) FROM doc_sections") == 11  # the lost row: the app's build step re-inserts it
# -- neuml/txtai: the pgvector ANN backend (indexid, embedding) beside the content database's sections table ---------

# txtai's own PGVector ANN (src/python/txtai/ann/dense/pgvector.py) run from the snapshot: `index()` drops and creates
# `vectors` (indexid integer key, embedding vector(N)), inserts a row per vector and builds the HNSW index
# (vector_ip_ops); the content database's `sections` table from txtai's own ORM (database/schema/orm.py). Stand-ins: the
# `txtai` package's __init__ files (they import every pipeline); the vectors come from our server (txtai's LiteLLM
# vectors for `ollama/nomic-embed-text`, normalised as txtai does), not from txtai's Vectors class.
TXTAI_INDEX = '''
import datetime, json, sys, types
import httpx, numpy as np
from sqlalchemy import create_engine, insert
src, dsn, ollama, model, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
for name in ("txtai", "txtai.ann", "txtai.ann.dense", "txtai.database", "txtai.database.schema"):
    package = types.ModuleType(name)
    package.__path__ = [src + "/" + name.replace(".", "/")]
    sys.modules[name] = package
sys.modules["txtai.version"] = types.SimpleNamespace(__version__="trial")
sys.modules["txtai.util"] = types.SimpleNamespace(Library=lambda: types.SimpleNamespace(numpy=lambda: np))
from txtai.ann.dense.pgvector import PGVector
from txtai.database.schema.orm import Base, Section
url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url)
Base.metadata.create_all(engine, tables=[Section.__table__, Base.metadata.tables["documents"]])
vectors = np.asarray(httpx.post(ollama + "/api/embed", json={"model": model, "input": [r["text"] for r in rows]},
                                timeout=60).json()["embeddings"], dtype=np.float32)
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
with engine.begin() as conn:
    conn.execute(insert(Section.__table__), [{"indexid": i, "id": r["id"], "text": r["text"], "tags": None,
                                             "entry": datetime.datetime.now(datetime.timezone.utc)} for i, r in enumerate(rows)])
ann = PGVector({"backend": "pgvector", "pgvector": {"url": url}, "dimensions": vectors.shape[1]})
ann.index(vectors)
ann.save(None)
ann.close()
'''
TXTAI_TEXTS = [
    ("doc-1", "US tops 5 million confirmed virus cases"),
    ("doc-2", "Canada's last fully intact ice shelf has suddenly collapsed, forming a Manhattan-sized iceberg"),
    ("doc-3", "Beijing mobilises invasion craft along coast as Taiwan tensions escalate"),
    ("doc-4", "The National Park Service warns against sacrificing slower friends in a bear attack"),
    ("doc-5", "Maine man wins $1M from $25 lottery ticket"),
    ("doc-6", "Make huge profits without work, earn up to $100,000 a day"),
]


def load_txtai(db, server, src: Path, model: str = "nomic-embed-text") -> None:
    rows = [{"id": i, "text": t} for i, t in TXTAI_TEXTS]
    done = subprocess.run([sys.executable, "-c", TXTAI_INDEX, str(src), db.dsn, server.url, model, json.dumps(rows)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_txtai_pgvector_ann_vectors_keyed_like_the_content_databases_sections(cli, empty_db, server, tmp_path):
    """txtai with `backend: pgvector` and its content in Postgres: `vectors (indexid, embedding vector(768))` made by
    the ANN, the text in `sections (indexid, id, text, tags, entry)` made by the content database, no foreign key. Two
    vectors lost (their rows gone from `vectors`): the draft joins the two tables by their shared key, scope counts the
    two, the engine inserts them as txtai would hold them; then an edited section, another model's vector and two
    swapped vectors are named by verify row by row and repaired."""
    src = Source.of("neuml__txtai").checkout("src/python", tmp_path / "app",
                                             only=("txtai/ann/", "txtai/database/", "txtai/vectors/", "txtai/embeddings/"))
    load_txtai(empty_db, server, src)
    with empty_db.connect(autocommit=True) as conn:
        txtai_vectors = dict(conn.execute("SELECT indexid, embedding::text FROM vectors").fetchall())
    empty_db.execute("DELETE FROM vectors WHERE indexid IN (1, 4)")
    trial = procedure(cli, empty_db, server, src, tmp_path, "sections", model="nomic-embed-text")
    assert trial.init.json["todo"] == [], trial.init.out
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["table"],
            raw["embeddings"]["key"], raw["distance"]) == ("sections", "indexid", "text", "vectors", "indexid", "ip")
    # locate reads the ANN's search: max_inner_product on its Core table's `embedding` column (the table is a setting).
    assert ("txtai/ann/dense/pgvector.py", "ip", None, "embedding") in {
        (d["path"], d["distance"], d["table"], d["column"]) for d in trial.locate.json["distances"]}
    assert_whole_procedure_ok(trial, empty_db, "vectors", "embedding", len(TXTAI_TEXTS), needed=2)
    with empty_db.connect(autocommit=True) as conn:  # measured: the engine's rows are txtai's
        assert dict(conn.execute("SELECT indexid, embedding::text FROM vectors").fetchall()) == txtai_vectors

    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE sections SET text = 'Maine man wins $2M from a $5 ticket' WHERE indexid = 4")
        conn.execute("UPDATE vectors SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE indexid = 0")
        conn.execute("UPDATE vectors d SET embedding = o.embedding FROM vectors o WHERE (d.indexid, o.indexid) "
                     "IN ((2, 5), (5, 2))")
    target = ("--profile", trial.profile, "--collection", "sections")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"recompute"})
    assert offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")["recompute"] == {0, 2, 4, 5}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 4, fixed.out + fixed.err
    again = checked_again(trial.profile, env, "sections")
    assert not [c for c, status in again.items() if status == "failed"], again


# -- FlowiseAI/Flowise (its Postgres vector store node): a table per configured name made at runtime, upserts through a record manager --

FLOWISE_STORE = "packages/components/nodes/vectorstores/Postgres/driver/TypeORM.ts"
FLOWISE_RECORDS = "packages/components/nodes/recordmanager/PostgresRecordManager/PostgresRecordManager.ts"
# @langchain/community's indexes/base.ts (a dependency, not in the repository): the namespace of the record keys' uuid5.
LANGCHAIN_UUIDV5_NAMESPACE = "10f90ea3-90a4-4962-bf75-83a0f3c1c62a"
FLOWISE_CHATFLOW = "3b1f5c8e-2d4a-4f6b-9c7e-1a2b3c4d5e6f"
FLOWISE_DOCS = {
    "handbook/leave.md": ("Annual leave is twenty-five days; carry-over ends in March.",
                          "Sick leave needs a note from the third day.",
                          "Parental leave is paid for sixteen weeks."),
    "handbook/travel.md": ("Book trains for trips under five hours.", "Hotels are refunded up to 150 euros a night.",
                           "Receipts are uploaded within thirty days.", "Per diem covers meals, not minibar."),
    "handbook/it.md": ("Laptops are replaced every four years.", "Report a lost laptop to security within an hour.",
                       "Passwords rotate every ninety days; use the password manager."),
}


def flowise_ddl(app: Path) -> tuple[str, str]:
    """The store's table (TypeORMDriver.ensureTableInDatabase) and the record manager's (createSchema) as the
    snapshot writes them, under their default names: getTablePath() quotes `documents`, the manager's `upsertion_records`."""
    store = (app / FLOWISE_STORE).read_text()
    create = re.search(r"query\(`\s*(CREATE TABLE IF NOT EXISTS \$\{tablePath\}.*?;)\s*`\)", store, re.S).group(1)
    manager = (app / FLOWISE_RECORDS).read_text()
    records = re.findall(r"manager\.query\(`\s*(.*?)`\)", manager[manager.index("async createSchema"):], re.S)[:2]
    return (create.replace("${tablePath}", '"documents"'),
            "\n".join(records).replace("${tableName}", "upsertion_records"))


def flowise_uid(text: str, metadata: dict) -> str:
    """indexing.ts's _HashedDocument: uuid5(sha256(uuid5(sha256(pageContent)) + uuid5(sha256(JSON.stringify(metadata,
    sorted keys))))) in @langchain/community's namespace (sha256 as hex)."""
    import hashlib
    import uuid

    space = uuid.UUID(LANGCHAIN_UUIDV5_NAMESPACE)

    def to_uuid(s: str) -> str:
        return str(uuid.uuid5(space, hashlib.sha256(s.encode()).hexdigest()))

    serialized = json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return to_uuid(to_uuid(text) + to_uuid(serialized))


def load_flowise(db, server, app: Path, model: str = "nomic-embed-text") -> dict[str, list[str]]:
    """One upsert of the three documents' chunks through the Postgres node with a Postgres record manager, as
    index() runs it: each chunk's uid from its hashes, the vectors of embedDocuments (one /api/embed of the batch),
    the rows TypeORM saves (id, pageContent, embedding, metadata), then the manager's update() of every uid under
    the namespace `<chatflow>_documents`, grouped by the source. Returns the chunk ids per source, in order."""
    store, records = flowise_ddl(app)
    db.execute(store)
    db.execute(records)
    docs = [(text, {"source": source, "loc": {"lines": {"from": i + 1, "to": i + 1}}})
            for source, texts in FLOWISE_DOCS.items() for i, text in enumerate(texts)]
    vectors = httpx_embed(server, model, [text.replace("\0", "") for text, _ in docs])
    keys: dict[str, list[str]] = {}
    with db.connect(autocommit=True) as conn:
        for (text, meta), vector in zip(docs, vectors):
            uid = flowise_uid(text, meta)
            conn.execute('INSERT INTO "documents" ("id", "pageContent", "embedding", "metadata") VALUES (%s, %s, %s, %s)',
                         (uid, text.replace("\0", ""), "[" + ",".join(map(str, vector)) + "]", json.dumps(meta)))
            keys.setdefault(meta["source"], []).append(uid)
        now = conn.execute("SELECT EXTRACT(EPOCH FROM CURRENT_TIMESTAMP)").fetchone()[0]
        for source, uids in keys.items():
            for uid in uids:
                conn.execute('INSERT INTO "upsertion_records" (key, namespace, updated_at, group_id, doc_id) VALUES '
                             "(%s, %s, %s, %s, %s) ON CONFLICT (key, namespace) DO UPDATE SET updated_at = "
                             "EXCLUDED.updated_at, doc_id = EXCLUDED.doc_id",
                             (uid, f"{FLOWISE_CHATFLOW}_documents", now, source, None))
    return keys


def flowise_app(tmp_path: Path) -> Path:
    """What a user reads to find the store: the vector store, embeddings and record manager nodes (every provider's,
    not only Postgres' and Ollama's), the components' shared code, the server's services and upsert path, the
    packages' manifests, the workspace root and the docker folder; the UI, the other node kinds and the server's
    routes, database entities and migrations left out (locate reads them in seconds more, and nothing there touches
    the store)."""
    return Source.of("FlowiseAI__Flowise").checkout("", tmp_path / "app", only=(
        "packages/components/nodes/vectorstores/", "packages/components/nodes/embeddings/",
        "packages/components/nodes/recordmanager/", "packages/components/src/", "packages/components/package.json",
        "packages/server/src/services/", "packages/server/src/utils/upsertVector.ts", "packages/server/package.json",
        "docker/", "package.json", "pnpm-workspace.yaml"))


def flowise_vectors(conn) -> dict[str, str]:
    return dict(conn.execute('SELECT id::text, embedding::text FROM "documents"').fetchall())


def test_flowise_postgres_node_table_made_at_runtime_with_a_record_manager(cli, empty_db, server, tmp_path):
    """Flowise's Postgres vector store node (the TypeORM driver; the PGVector one is commented out): the table made at
    upsert time under the node's table name (`documents` by default), an untyped `vector`, the chunk's id the record
    manager's hash of its text and metadata; the embedder a node wired in the flow (Ollama's: its model a field of
    the flow, not of the code). A restore lost 3 vectors; then an upsert gone wrong, named row by row and repaired."""
    app = flowise_app(tmp_path)
    keys = load_flowise(empty_db, server, app)
    with empty_db.connect() as conn:
        app_vectors = flowise_vectors(conn)
    records = empty_db.scalar("SELECT md5(string_agg(key || namespace || group_id, ',' ORDER BY key)) FROM upsertion_records")
    lost = keys["handbook/travel.md"][:2] + keys["handbook/it.md"][:1]
    empty_db.execute('UPDATE "documents" SET embedding = NULL WHERE id::text = ANY(%s)', (lost,))
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "documents", model="nomic-embed-text")

    # locate: the live driver's DDL (an untyped vector under the table path it is given), not the commented-out
    # PGVector driver; Ollama's node with its default base URL and no model (the flow's); no migration script taken
    # for a backfill (the upsert is the server's API or the UI).
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        (FLOWISE_STORE, "{tablePath}", "embedding", None)]
    ollama = [c for c in located["embedding_calls"] if c["name"] == "OllamaEmbeddings"]
    assert [(c["path"], c["model"]) for c in ollama] == [
        ("packages/components/nodes/embeddings/OllamaEmbedding/OllamaEmbedding.ts", None)]
    assert located["best_entrypoint"] is None and located["entrypoints"] == []
    # profile init (the model given: a flow's field) needs no edit: the table the database holds, its text column
    # measured, the source a key of the JSON metadata; the distance the search's interpolated operator defaults to
    # (a guess: the node's distanceStrategy input decides, cosine by default).
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"]) == (
        "documents", "id", "pageContent", "embedding")
    assert raw["chunks"]["sources"] == ["metadata->>'source'"] and raw["distance"] == "cosine"
    distance = next(line for line in drafted.splitlines() if line.startswith("distance:"))
    assert f"{FLOWISE_STORE}:217" in distance and "${distanceOperator} (default <=>)" in distance, distance
    assert_whole_procedure_ok(trial, empty_db, '"documents"', "embedding", 10, needed=3)
    # Measured: the engine wrote the vectors the node's own upsert wrote, and left the record manager's table alone.
    with empty_db.connect() as conn:
        assert flowise_vectors(conn) == app_vectors
    assert empty_db.scalar("SELECT md5(string_agg(key || namespace || group_id, ',' ORDER BY key)) "
                           "FROM upsertion_records") == records

    # Damage, as an upsert gone wrong leaves it: 2 lost vectors, a chunk's text edited after its vector, 2 vectors of
    # another model, 2 swapped across documents, one of a text composed differently (the source path before the
    # chunk, as a custom loader might embed it), and a chunk with no text (the node's upsert drops an empty
    # pageContent: nothing to embed). Scope counts the 2 lost and the chunk apart; verify names each offender;
    # backfill --keys-from repairs exactly those, never the empty one.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    leave, travel, it = keys["handbook/leave.md"], keys["handbook/travel.md"], keys["handbook/it.md"]
    lost, edited, other, swapped, composed = [leave[0], it[2]], leave[1], travel[:2], [travel[2], it[0]], it[1]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute('UPDATE "documents" SET embedding = NULL WHERE id::text = ANY(%s)', (lost,))
        conn.execute('UPDATE "documents" SET "pageContent" = \'Annual leave is thirty days.\' WHERE id::text = %s',
                     (edited,))
        conn.execute('UPDATE "documents" SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM '
                     'unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id::text = ANY(%s)', (other,))
        conn.execute('UPDATE "documents" d SET embedding = o.embedding FROM "documents" o WHERE '
                     "(d.id::text, o.id::text) IN ((%s, %s), (%s, %s))", (*swapped, *swapped[::-1]))
        text, source = conn.execute('SELECT "pageContent", metadata->>\'source\' FROM "documents" WHERE id::text = %s',
                                    (composed,)).fetchone()
        [vector] = httpx_embed(server, "nomic-embed-text", [f"{source}\n\n{text}"])
        conn.execute('UPDATE "documents" SET embedding = %s::vector WHERE id::text = %s', (json.dumps(vector), composed))
        empty = conn.execute('INSERT INTO "documents" ("pageContent", metadata) VALUES (\'\', %s) RETURNING id::text',
                             (json.dumps({"source": "handbook/blank.md"}),)).fetchone()[0]
    target = ("--profile", trial.profile, "--collection", "documents")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0, scoped.out
    assert (scoped.json["counts"]["missing"], scoped.json["counts"]["needed"], scoped.json["counts"]["no_text"]) == (2, 2, 1)
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"coverage", "recompute"})
    by_check = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    by_check.pop("citations", None)  # a damaged chunk drawn by citations' sample, when it is
    assert by_check == {"coverage": set(lost), "recompute": {edited, *other, *swapped, composed}}, by_check
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 8, fixed.out + fixed.err
    again = checked_again(trial.profile, env, "documents")
    assert again["coverage"] == again["recompute"] == "passed", again
    # Measured: every chunk with a text holds its text's vector again; the one without text holds none.
    with empty_db.connect() as conn:
        repaired = flowise_vectors(conn)
    assert repaired.pop(empty) is None
    assert {k: v for k, v in repaired.items() if k != edited} == {k: v for k, v in app_vectors.items() if k != edited}


# -- deepset-ai/haystack-core-integrations (the pgvector and ollama integrations): a Haystack indexing pipeline ------

# A user's app built from the two integrations as their READMEs show them: a pipeline reads text files, splits them into
# passages, embeds each with OllamaDocumentEmbedder (the file's title before the passage: meta_fields_to_embed) and
# writes them with DocumentWriter into PgvectorDocumentStore (HNSW, cosine). The integrations' code is the snapshot's,
# run with the installed haystack-ai; the script and the articles are ours.
HAYSTACK_INDEX = '''"""Index the help-centre articles under docs/ into Postgres: Haystack's pgvector store, embedded by Ollama."""
import json
import os
from pathlib import Path

from haystack import Pipeline
from haystack.components.converters import TextFileToDocument
from haystack.components.preprocessors import DocumentSplitter
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.components.embedders.ollama import OllamaDocumentEmbedder
from haystack_integrations.document_stores.pgvector import PgvectorDocumentStore

store = PgvectorDocumentStore(table_name="haystack_documents", embedding_dimension=768,
                              vector_function="cosine_similarity", search_strategy="hnsw")

if __name__ == "__main__":
    docs = Path(__file__).parent / "docs"
    files = sorted(docs.glob("*.txt"))
    titles = json.loads((docs / "titles.json").read_text())
    indexing = Pipeline()
    indexing.add_component("converter", TextFileToDocument())
    indexing.add_component("splitter", DocumentSplitter(split_by="passage", split_length=1, split_overlap=0))
    indexing.add_component("embedder", OllamaDocumentEmbedder(model="nomic-embed-text",
                                                              url=os.environ.get("OLLAMA_URL", "http://localhost:11434"),
                                                              meta_fields_to_embed=["title"], progress_bar=False))
    indexing.add_component("writer", DocumentWriter(store, policy=DuplicatePolicy.OVERWRITE))
    indexing.connect("converter", "splitter")
    indexing.connect("splitter", "embedder")
    indexing.connect("embedder", "writer")
    meta = [{"title": titles[f.stem]} if f.stem in titles else {} for f in files]
    indexing.run({"converter": {"sources": files, "meta": meta}})
'''
HAYSTACK_DOCS = {
    "returns_and_refunds": ("Items can be returned within 30 days of delivery if they are unused and in their box.",
                            "Refunds go back to the original payment method within five working days.",
                            "Sale items are final and cannot be returned.\nGift cards are never refunded.",
                            "To start a return, open your order and choose Return an item."),
    "shipping": ("Standard shipping takes three to five working days within the country.",
                 "Express orders placed before noon leave the warehouse the same day.",
                 "We ship to islands and overseas territories at a flat extra charge.",
                 "Tracking numbers are emailed as soon as the parcel is scanned."),
    "account_security": ("Turn on two-factor authentication under Settings, then Security.",
                         "We never ask for your password by phone or email.",
                         "If you forget your password, use the reset link on the sign-in page.",
                         "Sign out of every device at once from the Sessions tab."),
}
HAYSTACK_TITLES = {"returns_and_refunds": "Returns and refunds", "shipping": "Shipping"}  # the third file has none
HAYSTACK_TABLE = "haystack_documents"


def haystack_app(tmp_path: Path) -> Path:
    """The two integrations' sources at the pinned commit, with a user's indexing script and articles beside them."""
    app = tmp_path / "app"
    source = Source.of("deepset-ai__haystack-core-integrations")
    for integration in ("pgvector", "ollama"):
        source.checkout(f"integrations/{integration}", app / "integrations" / integration,
                        only=("src/", "pyproject.toml", "README.md"))
    (app / "index.py").write_text(HAYSTACK_INDEX)
    (app / "docs").mkdir()
    for name, passages in HAYSTACK_DOCS.items():
        (app / "docs" / f"{name}.txt").write_text("\n\n".join(passages))
    (app / "docs" / "titles.json").write_text(json.dumps(HAYSTACK_TITLES))
    return app


def haystack_python_env(app: Path) -> dict[str, str]:
    """What `pip install pgvector-haystack ollama-haystack` gives the script: the integrations importable (here from
    the snapshot's src folders), and no telemetry call."""
    return {"PYTHONPATH": os.pathsep.join(str(app / "integrations" / i / "src") for i in ("pgvector", "ollama")),
            "HAYSTACK_TELEMETRY_ENABLED": "False"}


@pytest.fixture(scope="module")
def haystack(pg, templates, server, tmp_path_factory):
    """The app's checkout and a template database its own `python index.py` filled (12 passages of 3 articles)."""
    pytest.importorskip("haystack", reason="haystack-ai (the test extra) runs the integrations' own code")

    app = haystack_app(tmp_path_factory.mktemp("haystack"))
    store = (app / "integrations/pgvector/src/haystack_integrations/document_stores/pgvector/document_store.py").read_text()
    embedder = (app / "integrations/ollama/src/haystack_integrations/components/embedders/ollama/document_embedder.py")
    assert "id VARCHAR(128) PRIMARY KEY" in store and 'embedding_separator: str = "\\n"' in embedder.read_text()
    with app_database(pg, templates, "haystack") as name:
        done = subprocess.run([sys.executable, "index.py"], cwd=app, capture_output=True, text=True, timeout=180,
                              env={**os.environ, **haystack_python_env(app), "PG_CONN_STR": pg.dsn(name),
                                   "OLLAMA_URL": server.url})
        assert done.returncode == 0, done.stderr[-3000:]
        yield app, name


@pytest.fixture
def haystack_db(pg, haystack):
    from ..conftest import _database

    yield from _database(pg, haystack[1])


def haystack_passage(conn, text: str) -> str:
    return conn.execute(f"SELECT id FROM {HAYSTACK_TABLE} WHERE content LIKE %s", (text + "%",)).fetchone()[0]


def test_haystack_pgvector_store_filled_by_its_ollama_pipeline_and_refilled_by_the_apps_own_script(
        cli, haystack, haystack_db, server, tmp_path):
    """Haystack's PgvectorDocumentStore (`id` the sha256 Haystack derives from the content and meta, `content`, `meta
    jsonb`, `embedding vector(768)`, HNSW cosine) filled by an OllamaDocumentEmbedder that embeds the title, then the
    passage, newlines made spaces. A restore lost 3 vectors; the app's own script (`python index.py`) re-indexes."""
    app, db = haystack[0], haystack_db
    with db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute(f"SELECT id, embedding::text FROM {HAYSTACK_TABLE}").fetchall())
    db.execute(f"UPDATE {HAYSTACK_TABLE} SET embedding = NULL WHERE id IN (SELECT id FROM {HAYSTACK_TABLE} ORDER BY id "
               "LIMIT 3)")

    def with_python_env(text: str) -> str:  # the user's edit: their virtualenv's python and the packages it holds
        extra = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in haystack_python_env(app).items())
        return text.replace('    PG_CONN_STR: "{database_url}"\n', '    PG_CONN_STR: "{database_url}"\n' + extra).replace(
            'command: "python index.py"', f'command: "{sys.executable} index.py"')

    trial = procedure(cli, db, server, app, tmp_path, HAYSTACK_TABLE, edit=with_python_env, run_args=(), plan=True)

    # locate: the script is followed into the integrations' src-layout packages: the Ollama call, its newline rule,
    # the store's PG_CONN_STR (a Secret read from the environment), so the script is the backfill.
    located = trial.locate.json
    assert located["best_entrypoint"] == "python index.py"
    script = next(e for e in located["entrypoints"] if e["path"] == "index.py")
    assert script["may_embed"] and {"PG_CONN_STR", "OLLAMA_URL"} <= set(script["contract"]["reads_env"])
    assert ("integrations/ollama/src/haystack_integrations/components/embedders/ollama/document_embedder.py",
            "ollama-client", "nomic-embed-text") in {(c["path"], c["kind"], c["model"]) for c in located["embedding_calls"]}
    # The script's store declares the table, its width and its distance (the library's own docstring examples do not).
    assert {(d["path"], d["table"], d["column"], d["dimensions"], d["distance"]) for d in located["declarations"]} == {
        ("index.py", HAYSTACK_TABLE, "embedding", 768, "cosine")}
    # profile init: the composition measured with the script's model, the newline rule read from the embedder.
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["text_separator"]) == (
        HAYSTACK_TABLE, "id", ["meta->>'title'", "content"], " ")
    assert raw["chunks"]["text_newlines"] == "space" and "document_embedder.py:132" in drafted
    assert (raw["provider"]["model"], raw["provider"]["dimensions"], raw["embeddings"]["vector"]) == (
        "nomic-embed-text", 768, "embedding")
    assert "reproduces the stored vectors of 5 of the 5 rows read" in drafted
    assert raw["distance"] == "cosine" and "haystack_hnsw_index" in drafted
    assert raw["backfill"]["command"] == f"{sys.executable} index.py"  # drafted `python index.py`, run by its venv's
    # No address is said hard-coded: the embedder's `url` default, the docstring's example DSN, a link to the manual.
    assert "hard-codes URLs" not in drafted and script["contract"]["hardcoded_urls"] == []
    assert {k: raw["backfill"]["env"][k] for k in ("PG_CONN_STR", "OLLAMA_URL")} == {
        "PG_CONN_STR": "{database_url}", "OLLAMA_URL": "{provider_url}"}
    # scope: the script's contract is mapped; 3 to embed.
    checks = {c["check"]: c["status"] for c in trial.scope.json["checks"]}
    assert (checks["command receives the database"], checks["command reaches the provider"]) == ("passed", "passed"), \
        trial.scope.out
    # plan: of the script it promises nothing about the 9 vectors it cannot call current (the script re-embeds them).
    reason = trial.plan.json["risk"]["reasons"][0]
    assert "9 stored vectors whether current unknown" in reason and "re-embeds none" not in reason, reason
    # run: the app's own script re-indexed every article (OVERWRITE by the same ids), measured in the database.
    assert_whole_procedure_ok(trial, db, HAYSTACK_TABLE, "embedding", 12, needed=3)
    assert trial.run.json["counts_after"]["missing"] == 0
    with db.connect(autocommit=True) as conn:
        assert dict(conn.execute(f"SELECT id, embedding::text FROM {HAYSTACK_TABLE}").fetchall()) == app_vectors


def test_haystack_documents_gone_wrong_are_named_row_by_row_and_repaired(cli, haystack, haystack_db, server, tmp_path):
    """The drafted profile with the engine: a passage edited in the database after its vector, a vector of another
    model, one of the passage alone (an older script without meta_fields_to_embed), two swapped across articles and
    two lost: scope counts the lost ones, verify names each other row, `backfill --keys-from` repairs them."""
    import httpx

    app, db = haystack[0], haystack_db
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    with db.connect(autocommit=True) as conn:
        vectors = dict(conn.execute(f"SELECT id, embedding::text FROM {HAYSTACK_TABLE}").fetchall())
        edited = haystack_passage(conn, "Refunds go back")
        conn.execute(f"UPDATE {HAYSTACK_TABLE} SET content = 'Refunds go back to a store credit within ten days.' "
                     "WHERE id = %s", (edited,))
        other = haystack_passage(conn, "Express orders")
        conn.execute(f"UPDATE {HAYSTACK_TABLE} SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (other,))
        bare = haystack_passage(conn, "Tracking numbers")
        passage = conn.execute(f"SELECT content FROM {HAYSTACK_TABLE} WHERE id = %s", (bare,)).fetchone()[0]
        alone = httpx.post(f"{server.url}/api/embed", json={"model": "nomic-embed-text", "input": passage}).json()
        conn.execute(f"UPDATE {HAYSTACK_TABLE} SET embedding = %s::vector WHERE id = %s",
                     (str(alone["embeddings"][0]), bare))
        swapped = [haystack_passage(conn, "Sale items"), haystack_passage(conn, "We never ask")]
        conn.execute(f"UPDATE {HAYSTACK_TABLE} d SET embedding = o.embedding FROM {HAYSTACK_TABLE} o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (*swapped, *swapped[::-1]))
        lost = [haystack_passage(conn, "Items can be"), haystack_passage(conn, "Sign out")]
        conn.execute(f"UPDATE {HAYSTACK_TABLE} SET embedding = NULL WHERE id = ANY(%s)", (lost,))
    target = ("--profile", profile, "--collection", HAYSTACK_TABLE)
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and (scoped.json["counts"]["missing"], scoped.json["counts"]["needed"]) == (2, 2)
    assert scoped.json["counts"]["stale"] is None and scoped.json["counts"]["other_model"] is None
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    fails_with_citations_at_most(damaged.json["checks"], {"coverage", "recompute"})
    by_check = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert by_check["coverage"] == set(lost)
    assert by_check["recompute"] == {edited, other, bare, *swapped}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 7, fixed.out + fixed.err
    again = checked_again(profile, env, HAYSTACK_TABLE)
    assert not [c for c, status in again.items() if status == "failed"], again
    # Measured: every repaired vector is Haystack's own again, but the edited passage's (its new text's).
    with db.connect(autocommit=True) as conn:
        now = dict(conn.execute(f"SELECT id, embedding::text FROM {HAYSTACK_TABLE}").fetchall())
    assert {k for k in now if now[k] != vectors[k]} == {edited}


# -- spring-projects/spring-ai (PgVectorStore with the Ollama embedding model): a Java service's vector_store table ---

# A typical Spring Boot ingestion service, written here (not copied): Maven build with the pgvector and Ollama starters,
# application.yml as Spring AI's docs set it (the datasource through ${ENV:default} placeholders), and a
# CommandLineRunner that reads Markdown pages, splits them with TokenTextSplitter and calls vectorStore.add(chunks).
SPRING_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.5.5</version>
  </parent>
  <groupId>com.example</groupId>
  <artifactId>handbook-ingest</artifactId>
  <version>0.0.1-SNAPSHOT</version>
  <properties>
    <java.version>21</java.version>
    <spring-ai.version>1.1.0</spring-ai.version>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.springframework.ai</groupId>
        <artifactId>spring-ai-bom</artifactId>
        <version>${spring-ai.version}</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.springframework.ai</groupId>
      <artifactId>spring-ai-starter-vector-store-pgvector</artifactId>
    </dependency>
    <dependency>
      <groupId>org.springframework.ai</groupId>
      <artifactId>spring-ai-starter-model-ollama</artifactId>
    </dependency>
    <dependency>
      <groupId>org.springframework.ai</groupId>
      <artifactId>spring-ai-markdown-document-reader</artifactId>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.springframework.boot</groupId>
        <artifactId>spring-boot-maven-plugin</artifactId>
      </plugin>
    </plugins>
  </build>
</project>
"""
SPRING_APPLICATION_YML = """spring:
  datasource:
    url: ${SPRING_DATASOURCE_URL:jdbc:postgresql://localhost:5432/handbook}
    username: ${DB_USER:postgres}
    password: ${DB_PASSWORD:postgres}
  ai:
    ollama:
      base-url: ${OLLAMA_BASE_URL:http://localhost:11434}
      embedding:
        model: nomic-embed-text
    vectorstore:
      pgvector:
        initialize-schema: true
        index-type: HNSW
        distance-type: %(distance)s
        dimensions: 768
"""
SPRING_MAIN = """package com.example.ingest;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

@SpringBootApplication
public class HandbookIngestApplication {

	public static void main(String[] args) {
		SpringApplication.run(HandbookIngestApplication.class, args);
	}

}
"""
SPRING_INGESTOR = """package com.example.ingest;

import java.util.List;

import org.springframework.ai.document.Document;
import org.springframework.ai.reader.markdown.MarkdownDocumentReader;
import org.springframework.ai.reader.markdown.config.MarkdownDocumentReaderConfig;
import org.springframework.ai.transformer.splitter.TokenTextSplitter;
import org.springframework.ai.vectorstore.VectorStore;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.CommandLineRunner;
import org.springframework.core.io.Resource;
import org.springframework.stereotype.Component;

/** Reads the handbook's Markdown pages, splits them into chunks and stores each chunk with its vector. */
@Component
public class HandbookIngestor implements CommandLineRunner {

	private final VectorStore vectorStore;

	@Value("classpath:handbook/*.md")
	private Resource[] pages;

	public HandbookIngestor(VectorStore vectorStore) {
		this.vectorStore = vectorStore;
	}

	@Override
	public void run(String... args) {
		TokenTextSplitter splitter = new TokenTextSplitter();
		for (Resource page : this.pages) {
			MarkdownDocumentReader reader = new MarkdownDocumentReader(page, MarkdownDocumentReaderConfig.defaultConfig());
			List<Document> chunks = splitter.apply(reader.get());
			this.vectorStore.add(chunks);
		}
	}

}
"""
SPRING_CHUNKS = [
    ("Expenses", "Submit receipts within thirty days; the finance team reimburses them with the next payroll."),
    ("Expenses", "Travel above 500 euros needs a manager's approval before it is booked."),
    ("On-call", "The on-call engineer answers pages within fifteen minutes, day and night, for one week."),
    ("On-call", "Hand over the pager on Monday at ten with a written note of open incidents."),
    ("Holidays", "Every employee has twenty-eight days of paid leave a year, booked in the HR portal."),
    ("Holidays", "Unused days carry over until the end of March of the following year."),
    ("Security", "Laptops are encrypted; report a lost one to the security desk the same day."),
    ("Security", "Passwords live in the company vault; never paste one into a chat."),
]
SPRING_STORE = "vector-stores/spring-ai-pgvector-store/src/main/java/org/springframework/ai/vectorstore/pgvector/PgVectorStore.java"


def spring_app(tmp_path: Path, distance: str = "COSINE_DISTANCE") -> Path:
    app = tmp_path / "handbook-ingest"
    java = app / "src/main/java/com/example/ingest"
    java.mkdir(parents=True)
    (app / "src/main/resources").mkdir(parents=True)
    (app / "pom.xml").write_text(SPRING_POM)
    (app / "mvnw").write_text("#!/bin/sh\n# the Maven wrapper start.spring.io generates\n")
    (app / "src/main/resources/application.yml").write_text(SPRING_APPLICATION_YML % {"distance": distance})
    (java / "HandbookIngestApplication.java").write_text(SPRING_MAIN)
    (java / "HandbookIngestor.java").write_text(SPRING_INGESTOR)
    return app


def spring_store_sql(tmp_path: Path) -> dict[str, str]:
    """PgVectorStore's own statements, read from the snapshot: the extensions, CREATE TABLE (with the UUID id column's
    type), CREATE INDEX and doAdd's INSERT ... ON CONFLICT, as Java writes them (placeholders left to fill)."""
    src = Source.of("spring-projects__spring-ai").checkout(SPRING_STORE.rsplit("/", 1)[0], tmp_path / "spring-ai")
    java = (src / "PgVectorStore.java").read_text()
    blocks = re.findall(r'String\.format\("""\n(.*?)"""', java, re.S)
    insert = re.search(r'String sql = ("INSERT INTO " \+ getFullyQualifiedTableName\(\).*?);', java, re.S).group(1)
    return {
        "extensions": re.findall(r'execute\("(CREATE EXTENSION IF NOT EXISTS [^"]*?(?:\\"[^"]*\\")?)"\)', java),
        "table": next(b for b in blocks if "CREATE TABLE" in b),
        "index": next(b for b in blocks if "CREATE INDEX" in b),
        "uuid": re.search(r'case UUID -> "([^"]+)";', java).group(1),
        "insert": "".join(s if s else "{table}" for s in re.findall(r'"([^"]*)"|getFullyQualifiedTableName\(\)', insert)),
        "ops": dict(re.findall(r'(\w+_DISTANCE|NEGATIVE_INNER_PRODUCT)\("[^"]+", "(\w+)"', java)),
    }


def load_spring(db, server, sql: dict, distance: str = "COSINE_DISTANCE") -> dict[str, str]:
    """initializeSchema then doAdd, as PgVectorStore runs them (the Java format strings filled as it fills them): a
    random UUID per chunk (Document's default id), the metadata JSON, the vector of the chunk's text alone."""
    import uuid

    table = "public.vector_store"
    vectors = httpx_embed(server, "nomic-embed-text", [text for _, text in SPRING_CHUNKS])
    ids = {}
    with db.connect(autocommit=True) as conn:
        available = {n for (n,) in conn.execute("SELECT name FROM pg_available_extensions").fetchall()}
        for statement in sql["extensions"]:
            if statement.rsplit(" ", 1)[-1].strip('\\"') in available:  # our server lacks uuid-ossp and hstore
                conn.execute(statement.replace('\\"', '"'))
        id_type = sql["uuid"] if "uuid-ossp" in available else sql["uuid"].replace("uuid_generate_v4()", "gen_random_uuid()")
        conn.execute("CREATE SCHEMA IF NOT EXISTS public")
        conn.execute(sql["table"].replace("%s", table, 1).replace("%s", id_type, 1).replace("%d", "768"))
        conn.execute(sql["index"].replace("%s", "spring_ai_vector_index", 1).replace("%s", table, 1)
                     .replace("%s", "HNSW", 1).replace("%s", sql["ops"][distance], 1))
        insert = sql["insert"].format(table=table).replace("?", "%s")
        for (title, text), vector in zip(SPRING_CHUNKS, vectors):
            doc_id = str(uuid.uuid4())
            meta = json.dumps({"category": "paragraph", "title": title})
            conn.execute(insert, (doc_id, text, meta, str(vector), text, meta, str(vector)))
            ids[text] = doc_id
    return ids


def spring_engine(text: str) -> str:
    """No JVM here: the user's edit, the harness's own engine instead of `./mvnw spring-boot:run`."""
    return re.sub(r"\n  command: [^\n]*\n  workdir: [^\n]*\n  env:[^\n]*\n(    [^\n]*\n)*", "\n", text)


def test_spring_ai_pgvector_store_located_drafted_and_backfilled(cli, empty_db, server, tmp_path):
    """The service's vector_store (id uuid DEFAULT uuid_generate_v4(), content text, metadata json, embedding
    vector(768), HNSW vector_cosine_ops) made at start-up by Java, no migration: locate reads the table, its
    dimensions and distance from application.yml, the model from spring.ai.ollama.embedding.model and the runner
    as `./mvnw spring-boot:run`; the draft names the table, key, text, vector, model; two vectors lost are found and
    the engine's vectors are the app's."""
    app = spring_app(tmp_path)
    ids = load_spring(empty_db, server, spring_store_sql(tmp_path))
    with empty_db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute("SELECT id::text, embedding::text FROM vector_store").fetchall())
        conn.execute("UPDATE vector_store SET embedding = NULL WHERE id = ANY(%s::uuid[])",
                     ([ids[SPRING_CHUNKS[1][1]], ids[SPRING_CHUNKS[6][1]]],))
    trial = procedure(cli, empty_db, server, app, tmp_path / "trial", "vector_store", edit=spring_engine)
    located = trial.locate.json
    assert {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]} == {
        ("src/main/resources/application.yml", "vector_store", "embedding", 768)}
    assert {(d["path"], d["distance"], d["table"]) for d in located["distances"]} == {
        ("src/main/resources/application.yml", "cosine", "vector_store")}
    assert located["best_entrypoint"] == "./mvnw spring-boot:run"
    assert {c["model"] for c in located["embedding_calls"]} == {"nomic-embed-text"}
    assert trial.init.json["todo"] == [], trial.init.out
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "vector_store", "id", "content", "embedding", "nomic-embed-text", 768, "cosine"), trial.profile.read_text()
    # The drafted command is given the database as Spring binds it: a JDBC URL and the credentials apart.
    drafted = yaml.safe_load(trial.init.json["profile"])["backfill"]
    assert drafted["command"] == "./mvnw spring-boot:run"
    assert drafted["env"] == {
        "SPRING_DATASOURCE_URL": "jdbc:postgresql://{database_host}:{database_port}/{database_name}",
        "SPRING_DATASOURCE_USERNAME": "{database_user}", "SPRING_DATASOURCE_PASSWORD": "{database_password}",
        "SPRING_AI_OLLAMA_BASE_URL": "{provider_url}", "SPRING_AI_OLLAMA_EMBEDDING_MODEL": "{model}",
        "SPRING_AI_OLLAMA_EMBEDDING_OPTIONS_MODEL": "{model}", "SPRING_AI_VECTORSTORE_PGVECTOR_DIMENSIONS": "{dimensions}"}
    assert_whole_procedure_ok(trial, empty_db, "vector_store", "embedding", len(SPRING_CHUNKS), needed=2)
    with empty_db.connect(autocommit=True) as conn:
        assert dict(conn.execute("SELECT id::text, embedding::text FROM vector_store").fetchall()) == app_vectors


def test_spring_ai_pgvector_store_gone_wrong_is_named_row_by_row_and_repaired(cli, empty_db, server, tmp_path):
    """The service set to NEGATIVE_INNER_PRODUCT (index vector_ip_ops): the draft says ip. Then a chunk's content
    edited after its vector, a permuted vector (another model's stand-in), the vector of the text with its metadata
    (MetadataMode.ALL's formatting, not what OllamaEmbeddingModel embeds), two swapped and one lost (NULL): verify
    names each; backfill --keys-from repairs them and every check passes."""
    app = spring_app(tmp_path, "NEGATIVE_INNER_PRODUCT")
    ids = load_spring(empty_db, server, spring_store_sql(tmp_path), "NEGATIVE_INNER_PRODUCT")
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    located = cli("locate", "--repo", app, "--json", env=env).json
    assert {(d["distance"], d["said"]) for d in located["distances"]} == {("ip", "NEGATIVE_INNER_PRODUCT")}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    profile.write_text(spring_engine(profile.read_text()))
    assert yaml.safe_load(profile.read_text())["distance"] == "ip"
    key = {text: ids[text] for _, text in SPRING_CHUNKS}
    chunk = [text for _, text in SPRING_CHUNKS]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE vector_store SET content = 'Submit receipts within ninety days.' WHERE id = %s::uuid",
                     (key[chunk[0]],))
        other = httpx_embed(server, "hash-embed:768", [chunk[2]])[0]
        conn.execute("UPDATE vector_store SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(%s::vector::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s::uuid", (str(other), key[chunk[2]]))
        composed = httpx_embed(server, "nomic-embed-text", [f"category: paragraph\ntitle: Holidays\n\n{chunk[4]}"])[0]
        conn.execute("UPDATE vector_store SET embedding = %s::vector WHERE id = %s::uuid", (str(composed), key[chunk[4]]))
        conn.execute("UPDATE vector_store d SET embedding = o.embedding FROM vector_store o WHERE (d.id, o.id) "
                     "IN ((%s::uuid, %s::uuid), (%s::uuid, %s::uuid))",
                     (key[chunk[3]], key[chunk[6]], key[chunk[6]], key[chunk[3]]))
        conn.execute("UPDATE vector_store SET embedding = NULL WHERE id = %s::uuid", (key[chunk[7]],))
    target = ("--profile", profile, "--collection", "vector_store")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 1, scoped.out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    failed = {c["check"] for c in damaged.json["checks"] if c["status"] == "failed"}
    assert "recompute" in failed, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {key[chunk[i]] for i in (0, 2, 4, 3, 6)}, offenders
    assert key[chunk[7]] in set().union(*offenders.values()), offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 6, fixed.out + fixed.err
    again = checked_again(profile, env, "vector_store")
    assert not [c for c, status in again.items() if status == "failed"], again
    assert empty_db.scalar("SELECT count(*) FROM vector_store WHERE embedding IS NULL") == 0


# -- xhad/yes (a Go app: langchaingo pgvector store + Ollama embeddings): its own documents table, pgx, langchaingo's Ollama client --

# The brief's premise, checked: the app does not use langchaingo's pgvector store (no langchain_pg_* tables). Its
# pkg/store/pgvector.go creates its own table with pgx (`id TEXT PRIMARY KEY, url, title, content, chunk_index,
# embedding vector(%d), metadata JSONB`, ivfflat vector_cosine_ops), named and sized by config.yaml, and embeds each
# chunk through langchaingo's Ollama client (`llm.NewEmbedder()`: nomic-embed-text:latest, hard-coded).
YES_STORE = "pkg/store/pgvector.go"
# Two scraped pages, their text as the processor leaves it (lower case, stopwords gone, each chunk >= 100 chars).
YES_PAGES = [
    ("https://docs.example.org/sensors", "sensors", [
        "loreum sensors report temperature humidity every thirty seconds over mqtt broker runs next gateway.",
        "each sensor carries its own battery; replace battery when dashboard shows level below fifteen percent.",
        "calibration happens once year; technician compares readings against reference probe laboratory.",
        "sensors placed outdoors need weatherproof housing; housing ships separately must be ordered early.",
        "firmware updates arrive over air during night; sensor reboots keeps last hundred readings memory.",
    ]),
    ("https://docs.example.org/agents", "agents", [
        "agents watch sensor readings raise alert when temperature stays above threshold ten minutes or more.",
        "an alert goes on-call engineer first; after fifteen minutes without answer it escalates team lead.",
    ]),
]


def yes_store_sql(tmp_path: Path) -> dict[str, str]:
    """The store's own statements (fmt.Sprintf raw strings) and the settings config.yaml gives them, read from the
    snapshot at the pinned commit."""
    app = Source.of("xhad__yes").checkout("", tmp_path / "yes")
    go = (app / YES_STORE).read_text()
    statements = re.findall(r"(\w+) := fmt\.Sprintf\(`(.*?)`", go, re.S)
    settings = yaml.safe_load((app / "config.yaml").read_text())["database"]
    return {**dict(statements), "table": settings["table_name"], "dim": str(settings["vector_dim"]),
            "model": re.search(r'Model:\s*"([^"]+)"', (app / "pkg/llm/embedder.go").read_text()).group(1)}


def load_yes(db, server, sql: dict) -> dict[str, str]:
    """initialize() then Store() per page, as the app runs them: the extension, the table and its index, then for
    each chunk the upsert with id `<doc.ID>_<i>` (the scraper never sets doc.ID: `_0`, `_1`, ...), the vector of the
    chunk alone. Returns {id: the text it holds last}."""
    table = sql["table"]
    held = {}
    with db.connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(sql["createTable"].replace("%s", table, 1).replace("%d", sql["dim"], 1))
        conn.execute(sql["createIndex"].replace("%s", table).replace("%s", table))
        insert = sql["stmt"].replace("%s", table, 1)
        for url, title, chunks in YES_PAGES:
            vectors = httpx_embed(server, sql["model"], chunks)
            for i, (chunk, vector) in enumerate(zip(chunks, vectors)):
                meta = json.dumps({"depth": 1, "contentType": "text/html", "lastModified": ""})
                conn.execute(re.sub(r"\$\d", "%s", insert), (f"_{i}", url, title, chunk, i, str(vector), meta))
                held[f"_{i}"] = chunk
    return held


def yes_app(tmp_path: Path) -> Path:
    return Source.of("xhad__yes").checkout("", tmp_path / "app")


def test_xhad_yes_go_store_located_drafted_and_backfilled(cli, empty_db, server, tmp_path):
    """The app's documents table made and filled by its own statements: locate lists no entrypoint (the only
    `package main` is a chat loop on stdin), names     embedder's model and the cosine distance; the draft names documents, id, content, embedding, the model, 768 and
    cosine; with two vectors lost scope counts 2, the engine fills them equal to the app's, verify and record ok."""
    sql = yes_store_sql(tmp_path)
    held = load_yes(empty_db, server, sql)
    app = yes_app(tmp_path)
    with empty_db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute("SELECT id, embedding::text FROM documents").fetchall())
        conn.execute("UPDATE documents SET embedding = NULL WHERE id IN ('_1', '_4')")
    trial = procedure(cli, empty_db, server, app, tmp_path / "trial", "documents")
    located = trial.locate.json
    assert {(d["path"], d["distance"]) for d in located["distances"]} == {("pkg/store/pgvector.go", "cosine")}
    # NewEmbedder's literals, not config.yaml's llm.* (the chat model and the URL OLLAMA_BASE_URL overrides).
    assert {(c["path"], c["model"], c["url"], c["url_env"]) for c in located["embedding_calls"]} == {
        ("pkg/llm/embedder.go", "nomic-embed-text:latest", "http://localhost:11434", None)}, located["embedding_calls"]
    # cmd/cmd.go is a chat loop on stdin (a URL typed in is scraped and stored): no batch command to draft.
    assert located["entrypoints"] == [] and located["best_entrypoint"] is None, located["entrypoints"]
    assert "command" not in (yaml.safe_load(trial.init.json["profile"])["backfill"] or {})
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "documents", "id", "content", "embedding", "nomic-embed-text", 768, "cosine"), trial.profile.read_text()
    assert_whole_procedure_ok(trial, empty_db, "documents", "embedding", len(held), needed=2)
    with empty_db.connect(autocommit=True) as conn:
        assert dict(conn.execute("SELECT id, embedding::text FROM documents").fetchall()) == app_vectors


def test_xhad_yes_documents_gone_wrong_are_named_row_by_row_and_repaired(cli, empty_db, server, tmp_path):
    """A chunk's content edited after its vector, a permuted vector (another model's stand-in), the vector of the
    title and chunk together (not what Store embeds), two swapped and one lost (NULL): verify names each; backfill
    --keys-from repairs them and every check passes."""
    held = load_yes(empty_db, server, yes_store_sql(tmp_path))
    app = yes_app(tmp_path)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE documents SET content = 'an alert goes team lead at once.' WHERE id = '_1'")
        other = httpx_embed(server, "hash-embed:768", [held["_2"]])[0]
        conn.execute("UPDATE documents SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(%s::vector::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = '_2'", (str(other),))
        composed = httpx_embed(server, "nomic-embed-text", [f"sensors\n\n{held['_3']}"])[0]
        conn.execute("UPDATE documents SET embedding = %s::vector WHERE id = '_3'", (str(composed),))
        conn.execute("UPDATE documents d SET embedding = o.embedding FROM documents o "
                     "WHERE (d.id, o.id) IN (('_0', '_4'), ('_4', '_0'))")
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO documents (id, url, title, content, chunk_index, embedding, metadata) "
                     "VALUES ('_9', 'https://docs.example.org/x', 'x', %s, 9, NULL, '{}')",
                     ("a chunk stored without its vector: the upsert of a batch that failed half way. " * 2,))
    target = ("--profile", profile, "--collection", "documents")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 1, scoped.out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {"_0", "_1", "_2", "_3", "_4"}, offenders
    assert "_9" in set().union(*offenders.values()), offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 6, fixed.out + fixed.err
    again = checked_again(profile, env, "documents")
    assert not [c for c, status in again.items() if status == "failed"], again
    assert empty_db.scalar("SELECT count(*) FROM documents WHERE embedding IS NULL") == 0


# langchaingo's own pgvector store (what the README of xhad/yes says it uses, and other Go apps do): its tables made
# and filled by its own statements, read from tmc/langchaingo's snapshot, then the `langchain` preset on them.
LANGCHAINGO_COMMIT = "8fea3de63675b901cf7a2cdc435c204cb7a93643"


def langchaingo_store_sql(tmp_path: Path) -> dict[str, str]:
    """createCollectionTableIfNotExists's and createEmbeddingTableIfNotExists's CREATE TABLEs, the collection upsert
    and AddDocuments' INSERT, as fmt.Sprintf raw strings."""
    src = Source("xhad__yes", "tmc/langchaingo", LANGCHAINGO_COMMIT).checkout("vectorstores/pgvector", tmp_path / "lcgo")
    go = (src / "pgvector.go").read_text()
    raw = re.findall(r"fmt\.Sprintf\(\s*`(.*?)`", go, re.S)
    return {"collection": next(s for s in raw if "CREATE TABLE" in s and "name varchar" in s),
            "embedding": next(s for s in raw if "CREATE TABLE" in s and "collection_id uuid" in s),
            "upsert": next(s for s in raw if s.startswith("INSERT INTO %s (uuid, name, cmetadata)")),
            "insert": next(s for s in raw if s.startswith("INSERT INTO %s (uuid, document, embedding"))}


def load_langchaingo(db, server, sql: dict, texts: list[str]) -> dict[str, str]:
    """pgvector.New then AddDocuments, as langchaingo runs them: the default table and collection names, a random
    uuid per document, the metadata as JSON. Returns {text: uuid}."""
    import uuid

    coll, emb = "langchain_pg_collection", "langchain_pg_embedding"
    ids = {}
    with db.connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(sql["collection"].replace("%s", coll, 1))
        conn.execute(sql["embedding"].replace("%s", emb, 1).replace("%s", "(768)", 1).replace("%s", coll, 1))
        conn.execute(re.sub(r"\$\d", "%s", sql["upsert"].replace("%s", coll, 1)),
                     (str(uuid.uuid4()), "langchain", json.dumps({}), json.dumps({})))  # $3 twice
        collection = conn.execute(f"SELECT uuid FROM {coll} WHERE name = 'langchain'").fetchone()[0]
        insert = re.sub(r"\$\d", "%s", sql["insert"].replace("%s", emb, 1))
        for text, vector in zip(texts, httpx_embed(server, "nomic-embed-text", texts)):
            ids[text] = str(uuid.uuid4())
            conn.execute(insert, (ids[text], text, str(vector), json.dumps({"source": "https://docs.example.org"}),
                                  collection))
    return ids


def test_langchaingo_pgvector_store_rows_are_checked_by_the_langchain_preset(cli, empty_db, server, tmp_path):
    """langchaingo keys its rows by a `uuid` column (langchain-postgres by `id`) and names its default collection
    `langchain`: the preset, as a new user runs it, counts the lost vectors, fills them and verifies, and names an edit
    and a swap; profile init drafts the same shape from the database alone."""
    texts = [chunk for _, _, chunks in YES_PAGES for chunk in chunks]
    ids = load_langchaingo(empty_db, server, langchaingo_store_sql(tmp_path), texts)
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE langchain_pg_embedding SET embedding = NULL WHERE uuid = %s::uuid", (ids[texts[2]],))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url, "EMBED_DIMENSIONS": "768"}
    # Without the preset, the draft reads the same shape from the database alone.
    drafted, empty = tmp_path / "drafted.yaml", tmp_path / "no-app"
    empty.mkdir()
    init = cli("profile", "init", "--repo", empty, "--database-url", empty_db.dsn, "--model", "nomic-embed-text",
               "--output", drafted, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    chunks = yaml.safe_load(drafted.read_text())["chunks"]
    assert (chunks["table"], chunks["id"], chunks["text"], chunks["collection"], chunks["collection_table"]) == (
        "langchain_pg_embedding", "uuid", "document", "collection_id",
        {"table": "langchain_pg_collection", "key": "uuid", "name": "name"}), drafted.read_text()
    target = ("--profile", "langchain", "--collection", "langchain")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 1, scoped.out + scoped.err
    ran = cli("run", *target, "--run-dir", tmp_path / "run", "--engine", "--json", env=env)
    assert ran.code == 0, ran.out + ran.err
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding WHERE embedding IS NULL") == 0
    verified = cli("verify", *target, "--run-dir", tmp_path / "run", "--json", env=env)
    assert verified.code == 0, verified.out + verified.err
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE langchain_pg_embedding SET document = 'sensors report nothing.' WHERE uuid = %s::uuid",
                     (ids[texts[0]],))
        conn.execute("UPDATE langchain_pg_embedding d SET embedding = o.embedding FROM langchain_pg_embedding o "
                     "WHERE (d.uuid, o.uuid) IN ((%s::uuid, %s::uuid), (%s::uuid, %s::uuid))",
                     (ids[texts[3]], ids[texts[5]], ids[texts[5]], ids[texts[3]]))
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {ids[texts[i]] for i in (0, 3, 5)}, offenders


# -- QuivrHQ/quivr (backend at eea702d5d): chunks in `vectors`, placed in brains through join tables -------------------

QUIVR_STAND_IN = SUPABASE_STAND_IN + """
CREATE SCHEMA vault; CREATE VIEW vault.decrypted_secrets AS SELECT NULL::text AS name, NULL::text AS decrypted_secret;
CREATE SCHEMA stripe; CREATE TABLE stripe.customers (id text, email text, name text, description text, created timestamp,
                                                      attrs jsonb);
CREATE FOREIGN DATA WRAPPER stripe_wrapper; CREATE SERVER stripe_server FOREIGN DATA WRAPPER stripe_wrapper;
CREATE PUBLICATION supabase_realtime;
"""


def quivr_app(tmp_path: Path) -> Path:
    return Source.of("QuivrHQ__quivr").checkout("", tmp_path / "app", only=(
        "backend/api/quivr_api/", "backend/supabase/", "backend/worker/quivr_worker/", "backend/api/pyproject.toml",
        ".env.example"))


def quivr_schema(db, app: Path) -> None:
    """The backend's Supabase migrations in the order the CLI applies them (the local Ollama one last), after the
    stand-ins for Supabase's platform; the `wrappers` extension (Stripe's foreign tables) is left out."""
    import psycopg

    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(QUIVR_STAND_IN)
        conn.execute(f'ALTER DATABASE {db.name} SET search_path = "$user", public, extensions')
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for migration in sorted((app / "backend" / "supabase" / "migrations").glob("*.sql")):
            text = re.sub(r'(?i)create extension if not exists "?wrappers"?[^;]*;', "", migration.read_text())
            try:
                conn.execute(text)
            except Exception as e:
                raise AssertionError(f"{migration.name}: {e}") from e


QUIVR_BRAINS = {"handbook": "0b5f2a1e-6c3d-4e8f-9a0b-1c2d3e4f5a60", "research": "7d1e9c40-2b3a-4f5e-8d6c-0a1b2c3d4e5f"}
# file name -> (its knowledge id, the brains it is added to, its chunks as the processor leaves them)
QUIVR_FILES = {
    "vacation.md": ("11111111-1111-4111-8111-111111111111", ("handbook",), [
        "Every employee receives twenty-five days of paid vacation per calendar year.",
        "Unused vacation days carry over until the end of March of the following year.",
        "Vacation requests are approved by the team lead at least two weeks in advance."]),
    "expenses.md": ("22222222-2222-4222-8222-222222222222", ("handbook", "research"), [
        "Travel expenses are reimbursed within five working days of the receipt upload.",
        "Conference fees for research staff are paid from the research travel budget.",
        "Meals abroad are reimbursed up to the daily allowance of the destination country."]),
    "paper.md": ("33333333-3333-4333-8333-333333333333", ("research",), [
        "The study measures retrieval quality of chunked documents across three embedding models.",
        "Longer chunks improved recall but reduced precision on the question answering benchmark.",
        "Future work compares hybrid keyword and vector search on the same document collection."]),
}
QUIVR_USER = "a11ce000-0000-4000-8000-000000000001"


def load_quivr(db, server, model: str = "llama2") -> dict[str, str]:
    """Brains, knowledge and their links as the API writes them (`insert_knowledge_brain`), then each file's chunks as
    the worker stores them (`VectorService.create_vectors`: content, metadata, the vector of page_content alone,
    knowledge_id). Returns {vector id: content}."""
    held = {}
    with db.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO auth.users (id, email) VALUES (%s, 'alice@example.org')", (QUIVR_USER,))
        for name, brain in QUIVR_BRAINS.items():
            conn.execute("INSERT INTO brains (brain_id, name, status, brain_type) VALUES (%s, %s, 'private', 'doc')",
                         (brain, name))
        for file, (knowledge, brains, chunks) in QUIVR_FILES.items():
            conn.execute("INSERT INTO knowledge (id, file_name, extension, status, source, file_size, user_id) "
                         "VALUES (%s, %s, '.md', 'UPLOADED', 'local', %s, %s)",
                         (knowledge, file, sum(map(len, chunks)), QUIVR_USER))
            for b in brains:
                conn.execute("INSERT INTO knowledge_brain (knowledge_id, brain_id) VALUES (%s, %s)", (knowledge, QUIVR_BRAINS[b]))
            # langchain_community's OllamaEmbeddings.embed_documents embeds f"{embed_instruction}{text}", "passage: "
            vectors = httpx_embed(server, model, [f"passage: {c}" for c in chunks])
            for i, (text, vector) in enumerate(zip(chunks, vectors)):
                meta = {"chunk_size": len(text.split()), "chunk_index": i, "file_name": file, "original_file_name": file,
                        "file_size": sum(map(len, chunks)), "integration": "", "integration_link": ""}
                key = conn.execute("INSERT INTO vectors (content, metadata, embedding, knowledge_id) VALUES (%s, %s, %s::vector, %s) "
                                   "RETURNING id::text", (text, json.dumps(meta), str(vector), knowledge)).fetchone()[0]
                held[key] = text
    return held


@pytest.fixture(scope="module")
def quivr(pg, templates, server, tmp_path_factory):
    """The backend's checkout and a template database: Quivr's schema from its migrations, two brains, three files
    (one added to both brains) stored as the API and the worker store them."""
    from tests.conftest import Database

    app = quivr_app(tmp_path_factory.mktemp("quivr"))
    dependencies = (app / "backend/api/quivr_api/modules/dependencies.py").read_text()
    assert "OllamaEmbeddings(\n            base_url=settings.ollama_api_base_url," in dependencies  # no model: llama2
    with app_database(pg, templates, "quivr") as name:
        db = Database(name, pg.dsn(name))
        quivr_schema(db, app)
        held = load_quivr(db, server)
        yield app, name, held


@pytest.fixture
def quivr_db(pg, quivr):
    from ..conftest import _database

    yield from _database(pg, quivr[1])


def quivr_chunk(conn, file: str, index: int) -> str:
    return conn.execute("SELECT id::text FROM vectors WHERE metadata->>'file_name' = %s "
                        "AND (metadata->>'chunk_index')::int = %s", (file, index)).fetchone()[0]


def test_quivr_vectors_placed_in_brains_by_knowledge_brain_located_drafted_and_verified(cli, quivr, quivr_db, server,
                                                                                       tmp_path):
    """locate names the Ollama embedder (langchain_community's OllamaEmbeddings with no model: llama2, each document
    after its default instruction 'passage: '; its URL from OLLAMA_API_BASE_URL through the settings class), the Ollama migration's untyped `vector` as the column's declaration
    now, cosine from match_vectors, and no entrypoint (a Celery worker); the draft needs no edit: vectors, id, content
    after 'passage: ' (measured), llama2, brains through knowledge_brain by name; scope, run --engine, verify and
    record ok for each brain (plan too), every vector left as the app wrote it."""
    app, _, held = quivr
    with quivr_db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute("SELECT id::text, embedding::text FROM vectors").fetchall())
    trial = procedure(cli, quivr_db, server, app, tmp_path / "handbook", "handbook", plan=True)
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    located = trial.locate.json
    [ollama] = [c for c in located["embedding_calls"] if c["name"] == "OllamaEmbeddings"]
    assert (ollama["path"], ollama["model"], ollama["url_env"]) == (
        "backend/api/quivr_api/modules/dependencies.py", "llama2", "OLLAMA_API_BASE_URL"), ollama
    assert {(p["prefix"], p["where"]) for p in located["task_prefixes"]} == {
        ("passage: ", "backend/api/quivr_api/modules/dependencies.py:126"),
        ("query: ", "backend/api/quivr_api/modules/dependencies.py:126")}, located["task_prefixes"]
    now = {(d["path"].rsplit("/", 1)[1], d["table"], d["column"], d["dimensions"])
           for d in located["declarations"] if not d["superseded"] and (d["table"] or "").endswith("vectors")}
    assert now == {("local_20240107152745_ollama.sql", "public.vectors", "embedding", None)}, now
    assert ("vectors", "embedding", "cosine") in {(d["table"], d["column"], d["distance"]) for d in located["distances"]}
    assert located["entrypoints"] == [] and located["best_entrypoint"] is None, located["entrypoints"]
    assert trial.init.json["todo"] == [], trial.init.out
    raw = yaml.safe_load(trial.profile.read_text())
    ch = raw["chunks"]
    assert (ch["table"], ch["id"], ch["text"], ch["text_prefix"], ch["query_prefix"], raw["provider"]["model"],
            raw["embeddings"]["vector"], raw["distance"]) == (
        "vectors", "id", "content", "passage: ", "query: ", "llama2", "embedding", "cosine"), trial.profile.read_text()
    assert (ch["collection"], ch["collection_join"], ch["collection_table"]) == (
        "brain_id", {"table": "knowledge_brain", "key": "knowledge_id", "chunk": "knowledge_id"},
        {"table": "brains", "key": "brain_id", "name": "name"}), trial.profile.read_text()
    handbook = 6  # vacation.md and expenses.md
    assert_whole_procedure_ok(trial, quivr_db, "vectors", "embedding", len(held), needed=0)
    assert trial.scope.json["counts"]["chunks"] == handbook, trial.scope.out
    env = {"DATABASE_URL": quivr_db.dsn, "OLLAMA_HOST": server.url}
    research = cli("scope", "--profile", trial.profile, "--collection", "research", "--json", env=env)
    assert research.code == 0 and research.json["counts"]["chunks"] == 6, research.out + research.err
    assert not [c for c, status in checked_again(trial.profile, env, "research").items() if status == "failed"]
    with quivr_db.connect(autocommit=True) as conn:
        assert dict(conn.execute("SELECT id::text, embedding::text FROM vectors").fetchall()) == app_vectors


def test_quivr_vectors_gone_wrong_are_named_row_by_row_and_repaired(cli, quivr, quivr_db, server, tmp_path):
    """In the handbook brain: a chunk's content edited after its vector, a vector of another model (a permuted one),
    the vector of the chunk without the 'passage: ' instruction, a vector swapped with a research-only chunk's (a
    vector of the wrong brain), and a file whose chunks are lost (the worker's failure: no rows, the column is NOT
    NULL): verify names exactly those chunks under recompute, the file under source_coverage; backfill --keys-from
    re-embeds the chunks (the research chunk too, in its own brain's run), leaving the lost file named."""
    app, _, held = quivr
    env = {"DATABASE_URL": quivr_db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", quivr_db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    # The user takes up the draft's commented source: every knowledge row must have chunks in its brains.
    text = profile.read_text()
    assert "# source: {table: knowledge, key: id, chunk_key: knowledge_id}" in text, text
    profile.write_text(text.replace("# source: {table: knowledge", "source: {table: knowledge"))
    with quivr_db.connect(autocommit=True) as conn:
        edited, other, bare = (quivr_chunk(conn, "vacation.md", i) for i in (0, 1, 2))
        moved, research_only = quivr_chunk(conn, "expenses.md", 0), quivr_chunk(conn, "paper.md", 1)
        conn.execute("UPDATE vectors SET content = 'Every employee receives thirty days of paid vacation.' "
                     "WHERE id = %s", (edited,))
        conn.execute("UPDATE vectors SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (other,))
        conn.execute("UPDATE vectors SET embedding = %s::vector WHERE id = %s",
                     (str(httpx_embed(server, "llama2", [held[bare]])[0]), bare))
        conn.execute("UPDATE vectors d SET embedding = o.embedding FROM vectors o WHERE (d.id::text, o.id::text) IN "
                     "((%s, %s), (%s, %s))", (moved, research_only, research_only, moved))
        lost = QUIVR_FILES["paper.md"][0]
        conn.execute("INSERT INTO knowledge (id, file_name, extension, status, source, file_size, user_id) "
                     "VALUES ('44444444-4444-4444-8444-444444444444', 'onboarding.md', '.md', 'ERROR', 'local', 10, %s)",
                     (QUIVR_USER,))
        conn.execute("INSERT INTO knowledge_brain (knowledge_id, brain_id) VALUES "
                     "('44444444-4444-4444-8444-444444444444', %s)", (QUIVR_BRAINS["handbook"],))
    target = ("--profile", profile, "--collection", "handbook")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {edited, other, bare, moved}, offenders
    assert offenders["source_coverage"] == {("knowledge", "44444444-4444-4444-8444-444444444444")}, offenders
    assert lost not in {k for keys in offenders.values() for k in keys}  # paper.md is research's, not missing here
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 4, fixed.out + fixed.err
    # The lost file has nothing to re-embed: said, not counted.
    assert any("source_coverage: knowledge 44444444-4444-4444-8444-444444444444" in n for n in fixed.json["notes"]), \
        fixed.json["notes"]
    # The swapped research chunk still holds the expenses chunk's vector: research's verify names it.
    research = cli("verify", "--profile", profile, "--collection", "research", "--run-dir", tmp_path / "research",
                   "--json", env=env)
    assert research.code == 1
    # expenses.md is in both brains: its repaired chunk and the research chunk now hold one vector (distinct_vectors
    # names the research chunk only: the expenses chunk's vector is its own text's; recompute names it too).
    assert offenders_by_check(tmp_path / "research" / "offenders.jsonl") == {
        "recompute": {research_only}, "distinct_vectors": {research_only}}
    repaired = cli("backfill", "--profile", profile, "--collection", "research", "--keys-from",
                   tmp_path / "research" / "offenders.jsonl", "--json", env=env)
    assert repaired.code == 0 and repaired.json["embedded"] == 1, repaired.out + repaired.err
    # Measured: every check passes in both brains but the lost file's (nothing of it is left to embed).
    again = checked_again(profile, env, "handbook")
    assert {c for c, status in again.items() if status == "failed"} == {"source_coverage"}, again
    assert not [c for c, status in checked_again(profile, env, "research").items() if status == "failed"]
    with quivr_db.connect(autocommit=True) as conn:
        for key in (other, bare, moved, research_only):  # measured: each the app's own vector of its text again
            content = conn.execute("SELECT content FROM vectors WHERE id = %s", (key,)).fetchone()[0]
            own = str(httpx_embed(server, "llama2", [f"passage: {content}"])[0])
            assert conn.execute("SELECT embedding = %s::vector FROM vectors WHERE id = %s", (own, key)).fetchone()[0]


# -- AI SDK RAG starters on drizzle: a schema that only the last of several migrations says ---------------------------

def drizzle_migrations(db, migrations: Path) -> None:
    """The schema as ``drizzle-kit migrate`` builds it: every migration of the journal, in order."""
    journal = json.loads((migrations / "meta" / "_journal.json").read_text())
    with db.connect(autocommit=True) as conn:
        for entry in journal["entries"]:
            for statement in (migrations / f"{entry['tag']}.sql").read_text().split("--> statement-breakpoint"):
                if statement.strip():
                    conn.execute(statement)


# What users tell the starter's chat to remember: each becomes a resource, cut at every '.' into chunks.
RAG_STARTER_RESOURCES = (
    "The office opens at eight. Visitors sign in at the front desk. Parking is free after six",
    "Invoices are paid within thirty days. Late invoices go to the finance lead. Refunds need a receipt",
    "The wifi password changes every Monday. Ask the helpdesk for guest access",
    "Lunch is served from noon in the canteen. The canteen closes at two. Vegetarian dishes are marked green",
)


def rag_starter_chunks(value: str) -> list[str]:
    """generateChunks: the input trimmed, split at every '.', empty pieces dropped (the leading spaces kept)."""
    return [c for c in value.strip().split(".") if c != ""]


def load_rag_starter(db, server, model: str = "text-embedding-ada-002") -> dict[str, str]:
    """createResource per text, as the chat's addResource tool runs it: a resources row, then one embeddings row per
    chunk with the vector embedMany gave it (ids are the app's nanoid()). Returns {embedding id: its content}."""
    import secrets

    held = {}
    with db.connect(autocommit=True) as conn:
        for text in RAG_STARTER_RESOURCES:
            resource = secrets.token_hex(10)
            conn.execute("INSERT INTO resources (id, content) VALUES (%s, %s)", (resource, text))
            chunks = rag_starter_chunks(text)
            for chunk, vector in zip(chunks, httpx_embed(server, model, chunks)):
                key = secrets.token_hex(10)
                conn.execute("INSERT INTO embeddings (id, resource_id, content, embedding) VALUES (%s, %s, %s, %s)",
                             (key, resource, chunk, str(vector)))
                held[key] = chunk
    return held


@pytest.fixture(scope="module")
def rag_starter(pg, templates, server, tmp_path_factory):
    """The starter's checkout and a template database its four migrations built, filled as createResource fills it."""
    from tests.conftest import Database

    app = Source.of("harukats__ai-sdk-rag-starter").checkout("", tmp_path_factory.mktemp("rag_starter") / "app")
    with app_database(pg, templates, "rag_starter") as name:
        db = Database(name, pg.dsn(name))
        drizzle_migrations(db, app / "lib" / "db" / "migrations")
        yield app, name, load_rag_starter(db, server)


@pytest.fixture
def rag_starter_db(pg, rag_starter):
    from ..conftest import _database

    yield from _database(pg, rag_starter[1])


def test_ai_sdk_rag_starter_locate_reports_the_column_its_last_migration_renamed_and_widened(cli, rag_starter, tmp_path):
    """0001 creates `embeddings.embeddings vector(512)`, 0002 renames it `embedding`, 0003 makes it vector(1536):
    locate reports the column only as 0003 and schema.ts leave it, and the older names and width as changed."""
    located = cli("locate", "--repo", rag_starter[0], "--json").json
    now = {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"] if not d["superseded"]}
    assert now == {("lib/db/schema/embeddings.ts", "embeddings", "embedding", 1536),
                   ("lib/db/migrations/0003_milky_zarek.sql", "embeddings", "embedding", 1536),
                   ("lib/db/migrations/meta/0003_snapshot.json", "embeddings", "embedding", 1536)}, located["declarations"]
    assert located["declared_dimensions"] == [1536]
    # the index the code searches is the one 0002 recreated on the renamed column
    assert {(u["path"], u["column"], u["distance"]) for u in located["distances"] if u["kind"] == "sql-index"} == {
        ("lib/db/migrations/0002_glossy_arachne.sql", "embedding", "cosine")}, located["distances"]
    assert {c["model"] for c in located["embedding_calls"] if c["model"]} == {"text-embedding-ada-002"}


def test_ai_sdk_rag_starter_drafted_and_taken_through_the_procedure(cli, rag_starter, rag_starter_db, server, tmp_path):
    """The draft names the current column and the model the app embeds with; nothing is missing (the column is NOT
    NULL), so scope counts none, run embeds none, verify and record ok, and the app's vectors are untouched."""
    app, db = rag_starter[0], rag_starter_db
    with db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute("SELECT id, embedding::text FROM embeddings").fetchall())
    trial = procedure(cli, db, server, app, tmp_path, "embeddings")
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "embeddings", "id", "content", "embedding", "text-embedding-ada-002", 1536, "cosine"), drafted
    assert "512" not in drafted, drafted  # 0001's width is no longer declared anywhere the draft could cite
    # no entrypoint, no model column: the model the AI SDK call names, served at the column's width
    assert ("model: text-embedding-ada-002  # guess: the application's embedder names it (ai-sdk, lib/ai/embedding.ts:7) "
            "and the provider serves it at 1536 dimensions") in drafted, drafted
    assert_whole_procedure_ok(trial, db, "embeddings", "embedding", len(rag_starter[2]), needed=0)
    with db.connect(autocommit=True) as conn:
        assert dict(conn.execute("SELECT id, embedding::text FROM embeddings").fetchall()) == app_vectors


def test_ai_sdk_rag_starter_chunks_gone_wrong_are_named_row_by_row_and_repaired(cli, rag_starter, rag_starter_db,
                                                                                 server, tmp_path):
    """A chunk's content edited after its vector, a permuted vector (another model's stand-in) and two vectors
    swapped between resources: verify names exactly those four; backfill --keys-from repairs them. The NOT NULL
    column loses no vector: a failed embedMany leaves its resource without chunks (createResource inserts it first),
    which source_coverage names once the user says `resources` is the source, and which no re-embedding repairs."""
    app, db, held = rag_starter[0], rag_starter_db, rag_starter[2]
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    profile.write_text(profile.read_text() + "source: {table: resources, key: id, chunk_key: resource_id}\n")
    db.execute("INSERT INTO resources (id, content) VALUES ('unembedded', 'The roof terrace opens in May. Bring a coat')")
    edited, permuted, first, second = list(held)[0], list(held)[4], list(held)[1], list(held)[9]
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE embeddings SET content = ' Visitors wait in the lobby' WHERE id = %s", (edited,))
        conn.execute("UPDATE embeddings SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (permuted,))
        conn.execute("UPDATE embeddings d SET embedding = o.embedding FROM embeddings o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (first, second, second, first))
    target = ("--profile", profile, "--collection", "embeddings")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {edited, permuted, first, second}, offenders
    assert offenders["source_coverage"] == {("resources", "unembedded")}, offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 4, fixed.out + fixed.err
    again = checked_again(profile, env, "embeddings")
    assert [c for c, status in again.items() if status == "failed"] == ["source_coverage"], again
    with db.connect(autocommit=True) as conn:
        now = dict(conn.execute("SELECT id, embedding::text FROM embeddings WHERE id = ANY(%s)",
                                ([permuted, first, second],)).fetchall())
    expected = httpx_embed(server, "text-embedding-ada-002", [held[permuted], held[first], held[second]])
    assert [json.loads(now[k]) == pytest.approx(v, abs=1e-6) for k, v in zip((permuted, first, second), expected)] == [True] * 3


def test_personal_rag_locate_reports_the_width_and_index_its_last_migration_leaves(cli, tmp_path):
    """my-ai-app's column went 768 -> vector(4096) -> halfvec(4096) with an ivfflat l2 index -> vector(2000) with HNSW
    cosine: locate declares 2000 only (drizzle-kit's per-migration snapshots included) and the distance the last index
    says, not the l2 of the indexes 0004 and 0005 dropped."""
    app = Source.of("Kevin-RB__Personal-RAG").checkout("my-ai-app", tmp_path / "app")
    located = cli("locate", "--repo", app, "--json").json
    now = {(d["path"], d["type"], d["dimensions"]) for d in located["declarations"]
           if not d["superseded"] and d["table"] == "embeddings"}
    assert now == {("lib/db/schema/embeddings.ts", "vector", 2000), ("lib/db/migrations/0005_foamy_exiles.sql", "vector", 2000),
                   ("lib/db/migrations/meta/0005_snapshot.json", "vector", 2000)}, located["declarations"]
    assert located["declared_dimensions"] == [2000]
    indexes = {(u["path"], u["distance"]) for u in located["distances"] if u["kind"] == "sql-index"}
    assert ("lib/db/migrations/0005_foamy_exiles.sql", "cosine") in indexes
    assert not {p for p, d in indexes if d == "l2"}, indexes


def test_personal_rag_draft_says_the_distance_of_the_index_its_last_migration_made(cli, empty_db, server, tmp_path):
    """The table as 0005 and schema.ts leave it (vector(2000), HNSW cosine): the draft's distance is cosine, with no
    word of the l2 indexes earlier migrations made and dropped, nor of 768 or 4096."""
    app = Source.of("Kevin-RB__Personal-RAG").checkout("my-ai-app", tmp_path / "app")
    empty_db.execute('CREATE TABLE resources (id varchar(191) PRIMARY KEY, content text NOT NULL); '
                     'CREATE TABLE embeddings (id varchar(191) PRIMARY KEY, resource_id varchar(191) REFERENCES resources(id) '
                     'ON DELETE CASCADE, content text NOT NULL, embedding vector(2000) NOT NULL, page_number integer NOT NULL); '
                     'CREATE INDEX "embeddingIndex" ON embeddings USING hnsw (embedding vector_cosine_ops)')
    profile = tmp_path / "profile.yaml"
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    init = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--model", "hash-embed:2000",
               "--output", profile, "--json", env=env)
    assert init.code == 0, init.out + init.err
    drafted = profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["embeddings"]["vector"], raw["provider"]["dimensions"], raw["distance"]) == (
        "embeddings", "embedding", 2000, "cosine"), drafted
    assert "l2" not in drafted and "4096" not in drafted and "768" not in drafted, drafted


def test_personal_rag_head_schema_ts_ahead_of_its_one_migration_is_said_as_such(cli, empty_db, server, tmp_path):
    """At its head the app's one drizzle-kit 1.0 migration (and its snapshot.json, a flat `ddl` list) makes
    vector(2000), while schema.ts was changed to 520 since: locate declares all three, and the draft, on the database
    that migration made, says the schema is ahead of its migrations, not that a migration was not applied."""
    app = Source.of("Kevin-RB__Personal-RAG__head").checkout("my-ai-app", tmp_path / "app")
    located = cli("locate", "--repo", app, "--json").json
    folder = "lib/db/migrations/20260121122351_special_diamondback"
    assert {(d["path"], d["dimensions"]) for d in located["declarations"] if d["table"] == "embeddings"} == {
        ("lib/db/schema/embeddings.ts", 520), (f"{folder}/migration.sql", 2000), (f"{folder}/snapshot.json", 2000)}
    empty_db.execute('CREATE TABLE embeddings (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), resource_id uuid, '
                     'content text NOT NULL, embedding vector(2000) NOT NULL, page_number integer NOT NULL); '
                     'CREATE INDEX "embeddingIndex" ON embeddings USING hnsw (embedding vector_cosine_ops)')
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output", profile, "--json",
               env={"OLLAMA_HOST": server.url})
    assert init.code == 0, init.out + init.err
    said = next(line for line in profile.read_text().splitlines() if line.startswith("  dimensions:"))
    assert said == (f"  dimensions: 2000  # declared by embeddings.embedding (vector); so does the application's latest "
                    f"migration ({folder}/migration.sql:6, {folder}/snapshot.json:61), but its schema declares 520 "
                    "(lib/db/schema/embeddings.ts:19): a schema change no migration was made for yet (the next one "
                    "would change the column)?"), said


# -- zylon-ai/private-gpt: LlamaIndex PGVectorStore in a configured schema, Ollama, settings in YAML profiles ----------

# What the app's ingest does with PGPT_PROFILES=ollama-pg (settings.yaml, then settings-ollama-pg.yaml): each file read
# as one Document (StringIterableReader for a .txt), `file_name` and `doc_id` put in its metadata, `doc_id` excluded
# from the embedded text (IngestionHelper); SentenceWindowNodeParser's nodes (one per sentence, `window` and
# `original_text` excluded) embedded by OllamaEmbedding(model_name=embedding_model + ":latest",
# base_url=embedding_api_base) into PGVectorStore.from_params(**settings.postgres, table_name="embeddings",
# embed_dim=settings.embedding.embed_dim): `<schema_name>.data_embeddings`.
PRIVATE_GPT_INGEST = r'''
import json, sys
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.node_parser import SentenceWindowNodeParser
from llama_index.embeddings.ollama import OllamaEmbedding
from llama_index.vector_stores.postgres import PGVectorStore
from sqlalchemy.engine import make_url
dsn, ollama, settings, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.load(open(sys.argv[4]))
url = make_url(dsn)
store = PGVectorStore.from_params(host=url.host, port=str(url.port), database=url.database, user=url.username,
                                  password=url.password or "", schema_name=settings["schema_name"],
                                  table_name="embeddings", embed_dim=settings["embed_dim"])
model = settings["model"] + ":latest" if ":" not in settings["model"] else settings["model"]
embed = OllamaEmbedding(model_name=model, base_url=ollama)
index = VectorStoreIndex.from_documents([], storage_context=StorageContext.from_defaults(vector_store=store),
                                        store_nodes_override=True, embed_model=embed,
                                        transformations=[SentenceWindowNodeParser.from_defaults(), embed])
for name, text in files.items():
    document = Document(text=text)
    document.metadata["file_name"] = name
    document.metadata["doc_id"] = document.doc_id
    document.excluded_embed_metadata_keys = ["doc_id"]
    document.excluded_llm_metadata_keys = ["file_name", "doc_id", "page_label"]
    index.insert(document)
'''
PRIVATE_GPT_FILES = {
    "handbook.txt": "Every employee receives twenty-five days of paid vacation per year. Unused days carry over until "
                    "March. Requests go to the team lead two weeks ahead. Sick leave needs a note after three days.",
    "travel.txt": "Travel is booked through the portal. Economy class is the rule for flights under six hours. Hotel "
                  "costs are reimbursed up to the city's limit. Receipts are uploaded within a week.",
    "security.txt": "Laptops are encrypted. Passwords are at least fourteen characters long. Lost devices are "
                    "reported to the helpdesk at once.",
}
PRIVATE_GPT_PROFILE = "ollama-pg"


def private_gpt_settings(app: Path) -> dict:
    """The settings the app's loader merges for PGPT_PROFILES=ollama-pg (settings.yaml, then the profile's file),
    read with the app's own loader (its ``${ENV:default}`` interpolation, no variable set)."""
    merged = subprocess.run([sys.executable, "-c", (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from private_gpt.settings.yaml import load_yaml_with_envvars\n"
        "from pydantic.v1.utils import deep_update\n"
        "out = {}\n"
        "for name in sys.argv[2:]:\n"
        "    out = deep_update(out, load_yaml_with_envvars(open(f'{sys.argv[1]}/{name}'), {}))\n"
        "print(json.dumps(out))"), str(app), "settings.yaml", f"settings-{PRIVATE_GPT_PROFILE}.yaml"],
        capture_output=True, text=True, check=True).stdout
    return json.loads(merged)


def private_gpt_app(tmp_path: Path) -> Path:
    return Source.of("zylon-ai__private-gpt").checkout("", tmp_path / "app", only=(
        "private_gpt/", "scripts/", "settings", "pyproject.toml", "Makefile", "docker-compose.yaml", "Dockerfile.ollama"))


@pytest.fixture(scope="module")
def private_gpt(pg, templates, server, tmp_path_factory):
    """The checkout and a template database holding the vector table as the app's ingest leaves it (LlamaIndex
    creates and fills it), three files of sentence nodes. Yields (app, database name, settings, {id: text})."""
    try:
        import llama_index.embeddings.ollama  # noqa: F401
        import llama_index.vector_stores.postgres  # noqa: F401
    except ImportError:
        pytest.skip("llama-index-vector-stores-postgres and llama-index-embeddings-ollama are needed to fill the table")
    from tests.conftest import Database

    folder = tmp_path_factory.mktemp("private_gpt")
    app = private_gpt_app(folder)
    component = (app / "private_gpt/components/vector_store/vector_store_component.py").read_text()
    assert 'table_name="embeddings",\n                        embed_dim=settings.embedding.embed_dim,' in component
    merged = private_gpt_settings(app)
    settings = {"schema_name": merged["postgres"]["schema_name"], "embed_dim": merged["embedding"]["embed_dim"],
                "model": merged["ollama"]["embedding_model"]}
    assert (merged["embedding"]["mode"], merged["vectorstore"]["database"]) == ("ollama", "postgres"), merged
    (folder / "files.json").write_text(json.dumps(PRIVATE_GPT_FILES))
    with app_database(pg, templates, "private_gpt") as name:
        db = Database(name, pg.dsn(name))
        done = subprocess.run([sys.executable, "-c", PRIVATE_GPT_INGEST, db.dsn, server.url, json.dumps(settings),
                               str(folder / "files.json")], capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
        with db.connect(autocommit=True) as conn:
            held = dict(conn.execute(f'SELECT id::text, text FROM "{settings["schema_name"]}".data_embeddings').fetchall())
        yield app, name, settings, held


@pytest.fixture
def private_gpt_db(pg, private_gpt):
    from ..conftest import _database

    yield from _database(pg, private_gpt[1])


def private_gpt_vectors(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT id::text, embedding::text FROM private_gpt.data_embeddings").fetchall())


def without_the_apps_command(text: str) -> str:
    """The user's edit: the engine runs, not `make ingest` (it ingests a folder of files again, and needs one: the
    draft leaves it TODO, saying so)."""
    assert 'command: TODO  # TODO: locate\'s best entrypoint (make-target Makefile), "make ingest", requires folder, ' \
        "which it is not given" in text, text
    return re.sub(r"\n  (?:command|workdir):[^\n]*", "", text)


def test_private_gpt_ollama_pg_profile_located_drafted_and_taken_through_the_procedure(cli, private_gpt, private_gpt_db,
                                                                                        server, tmp_path):
    """locate reads the embedder's model and URL and the store's width and schema from the settings YAML files
    (`ollama.embedding_model`, `ollama.embedding_api_base`, `embedding.embed_dim`, `postgres.schema_name`); the draft
    needs no edit but dropping the app's command: `private_gpt.data_embeddings`, LlamaIndex's embedded text
    (`file_name: ...` above each sentence node), nomic-embed-text at 768; a restore lost 3 vectors: scope, plan, run
    --engine, verify and record ok, every vector the one LlamaIndex wrote."""
    app, _, settings, held = private_gpt
    db = private_gpt_db
    with db.connect(autocommit=True) as conn:
        library = private_gpt_vectors(conn)
        lost = [r[0] for r in conn.execute("UPDATE private_gpt.data_embeddings SET embedding = NULL WHERE id % 4 = 0 "
                                           "RETURNING id::text").fetchall()]
    trial = procedure(cli, db, server, app, tmp_path, "data_embeddings", plan=True, edit=without_the_apps_command)
    located = trial.locate.json
    [ollama] = [c for c in located["embedding_calls"] if c["name"] == "OllamaEmbedding"]
    assert (ollama["path"], ollama["model"], ollama["url"]) == (
        "private_gpt/components/embedding/embedding_component.py", "nomic-embed-text", "http://localhost:11434"), ollama
    assert [(d["path"], d["table"], d["column"], d["dimensions"], d["kind"]) for d in located["declarations"]] == [
        ("private_gpt/components/vector_store/vector_store_component.py", "private_gpt.data_embeddings", "embedding",
         settings["embed_dim"], "llamaindex")], located["declarations"]
    assert located["declared_dimensions"] == [768]
    # `make ingest` (scripts/ingest_folder.py) needs a folder; its one address is the settings class's default (the
    # description's example URL is prose).
    [ingest] = [e for e in located["entrypoints"] if e["command"] == "make ingest"]
    assert (ingest["contract"]["required_flags"], ingest["contract"]["hardcoded_urls"]) == (
        ["folder"], ["http://localhost:11434"]), ingest["contract"]
    assert trial.init.json["todo"] == ["backfill.command"], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    ch = raw["chunks"]
    assert (ch["schema"], ch["table"], ch["id"], ch["text"], ch["text_format"], ch["metadata"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["embeddings"]["vector"]) == (
        "private_gpt", "data_embeddings", "id", "text", "llamaindex", "metadata_", "nomic-embed-text", 768,
        "embedding"), drafted
    assert "text_prefix" not in ch and "1536" not in drafted, drafted  # OllamaEmbedding adds no instruction
    assert_whole_procedure_ok(trial, db, "private_gpt.data_embeddings", "embedding", len(held), needed=len(lost))
    assert trial.plan.code == 0 and trial.plan.json["rows"]["to_embed"] == len(lost), trial.plan.out
    with db.connect(autocommit=True) as conn:  # measured: what the engine wrote is what LlamaIndex wrote
        assert private_gpt_vectors(conn) == library


def test_private_gpt_nodes_gone_wrong_are_named_row_by_row_and_repaired(cli, private_gpt, private_gpt_db, server,
                                                                         tmp_path):
    """The draft's command (the app's `make ingest`, TODO there for the folder it needs) put in as it is: scope fails
    on that command's contract, scope --engine (what the engine needs) passes. Then a node's text edited after its vector (its `_node_content` too), a permuted
    vector (another model's stand-in), two vectors swapped between files and two vectors deleted: verify names exactly
    the four under recompute and the two as lost; backfill --keys-from repairs all six, and every check passes again."""
    app, _, _, held = private_gpt
    db = private_gpt_db
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == ["backfill.command"], init.out + init.err
    profile.write_text(re.sub(r"\n  command: TODO[^\n]*", '\n  command: "make ingest"', profile.read_text()))
    target = ("--profile", profile, "--collection", "data_embeddings")
    own = cli("scope", *target, "--json", env=env)
    assert own.code == 1 and "command's required flags" in own.json["reason"], own.out
    engine = cli("scope", *target, "--engine", "--json", env=env)
    assert engine.code == 0, engine.out + engine.err
    with db.connect(autocommit=True) as conn:
        def node(file: str, index: int) -> str:
            return conn.execute("SELECT id::text FROM private_gpt.data_embeddings WHERE metadata_->>'file_name' = %s "
                                "ORDER BY id OFFSET %s LIMIT 1", (file, index)).fetchone()[0]

        edited, permuted, first, second = node("handbook.txt", 0), node("handbook.txt", 1), node("travel.txt", 0), \
            node("security.txt", 0)
        deleted = [node("travel.txt", 2), node("security.txt", 1)]
        meta = conn.execute("SELECT metadata_ FROM private_gpt.data_embeddings WHERE id = %s", (edited,)).fetchone()[0]
        content = json.loads(meta["_node_content"])
        content["text"] = "Every employee receives thirty days of paid vacation per year. "
        meta["_node_content"] = json.dumps(content)
        conn.execute("UPDATE private_gpt.data_embeddings SET text = %s, metadata_ = %s WHERE id = %s",
                     (content["text"], json.dumps(meta), edited))
        conn.execute("UPDATE private_gpt.data_embeddings SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (permuted,))
        conn.execute("UPDATE private_gpt.data_embeddings d SET embedding = o.embedding FROM private_gpt.data_embeddings o "
                     "WHERE (d.id::text, o.id::text) IN ((%s, %s), (%s, %s))", (first, second, second, first))
        conn.execute("UPDATE private_gpt.data_embeddings SET embedding = NULL WHERE id::text = ANY(%s)", (deleted,))
        untouched = {k: v for k, v in private_gpt_vectors(conn).items() if k not in (edited, permuted, first, second)}
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert {int(k) for k in offenders["recompute"]} == {int(k) for k in (edited, permuted, first, second)}, offenders
    assert {int(k) for keys in offenders.values() for k in keys} == {int(k) for k in (edited, permuted, first, second,
                                                                                      *deleted)}, offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 6, fixed.out + fixed.err
    again = checked_again(profile, env, "data_embeddings")
    assert not [c for c, status in again.items() if status == "failed"], again
    with db.connect(autocommit=True) as conn:
        now = private_gpt_vectors(conn)
        assert {k: now[k] for k in untouched if k not in deleted} == {k: v for k, v in untouched.items()
                                                                      if k not in deleted}
        assert None not in now.values()


# -- DEFRA/coreai-mcu-knowledge-pgv: LangChain.js PGVectorStore on a table a Liquibase changelog makes --------------

def liquibase_statements(app: Path, master: str) -> list[str]:
    """The statements `liquibase update` runs for a changelog: its includes in order, each changeset's `sql` as written
    and `createTable` as Liquibase writes it for Postgres (a `defaultValue` ending in `()` is a function call); the
    kinds of change this app's changelogs use (`tagDatabase` changes nothing)."""
    import xml.etree.ElementTree as ET

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    statements = []
    for element in ET.parse(app / master).getroot():
        if local(element.tag) == "include":
            statements += liquibase_statements(app, element.attrib["file"])
        elif local(element.tag) == "changeSet":
            for change in element:
                if local(change.tag) == "sql":
                    statements.append(change.text)
                elif local(change.tag) == "createTable":
                    columns = []
                    for column in change:
                        a = column.attrib
                        default = a.get("defaultValue")
                        sql = f'"{a["name"]}" {a["type"]}'
                        if default is not None:
                            sql += f" DEFAULT {default if default.endswith('()') else repr(default)}"
                        if any(c.attrib.get("primaryKey") == "true" for c in column):
                            sql += " PRIMARY KEY"
                        columns.append(sql)
                    statements.append(f'CREATE TABLE "{change.attrib["tableName"]}" ({", ".join(columns)})')
    return statements


# Knowledge documents as the blob store holds them: id -> (the blob's metadata, the chunks the splitter leaves).
DEFRA_DOCUMENTS = {
    "6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b": ({"fileName": "hedgerows.txt", "title": "Hedgerow regulations",
                                             "category": "Guidance", "source": "gov.uk"}, [
        "Hedgerows on farmland are protected.\nRemoving one needs the local planning authority's consent.",
        "Cutting is not allowed between 1 March and 31 August.\nThis protects nesting birds.",
        "A hedgerow counts if it is at least 20 metres long\nor meets another hedgerow at each end."]),
    "7a2b3c4d-6e7f-4a8b-9c0d-1e2f3a4b5c6d": ({"fileName": "water.txt", "title": "Farming rules for water",
                                             "category": "Regulation", "source": "gov.uk"}, [
        "Do not spread organic manure within 10 metres of inland freshwater.",
        "Plan each application of fertiliser\nso that it does not exceed the soil and crop needs.",
        "Keep livestock feeders at least 10 metres from any inland freshwater\nor coastal water."]),
    "8b3c4d5e-7f8a-4b9c-0d1e-2f3a4b5c6d7e": ({"fileName": "grants.txt", "title": "Capital grants",
                                             "category": "Funding", "source": "rpa"}, [
        "Capital grants pay for items that improve the environment.\nEach item has a fixed payment rate.",
        "Applications open once a year\nand close when the budget is allocated."]),
}
DEFRA_TABLE = "mcu_knowledge_vectors"


def load_defra(db, server, model: str = "text-embedding-ada-002") -> dict[str, str]:
    """ingestDocument per document: each chunk with the loader's, the splitter's and the blob's metadata, embedded
    (AzureOpenAIEmbeddings: newlines made spaces) and inserted by addDocuments, its id the column's default. Returns
    {id: content}."""
    held = {}
    with db.connect(autocommit=True) as conn:
        for document, (blob, chunks) in DEFRA_DOCUMENTS.items():
            vectors = httpx_embed(server, model, [c.replace("\n", " ") for c in chunks])
            line = 1
            for chunk, vector in zip(chunks, vectors):
                lines = {"from": line, "to": line + chunk.count("\n")}
                line = lines["to"] + 1
                meta = {"documentId": document, "source": "blob", "blobType": "text/plain", "loc": {"lines": lines},
                        "blobMetadata": {**blob, "contentType": "text/plain"}}
                key = conn.execute(f'INSERT INTO {DEFRA_TABLE} ("content", "vector", "metadata") VALUES (%s, %s, %s) '
                                   "RETURNING id::text", (chunk, str(vector), json.dumps(meta))).fetchone()[0]
                held[key] = chunk
    return held


@pytest.fixture(scope="module")
def defra(pg, templates, server, tmp_path_factory):
    """The service's checkout and a template database its Liquibase changelog built, filled as ingestDocument fills
    it."""
    import psycopg

    from tests.conftest import Database

    app = Source.of("DEFRA__coreai-mcu-knowledge-pgv").checkout("", tmp_path_factory.mktemp("defra") / "app")
    statements = liquibase_statements(app, "changelog/db.changelog.xml")
    with app_database(pg, templates, "defra") as name:
        db = Database(name, pg.dsn(name))
        with psycopg.connect(db.dsn, autocommit=True) as conn:
            for statement in statements:
                # our server lacks uuid-ossp: its uuid_generate_v4() stood in for
                conn.execute(statement.replace('CREATE EXTENSION IF NOT EXISTS "uuid-ossp";',
                                               "CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql "
                                               "AS 'SELECT gen_random_uuid()';"))
        yield app, name, load_defra(db, server)


@pytest.fixture
def defra_db(pg, defra):
    from ..conftest import _database

    yield from _database(pg, defra[1])


def test_defra_knowledge_vectors_of_a_liquibase_table_located_drafted_and_verified(cli, defra, defra_db, server,
                                                                                 tmp_path):
    """locate reads the Liquibase changelog (mcu_knowledge_vectors.vector, untyped) and the store's config in the
    module it is required from; the Azure embedder's deployment is $EMBEDDING_MODEL_NAME, so the user names the model;
    the draft embeds each text with its newlines made spaces (@langchain/openai's stripNewLines), measured; scope, plan,
    run, verify and record ok, every vector left as the app wrote it."""
    app, _, held = defra
    with defra_db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute(f"SELECT id::text, vector::text FROM {DEFRA_TABLE}").fetchall())
    trial = procedure(cli, defra_db, server, app, tmp_path, DEFRA_TABLE, model="text-embedding-ada-002", plan=True)
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    located = trial.locate.json
    now = {(d["path"], d["kind"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]
           if not d["superseded"]}
    assert now == {("changelog/db.changelog-2.0.xml", "liquibase", DEFRA_TABLE, "vector", None),
                   ("app/lib/vector-store.js", "langchain", DEFRA_TABLE, "vector", None)}, located["declarations"]
    [azure] = located["embedding_calls"]
    assert (azure["name"], azure["path"], azure["model"], azure["model_env"]) == (
        "AzureOpenAIEmbeddings", "app/lib/ai.js", None, "EMBEDDING_MODEL_NAME"), azure
    assert trial.init.json["todo"] == [], trial.init.out
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"].get("text_newlines"),
            raw["embeddings"]["vector"], raw["provider"]["model"], raw["distance"]) == (
        DEFRA_TABLE, "id", "content", "space", "vector", "text-embedding-ada-002", "cosine"), trial.profile.read_text()
    assert_whole_procedure_ok(trial, defra_db, DEFRA_TABLE, "vector", len(held), needed=0)
    with defra_db.connect(autocommit=True) as conn:
        assert dict(conn.execute(f"SELECT id::text, vector::text FROM {DEFRA_TABLE}").fetchall()) == app_vectors
    # Without --model the draft cannot know the deployment's model, and says where the application reads it.
    unnamed = cli("profile", "init", "--repo", app, "--database-url", defra_db.dsn, "--output", tmp_path / "bare.yaml",
                  "--json", env={"OLLAMA_HOST": server.url})
    assert unnamed.json["todo"] == ["provider.model"], unnamed.out
    line = next(x for x in (tmp_path / "bare.yaml").read_text().splitlines() if x.strip().startswith("model: TODO"))
    assert "reads it from $EMBEDDING_MODEL_NAME" in line, line


def test_defra_knowledge_vectors_gone_wrong_are_named_row_by_row_and_repaired(cli, defra, defra_db, server, tmp_path):
    """A chunk's content edited after its vector, a permuted vector (another model's stand-in), two vectors swapped
    between documents and a lost vector (the column is nullable): verify names exactly those chunks; backfill
    --keys-from re-embeds them, each with its newlines made spaces (which hash-embed cannot tell from newlines)."""
    app, _, held = defra
    env = {"DATABASE_URL": defra_db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", defra_db.dsn, "--model", "text-embedding-ada-002",
               "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    keys = list(held)
    edited, permuted, first, second, lost = keys[0], keys[1], keys[3], keys[6], keys[4]
    with defra_db.connect(autocommit=True) as conn:
        conn.execute(f"UPDATE {DEFRA_TABLE} SET content = 'Hedgerows may be removed without consent.' WHERE id = %s",
                     (edited,))
        conn.execute(f"UPDATE {DEFRA_TABLE} SET vector = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(vector::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (permuted,))
        conn.execute(f"UPDATE {DEFRA_TABLE} d SET vector = o.vector FROM {DEFRA_TABLE} o "
                     "WHERE (d.id::text, o.id::text) IN ((%s, %s), (%s, %s))", (first, second, second, first))
        conn.execute(f"UPDATE {DEFRA_TABLE} SET vector = NULL WHERE id = %s", (lost,))
    target = ("--profile", profile, "--collection", DEFRA_TABLE)
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert set().union(*offenders.values()) == {edited, permuted, first, second, lost}, offenders
    assert offenders["recompute"] == {edited, permuted, first, second}, offenders
    assert offenders["coverage"] == {lost}, offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5, fixed.out + fixed.err
    assert not [c for c, status in checked_again(profile, env, DEFRA_TABLE).items() if status == "failed"]
    with defra_db.connect(autocommit=True) as conn:
        now = dict(conn.execute(f"SELECT id::text, vector::text FROM {DEFRA_TABLE} WHERE id::text = ANY(%s)",
                                ([permuted, first, lost],)).fetchall())
    expected = httpx_embed(server, "text-embedding-ada-002", [held[k].replace("\n", " ") for k in (permuted, first, lost)])
    assert [json.loads(now[k]) == pytest.approx(v, abs=1e-6) for k, v in zip((permuted, first, lost), expected)] == [True] * 3


# -- Jaxnode-UG/jaxnodelangchain: LangChain.js PGVectorStore that makes its own table, Ollama llama2 ----------------

def langchain_js_store_ddl(config_js: str) -> str:
    """What LangChain.js's `PGVectorStore.initialize` runs for a config given no `dimensions` (its ensureTableInDatabase
    as langchain 0.0.x has it: a uuid id by uuid-ossp's uuid_generate_v4(), content text, metadata jsonb, an untyped
    vector; later versions differ only in the id's default)."""
    table = re.search(r'tableName:\s*"(\w+)"', config_js).group(1)
    column = {k: re.search(rf'{k}ColumnName:\s*"(\w+)"', config_js).group(1) for k in ("id", "content", "metadata", "vector")}
    return ('CREATE EXTENSION IF NOT EXISTS vector; '
            # our server lacks uuid-ossp (CREATE EXTENSION "uuid-ossp"): its uuid_generate_v4() stood in for
            "CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql AS 'SELECT gen_random_uuid()'; "
            f'CREATE TABLE IF NOT EXISTS {table} ("{column["id"]}" uuid NOT NULL DEFAULT uuid_generate_v4() PRIMARY KEY, '
            f'"{column["content"]}" text, "{column["metadata"]}" jsonb, "{column["vector"]}" vector);')


def jaxnode_chunks(app: Path) -> list[tuple[str, dict]]:
    """pgvector:setup's two documents, then loadvectors' chunks of output.txt (its first paragraphs, each cut at 500
    characters), with the metadata each is added with."""
    setup = [("what's this", {"a": 2}), ("Cat drinks milk", {"a": 1})]
    paragraphs = [p for p in (app / "output.txt").read_text().split("\n") if p.strip()][:6]
    return setup + [(p[:500], {"loc": {"lines": {"from": i + 1, "to": i + 1}}}) for i, p in enumerate(paragraphs)]


def load_jaxnode(db, server, app: Path) -> dict[str, str]:
    """addDocuments per script: (content, vector, metadata), the id from the column's default, each text embedded as it
    is by llama2. Returns {id: content}."""
    held = {}
    chunks = jaxnode_chunks(app)
    vectors = httpx_embed(server, "llama2", [text for text, _ in chunks])
    with db.connect(autocommit=True) as conn:
        for (text, meta), vector in zip(chunks, vectors):
            key = conn.execute('INSERT INTO vectordocs ("content", "vector", "metadata") VALUES (%s, %s, %s) '
                               "RETURNING id::text", (text, str(vector), json.dumps(meta))).fetchone()[0]
            held[key] = text
    return held


@pytest.fixture(scope="module")
def jaxnode(pg, templates, server, tmp_path_factory):
    """The scripts' checkout and a template database with the table the library makes for their config, filled as
    pgvector:setup and loadvectors fill it."""
    from tests.conftest import Database

    app = Source.of("Jaxnode-UG__jaxnodelangchain").checkout("", tmp_path_factory.mktemp("jaxnode") / "app")
    with app_database(pg, templates, "jaxnode") as name:
        db = Database(name, pg.dsn(name))
        db.execute(langchain_js_store_ddl((app / "pgvector_setup.js").read_text()))
        yield app, name, load_jaxnode(db, server, app)


@pytest.fixture
def jaxnode_db(pg, jaxnode):
    from ..conftest import _database

    yield from _database(pg, jaxnode[1])


def test_jaxnode_store_made_at_runtime_is_located_drafted_without_a_demo_script_as_its_backfill(cli, jaxnode,
                                                                                               jaxnode_db, server,
                                                                                               tmp_path):
    """No schema file: locate names vectordocs.vector of no width from each script's store config, and llama2 at the
    hard-coded URL; the two npm scripts that embed two strings and print their lengths are candidates only, never the
    backfill; the draft needs no edit (llama2 measured on content, the model's width, the engine); scope, plan, run,
    verify and record ok, every vector left as the scripts wrote it."""
    app, _, held = jaxnode
    with jaxnode_db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute("SELECT id::text, vector::text FROM vectordocs").fetchall())
    trial = procedure(cli, jaxnode_db, server, app, tmp_path, "vectordocs", plan=True)
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    located = trial.locate.json
    assert {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]} == {
        (path, "vectordocs", "vector", None) for path in ("pgvector_setup.js", "loadintopgvector.js",
                                                          "loadPDFintoVectorStore.js", "similaritysearch.js",
                                                          "ollamachain.js")}, located["declarations"]
    assert located["declared_dimensions"] == []
    assert {(c["model"], c["url"]) for c in located["embedding_calls"] if c["path"] == "pgvector_setup.js"} == {
        ("llama2", "http://localhost:11434")}
    assert {(e["command"], e["may_embed"]) for e in located["entrypoints"]} == {("npm run embedings", False),
                                                                              ("npm run nomic", False)}
    assert located["best_entrypoint"] is None
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["distance"], raw.get("backfill")) == (
        "vectordocs", "id", "content", "vector", "llama2", "cosine", None), drafted
    assert "npm run" not in drafted and "untyped vector" in drafted, drafted
    assert_whole_procedure_ok(trial, jaxnode_db, "vectordocs", "vector", len(held), needed=0)
    with jaxnode_db.connect(autocommit=True) as conn:
        assert dict(conn.execute("SELECT id::text, vector::text FROM vectordocs").fetchall()) == app_vectors


def test_jaxnode_vectordocs_gone_wrong_are_named_row_by_row_and_repaired(cli, jaxnode, jaxnode_db, server, tmp_path):
    """A document's content edited after its vector, a vector of nomic-embed-text (the other model the scripts name:
    768 wide), two vectors swapped and a lost vector (the column is nullable): verify names exactly those rows;
    backfill --keys-from re-embeds them with llama2."""
    app, _, held = jaxnode
    env = {"DATABASE_URL": jaxnode_db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", jaxnode_db.dsn, "--output", profile, "--json",
               env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    keys = list(held)
    edited, other, first, second, lost = keys[1], keys[2], keys[3], keys[6], keys[4]
    with jaxnode_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE vectordocs SET content = 'Cat drinks water' WHERE id = %s", (edited,))
        conn.execute("UPDATE vectordocs SET vector = %s::vector WHERE id = %s",
                     (str(httpx_embed(server, "nomic-embed-text", [held[other]])[0]), other))
        conn.execute("UPDATE vectordocs d SET vector = o.vector FROM vectordocs o "
                     "WHERE (d.id::text, o.id::text) IN ((%s, %s), (%s, %s))", (first, second, second, first))
        conn.execute("UPDATE vectordocs SET vector = NULL WHERE id = %s", (lost,))
    target = ("--profile", profile, "--collection", "vectordocs")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert set().union(*offenders.values()) == {edited, other, first, second, lost}, offenders
    assert offenders["recompute"] >= {edited, first, second} and lost in offenders["coverage"], offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5, fixed.out + fixed.err
    assert not [c for c, status in checked_again(profile, env, "vectordocs").items() if status == "failed"]
    with jaxnode_db.connect(autocommit=True) as conn:
        now = dict(conn.execute("SELECT id::text, vector::text FROM vectordocs WHERE id::text = ANY(%s)",
                                ([other, lost],)).fetchall())
    expected = httpx_embed(server, "llama2", [held[other], held[lost]])
    assert [json.loads(now[k]) == pytest.approx(v, abs=1e-6) for k, v in zip((other, lost), expected)] == [True] * 2


# -- MODSetter/SurfSense: FastAPI + SQLAlchemy, chunks and documents each with a vector of a width set at runtime ------

# The app's own models (app/db.py) made as its initial Alembic revision makes them: `Base.metadata.create_all`, then
# the revision's vector and text indexes. db.py is loaded alone: its imports of the app (config, whose
# `embedding_model_instance.dimension` is the model's width, read at runtime) and of FastAPI Users are stood in for;
# fastapi-users' user-table mixin is given its columns; the tables of the modules stood in for (artifacts,
# notifications, ...), and those referencing them, are not made.
SURFSENSE_SCHEMA = '''
import sys, types, uuid, importlib.util
import sqlalchemy
from sqlalchemy import Boolean, Column, String
from sqlalchemy.dialects.postgresql import UUID
backend, dsn, dims = sys.argv[1], sys.argv[2], int(sys.argv[3])
class Model: dimension = dims
config = types.SimpleNamespace(embedding_model_instance=Model(), AUTH_TYPE="LOCAL", DATABASE_URL="",
                               DB_IDLE_IN_TX_TIMEOUT_MS=0)
class SQLAlchemyBaseUserTableUUID:
    __tablename__ = "user"
    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email = Column(String(320), unique=True, index=True, nullable=False)
    hashed_password = Column(String(1024), nullable=False)
    is_active = Column(Boolean, default=True, nullable=False)
    is_superuser = Column(Boolean, default=False, nullable=False)
    is_verified = Column(Boolean, default=False, nullable=False)
given = {"app.config": {"config": config}, "fastapi_users.db": {"SQLAlchemyBaseUserTableUUID": SQLAlchemyBaseUserTableUUID}}
class StandIn:  # any other module of the app, FastAPI's and alembic's: each name it is asked for a do-nothing stand-in
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("fastapi", "fastapi_users", "anyio", "alembic") or (
                name.split(".")[0] == "app" and name != "app.db"):
            return importlib.util.spec_from_loader(name, self, is_package=True)
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__dict__.update(given.get(spec.name, {}))
        module.__getattr__ = lambda a: (type(a, (), {"__init__": lambda self, *x, **k: None}) if a[0].isupper()
                                        else (lambda *x, **k: None))
        return module
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, StandIn())
import sqlalchemy.ext.asyncio
sqlalchemy.ext.asyncio.create_async_engine = lambda *a, **k: None  # db.py's engine: never connected here
spec = importlib.util.spec_from_file_location("app.db", f"{backend}/app/db.py")
db = sys.modules["app.db"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(db)
meta = db.Base.metadata
while missing := {t for t in meta.tables.values() for fk in t.foreign_keys
                  if fk.target_fullname.split(".")[0] not in meta.tables}:
    for t in missing:
        meta.remove(t)
engine = sqlalchemy.create_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
with engine.begin() as conn:
    given["alembic"] = {"op": types.SimpleNamespace(get_bind=lambda: conn, execute=conn.execute)}
    spec = importlib.util.spec_from_file_location("initial", f"{backend}/alembic/versions/0_initial_schema.py")
    initial = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(initial)
    initial.upgrade()
'''

# workspace -> document title -> the chunks the chunker cut from its markdown (the markdown: them, a blank line apart)
SURFSENSE_DOCUMENTS = {
    "Handbook": {
        "vacation.md": ["Every employee receives twenty-five days of paid vacation per calendar year.",
                        "Unused vacation days carry over until the end of March of the following year.",
                        "Vacation requests are approved by the team lead at least two weeks in advance."],
        "expenses.md": ["Travel expenses are reimbursed within five working days of the receipt upload.",
                        "Meals abroad are reimbursed up to the daily allowance of the destination country."]},
    "Research": {
        "paper.md": ["The study measures retrieval quality of chunked documents across three embedding models.",
                     "Longer chunks improved recall but reduced precision on the question answering benchmark.",
                     "Future work compares hybrid keyword and vector search on the same document collection."]},
}


def load_surfsense(db, server, model: str = "all-minilm") -> None:
    """A user's two workspaces and their uploaded files as the indexing pipeline leaves them (`_reindex_from_scratch`
    then `persist_scratch_index`): each document's content (the markdown) with the vector of the whole of it
    (`embed_batch([content, *chunks])`), and its chunks with their own vectors, `position` in document order."""
    import hashlib

    with db.connect(autocommit=True) as conn:
        user = conn.execute("INSERT INTO \"user\" (id, email, hashed_password, is_active, is_superuser, is_verified) "
                            "VALUES (gen_random_uuid(), 'alice@example.org', 'x', true, false, true) RETURNING id"
                            ).fetchone()[0]
        for workspace, documents in SURFSENSE_DOCUMENTS.items():
            space = conn.execute("INSERT INTO workspaces (name, citations_enabled, api_access_enabled, "
                                 "knowledge_store_enabled, user_id, created_at) VALUES (%s, true, false, false, %s, now()) "
                                 "RETURNING id", (workspace, user)).fetchone()[0]
            for title, chunks in documents.items():
                content = "\n\n".join(chunks)
                summary, *vectors = httpx_embed(server, model, [content, *chunks])
                document = conn.execute(
                    "INSERT INTO documents (title, document_type, content, content_hash, unique_identifier_hash, "
                    "embedding, workspace_id, created_by_id, updated_at, created_at) VALUES (%s, 'FILE', %s, %s, %s, "
                    "%s::vector, %s, %s, now(), now()) RETURNING id",
                    (title, content, hashlib.sha256(f"{space}:{content}".encode()).hexdigest(),
                     hashlib.sha256(f"FILE:{title}:{space}".encode()).hexdigest(), str(summary), space, user)
                ).fetchone()[0]
                for position, (text, vector) in enumerate(zip(chunks, vectors)):
                    conn.execute("INSERT INTO chunks (content, embedding, position, document_id, created_at) "
                                 "VALUES (%s, %s::vector, %s, %s, now())", (text, str(vector), position, document))


# The user's checkout: the backend's models, configuration, searches, indexing pipeline and scripts with its
# migrations (the connectors, agents, routes and tasks, 2,200 files that declare no table, left out: locate reads
# them in seconds the suite has not got).
SURFSENSE_CHECKOUT = ("app/db.py", "app/config/", "app/retriever/", "app/indexing_pipeline/", "app/utils/", "alembic/",
                      "scripts/", ".env.example", "pyproject.toml")


@pytest.fixture(scope="module")
def surfsense(pg, templates, server, tmp_path_factory):
    """The backend's checkout and a template database: the schema its initial revision makes for a 384-wide model
    (all-MiniLM-L6-v2, the default EMBEDDING_MODEL), two workspaces' documents and chunks as the pipeline stores them."""
    from tests.conftest import Database

    try:
        import pgvector.sqlalchemy  # noqa: F401
    except ImportError:
        pytest.skip("sqlalchemy and pgvector's SQLAlchemy types are needed to make SurfSense's tables")
    app = Source.of("MODSetter__SurfSense").checkout("surfsense_backend", tmp_path_factory.mktemp("surfsense") / "app",
                                                    only=SURFSENSE_CHECKOUT)
    models = (app / "app" / "db.py").read_text()
    for line in ('__tablename__ = "chunks"', "embedding = Column(Vector(config.embedding_model_instance.dimension))",
                 'ForeignKey("documents.id", ondelete="CASCADE")', 'ForeignKey("workspaces.id", ondelete="CASCADE")'):
        assert line in models  # the shape the trial relies on
    with app_database(pg, templates, "surfsense") as name:
        db = Database(name, pg.dsn(name))
        subprocess.run([sys.executable, "-c", SURFSENSE_SCHEMA, str(app), db.dsn, "384"], check=True,
                       capture_output=True, timeout=120)
        load_surfsense(db, server)
        yield app, name


@pytest.fixture
def surfsense_db(pg, surfsense):
    from ..conftest import _database

    yield from _database(pg, surfsense[1])


def surfsense_chunk(conn, title: str, position: int) -> int:
    return conn.execute("SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.title = %s "
                        "AND c.position = %s", (title, position)).fetchone()[0]


# The user takes up what the draft says beside the whole table as one collection: the app searches a workspace's
# chunks through their document (`.join(Document, ...).where(Document.workspace_id == workspace_id)`).
SURFSENSE_BY_WORKSPACE = ("  # collection: workspace_id\n"
                          "  # collection_join: {table: documents, key: id, chunk: document_id}\n"
                          "  # collection_table: {table: workspaces, key: id, name: name}\n")


def surfsense_by_workspace(text: str) -> str:
    drafted = re.search(r"\n  collection_name: chunks[^\n]*\n", text)
    assert drafted and SURFSENSE_BY_WORKSPACE in text, text
    text = text.replace(SURFSENSE_BY_WORKSPACE, SURFSENSE_BY_WORKSPACE.replace("  # ", "  "))
    return text.replace(drafted.group(0), "\n")


def test_surfsense_locate_reports_both_vector_tables_of_a_runtime_width_and_the_distance_its_searches_use(
        cli, surfsense, tmp_path):
    """`Vector(config.embedding_model_instance.dimension)` on documents and chunks: both declared, no width invented;
    the memory and docs tables later revisions dropped are no current declaration (nor the ones their downgrade()
    makes again); cosine from the searches' `.op("<=>")` and the initial revision's `public.vector_cosine_ops`
    indexes; chonkie's AutoEmbeddings with its model from EMBEDDING_MODEL, .env.example's value; no entrypoint (the
    artifact cutovers backfill no vectors)."""
    app = surfsense[0]
    located = cli("locate", "--repo", app, "--json").json
    now = {(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"] if not d["superseded"]}
    assert now == {("app/db.py", "documents", "embedding", None), ("app/db.py", "chunks", "embedding", None)}, now
    assert located["declared_dimensions"] == []
    said = {(u["table"], u["column"], u["distance"]) for u in located["distances"]
            if u["path"] in ("app/retriever/chunks_hybrid_search.py", "alembic/versions/0_initial_schema.py")}
    assert said == {("chunks", "embedding", "cosine"), ("documents", "embedding", "cosine")}, located["distances"]
    assert not [u for u in located["distances"] if "memories" in (u["table"] or "")], located["distances"]
    assert {(c["path"], c["kind"], c["model"], c["model_env"]) for c in located["embedding_calls"]} == {
        (".env.example", "config", "sentence-transformers/all-MiniLM-L6-v2", "EMBEDDING_MODEL"),
        ("app/config/__init__.py", "chonkie", None, "EMBEDDING_MODEL")}, located["embedding_calls"]
    # scripts/backfill_{image,podcast,video}_artifacts.py move rows into artifacts: listed, none the backfill
    assert located["best_entrypoint"] is None, located["entrypoints"]
    assert {e["name"]: e["may_embed"] for e in located["entrypoints"]} == {
        f"backfill_{kind}_artifacts": False for kind in ("image", "podcast", "video")}, located["entrypoints"]


def test_surfsense_chunks_checked_per_workspace_through_their_documents(cli, surfsense, surfsense_db, server, tmp_path):
    """The draft (with `--model all-minilm`: the app's default all-MiniLM-L6-v2, as Ollama names it) takes the chunks of
    every workspace as one collection and says, commented, how their documents place them in workspaces; the user
    takes that up (collection_join on documents). scope, run --engine, verify and record ok for one workspace, the
    other's checks pass too, every vector as the app wrote it."""
    app, db = surfsense[0], surfsense_db
    with db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute("SELECT id, embedding::text FROM chunks").fetchall())
    trial = procedure(cli, db, server, app, tmp_path / "handbook", "Handbook", model="all-minilm",
                      edit=surfsense_by_workspace)
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = yaml.safe_load(trial.profile.read_text())
    assert (drafted["chunks"]["table"], drafted["chunks"]["id"], drafted["chunks"]["text"], drafted["embeddings"]["vector"],
            drafted["provider"]["dimensions"], drafted["distance"]) == ("chunks", "id", "content", "embedding", 384,
                                                                      "cosine"), trial.profile.read_text()
    assert "command" not in (drafted.get("backfill") or {}), trial.profile.read_text()
    chunks = sum(len(c) for c in SURFSENSE_DOCUMENTS["Handbook"].values())
    assert trial.scope.json["counts"]["chunks"] == chunks, trial.scope.out
    assert_whole_procedure_ok(trial, db, "chunks", "embedding", len(app_vectors), needed=0)
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    assert not [c for c, status in checked_again(trial.profile, env, "Research").items() if status == "failed"]
    with db.connect(autocommit=True) as conn:
        assert dict(conn.execute("SELECT id, embedding::text FROM chunks").fetchall()) == app_vectors


def test_surfsense_chunks_and_documents_gone_wrong_are_named_row_by_row_and_repaired(cli, surfsense, surfsense_db,
                                                                                      server, tmp_path):
    """In the Handbook workspace: a chunk's content edited after its vector, a vector of another model (a permuted
    one), a vector swapped with a Research chunk's (the wrong workspace's), and an upload whose indexing failed
    (`rollback_and_persist_failure`: the document kept with its placeholder content 'Pending...', status failed, no
    vector, no chunks): verify names exactly those chunks under recompute and the document under source_coverage;
    backfill --keys-from re-embeds the 3, and the Research chunk in Research's run. On the documents' own vectors,
    the failed document's placeholder is one to embed unless the profile keeps to `status->>'state'` ready: then
    nothing is, and the documents' checks pass."""
    app, db = surfsense[0], surfsense_db
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--model", "all-minilm", "--output", profile,
               "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    text = surfsense_by_workspace(profile.read_text())
    assert "# source: {table: documents, key: id, chunk_key: document_id}" in text, text
    profile.write_text(text.replace("# source: {table: documents", "source: {table: documents"))
    with db.connect(autocommit=True) as conn:
        edited, permuted = surfsense_chunk(conn, "vacation.md", 0), surfsense_chunk(conn, "vacation.md", 1)
        moved, research = surfsense_chunk(conn, "expenses.md", 0), surfsense_chunk(conn, "paper.md", 1)
        conn.execute("UPDATE chunks SET content = 'Every employee receives thirty days of paid vacation.' WHERE id = %s",
                     (edited,))
        conn.execute("UPDATE chunks SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (permuted,))
        conn.execute("UPDATE chunks d SET embedding = o.embedding FROM chunks o WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))",
                     (moved, research, research, moved))
        failed = conn.execute(
            "INSERT INTO documents (title, document_type, content, content_hash, unique_identifier_hash, workspace_id, "
            "updated_at, created_at, status) SELECT 'security.md', 'FILE', 'Pending...', "
            "encode(sha256(('placeholder:' || encode(sha256('FILE:security.md'), 'hex'))::bytea), 'hex'), "
            "encode(sha256('FILE:security.md'), 'hex'), id, now(), now(), "
            "'{\"state\": \"failed\", \"reason\": \"embedding failed\"}' FROM workspaces WHERE name = 'Handbook' "
            "RETURNING id").fetchone()[0]  # prepare_for_indexing's placeholder row, its hash that of its identifier
    target = ("--profile", profile, "--collection", "Handbook")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {edited, permuted, moved}, offenders
    assert offenders["source_coverage"] == {("documents", failed)}, offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 3, fixed.out + fixed.err
    # The Research chunk still holds the expenses chunk's old vector, now that chunk's again: Research's verify names
    # it (under distinct_vectors too: its vector is a Handbook chunk's), its own backfill repairs it.
    other = ("--profile", profile, "--collection", "Research")
    research_verify = cli("verify", *other, "--run-dir", tmp_path / "research", "--json", env=env)
    assert research_verify.code == 1, research_verify.out
    assert offenders_by_check(tmp_path / "research" / "offenders.jsonl") == {
        "recompute": {research}, "distinct_vectors": {research}}
    repaired = cli("backfill", *other, "--keys-from", tmp_path / "research" / "offenders.jsonl", "--json", env=env)
    assert repaired.code == 0 and repaired.json["embedded"] == 1, repaired.out + repaired.err
    again = checked_again(profile, env, "Handbook")
    assert {c for c, status in again.items() if status == "failed"} == {"source_coverage"}, again
    with db.connect(autocommit=True) as conn:
        for key in (edited, permuted, moved, research):  # measured: each the vector of its own text again
            content = conn.execute("SELECT content FROM chunks WHERE id = %s", (key,)).fetchone()[0]
            assert conn.execute("SELECT embedding = %s::vector FROM chunks WHERE id = %s",
                                (str(httpx_embed(server, "all-minilm", [content])[0]), key)).fetchone()[0]
    documents = tmp_path / "documents.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", db.dsn, "--model", "all-minilm", "--table",
               "documents", "--output", documents, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    raw = yaml.safe_load(documents.read_text())
    assert (raw["chunks"]["table"], raw["chunks"]["text"], raw["embeddings"]["vector"], raw["distance"]) == (
        "documents", "content", "embedding", "cosine"), documents.read_text()
    whole = ("--profile", documents, "--collection", "documents")
    placeholder = cli("scope", *whole, "--json", env=env)
    assert placeholder.code == 0 and placeholder.json["counts"]["needed"] == 1, placeholder.out  # 'Pending...'
    documents.write_text(re.sub(r"\nchunks:\n", "\nchunks:\n  filter: {\"status->>'state'\": ready}\n", documents.read_text()))
    ready = cli("scope", *whole, "--json", env=env)
    assert ready.code == 0 and ready.json["counts"]["needed"] == 0, ready.out + ready.err
    assert not [c for c, status in checked_again(documents, env, "documents").items() if status == "failed"]


# -- mastra-ai/mastra: a pnpm + turbo monorepo, @mastra/pg's PgVector (one table per index, the text in metadata) -----

MASTRA_EXAMPLE = "examples/basics/rag/insert-embedding-in-pgvector"
# The example as a user following the docs' model-providers page runs it: Ollama through ollama-ai-provider, the
# index as wide as the model's vectors.
MASTRA_OLLAMA = (("import { openai } from '@ai-sdk/openai';", "import { ollama } from 'ollama-ai-provider';"),
                 ("openai.embedding('text-embedding-3-small')", "ollama.embedding('nomic-embed-text')"),
                 ("dimension: 1536,", "dimension: 768,"))


def mastra_app(dest: Path) -> Path:
    """The monorepo's root files, the example and @mastra/pg, the example's embedder made Ollama's."""
    app = Source.of("mastra-ai__mastra").checkout("", dest, only=(
        "package.json", "pnpm-workspace.yaml", "turbo.json", f"{MASTRA_EXAMPLE}/", "stores/pg/"))
    index = app / MASTRA_EXAMPLE / "index.ts"
    text = index.read_text()
    for old, new in MASTRA_OLLAMA:
        assert text.count(old) == 1, f"the example no longer says {old!r}"
        text = text.replace(old, new)
    index.write_text(text)
    return app


def load_mastra(db, server, app: Path) -> dict[int, str]:
    """createIndex({indexName: 'test_index', dimension: 768}) then upsert: the table and its ivfflat cosine index as
    PgVector makes them, one row per chunk (a random vector_id, the text as metadata.text, its nomic-embed-text vector).
    The chunks are paragraphs of @mastra/pg's README. Returns {id: text}."""
    import uuid

    paragraphs = [p.strip() for p in (app / "stores/pg/README.md").read_text().split("\n\n") if len(p.strip()) > 40][:12]
    vectors = httpx_embed(server, "nomic-embed-text", paragraphs)
    held = {}
    with db.connect(autocommit=True) as conn:
        conn.execute('CREATE TABLE IF NOT EXISTS "test_index" (id SERIAL PRIMARY KEY, vector_id TEXT UNIQUE NOT NULL, '
                     "embedding vector(768), metadata JSONB DEFAULT '{}'::jsonb)")
        conn.execute('CREATE INDEX IF NOT EXISTS "test_index_vector_idx" ON "test_index" USING ivfflat '
                     "(embedding vector_cosine_ops) WITH (lists = 100)")
        for text, vector in zip(paragraphs, vectors):
            key = conn.execute('INSERT INTO "test_index" (vector_id, embedding, metadata) VALUES (%s, %s::vector, '
                               "%s::jsonb) ON CONFLICT (vector_id) DO UPDATE SET embedding = %s::vector, "
                               "metadata = %s::jsonb RETURNING id",
                               (str(uuid.uuid4()), str(vector), json.dumps({"text": text}), str(vector),
                                json.dumps({"text": text}))).fetchone()[0]
            held[key] = text
    return held


@pytest.fixture(scope="module")
def mastra(pg, templates, server, tmp_path_factory):
    from tests.conftest import Database

    app = mastra_app(tmp_path_factory.mktemp("mastra") / "app")
    with app_database(pg, templates, "mastra") as name:
        yield app, name, load_mastra(Database(name, pg.dsn(name)), server, app)


@pytest.fixture
def mastra_db(pg, mastra):
    from ..conftest import _database

    yield from _database(pg, mastra[1])


def test_mastra_pgvector_index_located_from_create_index_drafted_and_taken_through_the_procedure(cli, mastra,
                                                                                                mastra_db, server,
                                                                                                tmp_path):
    """locate declares test_index.embedding vector(768), cosine, from the example's createIndex (the library's own
    DDL names only `${tableName}`), embedded by ollama-ai-provider's default at 127.0.0.1:11434; the monorepo's `generate:integration`, whose script the commit does not hold, is
    no backfill; the draft needs no edit (the text in metadata->>'text', nomic-embed-text at 768, the engine); scope,
    plan, run, verify and record ok, every vector left as upsert wrote it. The example as the repository has it
    (createIndex at 1536) against this 768 table: the store keeps a table it finds, said so, not a migration."""
    app, _, held = mastra
    with mastra_db.connect(autocommit=True) as conn:
        app_vectors = dict(conn.execute("SELECT id, embedding::text FROM test_index").fetchall())
    trial = procedure(cli, mastra_db, server, app, tmp_path, "test_index", plan=True)
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"], d.get("distance")) for d in located["declarations"]
            if d["kind"] == "mastra"] == [(f"{MASTRA_EXAMPLE}/index.ts", "test_index", "embedding", 768, "cosine")]
    assert located["declared_dimensions"] == [768]
    assert {(c["path"], c["kind"], c["model"], c["url"]) for c in located["embedding_calls"]} == {
        (f"{MASTRA_EXAMPLE}/index.ts", "ollama-ai-sdk", "nomic-embed-text", "http://127.0.0.1:11434/api")}
    assert {(e["command"], e["may_embed"]) for e in located["entrypoints"]} == {("pnpm run generate:integration", False)}
    assert located["best_entrypoint"] is None
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"], raw.get("backfill")) == (
        "test_index", "id", "metadata->>'text'", "embedding", "nomic-embed-text", 768, "cosine", None), drafted
    assert "generate:integration" not in drafted, drafted
    assert_whole_procedure_ok(trial, mastra_db, "test_index", "embedding", len(held), needed=0)
    with mastra_db.connect(autocommit=True) as conn:
        assert dict(conn.execute("SELECT id, embedding::text FROM test_index").fetchall()) == app_vectors
    # The example as the repository has it (OpenAI, createIndex at 1536) against the table the Ollama run made at 768:
    # createIndex keeps a table it finds, no migration is missing.
    index = app / MASTRA_EXAMPLE / "index.ts"
    as_is = tmp_path / "as-is"
    as_is.mkdir()
    (as_is / "index.ts").write_text(functools.reduce(lambda t, sub: t.replace(sub[1], sub[0]), MASTRA_OLLAMA,
                                                     index.read_text()))
    init = cli("profile", "init", "--repo", as_is, "--database-url", mastra_db.dsn, "--output", as_is / "p.yaml",
               env={"DATABASE_URL": mastra_db.dsn, "OLLAMA_HOST": server.url})
    assert init.code == 0, init.out + init.err
    assert ("dimensions: 768  # declared by test_index.embedding (vector); but the application's vector store creates "
            "it with 1536 (index.ts:17) only where it does not exist yet: this table was made before, at 768, and is "
            "kept as it is") in (as_is / "p.yaml").read_text()


def test_mastra_test_index_rows_gone_wrong_are_named_row_by_row_and_repaired(cli, mastra, mastra_db, server, tmp_path):
    """A chunk's metadata.text edited after its vector, a vector reversed, two vectors swapped and a lost vector (the
    column is nullable): verify names exactly those 5; backfill --keys-from re-embeds them, measured."""
    app, _, held = mastra
    env = {"DATABASE_URL": mastra_db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", mastra_db.dsn, "--output", profile, "--json", env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    keys = sorted(held)
    edited, reversed_, first, second, lost = keys[1], keys[3], keys[5], keys[8], keys[10]
    with mastra_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE test_index SET metadata = jsonb_set(metadata, '{text}', to_jsonb(%s::text)) WHERE id = %s",
                     ("PgVector keeps each index in a table of its own.", edited))
        conn.execute("UPDATE test_index SET embedding = (SELECT array_agg(x ORDER BY n DESC) FROM unnest("
                     "embedding::real[]) WITH ORDINALITY AS u(x, n))::vector WHERE id = %s", (reversed_,))
        conn.execute("UPDATE test_index d SET embedding = o.embedding FROM test_index o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (first, second, second, first))
        conn.execute("UPDATE test_index SET embedding = NULL WHERE id = %s", (lost,))
    target = ("--profile", profile, "--collection", "test_index")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {edited, reversed_, first, second}, offenders
    assert offenders["coverage"] == {lost}, offenders
    assert set().union(*offenders.values()) == {edited, reversed_, first, second, lost}, offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5, fixed.out + fixed.err
    assert not [c for c, status in checked_again(profile, env, "test_index").items() if status == "failed"]
    with mastra_db.connect(autocommit=True) as conn:
        rows = conn.execute("SELECT id, metadata->>'text', embedding::text FROM test_index WHERE id = ANY(%s)",
                            ([edited, reversed_, first, lost],)).fetchall()
    now = {key: (text, vector) for key, text, vector in rows}
    expected = httpx_embed(server, "nomic-embed-text", [now[k][0] for k in (edited, reversed_, first, lost)])
    assert [json.loads(now[k][1]) == pytest.approx(v, abs=1e-6)
            for k, v in zip((edited, reversed_, first, lost), expected)] == [True] * 4


# -- runtimerevolution/labs: Django, per-project code chunks, the embedder's model kept in a table -------------------

# What `manage.py sqlmigrate` prints for the tables the trial needs at the pinned commit (Django is no dependency
# here): embeddings 0001 (VectorExtension, CreateModel with an untyped `VectorField()`) and 0002 (RemoveField
# repository, AddField project), core 0004 (Project) and 0009 (EmbeddingModel, LLMModel with their index and
# partial unique constraint).
LABS_DDL = """
CREATE TABLE "core_project" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
  "name" varchar(255) NOT NULL, "description" text NULL, "path" varchar(255) NOT NULL UNIQUE, "url" varchar(255) NULL,
  "created_at" timestamp with time zone NOT NULL, "updated_at" timestamp with time zone NOT NULL);
CREATE TABLE "core_embeddingmodel" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
  "provider" varchar NOT NULL, "name" varchar(255) NOT NULL, "active" boolean NOT NULL);
CREATE TABLE "core_llmmodel" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
  "provider" varchar NOT NULL, "name" varchar(255) NOT NULL, "active" boolean NOT NULL, "max_output_tokens" integer NULL);
CREATE INDEX "core_embedd_provide_04143f_idx" ON "core_embeddingmodel" ("provider", "name");
CREATE UNIQUE INDEX "unique_active_embedding" ON "core_embeddingmodel" ("provider") WHERE "active";
CREATE INDEX "core_llmmod_provide_8330c3_idx" ON "core_llmmodel" ("provider", "name");
CREATE UNIQUE INDEX "unique_active_llm" ON "core_llmmodel" ("provider") WHERE "active";
CREATE TABLE "embeddings_embedding" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
  "repository" varchar(255) NOT NULL, "file_path" varchar(255) NOT NULL, "text" text NOT NULL, "embedding" vector NOT NULL);
ALTER TABLE "embeddings_embedding" DROP COLUMN "repository" CASCADE;
ALTER TABLE "embeddings_embedding" ADD COLUMN "project_id" bigint NOT NULL
  CONSTRAINT "embeddings_embedding_project_id_8c7f1f8c_fk_core_project_id" REFERENCES "core_project"("id")
  DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX "embeddings_embedding_project_id_8c7f1f8c" ON "embeddings_embedding" ("project_id");
"""
LABS_PROJECTS = {"labs": ("labs/core/models.py", "labs/embeddings/embedder.py", "labs/tasks/llm.py"),
                 "toolbox": ("labs/file_handler.py", "README.md")}


def load_labs(db, server, app: Path) -> None:
    """The app's fixtures (`loaddata embedding llm`: three embedders, four LLMs) with Ollama's embedder made the active
    one, then each project vectorized as ChunkVectorizer + Embedder.reembed_code do: its files' parts, each stored as
    ``f"{file_path}\\n\\n{part}"``, embedded in one request by the ollama client OllamaEmbedder uses (``Client(host)
    .embed(model.name, texts)``), one row per part."""
    import ollama

    client = ollama.Client(server.url)
    with db.connect(autocommit=True) as conn:
        for fixture, table in (("embedding.json", "core_embeddingmodel"), ("llm.json", "core_llmmodel")):
            for row in json.loads((app / "labs" / "fixtures" / fixture).read_text()):
                fields = {"id": row["pk"], **row["fields"]}
                conn.execute(f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join(['%s'] * len(fields))})",
                             tuple(fields.values()))
        conn.execute("UPDATE core_embeddingmodel SET active = (provider = 'OLLAMA')")  # the admin's choice
        model = conn.execute("SELECT name FROM core_embeddingmodel WHERE active").fetchone()[0]
        for name, files in LABS_PROJECTS.items():
            project = conn.execute("INSERT INTO core_project (name, path, created_at, updated_at) "
                                   "VALUES (%s, %s, now(), now()) RETURNING id", (name, f"/repositories/{name}")).fetchone()[0]
            files_texts = [(f"/repositories/{name}/{f}", f"/repositories/{name}/{f}\n\n{part.strip()}")
                           for f in files for part in [p for p in (app / f).read_text().split("\n\n") if p.strip()][:6]]
            vectors = client.embed(model, [text for _, text in files_texts])["embeddings"]
            for (path, text), vector in zip(files_texts, vectors):
                conn.execute("INSERT INTO embeddings_embedding (project_id, embedding, file_path, text) "
                             "VALUES (%s, %s::vector, %s, %s)", (project, str(vector), path, text))


def labs_row(conn, project: str, index: int) -> int:
    return conn.execute("SELECT e.id FROM embeddings_embedding e JOIN core_project p ON p.id = e.project_id "
                        "WHERE p.name = %s ORDER BY e.id OFFSET %s LIMIT 1", (project, index)).fetchone()[0]


def test_labs_django_code_chunks_per_project_with_the_embedders_model_kept_in_a_table(cli, empty_db, server, tmp_path):
    """runtimerevolution/labs: a Django app embedding a project's code chunks in a Celery task with the embedder the
    active ``core_embeddingmodel`` row names (no code or setting names a model), an ollama client given
    ``settings.LOCAL_LLM_HOST``, an untyped inline vector, rows searched per project. Then a backfill gone wrong in
    one project: verify names exactly those rows, ``backfill --keys-from`` repairs them."""
    app = Source.of("runtimerevolution__labs").checkout("", tmp_path / "app", only=("labs/", "README.md", ".env.sample"))
    models = (app / "labs/embeddings/models.py").read_text()
    for field in ('project = models.ForeignKey("core.Project"', "file_path = models.CharField(max_length=255)",
                  "text = models.TextField()", "embedding = VectorField()"):
        assert field in models  # LABS_DDL is this model's
    empty_db.execute(LABS_DDL)
    load_labs(empty_db, server, app)
    rows = empty_db.scalar("SELECT count(*) FROM embeddings_embedding")
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "labs")
    located = trial.locate.json
    assert ("labs/embeddings/models.py", "embeddings_embedding", "embedding", None) in {
        (d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]}
    calls = {(c["path"], c["kind"], c["model"], c["url"], c["url_env"]) for c in located["embedding_calls"]}
    # The client is given the Django setting (LOCAL_LLM_HOST, read in config/settings.py), never OLLAMA_HOST; LiteLLM's
    # embedding() (the OpenAI embedder) and Gemini's embed_content are listed too, each model the row it is given.
    assert calls == {("labs/embeddings/ollama.py", "ollama-client", None, "http://ollama:11434", "LOCAL_LLM_HOST"),
                     ("labs/embeddings/openai.py", "litellm", None, None, None),
                     ("labs/embeddings/gemini.py", "gemini", None, None, None)}, calls
    assert located["best_entrypoint"] is None  # a Celery task embeds, no command: the engine runs
    drafted = trial.profile.read_text()
    assert trial.init.json["todo"] == [], drafted
    raw = yaml.safe_load(drafted)
    # The model: of the names the database's configuration tables hold, the one served at the stored vectors' 768 that
    # reproduces them (the active OLLAMA row), measured; the search's project is the collection, named by the project.
    assert raw["provider"]["model"] == "nomic-embed-text:latest"
    assert "core_embeddingmodel.name, row id = 1, active" in drafted and "reproduces the stored vectors" in drafted
    assert raw["chunks"]["collection"] == "project_id" and raw["chunks"]["collection_table"] == {
        "table": "core_project", "key": "id", "name": "name"}, drafted
    assert (raw["chunks"]["table"], raw["chunks"]["text"], raw["embeddings"]["vector"], raw["distance"]) == (
        "embeddings_embedding", "text", "embedding", "cosine")
    assert trial.scope.json["counts"]["chunks"] == 18, trial.scope.out
    assert_whole_procedure_ok(trial, empty_db, "embeddings_embedding", "embedding", rows, needed=0)

    # Gone wrong in project labs: a chunk edited after its vector, the OpenAI embedder's 1536-dimensional vector in
    # the untyped column, a permuted vector, two chunks with each other's vectors, one swapped with toolbox's.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    with empty_db.connect(autocommit=True) as conn:
        edited, openai, permuted, a, b, moved = (labs_row(conn, "labs", i) for i in (1, 4, 7, 9, 12, 15))
        toolbox = labs_row(conn, "toolbox", 2)
        conn.execute("UPDATE embeddings_embedding SET text = text || '\n# edited' WHERE id = %s", (edited,))
        text = conn.execute("SELECT text FROM embeddings_embedding WHERE id = %s", (openai,)).fetchone()[0]
        conn.execute("UPDATE embeddings_embedding SET embedding = %s::vector WHERE id = %s",
                     (str(httpx_embed(server, "text-embedding-3-small", [text])[0]), openai))
        conn.execute("UPDATE embeddings_embedding SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (permuted,))
        conn.execute("UPDATE embeddings_embedding d SET embedding = o.embedding FROM embeddings_embedding o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s), (%s, %s), (%s, %s))",
                     (a, b, b, a, moved, toolbox, toolbox, moved))
    target = ("--profile", trial.profile, "--collection", "labs")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {edited, openai, permuted, a, b, moved}, offenders
    assert offenders["dimensions"] == {openai}, offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 6, fixed.out + fixed.err
    other = ("--profile", trial.profile, "--collection", "toolbox")
    theirs = cli("verify", *other, "--run-dir", tmp_path / "toolbox", "--json", env=env)
    # (its vector is a labs row's again, after labs' repair: distinct_vectors names it too)
    assert theirs.code == 1 and offenders_by_check(tmp_path / "toolbox" / "offenders.jsonl") == {
        "recompute": {toolbox}, "distinct_vectors": {toolbox}}
    assert cli("backfill", *other, "--keys-from", tmp_path / "toolbox" / "offenders.jsonl", env=env).code == 0
    for collection in ("labs", "toolbox"):
        assert not [c for c, status in checked_again(trial.profile, env, collection).items() if status == "failed"]
    assert empty_db.scalar("SELECT count(*) FROM embeddings_embedding WHERE vector_dims(embedding) <> 768") == 0


# -- HKUDS/LightRAG: Python, asyncpg, DDL strings in a dict, a vector table per model keyed (workspace, id) ------------

# The user's checkout: the PostgreSQL storage, the embedders and settings, and the entrypoints a checkout offers (the
# whole tree, 990 files, takes locate about 17 s; nothing else in it declares a table or embeds).
LIGHTRAG_CHECKOUT = ("lightrag/kg/postgres_impl.py", "lightrag/base.py", "lightrag/llm/ollama.py", "lightrag/llm/openai.py",
                     "lightrag/api/config.py", "lightrag/utils.py", "lightrag/tools/rebuild_vdb.py", "env.example",
                     "Makefile", "pyproject.toml", "examples/unofficial-sample/lightrag_embedding_prefixes.py",
                     "README.md", "SECURITY.md")
# The user's .env: env.example with its embedding block set to Ollama's.
LIGHTRAG_OLLAMA = {"EMBEDDING_BINDING": "ollama", "EMBEDDING_BINDING_HOST": "http://localhost:11434",
                   "EMBEDDING_MODEL": "nomic-embed-text", "EMBEDDING_DIM": "768"}
LIGHTRAG_VDB = "lightrag_vdb_chunks_nomic_embed_text_768d"


def lightrag_storage(app: Path) -> tuple[dict, dict]:
    """`TABLES` and `SQL_TEMPLATES` of postgres_impl.py, as the storage runs them (read, not imported: asyncpg and the
    rest of the library are not installed here)."""
    import ast

    found = {}
    for node in ast.parse((app / "lightrag" / "kg" / "postgres_impl.py").read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in ("TABLES", "SQL_TEMPLATES"):
            found[node.targets[0].id] = ast.literal_eval(node.value)
    return found["TABLES"], found["SQL_TEMPLATES"]


def lightrag_chunks(app: Path) -> dict[str, dict[str, list[str]]]:
    """workspace -> file -> chunks (the files' first paragraphs): README.md in both workspaces, SECURITY.md in alpha."""
    def paragraphs(name: str, n: int) -> list[str]:
        return [p.strip() for p in (app / name).read_text().split("\n\n") if len(p.strip()) > 40][:n]
    return {"alpha": {"shared.md": paragraphs("README.md", 6), "security.md": paragraphs("SECURITY.md", 4)},
            "beta": {"shared.md": paragraphs("README.md", 6)}}


def load_lightrag(db, server, app: Path) -> dict[tuple[str, str], str]:
    """The tables `_pg_create_table` makes for nomic-embed-text at 768 (the width replaced, the name suffixed, HNSW
    cosine), then each workspace's chunks through the storage's own upserts (the KV store's and the vector store's),
    ids as the pipeline makes them (the same file gives the same ids in each workspace). Returns {(workspace, id): text}."""
    import datetime as dt
    import hashlib

    tables, templates = lightrag_storage(app)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # as the storage stamps rows: naive UTC
    as_psycopg = functools.partial(re.sub, r"\$\d+", "%s")
    ddl = tables["LIGHTRAG_VDB_CHUNKS"]["ddl"].replace("VECTOR(dimension)", "VECTOR(768)")
    held = {}
    with db.connect(autocommit=True) as conn:
        conn.execute(tables["LIGHTRAG_DOC_CHUNKS"]["ddl"])
        conn.execute(ddl.replace("LIGHTRAG_VDB_CHUNKS", LIGHTRAG_VDB.upper()))
        conn.execute(f"CREATE INDEX ON {LIGHTRAG_VDB} USING hnsw (content_vector vector_cosine_ops)")
        for workspace, files in lightrag_chunks(app).items():
            for path, chunks in files.items():
                doc = "doc-" + hashlib.md5(path.encode()).hexdigest()
                for order, (text, vector) in enumerate(zip(chunks, httpx_embed(server, "nomic-embed-text", chunks))):
                    key = "chunk-" + hashlib.md5(f"{doc}:{text}".encode()).hexdigest()
                    conn.execute(as_psycopg(templates["upsert_text_chunk"]),
                                 (workspace, key, len(text.split()), order, doc, text, path, "[]", "{}", "{}", now, now))
                    conn.execute(as_psycopg(templates["upsert_chunk"].format(table_name=LIGHTRAG_VDB)),
                                 (workspace, key, len(text.split()), order, doc, text, str(vector), path, now, now))
                    held[(workspace, key)] = text
    return held


@pytest.fixture(scope="module")
def lightrag(pg, templates, server, tmp_path_factory):
    """The checkout (with the user's .env) and a template database holding two workspaces' chunks."""
    from tests.conftest import Database

    app = Source.of("HKUDS__LightRAG").checkout("", tmp_path_factory.mktemp("lightrag") / "app", only=LIGHTRAG_CHECKOUT)
    env = (app / "env.example").read_text()
    for name, value in LIGHTRAG_OLLAMA.items():
        env, n = re.subn(rf"(?m)^{name}=.*$", f"{name}={value}", env)
        assert n == 1, name  # the block the user edits: one line each
    (app / ".env").write_text(env)
    with app_database(pg, templates, "lightrag") as name:
        yield app, name, load_lightrag(Database(name, pg.dsn(name)), server, app)


@pytest.fixture
def lightrag_db(pg, lightrag):
    from ..conftest import _database

    yield from _database(pg, lightrag[1])


def lightrag_vectors(conn, workspace: str) -> dict[str, str]:
    return dict(conn.execute(f"SELECT id, content_vector::text FROM {LIGHTRAG_VDB} WHERE workspace = %s",
                             (workspace,)).fetchall())


def test_lightrag_vector_table_keyed_by_workspace_located_drafted_and_one_workspace_backfilled(cli, lightrag,
                                                                                                lightrag_db, server,
                                                                                                tmp_path):
    """locate reads the DDL dict's tables (`content_vector VECTOR(dimension)`: width unknown), no example script or
    `make help` as the backfill; the draft needs no edit: the model's table, `id` within `workspace` (the primary key
    (workspace, id)), nomic-embed-text from the .env with no task prefix (the embedders' docstrings name one as an
    example); alpha's two lost vectors of the file both workspaces hold are filled, and beta's row of one of those ids,
    lost too, is beta's: left as it was."""
    app, _, held = lightrag
    shared = [k for (w, k) in held if w == "beta"]
    with lightrag_db.connect(autocommit=True) as conn:
        conn.execute(f"UPDATE {LIGHTRAG_VDB} SET content_vector = NULL WHERE workspace = 'alpha' AND id = ANY(%s)",
                     (shared[1:3],))
        conn.execute(f"UPDATE {LIGHTRAG_VDB} SET content_vector = NULL WHERE workspace = 'beta' AND id = %s", (shared[1],))
        beta = lightrag_vectors(conn, "beta")
    trial = procedure(cli, lightrag_db, server, app, tmp_path, "alpha", plan=True)
    located = trial.locate.json
    assert {(d["table"], d["column"], d["dimensions"], d["kind"]) for d in located["declarations"]} == {
        (t, "content_vector", None, "sql") for t in ("LIGHTRAG_VDB_CHUNKS", "LIGHTRAG_VDB_ENTITY", "LIGHTRAG_VDB_RELATION")}
    assert located["best_entrypoint"] is None and located["task_prefixes"] == [], located["entrypoints"]
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["provider"]["model"], raw["provider"]["dimensions"], raw["chunks"]["table"], raw["chunks"]["id"],
            raw["chunks"].get("collection"), raw["chunks"]["text"], raw["embeddings"]["vector"], raw["distance"]) == (
        "nomic-embed-text", 768, LIGHTRAG_VDB, "id", "workspace", "content", "content_vector", "cosine"), drafted
    assert "text_prefix" not in raw["chunks"] and raw.get("backfill") is None and "(workspace, id)" in drafted, drafted
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 2, trial.scope.out
    assert (trial.run.code, trial.verify.code, trial.record.code) == (0, 0, 0), trial.run.out + trial.verify.out
    with lightrag_db.connect(autocommit=True) as conn:
        assert lightrag_vectors(conn, "beta") == beta  # beta's lost vector still lost, the rest untouched
        assert conn.execute(f"SELECT count(*) FROM {LIGHTRAG_VDB} WHERE content_vector IS NULL").fetchone()[0] == 1


def test_lightrag_workspace_gone_wrong_is_named_row_by_row_and_repaired_alone(cli, lightrag, lightrag_db, server,
                                                                                tmp_path):
    """In beta: a chunk of the file both workspaces hold edited after its vector (the old vector still alpha's row's),
    another model's vector (a permutation, the same width), two vectors swapped, a lost vector. beta's verify names
    exactly those 5, alpha's passes (its row holds its own text's vector); `--keys-from` re-embeds them in beta only."""
    app, _, held = lightrag
    env = {"DATABASE_URL": lightrag_db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", app, "--database-url", lightrag_db.dsn, "--output", profile, "--json",
               env=env)
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    edited, other, first, second, lost = [k for (w, k) in held if w == "beta"][:5]
    with lightrag_db.connect(autocommit=True) as conn:
        alpha = lightrag_vectors(conn, "alpha")
        beta_only = f"UPDATE {LIGHTRAG_VDB} SET {{}} WHERE workspace = 'beta' AND id = %s"
        conn.execute(beta_only.format("content = content || ' (edited)', update_time = now()"), (edited,))
        conn.execute(beta_only.format("content_vector = (SELECT array_agg(x ORDER BY o DESC) FROM "
                                      "unnest(content_vector::real[]) WITH ORDINALITY AS u(x, o))::vector"), (other,))
        conn.execute(f"UPDATE {LIGHTRAG_VDB} d SET content_vector = o.content_vector FROM {LIGHTRAG_VDB} o WHERE "
                     "d.workspace = 'beta' AND o.workspace = 'beta' AND (d.id, o.id) IN ((%s, %s), (%s, %s))",
                     (first, second, second, first))
        conn.execute(beta_only.format("content_vector = NULL"), (lost,))
    target = ("--profile", profile, "--collection", "beta")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert set().union(*offenders.values()) == {edited, other, first, second, lost}, offenders
    assert offenders["recompute"] >= {edited, other, first, second} and offenders["coverage"] == {lost}, offenders
    assert not [c for c, status in checked_again(profile, env, "alpha").items() if status == "failed"]
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5, fixed.out + fixed.err
    assert not [c for c, status in checked_again(profile, env, "beta").items() if status == "failed"]
    with lightrag_db.connect(autocommit=True) as conn:
        assert lightrag_vectors(conn, "alpha") == alpha  # measured: not one of alpha's rows written
        now = conn.execute(f"SELECT content, content_vector::text FROM {LIGHTRAG_VDB} WHERE workspace = 'beta' AND "
                           "id = %s", (edited,)).fetchone()
    assert json.loads(now[1]) == pytest.approx(httpx_embed(server, "nomic-embed-text", [now[0]])[0], abs=1e-6)


# -- MohamdAlJawhari/AI-Chat-System: PHP + Laravel, raw pgvector SQL, an artisan queue worker that embeds ----------

# What Laravel's pgsql grammar makes of the three migrations' Schema builder calls, with their own raw statements
# (unaccent, normalize_ar_app, the content trigger, the vector column, the generated tsvector, the indexes, the queue
# trigger); the hybrid search functions are left out.
AI_CHAT_DDL = r"""
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TABLE news (
  id bigserial PRIMARY KEY, original_id bigint NOT NULL, ref bigint, user_id bigint,
  date_sent timestamp(0) with time zone, date_created timestamp(0) with time zone,
  date_modified timestamp(0) with time zone, language text, is_breaking_news boolean NOT NULL DEFAULT false,
  is_milestone boolean NOT NULL DEFAULT false, category text, country text, city text, notes text, byline text,
  title text, dateline text, signature_line text, introduction text, description text, body text, content text,
  media_type_id text, path text);
CREATE INDEX news_original_id_index ON news (original_id);
ALTER TABLE news ADD COLUMN tags text[] DEFAULT '{}'::text[];
CREATE OR REPLACE FUNCTION normalize_ar_app(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT translate(regexp_replace(regexp_replace(regexp_replace(regexp_replace(unaccent($1),
    '[\u064B-\u065F]', '', 'g'), '\u0640', '', 'g'), '[\u06F0-\u06F9]', '0123456789', 'g'),
    '[\u0660-\u0669]', '0123456789', 'g'), 'آأإٱىة', 'ااااايه') $$;
CREATE OR REPLACE FUNCTION sync_news_content() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.content := concat_ws(E'\n\n', NEW.title, NEW.introduction, NEW.description, NEW.body); RETURN NEW; END $$;
CREATE TRIGGER news_sync_content_biu BEFORE INSERT OR UPDATE OF title, introduction, description, body ON news
  FOR EACH ROW EXECUTE FUNCTION sync_news_content();
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE news_chunks (
  id bigserial PRIMARY KEY, news_id bigint NOT NULL, chunk_no integer NOT NULL, content text NOT NULL,
  token_count integer, model text NOT NULL DEFAULT 'nomic-embed-text', category text, country text, city text,
  date_sent timestamp(0) with time zone);
ALTER TABLE news_chunks ADD CONSTRAINT news_chunks_news_id_foreign FOREIGN KEY (news_id) REFERENCES news (id)
  ON DELETE CASCADE;
ALTER TABLE news_chunks ADD CONSTRAINT news_chunks_news_id_chunk_no_unique UNIQUE (news_id, chunk_no);
CREATE INDEX news_chunks_news_id_index ON news_chunks (news_id);
ALTER TABLE news_chunks ADD COLUMN embedding vector(768);
ALTER TABLE news_chunks ADD COLUMN content_tsv tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('simple', normalize_ar_app(coalesce(content, ''))), 'A') ||
  setweight(to_tsvector('simple', normalize_ar_app(coalesce(category, '') || ' ' || coalesce(country, '') || ' ' ||
    coalesce(city, ''))), 'B')) STORED;
CREATE INDEX IF NOT EXISTS idx_chunks_tsv_gin ON news_chunks USING GIN (content_tsv);
CREATE INDEX IF NOT EXISTS idx_chunks_embed_hnsw ON news_chunks USING hnsw (embedding vector_cosine_ops)
  WITH (m=16, ef_construction=200);
CREATE TABLE news_ingest_queue (
  id bigserial PRIMARY KEY, news_id bigint NOT NULL UNIQUE REFERENCES news (id) ON DELETE CASCADE,
  enqueued_at timestamp(0) with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP, reason text, tries integer NOT NULL DEFAULT 0);
CREATE OR REPLACE FUNCTION enqueue_news() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO news_ingest_queue(news_id, reason) VALUES (NEW.id, TG_OP)
  ON CONFLICT (news_id) DO UPDATE SET enqueued_at = now(), reason = EXCLUDED.reason, tries = 0;
  RETURN NEW;
END $$;
CREATE TRIGGER news_enqueue_ai AFTER INSERT OR UPDATE OF title, introduction, description, body, language, category,
  country, city, date_sent ON news FOR EACH ROW EXECUTE FUNCTION enqueue_news();
"""


def ai_chat_chunks(text: str, target: int = 1800, overlap: int = 200) -> list[str]:
    """IngestQueueWorker's chunker: paragraphs joined up to 1,800 characters, a longer one cut with 200 of overlap,
    each chunk after the first led by the last 200 characters of the one before."""
    chunks, buf = [], ""
    for p in [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]:
        cand = (buf + "\n\n" + p).strip() if buf else p
        if len(cand) <= target:
            buf = cand
            continue
        if buf:
            chunks.append(buf)
        while len(p) > target:
            chunks.append(p[:target])
            p = p[target - overlap:]
        buf = p
    if buf:
        chunks.append(buf)
    return [c if i == 0 else chunks[i - 1][-overlap:] + c for i, c in enumerate(chunks)]


def load_ai_chat(db, server, app: Path, failed: int = 2) -> None:
    """News rows from the app's README sections (the triggers fill `content` and the queue), then the worker's pass:
    each queued news' chunks inserted, embedded in one request (`/api/embed`, nomic-embed-text) and written as
    `ARRAY[...]::vector(768)` by id, the queue row deleted; for the last ``failed`` news the request fails (their
    chunks stay without vectors, the queue row's `tries` counted)."""
    sections = [s for s in re.split(r"(?m)^## ", (app / "README.md").read_text()) if s.strip()][1:]
    with db.connect(autocommit=True) as conn:
        for n, section in enumerate(sections):
            title, _, body = section.partition("\n")
            conn.execute("INSERT INTO news (original_id, title, introduction, body, category, country, date_sent) "
                         "VALUES (%s, %s, %s, %s, %s, %s, now())",
                         (1000 + n, title.strip(), f"Section {n} of the README.", body.strip(), "docs", "LB"))
        queued = [r[0] for r in conn.execute("SELECT news_id FROM news_ingest_queue ORDER BY enqueued_at, id")]
        for i, nid in enumerate(queued):
            content, category, country, city, sent = conn.execute(
                "SELECT content, category, country, city, date_sent FROM news WHERE id = %s", (nid,)).fetchone()
            conn.execute("DELETE FROM news_chunks WHERE news_id = %s", (nid,))
            inserted = [(conn.execute("INSERT INTO news_chunks (news_id, chunk_no, content, token_count, category, "
                                      "country, city, date_sent) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                                      (nid, k, c, len(c) or None, category, country, city, sent)).fetchone()[0], c)
                        for k, c in enumerate(ai_chat_chunks(content or ""))]
            if i >= len(queued) - failed:
                conn.execute("UPDATE news_ingest_queue SET tries = tries + 1 WHERE news_id = %s", (nid,))
                continue
            for (cid, _), vec in zip(inserted, httpx_embed(server, "nomic-embed-text", [c for _, c in inserted])):
                literal = "ARRAY[" + ",".join(f"{x:.7f}" for x in vec) + "]::vector(768)"
                conn.execute(f"UPDATE news_chunks SET embedding = {literal} WHERE id = %s", (cid,))
            conn.execute("DELETE FROM news_ingest_queue WHERE news_id = %s", (nid,))


def test_ai_chat_laravel_news_chunks_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """MohamdAlJawhari/AI-Chat-System: a Laravel app whose migrations declare the vector column, its HNSW cosine index
    and its search functions in raw SQL strings and nowdocs, whose artisan worker `ingest:queue` embeds through an
    Ollama HTTP service (model a parameter's default, URL a config key filled from OLLAMA_URL). locate, profile init,
    scope, run --engine (PHP is not run here), verify, record; then rows gone wrong are named and repaired."""
    app = Source.of("MohamdAlJawhari__AI-Chat-System").checkout("", tmp_path / "app", only=(
        "app/", "config/", "database/migrations/", "artisan", ".env.example", "README.md", "composer.json"))
    migration = (app / "database/migrations/2025_12_02_114808_create_news_chunks_table.php").read_text()
    for said in ("ALTER TABLE news_chunks ADD COLUMN embedding vector(768)", "$table->text('model')->default('nomic-embed-text');",
                 "USING hnsw (embedding vector_cosine_ops)", "->constrained('news')"):
        assert said in migration  # AI_CHAT_DDL is this migration's
    empty_db.execute(AI_CHAT_DDL)
    load_ai_chat(empty_db, server, app)
    rows = empty_db.scalar("SELECT count(*) FROM news_chunks")
    lost = empty_db.scalar("SELECT count(*) FROM news_chunks WHERE embedding IS NULL")
    assert rows > lost > 0
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "news_chunks", plan=True)
    located = trial.locate.json
    assert located["declared_dimensions"] == [768]
    assert {(c["path"], c["kind"], c["model"], c["url"], c["url_env"]) for c in located["embedding_calls"]} == {
        ("app/Services/OllamaEmbeddingService.php", "ollama-http", "nomic-embed-text", "http://localhost:11434",
         "OLLAMA_URL")}, located["embedding_calls"]
    # SQL in the migrations' multi-line strings and nowdocs: the index's cosine and the search functions' l2
    assert {(d["path"].rsplit("_", 1)[-1], d["distance"], d["kind"]) for d in located["distances"]} >= {
        ("table.php", "cosine", "sql-index"), ("search.php", "l2", "sql")}, located["distances"]
    assert [(e["command"], e["kind"]) for e in located["entrypoints"]] == [
        ("php artisan ingest:queue --once", "artisan-command")], located["entrypoints"]
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["sources"],
            raw["embeddings"]["vector"], raw["embeddings"]["model"], raw["provider"]["model"],
            raw["provider"]["dimensions"], raw["backfill"]["command"]) == (
        "news_chunks", "id", "content", ["news_id"], "embedding", "model", "nomic-embed-text", 768,
        "php artisan ingest:queue --once"), drafted
    # The worker's environment: the config keys it reads (services.ollama.url <- OLLAMA_URL) and the pgsql connection's
    # names, DB_CONNECTION (a driver's name) left to the app's .env; scope checks them for the command as drafted.
    assert raw["backfill"]["env"] == {"OLLAMA_URL": "{provider_url}", "DB_URL": "{database_url}",
                                      "DB_HOST": "{database_host}", "DB_PORT": "{database_port}",
                                      "DB_DATABASE": "{database_name}", "DB_USERNAME": "{database_user}",
                                      "DB_PASSWORD": "{database_password}"}, drafted
    scoped = {c["check"]: (c["status"], c["found"]) for c in trial.scope.json["checks"]}
    assert scoped["command reaches the provider"] == ("passed", "it reads OLLAMA_URL"), scoped
    assert scoped["command uses the model"] == ("passed", "it hard-codes nomic-embed-text"), scoped
    # The HNSW index is cosine; the app's search functions order by `<->`, which it does not serve: said beside it.
    line = next(x for x in drafted.splitlines() if x.startswith("distance:"))
    assert line.startswith("distance: cosine  # the operator class vector_cosine_ops of index idx_chunks_embed_hnsw")
    assert "but the application's code searches news_chunks.embedding with l2 (<-> at database/migrations/" in line, line
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "news_chunks", "embedding", rows, needed=lost)

    # Gone wrong: a chunk's content edited after its vector, a vector reversed, two chunks with each other's vectors,
    # a lost vector. verify names exactly those rows; backfill --keys-from repairs them; verify is ok after.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    with empty_db.connect(autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM news_chunks ORDER BY id")]
    edited, reversed_, a, b, gone = ids[0], ids[2], ids[3], ids[5], ids[6]
    damage_inline(empty_db, "news_chunks", "content", edited=edited, reversed_=reversed_, swapped=(a, b), gone=gone)
    target = ("--profile", trial.profile, "--collection", "news_chunks")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {edited, reversed_, a, b}, offenders
    assert offenders["coverage"] == {gone}, offenders
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5, fixed.out + fixed.err
    assert not [c for c, status in checked_again(trial.profile, env, "news_chunks").items() if status == "failed"]
    assert empty_db.scalar("SELECT count(*) FROM news_chunks WHERE embedding IS NULL") == 0


# -- 4ymaneBH/Governed-Data-Analyst-Agent-for-slack: Python, asyncpg, its own backfill script over raw httpx -----------

GOVERNED_CHUNKS = "internal.doc_chunks"


def governed_schema(app: Path) -> tuple[str, str]:
    """init.sql with uuid-ossp's function stood in for (pg_trgm unused), and seed.sql's documents and their chunks."""
    init = (app / "infra/postgres/init.sql").read_text()
    for extension, stand_in in (('"uuid-ossp"', "CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql AS "
                                                 "'SELECT gen_random_uuid()';"), ('"pg_trgm"', "")):
        init, n = re.subn(rf"CREATE EXTENSION IF NOT EXISTS {extension};", stand_in, init)
        assert n == 1, extension
    seed = (app / "infra/postgres/seed.sql").read_text()
    return init, seed[seed.index("-- DOCUMENTS FOR RAG"):seed.index("-- Summary")]


@pytest.fixture(scope="module")
def governed(pg, templates, tmp_path_factory):
    """The checkout and a template database as init.sql and seed.sql leave it: 38 chunks, no vector."""
    import psycopg

    app = Source.of("4ymaneBH__Governed-Data-Analyst-Agent-for-slack").checkout("", tmp_path_factory.mktemp("governed"))
    with app_database(pg, templates, "governed") as name:
        with psycopg.connect(pg.dsn(name), autocommit=True) as conn:
            for script in governed_schema(app):
                conn.execute(script)
        yield app, name


@pytest.fixture
def governed_db(pg, governed):
    from ..conftest import _database

    yield from _database(pg, governed[1])


def test_governed_seeded_chunks_backfilled_by_its_own_script_and_its_done_line_not_trusted(cli, governed, governed_db,
                                                                                             server, tmp_path):
    """Seeded chunks without vectors, filled by the app's own `scripts/backfill_embeddings.py` through `run`: its
    names (OLLAMA_BASE_URL, EMBEDDING_MODEL) drafted as backfill.env, the DSN it prints masked. Then 4 vectors gone
    wrong (an edited text, another model's, two swapped) and one lost: its script, run again, fills the lost one and
    says `Backfill complete!`; verify names exactly the other 4; `--keys-from` repairs them."""
    app, _ = governed

    def own_python(text: str) -> str:
        return text.replace('command: "python scripts/', f'command: "{sys.executable} scripts/')

    trial = procedure(cli, governed_db, server, app, tmp_path, "doc_chunks", edit=own_python, run_args=(), plan=True)
    best = trial.locate.json["entrypoints"][0]
    assert trial.locate.json["best_entrypoint"] == best["command"] == "python scripts/backfill_embeddings.py"
    assert best["contract"]["reads_env"] == ["DATABASE_URL", "OLLAMA_BASE_URL", "EMBEDDING_MODEL"], best
    assert [(d["table"], d["column"], d["dimensions"]) for d in trial.locate.json["declarations"]] == [
        (GOVERNED_CHUNKS, "embedding", 768)]
    raw = yaml.safe_load(trial.profile.read_text())
    assert trial.init.json["todo"] == [] and (raw["chunks"]["schema"], raw["chunks"]["table"], raw["chunks"]["id"],
                                              raw["chunks"]["text"], raw["provider"]["model"], raw["distance"]) == (
        "internal", "doc_chunks", "chunk_id", "content", "nomic-embed-text", "cosine"), trial.profile.read_text()
    assert raw["backfill"]["env"] == {"DATABASE_URL": "{database_url}", "OLLAMA_BASE_URL": "{provider_url}",
                                      "EMBEDDING_MODEL": "{model}"}
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, governed_db, GOVERNED_CHUNKS, "embedding", 38)
    log = (tmp_path / "run" / "output.log").read_text()
    assert "Backfill complete! Updated 38 chunks." in log and "Connecting to database: postgresql://" in log
    password = governed_db.dsn.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert password not in log and ":***@" in log, log
    # The draft kept in the checkout, as SKILL.md has it, is not read back as the application's configuration.
    kept = app / "backfill-profile.yaml"
    kept.write_text(trial.profile.read_text())
    try:
        again = cli("locate", "--repo", app, "--json")
    finally:
        kept.unlink()
    assert "backfill-profile.yaml" not in {s["path"] for s in again.json["settings"]} | {
        c["path"] for c in again.json["config"]}, again.out

    with governed_db.connect(autocommit=True) as conn:
        keys = [r[0] for r in conn.execute(f"SELECT chunk_id::text FROM {GOVERNED_CHUNKS} ORDER BY doc_id, chunk_index")]
        edited, other, first, second, lost = keys[3], keys[11], keys[17], keys[25], keys[33]
        conn.execute(f"UPDATE {GOVERNED_CHUNKS} SET content = content || ' (edited)' WHERE chunk_id = %s", (edited,))
        conn.execute(f"UPDATE {GOVERNED_CHUNKS} SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE chunk_id = %s", (other,))
        conn.execute(f"UPDATE {GOVERNED_CHUNKS} d SET embedding = o.embedding FROM {GOVERNED_CHUNKS} o WHERE "
                     "(d.chunk_id::text, o.chunk_id::text) IN ((%s, %s), (%s, %s))", (first, second, second, first))
        conn.execute(f"UPDATE {GOVERNED_CHUNKS} SET embedding = NULL WHERE chunk_id = %s", (lost,))
    env = {"DATABASE_URL": governed_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "doc_chunks")
    rerun = cli("run", *target, "--run-dir", tmp_path / "again", "--json", env=env)
    assert rerun.code == 0 and rerun.json["counts_before"]["missing"] == 1, rerun.out + rerun.err
    assert "Backfill complete! Updated 1 chunks." in (tmp_path / "again" / "output.log").read_text()
    damaged = cli("verify", *target, "--run-dir", tmp_path / "again", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "again" / "offenders.jsonl")
    assert damaged.code == 1 and offenders["recompute"] == set().union(*offenders.values()) == {
        edited, other, first, second}, offenders  # (citations may name a sampled one of them too)
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "again" / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 4, fixed.out + fixed.err
    assert not [c for c, status in checked_again(trial.profile, env, "doc_chunks").items() if status == "failed"]


# -- ChrisTowles/rag-demo-ollama-and-pgvector: Python, psycopg2, the `ollama` client's module functions --------------

TOWLES_LOAD = """
import sys
sys.path.insert(0, "src")
import psycopg2
from pgvector.psycopg2 import register_vector
from db import batch_insert_embeddings
from ollama_utils import generate_embedding_from_text
conn = psycopg2.connect(sys.argv[1])
register_vector(conn)
for path in sys.argv[2:]:
    batch_insert_embeddings(conn, generate_embedding_from_text(text=open(path).read(), title=path))
"""


def load_towles(db, server, app: Path, texts: tuple[str, ...]) -> None:
    """Rows as the app writes them, by its own code: `generate_embedding_from_text` (512-character slices, each embedded
    through `ollama.embed`, the module's client at OLLAMA_HOST) and `batch_insert_embeddings` (title, the response's
    model, the slice, the vector), one file's text at a time, the file's path as its title."""
    subprocess.run([sys.executable, "-c", TOWLES_LOAD, db.dsn, *texts], cwd=app, check=True,
                   env={**os.environ, "OLLAMA_HOST": server.url})


def test_towles_text_embeddings_loaded_by_its_own_code_located_drafted_and_repaired(cli, empty_db, server, tmp_path):
    """ChrisTowles/rag-demo-ollama-and-pgvector: one `text_embeddings` table (serial key, `title`, `model_name` the
    Ollama response's, `content`, `vector_array vector(768)`) filled by the app's own code through the `ollama`
    module's `embed` at OLLAMA_HOST; its only command (`src/main.py`) loads only into an empty table from a
    hard-coded DSN, then asks questions: the engine runs. Then rows gone wrong are named and repaired."""
    app = Source.of("ChrisTowles__rag-demo-ollama-and-pgvector").checkout("", tmp_path / "app")
    ddl = (app / "config/postgres/00_init.sql").read_text()
    assert "vector_array vector(768)" in ddl and "model_name varchar" in ddl
    empty_db.execute(ddl.replace("CREATE EXTENSION vector;", "CREATE EXTENSION IF NOT EXISTS vector;"))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    # Freshly installed (no row yet): the model is the one the app's embedder names (it was TODO).
    fresh = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output", tmp_path / "fresh.yaml",
                "--json", env=env)
    assert fresh.code == 0 and fresh.json["todo"] == [], fresh.out + fresh.err
    assert yaml.safe_load(fresh.json["profile"])["provider"]["model"] == "nomic-embed-text", fresh.json["profile"]
    load_towles(empty_db, server, app, ("ReadMe.md", "LICENSE", "src/main.py", "src/db.py", "src/ollama_utils.py"))
    rows = empty_db.scalar("SELECT count(*) FROM text_embeddings")
    assert rows > 20 and empty_db.scalar("SELECT array_agg(DISTINCT model_name) FROM text_embeddings") == [
        "nomic-embed-text"]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE text_embeddings SET vector_array = NULL WHERE text_embeddings_id IN (2, 5)")
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "text_embeddings", plan=True)
    located = trial.locate.json
    assert [(c["path"], c["line"], c["kind"], c["name"], c["model"], c["url_env"])
            for c in located["embedding_calls"]] == [
        ("src/ollama_utils.py", 42, "ollama-client", "embed", "nomic-embed-text", "OLLAMA_HOST")], located
    assert [(d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("text_embeddings", "vector_array", 768)]
    assert [(d["path"], d["distance"]) for d in located["distances"]] == [("src/db.py", "cosine")]
    assert located["entrypoints"] == [], located["entrypoints"]  # main.py loads only into an empty table
    raw = yaml.safe_load(trial.profile.read_text())
    assert trial.init.json["todo"] == [] and (
        raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["sources"],
        raw["embeddings"]["vector"], raw["embeddings"]["model"], raw["provider"]["model"],
        raw["provider"]["dimensions"], raw["distance"], raw["backfill"]) == (
        "text_embeddings", "text_embeddings_id", "content", ["title"], "vector_array", "model_name",
        "nomic-embed-text", 768, "cosine", None), trial.profile.read_text()
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "text_embeddings", "vector_array", rows, needed=2)
    # The app's main.py as the command: it connects to the DSN db.py builds of its own literals, never ours.
    with_main = tmp_path / "main.yaml"
    with_main.write_text(trial.profile.read_text().replace(
        "  # command: (no entrypoint", f'  command: "{sys.executable} src/main.py"\n  workdir: "{app}"\n  # (no entrypoint'))
    scoped = cli("scope", "--profile", with_main, "--collection", "text_embeddings", "--json", env=env)
    found = {c["check"]: (c["status"], c["found"]) for c in scoped.json["checks"]}
    assert scoped.code == 1 and found["command receives the database"] == (
        "failed", "the command hard-codes postgresql://local_rag_user:***@127.0.0.1:5432/local_rag_db; expected the "
        "command to read its database from the environment"), found
    assert found["command reaches the provider"] == ("passed", "it reads OLLAMA_HOST"), found

    # Gone wrong: a chunk edited after its vector, a vector of another model (so labelled, and reversed), two chunks
    # with each other's vectors, a lost vector. verify names exactly those rows; --keys-from repairs them.
    with empty_db.connect(autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT text_embeddings_id FROM text_embeddings ORDER BY text_embeddings_id")]
        edited, other, a, b, gone = ids[1], ids[4], ids[7], ids[12], ids[15]
        conn.execute("UPDATE text_embeddings SET content = content || ' (edited)' WHERE text_embeddings_id = %s",
                     (edited,))
        conn.execute("UPDATE text_embeddings SET model_name = 'mxbai-embed-large', vector_array = (SELECT array_agg(x "
                     "ORDER BY o DESC) FROM unnest(vector_array::real[]) WITH ORDINALITY AS u(x, o))::vector "
                     "WHERE text_embeddings_id = %s", (other,))
        conn.execute("UPDATE text_embeddings d SET vector_array = o.vector_array FROM text_embeddings o "
                     "WHERE (d.text_embeddings_id, o.text_embeddings_id) IN ((%s, %s), (%s, %s))", (a, b, b, a))
        conn.execute("UPDATE text_embeddings SET vector_array = NULL WHERE text_embeddings_id = %s", (gone,))
    target = ("--profile", trial.profile, "--collection", "text_embeddings")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    assert offenders_by_check(tmp_path / "damaged" / "offenders.jsonl") == {
        "coverage": {gone}, "model": {other}, "recompute": {edited, a, b}}
    refused = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--json", env=env)
    assert refused.code == 2 and "1 vectors of mxbai-embed-large" in refused.json["error"], refused.out
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl",
                "--approve-model-change", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 5, fixed.out + fixed.err
    # Then, as after any repair, run (nothing is left to embed), verify and record: the entry says succeeded.
    again = tmp_path / "again"
    rerun = cli("run", *target, "--run-dir", again, "--engine", "--json", env=env)
    assert rerun.code == 0 and rerun.json["counts_before"]["needed"] == 0, rerun.out + rerun.err
    assert cli("verify", *target, "--run-dir", again, "--json", env=env).code == 0
    recorded = cli("record", *target, "--run-dir", again, "--historylog", tmp_path / "log.md", "--repo", app, "--json",
                   env=env)
    assert recorded.code == 0 and recorded.json["entry"]["outcome"] == "succeeded", recorded.out + recorded.err
    assert empty_db.scalar("SELECT count(*) FROM text_embeddings WHERE vector_array IS NULL "
                           "OR model_name <> 'nomic-embed-text'") == 0


# -- cokingtins1/local-llm: Next.js + Prisma (`Unsupported("vector(768)")`), LangChain.js's PrismaVectorStore ---------

LOCAL_LLM_TABLE = '"DocumentChunks"'


def local_llm_pages(app: Path) -> list[tuple[str, int, str]]:
    """Two Markdown files of the app's tree as its documents (source, page number, text), each `## ` section a page:
    its PDFs are not parsed here."""
    pages = []
    for doc in ("README.md", "prisma/pgvector/README.md"):
        sections = [s for s in re.split(r"(?m)^## ", (app / doc).read_text()) if s.strip()]
        pages += [(f"/app/pdf-data/{doc.replace('/', '_')}.pdf", n, s.strip()) for n, s in enumerate(sections, start=1)]
    return pages


def load_local_llm(db, server, app: Path) -> dict[str, str]:
    """The migration, then addToDB's rows: the pages split (1000/200), `chunkId` = source:page:index, `id` a random
    uuid, one `/api/embeddings` request per chunk (nomic-embed-text), each row inserted with its vector; returns
    {chunkId: id}."""
    import uuid

    import httpx
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    migration = (app / "prisma/migrations/20250825004646_init/migration.sql").read_text()
    migration, n = re.subn(r'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";', "", migration)
    assert n == 1
    db.execute(migration)
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    ids = {}
    pages = local_llm_pages(app)
    with db.connect(autocommit=True) as conn:
        for source, page, text in pages:
            for index, chunk in enumerate(splitter.split_text(text)):
                chunk_id, key = f"{source}:{page}:{index}", str(uuid.uuid4())
                vector = httpx.post(f"{server.url}/api/embeddings",
                                    json={"model": "nomic-embed-text", "prompt": chunk}).json()["embedding"]
                metadata = {"loc": {"pageNumber": page, "lines": {"from": 1, "to": chunk.count("\n") + 1}},
                            "pdf": {"info": {}, "version": "1.10.100", "metadata": None, "totalPages": sum(s == source for s, _, _ in pages)},
                            "uuid": key, "source": source, "chunkId": chunk_id}
                conn.execute(f'INSERT INTO {LOCAL_LLM_TABLE} ("id", "chunkId", "content", "metadata", "vector") '
                             "VALUES (%s, %s, %s, %s::jsonb, %s::vector)",
                             (key, chunk_id, chunk, json.dumps(metadata), "[" + ",".join(map(str, vector)) + "]"))
                ids[chunk_id] = key
    return ids


def test_local_llm_prisma_chunks_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """cokingtins1/local-llm: a Next.js app whose Prisma model declares `vector Unsupported("vector(768)")?` with app-made
    uuid keys, whose ingest embeds through Ollama's `/api/embeddings` (nomic-embed-text, `$OLLAMA_URL`) and writes each
    row with its vector by raw SQL, and whose search is LangChain.js's PrismaVectorStore (`<=>`; the query embedder's
    model a constant imported through the `@/*` alias). locate, profile init, scope, plan, run --engine (Node's
    packages are not installed here), verify, record; then rows gone wrong are named and repaired."""
    app = Source.of("cokingtins1__local-llm").checkout("", tmp_path / "app")
    for path, said in (("prisma/schema.prisma", 'vector   Unsupported("vector(768)")?'),
                       ("app/actions/updatePrismaDB.ts", 'model: "nomic-embed-text"'),
                       ("app/actions/updatePrismaDB.ts", "${OLLAMA_URL}/api/embeddings"),
                       ("app/actions/initializePrismaDB.ts", 'vectorColumnName: "vector"'),
                       ("MODELS.ts", 'embeddingModel = "nomic-embed-text"')):
        assert said in (app / path).read_text(), (path, said)  # load_local_llm writes what these files say
    ids = load_local_llm(empty_db, server, app)
    rows, lost = len(ids), list(ids.values())[2:5]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute(f'UPDATE {LOCAL_LLM_TABLE} SET "vector" = NULL WHERE id = ANY(%s)', (lost,))
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "DocumentChunks", plan=True)
    located = trial.locate.json
    assert [(d["table"], d["column"], d["dimensions"], d["kind"]) for d in located["declarations"]] == [
        ("DocumentChunks", "vector", 768, "prisma"), ("DocumentChunks", "vector", 768, "sql")], located["declarations"]
    # PrismaVectorStore's search is the app's distance (until this trial: "none found", the draft's cosine a bare guess)
    assert [(d["path"], d["distance"], d["table"], d["column"]) for d in located["distances"]] == [
        ("app/actions/initializePrismaDB.ts", "cosine", "DocumentChunks", "vector")], located["distances"]
    # ... and the query embedder's model, `embeddingModel` of "@/MODELS" (until this trial: no model)
    assert {(c["path"], c["model"], c["url_env"]) for c in located["embedding_calls"] if "Ollama" in c["name"]
            or c["kind"] == "ollama-http"} == {("app/actions/updatePrismaDB.ts", "nomic-embed-text", "OLLAMA_URL"),
                                               ("app/actions/embeddings/ollamaEmbeddings.ts", "nomic-embed-text",
                                                "OLLAMA_URL")}, located["embedding_calls"]
    assert located["entrypoints"] == []  # the ingest is a route (GET /api/load): the engine runs
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert trial.init.json["todo"] == [] and (
        raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["collection_name"],
        raw["chunks"]["sources"], raw["embeddings"]["vector"], raw["provider"]["model"], raw["provider"]["dimensions"]) \
        == ("DocumentChunks", "id", "content", "DocumentChunks", ["metadata->>'source'"], "vector", "nomic-embed-text",
            768), drafted
    # The app's own name for the Ollama URL, with both its defaults (until this trial: only "OLLAMA_HOST wins").
    assert '  url: "${OLLAMA_HOST:-}"  # OLLAMA_HOST wins; the application reads OLLAMA_URL (default http://ollama:11434 at ' \
           "app/actions/updatePrismaDB.ts:24, http://localhost:11434 at app/actions/embeddings/ollamaEmbeddings.ts:4)" \
           in drafted, drafted
    line = next(x for x in drafted.splitlines() if x.startswith("distance:"))
    assert line.startswith("distance: cosine  # guess: the distance the application's code searches DocumentChunks.vector "
                           "with (PrismaVectorStore's <=> at app/actions/initializePrismaDB.ts:10"), line
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, LOCAL_LLM_TABLE, "vector", rows, needed=len(lost))

    # Each chunk's PDF as the collection: a key of the metadata column, refused in one line (until this trial scope
    # stopped on a database error and verify on an INTERNALERROR).
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    per_pdf = tmp_path / "per-pdf.yaml"
    per_pdf.write_text(drafted.replace("  collection_name: DocumentChunks", "  collection: \"metadata->>'source'\""))
    refused = cli("scope", "--profile", per_pdf, "--collection", "/app/pdf-data/README.md.pdf", env=env)
    assert refused.code == 2 and "'chunks.collection'" in refused.err and refused.err.count("\n") == 1, refused.err

    # Gone wrong: a chunk's content edited after its vector, a reversed vector (another model's), two chunks with each
    # other's vectors, one holding another chunk's vector, a lost vector. verify names exactly those rows; backfill
    # --keys-from repairs them; verify and record are ok after.
    with empty_db.connect(autocommit=True) as conn:
        keys = [r[0] for r in conn.execute(f'SELECT id FROM {LOCAL_LLM_TABLE} ORDER BY "chunkId"')]
        edited, other, a, b, copied, gone = keys[1], keys[4], keys[6], keys[9], keys[11], keys[13]
        conn.execute(f"UPDATE {LOCAL_LLM_TABLE} SET content = content || ' (edited)' WHERE id = %s", (edited,))
        conn.execute(f"UPDATE {LOCAL_LLM_TABLE} SET vector = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(vector::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (other,))
        conn.execute(f"UPDATE {LOCAL_LLM_TABLE} d SET vector = o.vector FROM {LOCAL_LLM_TABLE} o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (a, b, b, a))
        conn.execute(f"UPDATE {LOCAL_LLM_TABLE} d SET vector = o.vector FROM {LOCAL_LLM_TABLE} o "
                     "WHERE d.id = %s AND o.id = %s", (copied, keys[0]))
        conn.execute(f"UPDATE {LOCAL_LLM_TABLE} SET vector = NULL WHERE id = %s", (gone,))
    target = ("--profile", trial.profile, "--collection", "DocumentChunks")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {edited, other, a, b, copied}, offenders
    assert offenders["coverage"] == {gone} and offenders["distinct_vectors"] == {copied}, offenders
    assert set().union(*offenders.values()) == {edited, other, a, b, copied, gone}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=6)
    assert empty_db.scalar(f'SELECT count(*) FROM {LOCAL_LLM_TABLE} WHERE "vector" IS NULL') == 0


# -- mjcarnaje/catsight.ai: Django + Celery, langchain_postgres's v2 PGVectorStore (a table per store), langchain_ollama --

CATSIGHT_LOAD = """
import json, sys
from langchain_core.documents import Document
from langchain_ollama import OllamaEmbeddings
from langchain_postgres import PGEngine, PGVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter
dsn, ollama, table, docs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
engine = PGEngine.from_connection_string(url=dsn.replace("postgresql://", "postgresql+psycopg://", 1))
engine.init_vectorstore_table(table_name=table, vector_size=1024)
store = PGVectorStore.create_sync(engine=engine, table_name=table,
                                  embedding_service=OllamaEmbeddings(model="mxbai-embed-large", base_url=ollama))
splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100)
for doc_id, path in docs:
    store.add_documents([Document(page_content=chunk, metadata={"doc_id": doc_id, "id": f"doc_{doc_id}_chunk_{i}",
                                                                "index": i})
                         for i, chunk in enumerate(splitter.split_text(open(path).read()))])
engine._run_as_sync(engine.close())
"""


def load_catsight(db, server, app: Path, docs: list[tuple[int, str]], table: str = "docs_chunks") -> None:
    """Rows as the app writes them, through the library it writes with: `init_vectorstore_table(TABLE_NAME, 1024)`,
    then `PGVectorStore.add_documents` with `OllamaEmbeddings(model="mxbai-embed-large")` (at our server), each
    document's text split 1000/100 and its chunks' metadata `doc_id`, `id`, `index` as `tasks.py` writes them."""
    subprocess.run([sys.executable, "-c", CATSIGHT_LOAD, db.dsn, server.url, table, json.dumps(docs)], cwd=app,
                   check=True)


def test_catsight_pgvectorstore_v2_chunks_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """mjcarnaje/catsight.ai: a Django + Celery app whose chunks live in langchain_postgres's v2 `PGVectorStore` table
    `docs_chunks` (`langchain_id` uuid, `content`, `embedding vector(1024) NOT NULL`, `langchain_metadata` JSON), made
    by `engine.init_vectorstore_table` at import and filled by the store's `add_documents` with `OllamaEmbeddings`
    (mxbai-embed-large, base_url hard-coded). locate, profile init, scope, plan, run --engine (the Celery ingest needs
    Django, Redis and marker), verify, record; then rows gone wrong are named and repaired."""
    app = Source.of("mjcarnaje__catsight.ai").checkout("", tmp_path / "app")
    store = (app / "backend/app/services/vectorstore.py").read_text()
    for said in ('EMBEDDING_MODEL_ID = "mxbai-embed-large"', 'TABLE_NAME = "docs_chunks"', "VECTOR_SIZE = 1024",
                 'base_url="http://ollama:11434"', "engine.init_vectorstore_table(", "PGVectorStore.create_sync("):
        assert said in store, said  # load_catsight writes what this file says
    assert '"id": f"doc_{document.id}_chunk_{i}"' in (app / "backend/app/tasks/tasks.py").read_text()
    load_catsight(empty_db, server, app, [(1, "README.md"), (2, "docs/general-docs.md")])
    load_catsight(empty_db, server, app, [(3, "docker-compose.yml")], table="other_chunks")  # a second store
    rows = empty_db.scalar("SELECT count(*) FROM docs_chunks")
    # The column is NOT NULL: a vector lost is an all-zero one (a failed embedding written as zeros).
    with empty_db.connect(autocommit=True) as conn:
        keys = [r[0] for r in conn.execute("SELECT langchain_id::text FROM docs_chunks ORDER BY "
                                           "(langchain_metadata->>'doc_id')::int, (langchain_metadata->>'index')::int")]
        conn.execute("UPDATE docs_chunks SET embedding = array_fill(0, ARRAY[1024])::vector "
                     "WHERE langchain_id::text = ANY(%s)", (keys[2:4],))
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "docs_chunks", plan=True)
    located = trial.locate.json
    # init_vectorstore_table declares the table, the store's query its distance (until this trial: none found for both,
    # and the draft's cosine "the most common operator class").
    assert [(d["path"], d["line"], d["table"], d["column"], d["dimensions"], d["kind"], d["distance"])
            for d in located["declarations"]] == [
        ("backend/app/services/vectorstore.py", 20, "docs_chunks", "embedding", 1024, "langchain", "cosine")], located
    assert {(c["path"], c["model"], c["url"], c["url_env"]) for c in located["embedding_calls"]} == {
        ("backend/app/services/vectorstore.py", "mxbai-embed-large", "http://ollama:11434", None),
        ("backend/test.py", "bge-m3", None, None)}, located["embedding_calls"]
    assert located["entrypoints"] == []  # the ingest is a Celery task after a PDF upload: the engine runs
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert trial.init.json["todo"] == [] and (
        raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["collection_name"],
        raw["embeddings"]["vector"], raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "docs_chunks", "langchain_id", "content", "docs_chunks", "embedding", "mxbai-embed-large", 1024, "cosine"), drafted
    assert "distance: cosine  # guess: the distance the application's store queries with " \
           "(backend/app/services/vectorstore.py:20;" in drafted, drafted
    # The server the app embeds with, hard-coded (until this trial: only "OLLAMA_HOST wins").
    assert '  url: "${OLLAMA_HOST:-}"  # OLLAMA_HOST wins; the application\'s embedders hard-code http://ollama:11434 ' \
           "at backend/app/services/vectorstore.py:18: set OLLAMA_HOST to that server" in drafted, drafted
    # The other store's table is said, and is not a collection of this one: a profile of its own.
    assert "# other vector columns in this database: public.other_chunks.embedding" in drafted, drafted
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    other_store = cli("scope", "--profile", trial.profile, "--collection", "other_chunks", env=env)
    assert other_store.code == 2 and "known collections: docs_chunks" in other_store.out, other_store.out
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "docs_chunks", "embedding", rows, needed=2)
    zeros = "SELECT count(*) FROM docs_chunks WHERE embedding = array_fill(0, ARRAY[1024])::vector"
    assert empty_db.scalar(zeros) == 0

    # Gone wrong: a lost vector (zeros), a chunk edited after its vector, a vector of another model (reversed), two
    # chunks with each other's vectors, one holding the other store's vector. verify names exactly those rows;
    # backfill --keys-from repairs them; verify and record are ok after.
    gone, edited, other, a, b, foreign = keys[1], keys[3], keys[5], keys[7], keys[9], keys[11]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE docs_chunks SET embedding = array_fill(0, ARRAY[1024])::vector "
                     "WHERE langchain_id::text = %s", (gone,))
        conn.execute("UPDATE docs_chunks SET content = content || ' (edited)' WHERE langchain_id::text = %s", (edited,))
        conn.execute("UPDATE docs_chunks SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE langchain_id::text = %s",
                     (other,))
        conn.execute("UPDATE docs_chunks d SET embedding = o.embedding FROM docs_chunks o "
                     "WHERE (d.langchain_id::text, o.langchain_id::text) IN ((%s, %s), (%s, %s))", (a, b, b, a))
        conn.execute("UPDATE docs_chunks SET embedding = (SELECT embedding FROM other_chunks LIMIT 1) "
                     "WHERE langchain_id::text = %s", (foreign,))
    target = ("--profile", trial.profile, "--collection", "docs_chunks")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders["recompute"] == {edited, other, a, b, foreign} and offenders["sane_vectors"] == {gone}, offenders
    assert set().union(*offenders.values()) == {gone, edited, other, a, b, foreign}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=6)
    assert empty_db.scalar(zeros) == 0 and empty_db.scalar("SELECT count(*) FROM docs_chunks") == rows


# -- yuiseki/study-pg-hybrid-search: Python, psycopg 3, one row per (document, model), its own embed script ----------

HYBRID_MODEL, HYBRID_OTHER = "nomic-embed-text:v1.5", "snowflake-arctic-embed:22m"


def hybrid_schema(db, app: Path) -> None:
    """010_schema.sql without its PGroonga index (no PGroonga here), then 020_seed.sql's 100 documents."""
    schema = (app / "db/init/010_schema.sql").read_text()
    schema, n = re.subn(r"CREATE INDEX documents_content_pgroonga_idx[^;]*;", "", schema)
    assert n == 1
    db.execute(schema)
    db.execute((app / "db/init/020_seed.sql").read_text())


def hybrid_embed(db, server, app: Path, model: str, *args: str) -> str:
    """The app's own `scripts/embed_documents.py --model M` at our server and database; its output."""
    done = subprocess.run([sys.executable, "scripts/embed_documents.py", "--model", model, *args], cwd=app,
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "OLLAMA_URL": server.url, "DATABASE_URL": db.dsn})
    return done.stdout


HYBRID_ROWS = "SELECT md5(string_agg(document_id || model || dims || embedding::text, ',' ORDER BY document_id)) " \
              "FROM document_embeddings WHERE model = %s"


def test_hybrid_search_documents_of_two_models_side_by_side_backfilled_by_its_own_script(cli, empty_db, server,
                                                                                          tmp_path):
    """yuiseki/study-pg-hybrid-search: `document_embeddings` keeps one row per (document, model), every model's
    vectors side by side in one untyped `vector` column (a `dims` column, a per-model partial halfvec HNSW index);
    its own `scripts/embed_documents.py --model M` (OLLAMA_URL, DATABASE_URL) fills a model's missing rows and skips
    every document that has one. locate, profile init, scope, plan, run (the app's script), verify, record; then rows
    gone wrong are named and repaired, the other model's rows untouched throughout."""
    app = Source.of("yuiseki__study-pg-hybrid-search").checkout("", tmp_path / "app")
    hybrid_schema(empty_db, app)
    assert "Done." in hybrid_embed(empty_db, server, app, HYBRID_MODEL)
    assert "Done." in hybrid_embed(empty_db, server, app, HYBRID_OTHER)
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("DELETE FROM document_embeddings WHERE model = %s AND document_id IN (2, 5)", (HYBRID_MODEL,))
        other_before = conn.execute(HYBRID_ROWS, (HYBRID_OTHER,)).fetchone()[0]

    def own_python(text: str) -> str:
        return text.replace('command: "python scripts/', f'command: "{sys.executable} scripts/')

    trial = procedure(cli, empty_db, server, app, tmp_path, "documents", model=HYBRID_MODEL, edit=own_python,
                      run_args=(), plan=True)
    located = trial.locate.json
    # Before the fix the f-string URL (`{ollama_url.rstrip('/')}`) hid the call and `make embed_all` was drafted.
    assert located["best_entrypoint"] == "python scripts/embed_documents.py", located["entrypoints"]
    best = next(e for e in located["entrypoints"] if e["command"] == located["best_entrypoint"])
    assert best["contract"]["reads_env"] == ["OLLAMA_URL", "DATABASE_URL"] and best["contract"]["flag_defaults"] == [
        ["--model", HYBRID_MODEL]], best["contract"]
    assert ("scripts/embed_documents.py", 19, "ollama-http") in {
        (c["path"], c["line"], c["kind"]) for c in located["embedding_calls"]}, located["embedding_calls"]
    # Before the fix each per-model index's `(embedding::halfvec(N))` was listed as a declaration (384 to 2560).
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("db/init/010_schema.sql", "document_embeddings", "embedding", None)], located["declarations"]
    assert located["declared_dimensions"] == []
    raw = yaml.safe_load(trial.profile.read_text())
    assert trial.init.json["todo"] == [], trial.profile.read_text()
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["table"],
            raw["embeddings"]["key"], raw["embeddings"]["vector"], raw["embeddings"]["filter"],
            raw["embeddings"]["model"], raw["embeddings"]["dimensions"], raw["distance"]) == (
        "documents", "id", "content", "document_embeddings", "document_id", "embedding", {"model": HYBRID_MODEL},
        "model", "dims", "cosine"), trial.profile.read_text()
    assert raw["backfill"]["command"] == f"{sys.executable} scripts/embed_documents.py --model {HYBRID_MODEL}"
    assert raw["backfill"]["env"] == {"OLLAMA_URL": "{provider_url}", "DATABASE_URL": "{database_url}"}
    found = {c["check"]: (c["status"], c["found"]) for c in trial.scope.json["checks"]}
    assert found["command uses the model"] == ("passed", f"it is given --model {HYBRID_MODEL}"), found
    assert found["command reaches the provider"] == ("passed", "it reads OLLAMA_URL"), found
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 2, trial.scope.out
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    for step in (trial.run, trial.verify, trial.record):
        assert step.code == 0, step.out + step.err
    assert f"Embedding 2 documents with model={HYBRID_MODEL} dims=768" in (tmp_path / "run" / "output.log").read_text()
    assert empty_db.scalar(f"SELECT count(*) FROM document_embeddings WHERE model = '{HYBRID_MODEL}' AND dims = 768") == 100
    assert empty_db.scalar(HYBRID_ROWS.replace("%s", f"'{HYBRID_OTHER}'")) == other_before

    # The same script for the other model's profile, not told its model: it embeds its default, nomic's rows. The
    # check called that unproven ("reads no model setting that locate can see"); `--model M` passed it whatever M.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    bare = tmp_path / "other.yaml"
    bare.write_text(trial.profile.read_text().replace(f" --model {HYBRID_MODEL}", "").replace(
        f'"{HYBRID_MODEL}"', f'"{HYBRID_OTHER}"'))
    refused = cli("scope", "--profile", bare, "--collection", "documents", "--json", env=env)
    found = {c["check"]: (c["status"], c["found"]) for c in refused.json["checks"]}
    assert refused.code == 1 and found["command uses the model"][0] == "failed" and (
        f"not given --model, which defaults to {HYBRID_MODEL}, while the profile's model is {HYBRID_OTHER}"
        in found["command uses the model"][1]), found

    # Gone wrong: a document edited after its vectors, a vector of another model (reversed) under this model's name,
    # two documents with each other's vectors, a lost row. The app's script, run again, fills the lost one and skips
    # the rest (its rule sees a row per document); verify names exactly the others; --keys-from repairs them.
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE documents SET body = body || ' (edited)' WHERE id = 7")
        conn.execute("UPDATE document_embeddings SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE model = %s AND document_id = 9",
                     (HYBRID_MODEL,))
        conn.execute("UPDATE document_embeddings d SET embedding = o.embedding FROM document_embeddings o WHERE "
                     "d.model = %s AND o.model = d.model AND (d.document_id, o.document_id) IN ((12, 15), (15, 12))",
                     (HYBRID_MODEL,))
        conn.execute("DELETE FROM document_embeddings WHERE model = %s AND document_id = 20", (HYBRID_MODEL,))
    target = ("--profile", trial.profile, "--collection", "documents")
    again = tmp_path / "again"
    rerun = cli("run", *target, "--run-dir", again, "--json", env=env)
    assert rerun.code == 0 and rerun.json["counts_before"]["missing"] == 1, rerun.out + rerun.err
    assert f"Embedding 1 documents with model={HYBRID_MODEL}" in (again / "output.log").read_text()
    damaged = cli("verify", *target, "--run-dir", again, "--json", env=env)
    offenders = offenders_by_check(again / "offenders.jsonl")
    assert damaged.code == 1 and offenders["recompute"] == set().union(*offenders.values()) == {7, 9, 12, 15}, offenders
    repaired_verified_and_recorded(cli, target, again, tmp_path / "historylog.md", app, env, embedded=4)
    assert empty_db.scalar(f"SELECT count(*) FROM document_embeddings WHERE model = '{HYBRID_MODEL}' AND dims = 768") == 100
    assert empty_db.scalar(HYBRID_ROWS.replace("%s", f"'{HYBRID_OTHER}'")) == other_before


# -- Olbrasoft/HandbookSearch: C# / .NET, EF Core migrations (Npgsql + Pgvector.EntityFrameworkCore), Ollama over HTTP --

def _csharp_strings(code: str) -> tuple[str, list[str]]:
    """The code with each C# string literal replaced by `\\0<n>\\0`, and the literals' values: `@"..."` (verbatim, `""`
    a quote) and `"..."` (backslash escapes); comments dropped."""
    values: list[str] = []

    def keep(m: re.Match) -> str:
        if m.group(0).startswith("//"):
            return ""
        if m.group("verbatim") is not None:
            values.append(m.group("verbatim").replace('""', '"'))
        else:
            values.append(re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(e.group(1), e.group(1)),
                                 m.group("regular")))
        return f"\0{len(values) - 1}\0"

    return re.sub(r'//[^\n]*|@"(?P<verbatim>(?:[^"]|"")*)"|"(?P<regular>(?:[^"\\\n]|\\.)*)"', keep, code), values


def ef_core_statements(migrations: Path) -> list[str]:
    """The SQL `dotnet ef database update` runs for an EF Core migrations folder (Npgsql): each migration's `Up` in the
    order of its file name, each `migrationBuilder` operation as Npgsql writes it (identifiers quoted as named); the
    operations these migrations use, any other one refused."""
    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    statements: list[str] = []
    for path in sorted(p for p in migrations.glob("*.cs") if not p.name.endswith((".Designer.cs", "Snapshot.cs"))):
        code, s = _csharp_strings(path.read_text(encoding="utf-8-sig"))
        up = code[code.index("void Up(MigrationBuilder"):code.index("void Down(MigrationBuilder")]
        up = up[up.index("{") + 1:]
        for op in re.split(r";\s*(?=migrationBuilder\.|\}\s*$)", up):
            m = re.match(r"\s*migrationBuilder\.(\w+)(?:<\w+>)?\(", op)
            if not m:
                continue
            kind = m.group(1)

            def arg(name: str, text: str = op, s: list[str] = s) -> str | None:
                found = re.search(rf"\b{name}:\s*\0(\d+)\0", text)
                return s[int(found.group(1))] if found else None

            def names(text: str, s: list[str] = s) -> list[str]:
                return [s[int(n)] for n in re.findall(r"\0(\d+)\0", text)]

            def annotation(key: str, op: str = op, s: list[str] = s) -> str | None:
                for k, value in re.findall(r"\.Annotation\(\0(\d+)\0,\s*((?:new\[\][^}]*\})|[^)]*)\)", op):
                    if s[int(k)] == key:
                        return value
                return None

            table = arg("table")
            if kind == "Sql":
                statements.append(names(op)[0])
            elif kind == "AlterDatabase":
                for k, _value in re.findall(r"\.Annotation\(\0(\d+)\0,\s*\0(\d+)\0\)", op):
                    assert s[int(k)].startswith("Npgsql:PostgresExtension:"), s[int(k)]
                    statements.append(f"CREATE EXTENSION IF NOT EXISTS {q(s[int(k)].rsplit(':', 1)[1])}")
            elif kind == "CreateTable":
                columns = []
                for col, body in re.findall(r"(\w+)\s*=\s*table\.Column<[^>]+>\(([^)]*)\)", op):
                    sql = f"{q(col)} {arg('type', body)}"
                    if "nullable: false" in body:
                        sql += " NOT NULL"
                    if arg("defaultValueSql", body):
                        sql += f" DEFAULT {arg('defaultValueSql', body)}"
                    if re.search(rf"{col}\s*=\s*table\.Column<[^>]+>\([^)]*\)\s*\.Annotation\(\0\d+\0,\s*"
                                 r"NpgsqlValueGenerationStrategy\.IdentityByDefaultColumn", op):
                        sql += " GENERATED BY DEFAULT AS IDENTITY"
                    columns.append(sql)
                pk = re.search(r"table\.PrimaryKey\(\0(\d+)\0,\s*x\s*=>\s*(?:new\s*\{([^}]*)\}|x\.(\w+))", op)
                if pk:
                    keys = re.findall(r"x\.(\w+)", pk.group(2)) if pk.group(2) else [pk.group(3)]
                    columns.append(f"CONSTRAINT {q(s[int(pk.group(1))])} PRIMARY KEY ({', '.join(map(q, keys))})")
                statements.append(f"CREATE TABLE {q(arg('name'))} ({', '.join(columns)})")
            elif kind == "CreateIndex":
                cols = [arg("column")] if arg("column") else names(re.search(r"columns:\s*new\[\]\s*\{([^}]*)\}", op).group(1))
                operators = annotation("Npgsql:IndexOperators")
                ops = names(operators) if operators else [""] * len(cols)
                method = annotation("Npgsql:IndexMethod")
                params = [f"{s[int(k)].rsplit(':', 1)[1]} = {v.strip()}" for k, v in
                          re.findall(r"\.Annotation\(\0(\d+)\0,\s*([^)]*)\)", op)
                          if s[int(k)].startswith("Npgsql:StorageParameter:")]
                statements.append(
                    f"CREATE {'UNIQUE ' if 'unique: true' in op else ''}INDEX {q(arg('name'))} ON {q(table)}"
                    + (f" USING {names(method)[0]}" if method else "")
                    + f" ({', '.join((q(c) + ' ' + o).strip() for c, o in zip(cols, ops))})"
                    + (f" WITH ({', '.join(params)})" if params else ""))
            elif kind == "AddColumn":
                statements.append(f"ALTER TABLE {q(table)} ADD {q(arg('name'))} {arg('type')}"
                                  + (" NOT NULL" if "nullable: false" in op else ""))
            elif kind == "AlterColumn":
                column = q(arg("name"))
                statements.append(f"ALTER TABLE {q(table)} ALTER COLUMN {column} TYPE {arg('type')}, ALTER COLUMN "
                                  f"{column} {'SET' if 'nullable: false' in op.split('oldClrType')[0] else 'DROP'} NOT NULL")
            elif kind == "DropPrimaryKey":
                statements.append(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(arg('name'))}")
            elif kind == "AddPrimaryKey":
                statements.append(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(arg('name'))} PRIMARY KEY ({q(arg('column'))})")
            elif kind == "RenameTable":
                statements.append(f"ALTER TABLE {q(arg('name'))} RENAME TO {q(arg('newName'))}")
            elif kind == "RenameColumn":
                statements.append(f"ALTER TABLE {q(table)} RENAME COLUMN {q(arg('name'))} TO {q(arg('newName'))}")
            elif kind == "RenameIndex":
                statements.append(f"ALTER INDEX {q(arg('name'))} RENAME TO {q(arg('newName'))}")
            elif kind == "DropColumn":
                statements.append(f"ALTER TABLE {q(table)} DROP COLUMN {q(arg('name'))}")
            elif kind == "DropIndex":
                statements.append(f"DROP INDEX {q(arg('name'))}")
            else:
                raise AssertionError(f"{path.name}: migrationBuilder.{kind} is not read here")
    return statements


HANDBOOK_MIGRATIONS = "src/HandbookSearch.Data.EntityFrameworkCore/Migrations"


def load_handbook(db, server, app: Path) -> dict[str, int]:
    """DocumentImportService.ImportFileAsync (language "en", no Czech translation) over the app's own Markdown files
    as the handbook: per file its relative path, first `# ` heading as title, content, SHA-256 hex, and the vector
    of its first 5,000 characters from `/api/embeddings` (`prompt`, model qwen3-embedding:0.6b of appsettings.json);
    the id the identity column gives. Returns {file_path: id}."""
    import hashlib

    import httpx

    ids = {}
    with db.connect(autocommit=True) as conn:
        for path in sorted(app.rglob("*.md")):
            content = path.read_text()
            title = next((line[2:].strip() for line in content.splitlines() if line.startswith("# ")), None)
            vector = httpx.post(f"{server.url}/api/embeddings", json={"model": "qwen3-embedding:0.6b",
                                                                       "prompt": content[:5000]}).json()["embedding"]
            ids[str(path.relative_to(app))] = conn.execute(
                "INSERT INTO documents (file_path, title, content, content_hash, embedding) "
                "VALUES (%s, %s, %s, %s, %s::vector) RETURNING id",
                (str(path.relative_to(app)), title, content, hashlib.sha256(content.encode()).hexdigest(),
                 str(vector))).fetchone()[0]
    return ids


def test_handbook_search_ef_core_documents_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """Olbrasoft/HandbookSearch: a .NET app whose EF Core migrations make `Documents` with quoted PascalCase columns,
    widen its vectors to 1024 in raw SQL and rename everything to snake_case; its CLI `import-all` embeds each
    Markdown file through Ollama's `/api/embeddings`, the model and URL properties of `OllamaOptions` bound to
    appsettings.json's `Ollama` section. locate, profile init, scope, plan, run --engine (no .NET here), verify,
    record; then rows gone wrong are named and repaired."""
    app = Source.of("Olbrasoft__HandbookSearch").checkout("", tmp_path / "app")
    for path, said in (("src/HandbookSearch.Cli/appsettings.json", '"Model": "qwen3-embedding:0.6b"'),
                       ("src/HandbookSearch.Business/Services/EmbeddingService.cs", "const int maxChars = 5000;"),
                       ("src/HandbookSearch.Business/Services/EmbeddingService.cs", '$"{_options.BaseUrl}/api/embeddings"'),
                       ("src/HandbookSearch.Business/Services/DocumentImportService.cs", "CalculateSHA256Hash(content)")):
        assert said in (app / path).read_text(), (path, said)  # load_handbook writes what these files say
    for statement in ef_core_statements(app / HANDBOOK_MIGRATIONS):
        empty_db.execute(statement)
    ids = load_handbook(empty_db, server, app)
    rows = len(ids)
    cut = {ids[p] for p in ids if len((app / p).read_text()) > 5000}  # embedded from their first 5,000 characters
    assert cut == {ids["README.md"], ids["AGENTS.md"]}
    empty_db.execute("UPDATE documents SET embedding = NULL WHERE id = %s", (ids["CLAUDE.md"],))
    # The one thing no draft can know: the app embeds a file's first 5,000 characters and hashes all of it. Said so
    # (until this trial no profile could: verify failed those rows, and a run re-embedded them whole, writing over
    # content_hash the hash of the cut text).
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "documents", plan=True, edit=lambda drafted: (
        drafted.replace("  text: content  #", '  text: "{left(content, 5000)}"  #')
        .replace("  input_hash: content_hash  #", "  input_hash_of: content\n  input_hash: content_hash  #")))
    located = trial.locate.json
    # The options class's section in appsettings.json, and the names the environment overrides it with (until this
    # trial: no model, no URL, and the draft's model a TODO).
    assert [(c["path"], c["kind"], c["model"], c["model_env"], c["url"], c["url_env"])
            for c in located["embedding_calls"]] == [
        ("src/HandbookSearch.Business/Services/EmbeddingService.cs", "ollama-http", "qwen3-embedding:0.6b",
         "Ollama__Model", "http://localhost:11434", "Ollama__BaseUrl")], located["embedding_calls"]
    assert located["entrypoints"] == []  # `dotnet run -- import-all`, a System.CommandLine verb: the engine runs
    # The migrations that widen the vectors declare 1024: not their Down()'s 768, AlterColumn's oldType or a comment's
    # "from vector(768)" (until this trial: all three, as if the schema held both widths).
    assert {(d["path"].rsplit("_", 1)[-1], d["dimensions"]) for d in located["declarations"]
            if d["path"].endswith(("Dimensions.cs", "MigrateToSnakeCase.cs"))} == {
        ("UpgradeToQwen3Embedding1024Dimensions.cs", 1024), ("MigrateToSnakeCase.cs", 1024)}, located["declarations"]
    # Pgvector.EntityFrameworkCore's CosineDistance on each property, on the column it maps to (until this trial: none);
    # the HNSW indexes OnModelCreating and the model snapshot declare (`HasOperators("vector_cosine_ops")`) on the
    # columns their properties map to, and the migrations' CreateIndex `.Annotation("Npgsql:IndexOperators", ...)` on
    # the PascalCase names MigrateToSnakeCase renames later; no migration's Designer file, the model of its time
    ef = "src/HandbookSearch.Data.EntityFrameworkCore/"
    assert [(u["path"], u["line"], u["distance"], u["kind"], u["table"], u["column"]) for u in located["distances"]] == [
        ("src/HandbookSearch.Business/Services/SearchService.cs", 44, "cosine", "efcore", None, "embedding"),
        ("src/HandbookSearch.Business/Services/SearchService.cs", 45, "cosine", "efcore", None, "embedding_cs"),
        (ef + "HandbookSearchDbContext.cs", 41, "cosine", "efcore-index", None, "embedding"),
        (ef + "HandbookSearchDbContext.cs", 49, "cosine", "efcore-index", None, "embedding_cs"),
        (ef + "Migrations/20251228204134_InitialCreate.cs", 43, "cosine", "efcore-index", "Documents", "Embedding"),
        (ef + "Migrations/HandbookSearchDbContextModelSnapshot.cs", 83, "cosine", "efcore-index", None, "embedding"),
        (ef + "Migrations/HandbookSearchDbContextModelSnapshot.cs", 91, "cosine", "efcore-index", None, "embedding_cs"),
        (ef + "Migrations/20251229190631_AddCzechEmbedding.cs", 25, "cosine", "efcore-index", "Documents",
         "EmbeddingCs")], located["distances"]
    drafted = trial.init.json["profile"]
    raw = yaml.safe_load(drafted)
    assert trial.init.json["todo"] == [] and (
        raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
        raw["embeddings"]["input_hash"], raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "documents", "id", "content", "embedding", "content_hash", "qwen3-embedding:0.6b", 1024, "cosine"), drafted
    assert "OLLAMA_HOST wins; the application reads Ollama__BaseUrl (default http://localhost:11434" in drafted, drafted
    assert "this table has other vector columns: embedding_cs" in drafted, drafted
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    as_drafted = tmp_path / "drafted.yaml"
    as_drafted.write_text(trial.init.json["profile"])
    assert checked_again(as_drafted, env, "documents")["recompute"] == "failed"  # truthfully: cut texts' vectors
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "documents", "embedding", rows, needed=1)
    whole = "SELECT count(*) FROM documents WHERE content_hash = encode(sha256(convert_to(content, 'UTF8')), 'hex')"
    assert empty_db.scalar(whole) == rows

    # Gone wrong: a text edited after its vector, a vector reversed (another model's), two files with each other's
    # vectors, a lost vector. verify names exactly those rows; backfill --keys-from repairs them as the app would
    # (the first 5,000 characters embedded, the whole content hashed); verify and record are ok after.
    edited, other, gone = ids[".github/RUNNER_SETUP.md"], ids["CLAUDE.md"], ids["README.md"]
    a, b = ids["src/HandbookSearch.Translation.Cli/README.md"], ids["AGENTS.md"]
    damage_inline(empty_db, "documents", "content", edited=edited, reversed_=other, swapped=(a, b), gone=gone)
    target = ("--profile", trial.profile, "--collection", "documents")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    # the edited one by its content_hash (a stale row, re-embedded whatever its vector), the others re-embedded
    assert offenders == {"fresh": {edited}, "coverage": {gone}, "recompute": {other, a, b}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)
    assert empty_db.scalar(whole) == rows
    assert empty_db.scalar("SELECT count(*) FROM documents WHERE embedding IS NULL") == 0
    assert empty_db.scalar("SELECT count(*) FROM documents") == rows


# -- ViktorVonlex/rag_phoenix: Elixir, Phoenix LiveView, Ecto migrations with pgvector-elixir, ollama-ex ------------

_ECTO_TYPES = {"string": "varchar(255)", "text": "text", "integer": "integer", "map": "jsonb", "citext": "citext",
               "binary": "bytea", "utc_datetime": "timestamp(0)", "boolean": "boolean", "bigint": "bigint"}
_ECTO_ON_DELETE = {"delete_all": " ON DELETE CASCADE", "nilify_all": " ON DELETE SET NULL", "nothing": ""}


def _ecto_column(line: str) -> str:
    """One `add :name, type, opts` as the column ecto_sql's Postgres adapter makes."""
    m = re.fullmatch(r"add\(?\s*:(\w+),\s*(.*?)\)?", line)
    name, rest = m.group(1), m.group(2)
    ref = re.match(r"references\(:(\w+)(?:,\s*on_delete:\s*:(\w+))?\)", rest)
    if ref:
        sql = f"{name} bigint REFERENCES {ref.group(1)}(id){_ECTO_ON_DELETE[ref.group(2) or 'nothing']}"
        rest = rest[ref.end():]
    else:
        kind = re.match(r":(\w+)", rest).group(1)
        size = re.search(r"\bsize:\s*(\d+)", rest)
        sql = f"{name} {'vector(' + size.group(1) + ')' if kind == 'vector' else _ECTO_TYPES[kind]}"
    return sql + (" NOT NULL" if re.search(r"\bnull:\s*false", rest) else "")


def ecto_statements(migrations: Path) -> list[str]:
    """What `mix ecto.migrate` runs for each migration's `up`/`change` (the forms these migrations use: `execute`,
    `create table ... do`, `alter table ... do` with `add`/`remove`, `timestamps`, `create (unique_)index`, `flush`);
    any other line is refused, so nothing the app declares is silently left out."""
    statements: list[str] = []
    for path in sorted(migrations.glob("[0-9]*.exs")):  # not .formatter.exs
        body = re.split(r"(?m)^  def down\b", path.read_text())[0]
        lines = [re.sub(r"\s+#.*$", "", x).strip() for x in body.splitlines()]
        block: tuple[str, str, bool] | None = None  # (create/alter, table, primary key)
        columns: list[str] = []
        for line in lines:
            if not line or line.startswith(("#", "defmodule", "use Ecto.Migration", "def up", "def change", "flush()")):
                continue
            if block is None and line == "end":
                continue
            if m := re.fullmatch(r'execute\(?\s*"([^"]+)"(?:,\s*"[^"]*")?\)?', line):
                statements.append(m.group(1))
            elif m := re.fullmatch(r"(create|alter) table\(:(\w+)(, primary_key: false)?\) do", line):
                block, columns = (m.group(1), m.group(2), not m.group(3)), []
            elif m := re.fullmatch(r"create (unique_)?index\(:(\w+), \[([^\]]+)\]\)", line):
                cols = [c.strip().lstrip(":") for c in m.group(3).split(",")]
                statements.append(f"CREATE {'UNIQUE ' if m.group(1) else ''}INDEX {m.group(2)}_{'_'.join(cols)}_index "
                                  f"ON {m.group(2)} ({', '.join(cols)})")
            elif block and line.startswith("add"):
                columns.append(("ADD COLUMN " if block[0] == "alter" else "") + _ecto_column(line))
            elif block and (m := re.fullmatch(r"remove :(\w+)", line)):
                columns.append(f"DROP COLUMN {m.group(1)}")
            elif block and (m := re.fullmatch(r"timestamps\((.*)\)", line)):
                kind = _ECTO_TYPES[re.search(r"type:\s*:(\w+)", m.group(1)).group(1)]
                columns += [f"{c} {kind} NOT NULL" for c in ("inserted_at", "updated_at")
                            if f"{c}: false" not in m.group(1)]
            elif block and line == "end":
                if block[0] == "create":
                    key = ["id bigserial PRIMARY KEY"] if block[2] else []
                    statements.append(f"CREATE TABLE {block[1]} ({', '.join(key + columns)})")
                else:
                    statements.append(f"ALTER TABLE {block[1]} {', '.join(columns)}")
                block = None
            else:
                raise AssertionError(f"{path.name}: {line!r} is not read here")
    return statements


def rag_phoenix_chunks(text: str, target: int = 300) -> list[str]:
    """BaseChunker.chunk: sections at blank lines, a section of `target` bytes or more split at newlines and sentence
    ends, whitespace runs made one space, empty ones dropped, then small chunks merged while under `target` bytes."""
    pieces = [p for s in re.split(r"\n{2,}", text)
              for p in ([s] if len(s.encode()) < target else re.split(r"\n|(?<=[.?!])\s+", s))]
    pieces = [re.sub(r"\s+", " ", p).strip() for p in pieces]
    merged, current = [], ""
    for chunk in (p for p in pieces if p):
        if current == "":
            current = chunk
        elif len(current.encode()) + len(chunk.encode()) + 1 < target:
            current = f"{current} {chunk}"
        else:
            merged.append(current)
            current = chunk
    return [c for c in [*merged, current] if c]


RAG_PHOENIX_MODEL = "hf.co/CompendiumLabs/bge-base-en-v1.5-gguf"


def load_rag_phoenix(db, server, app: Path, uploads: tuple[tuple[str, str], ...]) -> list[int]:
    """Per upload (a user's email, the file) a conversation (`document_name` the file), then RagLive's ingest:
    BaseChunker's chunks, each embedded alone by `Ollama.embed(client, model: ..., input: [chunk])` (`/api/embed`),
    stored by `VectorStore.store_chunks` (content, embedding, conversation_id, chunk_index, metadata length/created_at,
    the timestamps Ecto fills). Returns the conversations' ids, in the uploads' order."""
    users: dict[str, int] = {}
    conversations = []
    with db.connect(autocommit=True) as conn:
        for email, document in uploads:
            if email not in users:
                users[email] = conn.execute("INSERT INTO users (email, hashed_password, inserted_at, updated_at) "
                                            "VALUES (%s, 'x', now(), now()) RETURNING id", (email,)).fetchone()[0]
            conversation = conn.execute(
                "INSERT INTO conversations (title, user_id, document_name, chunking_strategy, inserted_at, updated_at) "
                "VALUES (%s, %s, %s, 'basic', now(), now()) RETURNING id",
                (f"Chat about {document}", users[email], document)).fetchone()[0]
            conversations.append(conversation)
            for index, chunk in enumerate(rag_phoenix_chunks((app / document).read_text())):
                vector = httpx_embed(server, RAG_PHOENIX_MODEL, [chunk])[0]
                conn.execute("INSERT INTO document_chunks (content, embedding, conversation_id, chunk_index, metadata, "
                             "inserted_at, updated_at) VALUES (%s, %s::vector, %s, %s, %s, now(), now())",
                             (chunk, str(vector), conversation, index,
                              json.dumps({"length": len(chunk), "created_at": "2025-07-17T12:00:00Z"})))
    return conversations


def test_rag_phoenix_ecto_chunks_per_conversation_located_drafted_backfilled_and_repaired(cli, empty_db, server,
                                                                                          tmp_path):
    """ViktorVonlex/rag_phoenix: a Phoenix LiveView app whose Ecto migrations make `document_chunks` with
    pgvector-elixir's `add :embedding, :vector, size: 1536, null: false`, then remove it and add it again at 768; its
    upload embeds each chunk through ollama-ex (`Ollama.init()`, the library's default server; the model a module
    attribute another module returns) into the uploader's conversation, which its search keeps to. locate, profile
    init, scope, plan, run --engine (Elixir is not installed here), verify, record on one conversation; then rows gone
    wrong are named and repaired, conversation by conversation."""
    app = Source.of("ViktorVonlex__rag_phoenix").checkout("", tmp_path / "app")
    for path, said in (("lib/rag_ollama_elixir/models.ex", f'@embedding_model "{RAG_PHOENIX_MODEL}"'),
                       ("lib/rag_ollama_elixir/embedder.ex", "params = [model: Models.embedding_model(), input: texts]"),
                       ("lib/rag_ollama_elixir_web/live/rag_live.ex", "client = Ollama.init()"),
                       ("lib/rag_ollama_elixir/vector_store.ex", "chunk_index: index,"),
                       ("lib/rag_ollama_elixir/vector_store.ex", "where(query, [c], c.conversation_id == ^conversation_id)"),
                       ("lib/rag_ollama_elixir/chunkers/base_chunker.ex", "@target_chunk_size 300")):
        assert said in (app / path).read_text(), (path, said)  # load_rag_phoenix writes what these files say
    for statement in ecto_statements(app / "priv/repo/migrations"):
        empty_db.execute(statement)
    # Ada and Bob each upload the app's README.md (two conversations of one document_name); Bob also its setup script
    first, second, third = load_rag_phoenix(empty_db, server, app, (
        ("ada@example.com", "README.md"), ("bob@example.com", "setup_models.sh"), ("bob@example.com", "README.md")))
    keys = {c: sorted(r[0] for r in empty_db.connect().execute(
        "SELECT id FROM document_chunks WHERE conversation_id = %s", (c,))) for c in (first, second, third)}
    rows = empty_db.scalar("SELECT count(*) FROM document_chunks")
    assert rows == sum(map(len, keys.values())) and len(keys[first]) == len(keys[third]) > 6 and len(keys[second]) > 2
    # The column is NOT NULL: a vector of Ada's and of Bob's script's conversation lost as zeros (a restore that kept
    # rows, not vectors)
    zeros = "SELECT id FROM document_chunks WHERE embedding = array_fill(0, ARRAY[768])::vector ORDER BY id"
    empty_db.execute("UPDATE document_chunks SET embedding = array_fill(0, ARRAY[768])::vector WHERE id = ANY(%s)",
                     ([keys[first][1], keys[second][2]],))
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", str(first), plan=True)
    located = trial.locate.json
    # Ecto's `add :embedding, :vector, size: N` in `create table`/`alter table` blocks; the later migration removes the
    # column and adds it back at 768 (until this trial: `Vector declarations: none found`); the schema module's
    # `field :embedding, Pgvector.Ecto.Vector` says the column too, its width the migration's
    assert sorted((d["path"].rsplit("/", 1)[-1], d["line"], d["table"], d["column"], d["dimensions"], d["kind"],
                   d.get("dropped", False)) for d in located["declarations"]) == [
        ("20250715195231_create_document_chunks.exs", 10, "document_chunks", "embedding", 1536, "ecto", True),
        ("20250715203624_update_vector_dimensions.exs", 17, "document_chunks", "embedding", 768, "ecto", False),
        ("document_chunk.ex", 13, "document_chunks", "embedding", None, "ecto-schema", False)], \
        located["declarations"]
    assert located["declared_dimensions"] == [768]
    # ollama-ex's `Ollama.embed(client, params)`: the model `Models.embedding_model()` returns (a module attribute of
    # another module), the server of the app's `Ollama.init()` calls (each LiveView makes one), the library's default
    # (until this trial: no call, and the draft's model a TODO)
    assert [(c["path"], c["line"], c["kind"], c["model"], c["url"], c["url_env"], c["url_at"])
            for c in located["embedding_calls"]] == [
        ("lib/rag_ollama_elixir/embedder.ex", 9, "ollama-client", RAG_PHOENIX_MODEL, "http://localhost:11434", None,
         "lib/rag_ollama_elixir_web/live/chunking_comparison_live.ex:23")], located["embedding_calls"]
    # the HNSW index `execute` makes in `up`, not the one its `down` makes again (until this trial: both), and
    # VectorStore's searches, Pgvector.Ecto.Query's `cosine_distance(c.embedding, ...)` `from c in DocumentChunk`, on
    # the table of that schema module, kept to one conversation by their `where` (until this trial: none)
    assert [(d["path"].rsplit("/", 1)[-1], d["line"], d["distance"], d["kind"], d["table"], d["column"], d["filters"])
            for d in located["distances"]] == [
        ("20250715203624_update_vector_dimensions.exs", 21, "cosine", "sql-index", "document_chunks", "embedding", []),
        *(("vector_store.ex", line, "cosine", "ecto", "document_chunks", "embedding", ["conversation_id"])
          for line in (64, 68, 110, 115))], located["distances"]
    assert located["entrypoints"] == []  # the upload is a LiveView event: the engine runs
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    # A collection per conversation, as the app searches; by its key, not its document_name, which two conversations
    # share (until this trial: the whole table one collection; then `--collection README.md`, Ada's and Bob's at once)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["collection"],
            raw["chunks"].get("collection_table"), raw["chunks"]["sources"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "document_chunks", "id", "content", "conversation_id", None, ["conversation_id"], "embedding",
        RAG_PHOENIX_MODEL, 768, "cosine"), drafted
    assert "the application's search keeps to one conversation_id (lib/rag_ollama_elixir/vector_store.ex:" in drafted
    assert "conversations.document_name names 2 rows alike ('README.md'): --collection takes the key" in drafted
    assert ("the application's embedders hard-code http://localhost:11434 at "
            "lib/rag_ollama_elixir_web/live/chunking_comparison_live.ex:23: set OLLAMA_HOST to that server") in drafted, \
        drafted
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 1, trial.scope.out
    for step in (trial.run, trial.verify, trial.record):
        assert step.code == 0, step.out + step.err
    # Ada's lost vector re-embedded; Bob's conversations untouched (his lost one is his to backfill)
    assert [r[0] for r in empty_db.connect().execute(zeros)] == [keys[second][2]]

    # Gone wrong: in Ada's conversation a chunk edited after its vector, a vector reversed (another model's), a zero
    # vector, and one chunk holding the vector of Bob's setup-script chunk (and that one Ada's). verify names exactly
    # Ada's; backfill --keys-from repairs them; verify and record are ok after. Bob's script conversation: verify
    # names his swapped and lost chunks, and they are repaired alike.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    edited, reversed_, zero, a = (keys[first][i] for i in (0, 3, 5, 6))
    b = keys[second][1]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE document_chunks SET content = content || ' (edited)' WHERE id = %s", (edited,))
        conn.execute("UPDATE document_chunks SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (reversed_,))
        conn.execute("UPDATE document_chunks SET embedding = array_fill(0, ARRAY[768])::vector WHERE id = %s", (zero,))
        conn.execute("UPDATE document_chunks d SET embedding = o.embedding FROM document_chunks o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (a, b, b, a))
    # distinct_vectors too: the edited chunk's vector is still that of the unedited text in Bob's README conversation,
    # the zero vector is Bob's lost one's, and Bob's swapped chunk holds the vector of a README chunk's text
    for collection, named, embedded in (
            (first, {"recompute": {edited, reversed_, a}, "sane_vectors": {zero}, "distinct_vectors": {edited, zero}}, 4),
            (second, {"recompute": {b}, "sane_vectors": {keys[second][2]}, "distinct_vectors": {b}}, 2)):
        target = ("--profile", trial.profile, "--collection", str(collection))
        damaged = cli("verify", *target, "--run-dir", tmp_path / f"damaged-{collection}", "--json", env=env)
        assert damaged.code == 1, damaged.out
        offenders = offenders_by_check(tmp_path / f"damaged-{collection}" / "offenders.jsonl")
        assert offenders == named, (collection, offenders)
        repaired_verified_and_recorded(cli, target, tmp_path / f"damaged-{collection}", tmp_path / "historylog.md", app,
                                       env, embedded=embedded)
    assert [r[0] for r in empty_db.connect().execute(zeros)] == []
    assert empty_db.scalar("SELECT count(*) FROM document_chunks") == rows


# -- kuc-arc-f/rust_3ex mcp_19: Rust, sqlx + pgvector-rust, reqwest to Ollama's /api/embeddings -----------------------

RUST_3EX_MODEL = "qwen3-embedding:0.6b"  # README.md's MODEL_EMBED_NAME


def rust_3ex_chunks(text: str, size: int = 500) -> list[str]:
    """TextSplitter::new(500, 100).recursive_split: parts at "\\n\\n", "\\n", "。", ".", " " in turn, joined while
    their graphemes plus the separator's bytes stay within `size`; a part too long split at the next separator (past
    the last, into windows of `size` graphemes, 100 overlapping). A grapheme is a character or a CRLF (these texts hold
    no combining mark)."""
    def graphemes(t: str) -> list[str]:
        return re.findall(r"\r\n|.", t, re.S)

    def windows(t: str) -> list[str]:
        g, out, start = graphemes(t), [], 0
        while start < len(g):
            out.append("".join(g[start:start + size]))
            if start + size >= len(g):
                break
            start += size - 100
        return out

    def split(t: str, separators: tuple[str, ...]) -> list[str]:
        if not separators:
            return windows(t)
        sep, chunks, current = separators[0], [], ""
        for part in t.split(sep):
            if len(graphemes(current)) + len(graphemes(part)) + len(sep.encode()) <= size:
                current = f"{current}{sep}{part}" if current else part
            else:
                if current:
                    chunks.append(current)
                    current = ""
                if len(graphemes(part)) > size:
                    chunks.extend(split(part, separators[1:]))
                else:
                    current = part
        return [*chunks, current] if current else chunks

    return split(text, ("\n\n", "\n", "。", ".", " "))


def load_rust_3ex(db, server, files: dict[str, bytes]) -> list[int]:
    """`mcp_19 create`: each `.txt` of ./data read whole, cut by recursive_split, each chunk embedded alone by
    `POST /api/embeddings {model: $MODEL_EMBED_NAME, prompt: chunk}` and stored by `INSERT INTO documents (content,
    embedding) VALUES ($1, $2)`. Returns the ids the serial column gave, in order."""
    import httpx

    ids = []
    with db.connect(autocommit=True) as conn:
        for name in sorted(files):
            for chunk in rust_3ex_chunks(files[name].decode()):
                vector = httpx.post(f"{server.url}/api/embeddings",
                                    json={"model": RUST_3EX_MODEL, "prompt": chunk}).json()["embedding"]
                ids.append(conn.execute("INSERT INTO documents (content, embedding) VALUES (%s, %s::vector) RETURNING id",
                                        (chunk, str(vector))).fetchone()[0])
    return ids


def test_rust_3ex_sqlx_documents_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """kuc-arc-f/rust_3ex `mcp_19`: a Rust CLI (written on Windows: CRLF files) whose `create` reads ./data/*.txt,
    cuts each into chunks and embeds each through reqwest to Ollama's `/api/embeddings`, the model read from
    `MODEL_EMBED_NAME` into the request struct, storing `documents(content, embedding vector(1024))` with sqlx and
    pgvector-rust; its `search` orders by `embedding <=> $1` in a query string over several lines. locate, profile
    init, scope, plan, run --engine (the app is not built here), verify, record; then rows gone wrong are named and
    repaired."""
    source = Source.of("kuc-arc-f__rust_3ex")
    app = source.checkout("mcp_19", tmp_path / "app")
    for path, said in (("src/main.rs", 'env::var("MODEL_EMBED_NAME")'), ("src/main.rs", "TextSplitter::new(500, 100)"),
                       ("src/main.rs", '.post("http://localhost:11434/api/embeddings")'),
                       ("src/main.rs", "INSERT INTO documents (content, embedding)"),
                       ("README.md", f"MODEL_EMBED_NAME={RUST_3EX_MODEL}")):
        assert said in (app / path).read_text(), (path, said)  # load_rust_3ex writes what these files say
    for statement in (app / "table.sql").read_text().split(";"):
        if statement.strip():
            empty_db.execute(statement)
    # its two data files, and two READMEs of the repository's other examples as longer documents
    more = source.checkout("", tmp_path / "more", only=("mcp_14/README.md", "mcp_21/README.md"))
    files = {p.name: p.read_bytes() for p in (app / "data").glob("*.txt")}
    files.update({f"{p.parent.name}.txt": p.read_bytes() for p in more.glob("*/README.md")})
    ids = load_rust_3ex(empty_db, server, files)
    assert len(ids) == 13
    empty_db.execute("UPDATE documents SET embedding = NULL WHERE id = %s", (ids[3],))  # a lost vector
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    # Without --model the draft cannot name it: .env.example leaves MODEL_EMBED_NAME empty (README's is a doc's)
    bare = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output", tmp_path / "bare.yaml",
               "--json", env=env)
    assert bare.json["todo"] == ["provider.model"], bare.out
    assert "its embedder reads it from $MODEL_EMBED_NAME" in (tmp_path / "bare.yaml").read_text()

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "documents", model=RUST_3EX_MODEL, plan=True)
    located = trial.locate.json
    # table.sql, CRLF (until this trial an untyped `embedding vector\r\n`, as mcp_23's, was no declaration)
    assert [(d["path"], d["line"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("table.sql", 7, "documents", "embedding", 1024)]
    # the model from the request struct each function builds before its POST (until this trial: none)
    assert [(c["path"], c["line"], c["kind"], c["model"], c["model_env"], c["url"]) for c in located["embedding_calls"]] \
        == [("src/main.rs", 331, "ollama-http", None, "MODEL_EMBED_NAME", "http://localhost:11434"),
            ("src/mod_search.rs", 62, "ollama-http", None, "MODEL_EMBED_NAME", "http://localhost:11434")]
    # sqlx's query string over four lines (until this trial: no distance; the draft's cosine a bare guess)
    assert [(d["path"], d["line"], d["distance"], d["table"], d["column"]) for d in located["distances"]] == [
        ("src/mod_search.rs", 116, "cosine", "documents", "embedding")]
    assert located["entrypoints"] == []  # `create` inserts every chunk again: no backfill; the engine runs
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "documents", "id", "content", "embedding", RUST_3EX_MODEL, 1024, "cosine"), drafted
    assert "<=> at src/mod_search.rs:116" in drafted and "reproduces the stored vectors of 5 of the 5 rows" in drafted
    # the ingest and the search both POST there; the URL once (until this trial: once before each place)
    assert ("the application's embedders hard-code http://localhost:11434 at src/main.rs:331, src/mod_search.rs:62: "
            "set OLLAMA_HOST to that server") in drafted, drafted
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 1, trial.scope.out
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    for step in (trial.run, trial.verify, trial.record):
        assert step.code == 0, step.out + step.err
    assert empty_db.scalar("SELECT count(*) FROM documents WHERE embedding IS NULL") == 0

    # Gone wrong: a text edited after its vector, a vector reversed (another model's), two rows with each other's
    # vectors, a lost one. verify names exactly those (citations too, where its 3 chunks drawn per run hit a damaged
    # one); backfill --keys-from repairs them; verify and record ok.
    edited, reversed_, a, b, gone = ids[5], ids[7], ids[8], ids[10], ids[12]
    damage_inline(empty_db, "documents", "content", edited=edited, reversed_=reversed_, swapped=(a, b), gone=gone)
    target = ("--profile", trial.profile, "--collection", "documents")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_, a, b}, offenders
    assert damaged.code == 1 and offenders == {"recompute": {edited, reversed_, a, b}, "coverage": {gone}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)
    assert empty_db.scalar("SELECT count(*) FROM documents") == len(ids)


# -- FH-OST-Metis/imara: Supabase's automatic embeddings (triggers, pgmq, Edge Functions), two halfvec columns --------

# What Supabase gives and our server lacks: pgmq's queue (a table here), pg_cron's schedule (nothing runs it), the
# extensions schema on the search path (hstore goes there, as the app's migration says)
IMARA_STAND_IN = """
CREATE SCHEMA IF NOT EXISTS extensions; CREATE SCHEMA pgmq; CREATE SCHEMA cron;
CREATE TABLE pgmq.messages (msg_id bigserial PRIMARY KEY, queue_name text NOT NULL, message jsonb NOT NULL);
CREATE FUNCTION pgmq.create(queue_name text) RETURNS void LANGUAGE sql AS '';
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb) RETURNS SETOF bigint LANGUAGE sql AS
  'INSERT INTO pgmq.messages (queue_name, message) VALUES (queue_name, msg) RETURNING msg_id';
CREATE FUNCTION cron.schedule(name text, schedule text, command text) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
"""
IMARA_PAPERS = ("2003.08005v1", "2401.02564v2")


def imara_schema(db, app: Path) -> None:
    """The app's Supabase migrations in order (its MLflow dumps left out), after the stand-ins; pgmq, pg_net and pg_cron
    are not created (our server has none of them)."""
    import psycopg

    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(IMARA_STAND_IN)
        conn.execute(f'ALTER DATABASE {db.name} SET search_path = "$user", public, extensions')
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for migration in sorted((app / "supabase" / "migrations").glob("*.sql")):
            if not migration.name.endswith("_remote_schema.sql"):
                conn.execute(re.sub(r"(?is)create extension if not exists (pgmq|pg_net|pg_cron)\b[^;]*;", "",
                                    migration.read_text()))


def load_imara(db, server, app: Path, failed: tuple[int, ...]) -> list[int]:
    """`naiverag/embed.py`'s INSERT per chunk (10 paragraphs of each paper), then each queued job run as the Edge
    Functions run it: the row's text by its content function, the vector as JSON text into the job's column; the
    Ollama jobs of the rows numbered ``failed`` fail. Returns the ids in order."""
    import httpx

    models = {"embedding_jobs_ollama": "bge-m3:567m", "embedding_jobs": "gemini-embedding-001"}
    with db.connect(autocommit=True) as conn:
        for paper in IMARA_PAPERS:
            text = (app / "src/app/lean_rag/datasets/five" / f"{paper}.md").read_text()
            for idx, content in enumerate([p.strip() for p in text.split("\n\n") if len(p.strip()) > 80][:10]):
                conn.execute("insert into document_chunk (title, page_ref, pic_ref, content) values (%s, %s, %s, %s)",
                             (paper, idx, None, content))
        ids = [r[0] for r in conn.execute("SELECT id FROM document_chunk ORDER BY id")]
        for msg_id, queue, job in conn.execute("SELECT msg_id, queue_name, message FROM pgmq.messages ORDER BY msg_id"
                                               ).fetchall():
            if queue == "embedding_jobs_ollama" and ids.index(job["id"]) in failed:
                continue
            table = f'"{job["schema"]}"."{job["table"]}"'
            content = conn.execute(f'SELECT "{job["contentFunction"]}"(t) FROM {table} t WHERE id = %s',
                                   (job["id"],)).fetchone()[0]
            vector = httpx.post(f"{server.url}/api/embed", json={"model": models[queue], "input": content}
                                ).json()["embeddings"][0]
            conn.execute(f'UPDATE {table} SET "{job["embeddingColumn"]}" = %s WHERE id = %s',
                         (json.dumps(vector), job["id"]))
            conn.execute("DELETE FROM pgmq.messages WHERE msg_id = %s", (msg_id,))
    return ids


def test_imara_supabase_trigger_queued_halfvec_chunks_located_drafted_backfilled_and_repaired(cli, empty_db, server,
                                                                                              tmp_path):
    """FH-OST-Metis/imara: `document_chunk` with two halfvec columns (Gemini's 3072, Ollama's 1024), each filled by an
    Edge Function that after-insert triggers queue through pgmq; a before-update trigger NULLs both when the text
    changes; `chunk_hash_id` is LinearRAG's node id. locate, profile init --table --model, scope, plan, run --engine
    (its UPDATE of the vector column must not fire the clear trigger), verify, record; then an edit (the trigger NULLs
    the vector), Gemini's vector in the Ollama column and two swapped vectors are named and repaired."""
    app = Source.of("FH-OST-Metis__imara").checkout("", tmp_path / "app", only=(
        "supabase/", "src/app/e", "src/app/p", "src/app/utils/", "src/app/naiverag/", "src/app/linear_rag/",
        "src/app/graphmert/", "src/app/lean_rag/build_graph.py", "src/app/lean_rag/query_graph.py",
        "src/app/lean_rag/config.yaml", *(f"src/app/lean_rag/datasets/five/{p}.md" for p in IMARA_PAPERS),
        "src/experiments/", ".env-template", "params.yaml", "dvc.yaml", "ollama/"))
    edge = (app / "supabase/functions/embed_ollama/index.ts").read_text()
    for said in ("Deno.env.get('OLLAMA_MODEL') || 'bge-m3:567m'", "${sql(contentFunction)}(t) as content",
                 "${sql(embeddingColumn)} = ${JSON.stringify(embedding)}"):
        assert said in edge, said  # load_imara runs the jobs as this function does
    assert "model: 'gemini-embedding-001'" in (app / "supabase/functions/embed/index.ts").read_text()
    imara_schema(empty_db, app)
    ids = load_imara(empty_db, server, app, failed=(3, 14))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}

    # Without --model: the Gemini edge function's model, measured on the column it fills (5 of 5 stored vectors
    # reproduce); until the Git-Forge trial read Gemini's JavaScript SDK, the model was TODO. Until this trial the PCA
    # script, which writes all-MiniLM-L6-v2 vectors to a .npy file, was the command and its model the column's.
    bare = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--table", "document_chunk",
               "--output", tmp_path / "bare.yaml", "--json", env=env)
    assert bare.json["todo"] == [], bare.out
    guessed = yaml.safe_load((tmp_path / "bare.yaml").read_text())
    assert (guessed["provider"]["model"], guessed["embeddings"]["vector"]) == (
        "gemini-embedding-001", "embedding_gemini"), bare.out
    assert ('# command: "python src/app/graphmert/embeddings.py"  # locate\'s best entrypoint (python-script '
            "src/app/graphmert/embeddings.py), left out: it reads no database setting and embeds with all-MiniLM-L6-v2"
            ) in (tmp_path / "bare.yaml").read_text()
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "document_chunk", model="bge-m3:567m",
                      init_args=("--table", "document_chunk"), plan=True)
    located = trial.locate.json
    assert {(d["table"], d["column"], d["type"], d["dimensions"]) for d in located["declarations"]} == {
        (t, f"embedding_{m}", "halfvec", n) for t in ("document_chunk", "lr_entity_embedding", "lr_sentence_embedding")
        for m, n in (("gemini", 3072), ("ollama", 1024))}
    # the summary a user reads names the type declared (until this trial: `declares vector(1024, 3072)`)
    summary = cli("locate", "--repo", app, env=env).out
    assert "create_lr_persistence.sql:9,10,23,24  [sql]  declares halfvec(1024, 3072)" in summary, summary
    assert "declares vector" not in summary, summary
    # .env-template's `OLLAMA_MODEL=bge-m3:567m  # BGE-M3 outputs ...` (until this trial read with its comment)
    assert ("OLLAMA_MODEL", "bge-m3:567m") in {(s["name"], s["value"]) for s in located["settings"]
                                                 if s["path"] == ".env-template"}
    assert ("supabase/functions/embed_ollama/index.ts", "openai", "bge-m3:567m", "OLLAMA_MODEL", "OLLAMA_BASE_URL") in {
        (c["path"], c["kind"], c["model"], c["model_env"], c["url_env"]) for c in located["embedding_calls"]}
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["dimensions"], raw["distance"]) == (
        "document_chunk", "id", "content", "embedding_ollama", 1024, "cosine"), drafted
    assert "this table has other vector columns: embedding_gemini" in drafted
    # chunk_hash_id is LinearRAG's id, not a hash the engine may write (until this trial drafted as the input hash) ...
    assert "input_hash" not in raw["embeddings"] and "chunk_hash_id is named like a hash, but no row holds one" in drafted
    # ... and the Milvus/PCA scripts' in-process model is no setting of the engine (until this trial drafted as live keys)
    assert not (raw.get("backfill") or {}).get("embeds_in_process") and "command" not in (raw.get("backfill") or {})
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 2, trial.scope.out
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    for step in (trial.run, trial.verify, trial.record):
        assert step.code == 0, step.out + step.err
    # the engine's UPDATE of embedding_ollama does not fire the clear trigger: every vector it wrote is kept, and the
    # Gemini column is untouched
    assert empty_db.scalar("SELECT count(*) FROM document_chunk WHERE embedding_ollama IS NULL") == 0
    assert empty_db.scalar("SELECT count(*) FROM document_chunk WHERE embedding_gemini IS NULL") == 0
    assert empty_db.scalar("SELECT count(*) FROM document_chunk WHERE chunk_hash_id IS NOT NULL") == 0

    # Gone wrong: a text edited through UPDATE (the app's trigger NULLs both vectors), Gemini's vector cut to 1024
    # dimensions written to the Ollama column, two chunks holding each other's vectors. scope counts the edited one
    # missing; verify names exactly those; backfill --keys-from repairs them; verify and record ok.
    edited, gemini, a, b = ids[2], ids[6], ids[10], ids[11]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE document_chunk SET content = content || ' (revised)' WHERE id = %s", (edited,))
        text = conn.execute("SELECT get_chunk_content(t) FROM document_chunk t WHERE id = %s", (gemini,)).fetchone()[0]
        import httpx
        vector = httpx.post(f"{server.url}/api/embed", json={"model": "gemini-embedding-001", "input": text}
                            ).json()["embeddings"][0][:1024]
        conn.execute("UPDATE document_chunk SET embedding_ollama = %s WHERE id = %s", (json.dumps(vector), gemini))
        conn.execute("UPDATE document_chunk d SET embedding_ollama = o.embedding_ollama FROM document_chunk o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (a, b, b, a))
    target = ("--profile", trial.profile, "--collection", "document_chunk")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and (scoped.json["counts"]["missing"], scoped.json["counts"]["needed"]) == (1, 1), scoped.out
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {gemini, a, b}, offenders
    assert damaged.code == 1 and offenders == {"coverage": {edited}, "recompute": {gemini, a, b}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=4)
    assert empty_db.scalar("SELECT count(*) FROM document_chunk WHERE embedding_ollama IS NULL") == 0
    # the edited chunk's Gemini vector stays NULL: the profile's column is the Ollama one
    assert empty_db.scalar("SELECT embedding_gemini IS NULL FROM document_chunk WHERE id = %s", (edited,)) is True


# -- sergey-v-sedov/llm-demo-rag-and-mcp-server: a Spring Boot web app whose runner drops and refills vector_store --

LLM_DEMO_RUNNER = "src/main/java/com/example/llm_demo/IndexRagService.java"


def load_llm_demo(db, server, sql: dict, runner: str) -> list[str]:
    """initializeSchema then doAdd, as PgVectorStore runs them for the app (1024 dimensions, HNSW cosine): each
    `new Document(text[, Map.of(k, v)])` of the runner with a random UUID, its metadata JSON, the vector of its text
    alone. Returns the ids in the runner's order."""
    import uuid

    docs = [(text.replace('\\"', '"'), dict([meta]) if meta[0] else {}) for text, *meta in re.findall(
        r'new Document\("((?:[^"\\]|\\.)*)"(?:, Map\.of\("(\w+)", "(\w+)"\))?\)', runner)]
    vectors = httpx_embed(server, "mxbai-embed-large", [text for text, _ in docs])
    ids = []
    with db.connect(autocommit=True) as conn:
        available = {n for (n,) in conn.execute("SELECT name FROM pg_available_extensions").fetchall()}
        for statement in sql["extensions"]:
            if statement.rsplit(" ", 1)[-1].strip('\\"') in available:  # our server lacks uuid-ossp and hstore
                conn.execute(statement.replace('\\"', '"'))
        id_type = sql["uuid"] if "uuid-ossp" in available else sql["uuid"].replace("uuid_generate_v4()", "gen_random_uuid()")
        conn.execute(sql["table"].replace("%s", "public.vector_store", 1).replace("%s", id_type, 1).replace("%d", "1024"))
        conn.execute(sql["index"].replace("%s", "spring_ai_vector_index", 1).replace("%s", "public.vector_store", 1)
                     .replace("%s", "HNSW", 1).replace("%s", sql["ops"]["COSINE_DISTANCE"], 1))
        insert = sql["insert"].format(table="public.vector_store").replace("?", "%s")
        for (text, meta), vector in zip(docs, vectors):
            ids.append(str(uuid.uuid4()))
            conn.execute(insert, (ids[-1], text, json.dumps(meta), str(vector), text, json.dumps(meta), str(vector)))
    return ids


def test_llm_demo_spring_runner_dropping_its_store_located_drafted_backfilled_and_repaired(cli, empty_db, server,
                                                                                           tmp_path):
    """sergey-v-sedov/llm-demo-rag-and-mcp-server: a Spring Boot web + MCP server whose CommandLineRunner adds three
    Documents to PgVectorStore at every start, the store set by application.yaml (1024 dimensions, HNSW, cosine,
    `options.model: mxbai-embed-large`) to drop vector_store first. locate, profile init, scope, plan, run --engine
    (no JVM build here; and its command empties the table), verify, record; then an edited text, another model's
    vector and a lost one are named and repaired."""
    app = Source.of("sergey-v-sedov__llm-demo-rag-and-mcp-server").checkout("", tmp_path / "app")
    config = (app / "src/main/resources/application.yaml").read_text()
    for said in ("remove-existing-vector-store-table: true", "distance-type: COSINE_DISTANCE", "dimensions: 1024",
                 "model: mxbai-embed-large"):
        assert said in config, said  # load_llm_demo makes the table these settings make
    runner = (app / LLM_DEMO_RUNNER).read_text()
    assert "implements CommandLineRunner" in runner and "this.vectorStore.add(documents);" in runner
    ids = load_llm_demo(empty_db, server, spring_store_sql(tmp_path), runner)
    assert len(ids) == 3
    empty_db.execute("UPDATE vector_store SET embedding = NULL WHERE id = %s::uuid", (ids[1],))  # a lost vector
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "vector_store", plan=True)
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"], d["distance"]) for d in located["declarations"]] == [
        ("src/main/resources/application.yaml", "vector_store", "embedding", 1024, "cosine")]
    assert {c["model"] for c in located["embedding_calls"]} == {"mxbai-embed-large"}
    (entry,) = located["entrypoints"]
    # the runner is found, and so is what starting it does to the table (until this trial: drafted as the backfill),
    # and that it never exits: spring-boot-starter-web keeps the application serving after its runner returns (until
    # the serving trial: a web app without remove-existing-vector-store-table was still drafted)
    assert (entry["kind"], entry["command"]) == ("spring-boot-runner", "./mvnw spring-boot:run")
    assert entry["contract"]["drops"] == ("it drops vector_store and creates it empty at each start "
                                          "(remove-existing-vector-store-table: true at "
                                          "src/main/resources/application.yaml:14)")
    assert entry["contract"]["serves"] == "it starts a web server (spring-boot-starter-web at pom.xml:36) and never exits"
    assert located["best_entrypoint"] is None
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "vector_store", "id", "content", "embedding", "mxbai-embed-large", 1024, "cosine"), drafted
    assert "command" not in (raw.get("backfill") or {}) and "env" not in (raw.get("backfill") or {}), drafted
    assert ("left out: it starts a web server (spring-boot-starter-web at pom.xml:36) and never exits; it drops "
            "vector_store and creates it empty at each start (remove-existing-vector-store-table: true at "
            "src/main/resources/application.yaml:14); run with --engine") in drafted, drafted
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 1, trial.scope.out
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    for step in (trial.run, trial.verify, trial.record):
        assert step.code == 0, step.out + step.err
    assert empty_db.scalar("SELECT count(*) FROM vector_store WHERE embedding IS NULL") == 0

    # Gone wrong: a text edited after its vector, a vector reversed (another model's), a lost one. verify names
    # exactly those; backfill --keys-from repairs them; verify and record ok; the three rows and their keys are kept.
    edited, reversed_, gone = ids
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE vector_store SET content = content || ' (edited)' WHERE id = %s::uuid", (edited,))
        conn.execute("UPDATE vector_store SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s::uuid", (reversed_,))
        conn.execute("UPDATE vector_store SET embedding = NULL WHERE id = %s::uuid", (gone,))
    target = ("--profile", trial.profile, "--collection", "vector_store")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_}, offenders
    assert damaged.code == 1 and offenders == {"recompute": {edited, reversed_}, "coverage": {gone}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=3)
    assert sorted(r[0] for r in empty_db.connect(autocommit=True).execute(
        "SELECT id::text FROM vector_store").fetchall()) == sorted(ids)


# -- nsbucky/prism-demo: PHP + Laravel 12, Prism's Ollama embeddings, a Blueprint vector column on a second connection --

PRISM_DEMO_MIGRATION = "database/migrations/2025_04_27_190857_create_lyrics_table_and_initialize_vector.php"


def laravel_ddl(migration: str) -> str:
    """What Laravel's pgsql grammar makes of one `Schema::...->create('t', ...)` blueprint (the column kinds this
    migration uses; a column is NOT NULL unless `->nullable()`), then the migration's own `->statement('...')`s."""
    table = re.search(r"->create\('(\w+)'", migration).group(1)
    columns = []
    for kind, args, rest in re.findall(r"\$table->(\w+)\(([^)]*)\)((?:\s*->\w+\([^)]*\))*)", migration):
        if kind == "id":
            columns.append('"id" bigserial primary key')
        elif kind == "timestamps":
            columns += [f'"{c}" timestamp(0) without time zone null' for c in ("created_at", "updated_at")]
        else:
            name, *more = [a.strip().strip("'") for a in args.split(",")]
            sqltype = {"string": "varchar(255)", "text": "text", "vector": f"vector({more[0] if more else ''})"}[kind]
            columns.append(f'"{name}" {sqltype}' + (" null" if "->nullable()" in rest else " not null"))
    statements = re.findall(r"->statement\('\s*(.*?);?\s*'\)", migration, re.S)
    return f'create table "{table}" ({", ".join(columns)});' + "".join(f"{s};" for s in statements)


def load_prism_demo(db, server, songs: str, imports: Path) -> list[int]:
    """`php artisan import-documents` as written: each `lyrics/*.txt` of the import directory (here the stanzas of the
    app's `storage/created songs.txt`, one a file) embedded whole through Prism (Ollama's `/api/embed`,
    mxbai-embed-large) and inserted by `Lyric::create` (`name` the file's basename, `embedding` the float array its
    `array` cast writes as JSON, `original_text` the file's text, the timestamps Eloquent sets). Returns the ids."""
    stanzas = [s.strip() for s in re.split(r"\n\s*\n", songs) if len(s.strip()) > 40][:10]
    (imports / "lyrics").mkdir(parents=True)
    for n, stanza in enumerate(stanzas):
        (imports / "lyrics" / f"{n:02}.txt").write_text(stanza)
    files = sorted((imports / "lyrics").glob("*.txt"))  # PHP's glob() sorts
    texts = [f.read_text() for f in files]
    ids = []
    with db.connect(autocommit=True) as conn:
        for f, text, vector in zip(files, texts, httpx_embed(server, "mxbai-embed-large", texts)):
            ids.append(conn.execute("INSERT INTO lyrics (name, embedding, original_text, updated_at, created_at) "
                                    "VALUES (%s, %s, %s, now(), now()) RETURNING id",
                                    (f.name, json.dumps(vector), text)).fetchone()[0])
    return ids


def test_prism_demo_laravel_lyrics_embedded_through_prism_located_drafted_backfilled_and_repaired(cli, empty_db, server,
                                                                                                 tmp_path):
    """nsbucky/prism-demo: a Laravel 12 app whose migration declares `lyrics.embedding` with the Schema builder
    (`$table->vector('embedding', 1024)`, NOT NULL, on the `pgsql` connection beside a MySQL default) and an ivfflat
    cosine index in a raw statement; its artisan command `import-documents` embeds each file through Prism
    (`Prism::embeddings()->withClientOptions([...])->using(Provider::Ollama, 'mxbai-embed-large')`, Prism's URL from
    config/prism.php's OLLAMA_URL) and inserts a row. locate, profile init, scope, plan, run --engine (PHP is not run
    here), verify, record; then rows gone wrong are named and repaired."""
    app = Source.of("nsbucky__prism-demo").checkout("", tmp_path / "app", only=(
        "app/", "config/", "database/migrations/", "artisan", ".env.example", "composer.json", "storage/created songs.txt"))
    migration = (app / PRISM_DEMO_MIGRATION).read_text()
    assert "$table->vector('embedding', 1024)" in migration and "USING ivfflat (embedding vector_cosine_ops)" in migration
    empty_db.execute(laravel_ddl(migration))
    assert empty_db.scalar("SELECT format_type(atttypid, atttypmod) || ' ' || attnotnull FROM pg_attribute "
                           "WHERE attrelid = 'lyrics'::regclass AND attname = 'embedding'") == "vector(1024) true"
    ids = load_prism_demo(empty_db, server, (app / "storage/created songs.txt").read_text(), tmp_path / "imports")
    assert len(ids) == 10

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "lyrics", plan=True)
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        (PRISM_DEMO_MIGRATION, "lyrics", "embedding", 1024)], located["declarations"]
    # every Prism call, those given client options before their provider too (until this trial: 2 of the 5 were read)
    assert sorted((c["path"].rsplit("/", 1)[-1], c["kind"], c["model"], c["url"], c["url_env"])
                  for c in located["embedding_calls"]) == sorted(
        (f, "ollama-prism", "mxbai-embed-large", "http://ollama:11434", "OLLAMA_URL")
        for f in ("SongCreator.php", "EmbeddingController.php", "ImportDocumentsCommand.php",
                  "OllamaRhymesWeirdlyCommand.php", "TextEmbeddingCommand.php")), located["embedding_calls"]
    # the index's cosine, and the searches' `orderByRaw('embedding <=> ?::vector')` on the Lyric model's table
    assert {(d["path"].rsplit("/", 1)[-1], d["table"], d["distance"], d["kind"]) for d in located["distances"]} == {
        (PRISM_DEMO_MIGRATION.rsplit("/", 1)[-1], "lyrics", "cosine", "sql-index"),
        ("SongCreator.php", "lyrics", "cosine", "laravel"),
        ("OllamaRhymesWeirdlyCommand.php", "lyrics", "cosine", "laravel")}, located["distances"]
    entrypoints = {e["command"]: e for e in located["entrypoints"]}
    # the demo printing a vector keeps nothing (it was drafted, its name saying `embed`); the importer is the best one
    assert not entrypoints["php artisan ollama:text-embed"]["may_embed"], entrypoints
    # the RAG chat command (a prompt embedded, the nearest lyric searched, llama3.2 asked) embeds a question: it was
    # drafted before the Prism calls were all read, and ranked beside the importer after
    rhymes = entrypoints["php artisan ollama:rhymes"]
    assert not rhymes["may_embed"] and rhymes["contract"]["answers"].startswith(
        "it searches by distance (<=> at app/Console/Commands/OllamaRhymesWeirdlyCommand.php:185) and asks a language "
        "model (Prism::structured at "), rhymes
    assert located["entrypoints"][[e["may_embed"] for e in located["entrypoints"]].index(True)]["command"] == \
        "php artisan import-documents", located["entrypoints"]
    # its contract: Prism's OLLAMA_URL and the pgsql connection's PG_DB_* names (not the MySQL default's DB_*), the
    # import folder's IMPORT_DIRECTORY (a computed default), and that it only adds rows
    importer = entrypoints["php artisan import-documents"]["contract"]
    assert importer["backfill_env"] == {"OLLAMA_URL": "{provider_url}", "DB_URL": "{database_url}",
                                        "PG_DB_HOST": "{database_host}", "PG_DB_PORT": "{database_port}",
                                        "PG_DB_DATABASE": "{database_name}", "PG_DB_USERNAME": "{database_user}",
                                        "PG_DB_PASSWORD": "{database_password}"}, importer
    assert "IMPORT_DIRECTORY" in importer["reads_env"], importer
    adds_only = ("it only adds rows (Lyric::create at app/Console/Commands/ImportDocumentsCommand.php:50) and updates "
                 "none: it re-embeds no row there is")
    assert importer["adds_only"] == adds_only, importer
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "lyrics", "id", "original_text", "embedding", "mxbai-embed-large", 1024, "cosine"), drafted
    # the app's name for Prism's URL, its one default said once with the five calls reading it (it was said 5 times)
    provider_url = next(x for x in drafted.splitlines() if x.startswith('  url: "${OLLAMA_HOST:-}"'))
    assert "the application reads OLLAMA_URL (default http://ollama:11434 at " in provider_url, provider_url
    assert provider_url.count("http://ollama:11434") == 1 and provider_url.count(".php:") == 5, provider_url
    # an importer re-embeds none of the rows there are (it was drafted as the backfill): left out, saying why
    assert not (raw.get("backfill") or {}), drafted
    assert f"left out: {adds_only}; run with --engine" in drafted, drafted
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "lyrics", "embedding", len(ids), needed=0)

    # Gone wrong (the column is NOT NULL: no vector can be lost): a lyric's text edited after its vector, a vector
    # reversed, two lyrics with each other's vectors. verify names exactly those; backfill --keys-from repairs them.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    edited, reversed_, a, b = ids[1], ids[3], ids[4], ids[7]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE lyrics SET original_text = original_text || ' (edited)' WHERE id = %s", (edited,))
        conn.execute("UPDATE lyrics SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (reversed_,))
        conn.execute("UPDATE lyrics d SET embedding = o.embedding FROM lyrics o WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))",
                     (a, b, b, a))
    target = ("--profile", trial.profile, "--collection", "lyrics")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_, a, b}, offenders
    assert offenders == {"recompute": {edited, reversed_, a, b}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=4)
    assert empty_db.scalar("SELECT count(*) FROM lyrics") == len(ids)


# -- OWASP/Nest: Django in src layout, django-configurations, chunks under a context through a generic key ----------

# The SQL types `manage.py migrate` gives the field kinds these migrations use (a key made by the database).
DJANGO_MIGRATION_TYPES = {**DJANGO_TYPES, "BigAutoField": "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                          "AutoField": "integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                          "PositiveIntegerField": "integer", "BigIntegerField": "bigint"}


def django_migrations_ddl(migrations: list[str], app_label: str, tables: dict[str, str]) -> str:
    """The tables an app's migrations leave, replayed in order from their text (parsed, never run): CreateModel,
    AddField, RemoveField, RenameField, AlterField, AlterUniqueTogether, VectorExtension. ``tables`` names the tables of
    the other apps' models a ForeignKey points to (``contenttypes.contenttype``)."""
    import ast

    models: dict[str, dict] = {}

    def field(call: ast.Call) -> tuple[str, dict]:
        kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords
              if k.arg in ("dimensions", "max_length", "null", "to", "unique", "primary_key")}
        return (call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id), kw

    statements = []
    for text in migrations:
        cls = next(n for n in ast.parse(text).body if isinstance(n, ast.ClassDef) and n.name == "Migration")
        ops = next(s.value for s in cls.body if isinstance(s, ast.Assign) and s.targets[0].id == "operations")
        for op in ops.elts:
            name = op.func.attr if isinstance(op.func, ast.Attribute) else op.func.id
            kw = {k.arg: k.value for k in op.keywords}
            if name == "VectorExtension":
                statements.append("CREATE EXTENSION IF NOT EXISTS vector;")
            elif name == "CreateModel":
                options = ast.literal_eval(kw["options"]) if "options" in kw else {}
                model = ast.literal_eval(kw["name"]).lower()
                models[model] = {"table": options.get("db_table", f"{app_label}_{model}"), "unique": options.get(
                    "unique_together", set()), "fields": {ast.literal_eval(t.elts[0]): field(t.elts[1])
                                                           for t in kw["fields"].elts}}
            elif name in ("AddField", "AlterField"):
                models[ast.literal_eval(kw["model_name"])]["fields"][ast.literal_eval(kw["name"])] = field(kw["field"])
            elif name == "RemoveField":
                del models[ast.literal_eval(kw["model_name"])]["fields"][ast.literal_eval(kw["name"])]
            elif name == "RenameField":
                fields = models[ast.literal_eval(kw["model_name"])]["fields"]
                fields[ast.literal_eval(kw["new_name"])] = fields.pop(ast.literal_eval(kw["old_name"]))
            elif name == "AlterUniqueTogether":
                models[ast.literal_eval(kw["name"])]["unique"] = ast.literal_eval(kw["unique_together"])
    tables = {**tables, **{f"{app_label}.{m}": s["table"] for m, s in models.items()}}
    keys = []  # added once every table exists (a model may point to one created after it)
    for model in models.values():
        columns, names = [], {}
        for name, (kind, kw) in model["fields"].items():
            if kind == "ForeignKey":
                names[name], sqltype = f"{name}_id", "bigint"
                keys.append(f'ALTER TABLE "{model["table"]}" ADD FOREIGN KEY ("{name}_id") '
                            f'REFERENCES "{tables[kw["to"].lower()]}" ("id") DEFERRABLE INITIALLY DEFERRED;')
            elif kind == "VectorField":
                names[name], sqltype = name, f"vector({kw['dimensions']})" if "dimensions" in kw else "vector"
            else:
                names[name] = name
                sqltype = DJANGO_MIGRATION_TYPES[kind] if kind != "CharField" else f"varchar({kw['max_length']})"
            null = "" if kind.endswith("AutoField") else (" NULL" if kw.get("null") else " NOT NULL")
            columns.append(f'"{names[name]}" {sqltype}{null}' + (" UNIQUE" if kw.get("unique") else ""))
        for together in sorted(model["unique"]):
            columns.append("UNIQUE (%s)" % ", ".join(f'"{names[f]}"' for f in together))
        statements.append(f'CREATE TABLE "{model["table"]}" ({", ".join(columns)});')
    return "\n".join(statements + keys)


# The user's checkout of backend/: the ai app, the common models, settings, manage.py and the make targets.
NEST_CHECKOUT = ("src/apps/ai/", "src/apps/common/", "src/settings/", "manage.py", "Makefile", "make/", ".env.example",
                 "pyproject.toml")
# What contenttypes' own migrations leave (Django's app, not Nest's), and the rows it holds for the entities here.
NEST_CONTENT_TYPES = ('CREATE TABLE "django_content_type" ("id" integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, '
                      '"app_label" varchar(100) NOT NULL, "model" varchar(100) NOT NULL, UNIQUE ("app_label", "model"));')
# Stand-ins for OWASP entities (the attributes the app's extractors read; the rest None).
NEST_ENTITIES = [
    ("chapter", 11, {"name": "OWASP Lisbon", "description": "A chapter meeting monthly to talk about application "
                     "security, threat modelling and secure code review.", "country": "Portugal", "region": "Europe",
                     "tags": ["appsec", "meetup"], "leaders_raw": ["Ana", "Rui"], "is_active": True}),
    ("chapter", 12, {"name": "OWASP Nairobi", "summary": "Workshops on web security testing with ZAP and on the "
                     "OWASP Top 10 for students and developers across the region.", "country": "Kenya",
                     "region": "Africa", "topics": ["zap", "top10"], "is_active": True}),
    ("project", 21, {"name": "OWASP ZAP", "description": "An integrated penetration testing tool for finding "
                     "vulnerabilities in web applications while they are being developed and tested.",
                     "level": "flagship", "type": "tool", "languages": ["Java"], "licenses": ["Apache-2.0"]}),
    ("project", 22, {"name": "OWASP ASVS", "summary": "The Application Security Verification Standard: a basis for "
                     "testing web application technical security controls, and a list of requirements for secure "
                     "development.", "level": "flagship", "type": "documentation", "tags": ["standard"]}),
]
# The app's own extractor and splitter, run on those stand-ins (apps.ai imports no Django on this path).
NEST_CHUNKS = r"""
import json, sys
sys.path.insert(0, sys.argv[1] + "/src")
from apps.ai.common.extractors.chapter import extract_chapter_content
from apps.ai.common.extractors.project import extract_project_content
from apps.ai.text_splitting import split_recursive_character_text

class Entity:
    def __init__(self, fields):
        self.__dict__.update(fields)
    def __getattr__(self, name):
        return None

out = []
for kind, pk, fields in json.loads(sys.argv[2]):
    content, metadata = {"chapter": extract_chapter_content, "project": extract_project_content}[kind](Entity(fields))
    full = f"{metadata}\n\n{content}" if metadata else content
    # Chunk.split_text, and BaseChunkCommand's set() of its texts
    texts = sorted(set(split_recursive_character_text(full, chunk_size=200, chunk_overlap=20, length_function=len,
                                                      separators=["\n\n", "\n", " ", ""])))
    out.append([kind, pk, content, texts])
print(json.dumps(out))
"""


def load_nest(db, server, app: Path) -> dict[tuple[str, int], list[int]]:
    """Each entity's context (as ``ai_update_<entity>_context`` leaves it), then its chunks as BaseChunkCommand writes
    them: one ``embeddings.create(input=texts, model="text-embedding-3-small")`` per entity, a row per text."""
    migrations = sorted((app / "src/apps/ai/migrations").glob("0*.py"))
    db.execute(NEST_CONTENT_TYPES + "\n" + django_migrations_ddl(
        [m.read_text() for m in migrations], "ai", {"contenttypes.contenttype": "django_content_type"}))
    made = json.loads(subprocess.run([sys.executable, "-c", NEST_CHUNKS, str(app), json.dumps(NEST_ENTITIES)],
                                     capture_output=True, text=True, check=True).stdout)
    rows: dict[tuple[str, int], list[int]] = {}
    with db.connect(autocommit=True) as conn:
        for kind, pk, content, texts in made:
            kind_id = conn.execute("INSERT INTO django_content_type (app_label, model) VALUES ('owasp', %s) "
                                   "ON CONFLICT (app_label, model) DO UPDATE SET model = excluded.model RETURNING id",
                                   (kind,)).fetchone()[0]
            context = conn.execute("INSERT INTO ai_contexts (nest_created_at, nest_updated_at, content, entity_type_id, "
                                   "entity_id, source) VALUES (now(), now(), %s, %s, %s, %s) RETURNING id",
                                   (content, kind_id, pk, f"owasp_{kind}")).fetchone()[0]
            vectors = httpx_embed(server, "text-embedding-3-small", texts)
            rows[(kind, pk)] = [conn.execute(
                "INSERT INTO ai_chunks (nest_created_at, nest_updated_at, context_id, embedding, text) "
                "VALUES (now(), now(), %s, %s::vector, %s) RETURNING id", (context, str(v), t)).fetchone()[0]
                for t, v in zip(texts, vectors)]
    return rows


def test_nest_django_chunks_under_contexts_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """OWASP/Nest: a Django app in src layout whose ``ai_update_<entity>_chunks`` commands embed through a base class,
    settings read by django-configurations (``DJANGO_DB_*``), chunks inline in ``ai_chunks`` (NOT NULL vector(1536),
    no index) under an ``ai_contexts`` row per entity, tables built from its ten migrations. Then chunks gone wrong:
    verify names exactly those rows, ``backfill --keys-from`` repairs them."""
    app = Source.of("OWASP__Nest").checkout("backend", tmp_path / "app", only=NEST_CHECKOUT)
    rows = load_nest(empty_db, server, app)
    assert all(len(r) > 1 for r in rows.values()), rows  # each entity's text cut by the app's own splitter (200/20)
    total = sum(len(r) for r in rows.values())

    def engine(text: str) -> str:
        # the commands need Django, Nest's other apps and OpenAI's /v1/embeddings: the user runs the engine instead
        return re.sub(r"\n  (?:command|workdir):[^\n]*|\n  env:[^\n]*(?:\n    [^\n]*)*", "", text)

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "ai_chunks", edit=engine)
    located = trial.locate.json
    assert ("src/apps/ai/models/chunk.py", "ai_chunks", "embedding", 1536) in {
        (d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]}
    commands = {e["command"]: e for e in located["entrypoints"]}
    # The commands hold only a subclass; the base class they import embeds (none was listed; `make backend-data-index`,
    # an Algolia reindex, was the best). The agent's `--query` embeds a question: no backfill (it was the best next).
    assert located["best_entrypoint"] == "python manage.py ai_update_chapter_chunks", list(commands)
    assert {f"python manage.py ai_update_{e}_chunks" for e in ("chapter", "project", "slack_message")} <= set(commands)
    assert not commands["python manage.py ai_run_agentic_rag"]["may_embed"]
    # Its settings under src/ (manage.py's sys.path), read through django-configurations: DJANGO_ + environ_name.
    contract = commands["python manage.py ai_update_chapter_chunks"]["contract"]
    assert "src/settings/base.py" in contract["files"] and "src/apps/ai/common/utils.py" in contract["files"]
    assert {n: contract["backfill_env"][n] for n in ("DJANGO_DB_NAME", "DJANGO_DB_HOST", "DJANGO_DB_PASSWORD")} == {
        "DJANGO_DB_NAME": "{database_name}", "DJANGO_DB_HOST": "{database_host}",
        "DJANGO_DB_PASSWORD": "{database_password}"}, contract
    assert contract["hardcoded_urls"] == [], contract  # SITE_URL and the frontend's ALLOWED_ORIGINS are the app's own
    drafted = trial.init.json["profile"]
    assert trial.init.json["todo"] == [], drafted
    assert 'command: "python manage.py ai_update_chapter_chunks"' in drafted and 'DJANGO_DB_PORT: "{database_port}"' in drafted
    # each command fills one entity type's chunks of the one table: its five siblings are named beside it
    alike = next(line for line in drafted.splitlines() if "# ranked alike" in line).split("): ", 1)[1].split(", ")
    assert alike == [f"python manage.py ai_update_{e}_chunks" for e in ("committee", "event", "project", "repository",
                                                                         "slack_message")], alike
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["provider"]["model"], raw["chunks"]["table"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["chunks"]["collection_name"], raw["distance"]) == (
        "text-embedding-3-small", "ai_chunks", "text", "embedding", "ai_chunks", "cosine"), drafted
    assert "app_label" not in drafted  # every content type is 'owasp': chapters and projects were one collection
    assert "3000" not in drafted
    assert trial.scope.json["counts"]["chunks"] == total, trial.scope.out
    assert_whole_procedure_ok(trial, empty_db, "ai_chunks", "embedding", total, needed=0)

    # Gone wrong: a chunk's text edited after its vector, another model's vector (reversed: the column is NOT NULL,
    # none is lost), two chunks of one chapter holding each other's, a chapter's chunk swapped with a project's.
    edited, reversed_, a, b = rows[("chapter", 11)][0], rows[("project", 21)][1], *rows[("chapter", 12)][:2]
    chapter, project = rows[("chapter", 11)][1], rows[("project", 22)][0]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE ai_chunks SET text = text || ' (edited)' WHERE id = %s", (edited,))
        conn.execute("UPDATE ai_chunks SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (reversed_,))
        conn.execute("UPDATE ai_chunks d SET embedding = o.embedding FROM ai_chunks o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s), (%s, %s), (%s, %s))",
                     (a, b, b, a, chapter, project, project, chapter))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "ai_chunks")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    assert offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")["recompute"] == {
        edited, reversed_, a, b, chapter, project}
    fixed = cli("backfill", *target, "--keys-from", tmp_path / "damaged" / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 6, fixed.out + fixed.err
    assert not [c for c, status in checked_again(trial.profile, env, "ai_chunks").items() if status == "failed"]


# -- AgentF/cortex: NestJS + TypeORM (synchronize, no migrations), the ollama client, the first chunk with its title --

CORTEX_ENTITIES = "apps/api/src/modules/documents/entities/"
# What TypeORM 0.3.28's schema builder makes of the two entities (`createSchemaBuilder().log()`, run once by hand over
# the app's own entity files against an empty database; its constraint names and uuid_generate_v4() aside).
CORTEX_TYPEORM_DDL = (
    'CREATE TABLE "document_chunks" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "content" text NOT NULL, '
    '"chunkIndex" integer NOT NULL, "embedding" vector(768) NOT NULL, "documentId" uuid NOT NULL, PRIMARY KEY ("id"));'
    'CREATE TABLE "documents" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "title" character varying NOT NULL, '
    '"content" text NOT NULL, "createdAt" TIMESTAMP NOT NULL DEFAULT now(), "updatedAt" TIMESTAMP NOT NULL DEFAULT '
    'now(), PRIMARY KEY ("id"));'
    'ALTER TABLE "document_chunks" ADD FOREIGN KEY ("documentId") REFERENCES "documents"("id") ON DELETE CASCADE '
    'ON UPDATE NO ACTION;')


def typeorm_ddl(entities: list[str]) -> str:
    """What TypeORM's synchronize creates for entity files using these decorators (Entity, PrimaryGeneratedColumn
    uuid, Column of text/int/uuid/vector or a string property, Create/UpdateDateColumn, ManyToOne + JoinColumn), in its
    order: each table (non-relation properties as declared), then the foreign keys. uuid-ossp is stood in for."""
    tables, keys = [], []
    by_class = {m.group(2): m.group(1) for e in entities for m in [re.search(r"@Entity\('(\w+)'\)\s*export class (\w+)", e)]}
    for entity in entities:
        table = re.search(r"@Entity\('(\w+)'\)", entity).group(1)
        columns = []
        for deco, args, prop in re.findall(r"@(\w+)\(((?:[^()]|\([^()]*\))*)\)\s*(\w+)[!?]?:", entity):
            if deco == "PrimaryGeneratedColumn":
                columns.append(f'"{prop}" uuid NOT NULL DEFAULT gen_random_uuid()')
            elif deco in ("CreateDateColumn", "UpdateDateColumn"):
                columns.append(f'"{prop}" TIMESTAMP NOT NULL DEFAULT now()')
            elif deco == "Column":
                kind = (re.search(r"type:\s*'(\w+)'|^'(\w+)'", args.strip()) or [None, None, None])
                kind = next((k for k in (kind[1], kind[2]) if k), "varchar")
                length = re.search(r"length:\s*(\d+)", args)
                sqltype = {"text": "text", "int": "integer", "uuid": "uuid", "varchar": "character varying",
                           "vector": f"vector({length.group(1) if length else ''})"}[kind]
                columns.append(f'"{prop}" {sqltype}' + ("" if "nullable: true" in args else " NOT NULL"))
            elif deco == "JoinColumn":
                target = re.search(r"@ManyToOne\(\(\) => (\w+).*?onDelete: '(\w+)'", entity, re.S)
                name = re.search(r"name:\s*'(\w+)'", args).group(1)
                keys.append(f'ALTER TABLE "{table}" ADD FOREIGN KEY ("{name}") REFERENCES "{by_class[target.group(1)]}"'
                            f'("id") ON DELETE {target.group(2)} ON UPDATE NO ACTION;')
        tables.append(f'CREATE TABLE "{table}" ({", ".join(columns)}, PRIMARY KEY ("id"));')
    return "".join(sorted(tables)) + "".join(keys)


def load_cortex(db, server, app: Path, count: int = 6) -> dict[str, list[str]]:
    """Documents as ``DocumentsService.create`` saves them (the app's own devlog as their content, each heading its
    title), then ``ingestDocument``: the content split on blank lines, each paragraph embedded through
    ``ollama.embeddings({ model: 'nomic-embed-text-v2-moe', prompt })`` (``/api/embeddings``), the first one with the
    document's title and a newline before it, a row per paragraph. The database makes the app's uuids at random; here
    each chunk's is the uuid5 of its file and index, so that the rows the draft reads first are the same at each run.
    Returns each document's chunk ids in order."""
    import uuid

    import httpx

    chunks: dict[str, list[str]] = {}
    with db.connect(autocommit=True) as conn:
        for path in sorted((app / "docs/devlog").glob("*.md"))[:count]:
            content = path.read_text()
            title = content.splitlines()[0].lstrip("# ").strip()
            doc = conn.execute("INSERT INTO documents (title, content) VALUES (%s, %s) RETURNING id::text",
                               (title, content)).fetchone()[0]
            paragraphs = [p for p in re.split(r"\n\s*\n", content) if p.strip()]
            for index, text in enumerate(paragraphs):
                prompt = f"{title}\n{text}" if index == 0 else text
                vector = httpx.post(f"{server.url}/api/embeddings", json={
                    "model": "nomic-embed-text-v2-moe", "prompt": prompt}).json()["embedding"]
                key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{path.name}#{index}"))
                chunks.setdefault(doc, []).append(conn.execute(
                    'INSERT INTO document_chunks (id, content, "chunkIndex", embedding, "documentId") '
                    "VALUES (%s, %s, %s, %s::vector, %s) RETURNING id::text", (key, text, index, str(vector), doc)).fetchone()[0])
    return chunks


def test_cortex_typeorm_chunks_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """AgentF/cortex: a NestJS API whose TypeORM entities (synchronize, no migrations) hold `document_chunks.embedding
    vector(768) NOT NULL` under `documents`; the ollama client's `embeddings` with a class field's model
    (`nomic-embed-text-v2-moe`) at a hard-coded host; the search a query builder's `<=>` fragments; the first chunk of
    a document embedded with the document's title before it. locate, profile init, scope, plan, run --engine (no
    command embeds: the ingest is the API's), verify; the user's one edit (what the app embeds); then rows gone wrong
    are named and repaired."""
    app = Source.of("AgentF__cortex").checkout("", tmp_path / "app", only=("apps/api/", "docs/", "docker/", "README.md"))
    entities = [(app / CORTEX_ENTITIES / f).read_text() for f in ("document-chunk.entity.ts", "document.entity.ts")]
    assert typeorm_ddl(entities) == CORTEX_TYPEORM_DDL
    empty_db.execute(CORTEX_TYPEORM_DDL)
    chunks = load_cortex(empty_db, server, app)
    total = sum(len(c) for c in chunks.values())
    assert len(chunks) == 6 and total == 76, total

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "document_chunks", plan=True)
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        (CORTEX_ENTITIES + "document-chunk.entity.ts", "document_chunks", "embedding", 768)]
    # the model of a class field read as `this.EMBEDDING_MODEL` (none was read: the draft's model was TODO, saying the
    # embedder reads $EMBEDDING_MODEL, a variable the app never reads)
    assert [(c["name"], c["model"], c["model_env"], c["url"]) for c in located["embedding_calls"]] == [
        ("ollama.embeddings", "nomic-embed-text-v2-moe", None, "http://127.0.0.1:11434")]
    # the query builder's fragments on the chunk repository's alias (none was found: the draft's cosine was a guess)
    assert [(d["path"].rsplit("/", 1)[-1], d["table"], d["column"], d["distance"], d["kind"])
            for d in located["distances"]] == [("documents.service.ts", "document_chunks", "embedding", "cosine",
                                                "typeorm")] * 2
    assert located["entrypoints"] == [] or not any(e["may_embed"] for e in located["entrypoints"])
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "document_chunks", "id", "content", "embedding", "nomic-embed-text-v2-moe", 768, "cosine"), drafted
    assert "the distance the application's code searches document_chunks.embedding with (<=> at " in drafted, drafted
    # of the 5 rows the draft reads, content reproduces 4; the fifth, a first chunk, reproduces with its document's
    # title before it, and the draft says so (it said only `4 of the 5 rows read`); hash-embed tells no separator apart
    assert "0438e957-0cb8-5153-9f85-ff47784bbf4e" in {c[0] for c in chunks.values()}
    assert ("reproduces the stored vectors of 4 of the 5 rows read; the other 1 "
                      "(0438e957-0cb8-5153-9f85-ff47784bbf4e) reproduce with documents.title (through "
                      "document_chunks.documentId) joined before content by ' ': the application embeds that for some "
                      "rows; chunks.text can say which with an expression, the title being {(SELECT p.title FROM "
                      'public.documents p WHERE p.id = "documentId")}') in drafted, drafted
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 0, trial.scope.out
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert trial.run.code == 0, trial.run.out + trial.run.err
    # As drafted, recompute fails, truthfully, on exactly each document's first chunk: the app embedded its title too.
    firsts = {c[0] for c in chunks.values()}
    assert trial.verify.code == 1
    assert offenders_by_check(tmp_path / "first" / "run" / "offenders.jsonl")["recompute"] == firsts

    # The user's one edit says what ingestDocument embeds; verify and record are then ok.
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    trial.profile.write_text(drafted.replace("\n  text: content", '\n  text: "{CASE WHEN \\"chunkIndex\\" = 0 THEN '
                                             '(SELECT d.title FROM documents d WHERE d.id = \\"documentId\\") || chr(10) '
                                             '|| content ELSE content END}"', 1))
    target = ("--profile", trial.profile, "--collection", "document_chunks")
    assert cli("verify", *target, "--run-dir", tmp_path / "first" / "run", "--json", env=env).code == 0
    recorded = cli("record", *target, "--run-dir", tmp_path / "first" / "run", "--historylog", tmp_path / "historylog.md",
                   "--repo", app, "--json", env=env)
    assert recorded.code == 0, recorded.out + recorded.err

    # Gone wrong (NOT NULL: no vector is lost): a paragraph edited, a vector reversed, two chunks holding each other's,
    # a document's title edited (its first chunk's input, in another table). verify names exactly those chunks.
    docs = list(chunks)
    edited, reversed_, (a, b), retitled = chunks[docs[0]][2], chunks[docs[1]][1], chunks[docs[2]][1:3], docs[3]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE document_chunks SET content = content || ' (edited)' WHERE id = %s::uuid", (edited,))
        conn.execute("UPDATE document_chunks SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s::uuid", (reversed_,))
        conn.execute("UPDATE document_chunks d SET embedding = o.embedding FROM document_chunks o "
                     "WHERE (d.id, o.id) IN ((%s::uuid, %s::uuid), (%s::uuid, %s::uuid))", (a, b, b, a))
        conn.execute("UPDATE documents SET title = title || ' (renamed)' WHERE id = %s::uuid", (retitled,))
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_, a, b, chunks[retitled][0]}, offenders
    # a is a `## Context` heading, a paragraph four other documents have: b now holds their vector under its own text
    assert offenders.pop("distinct_vectors") == {b}, offenders
    assert offenders == {"recompute": {edited, reversed_, a, b, chunks[retitled][0]}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)
    assert empty_db.scalar("SELECT count(*) FROM document_chunks") == total


# -- abhayishere/Recallr: Go, pgx + pgvector-go, a cobra CLI whose `ingest` posts to Ollama's /api/embed -------------

RECALLR_MODEL = "bge-m3"  # .vscode/launch.json's OLLAMA_MODEL_EMB


@pytest.fixture(scope="module")
def recallr_server():
    """`bge-m3` served alone: beside the module's server's mxbai-embed-large (same dimension) catsight's draft would
    find two of its embedders' models served at 1024 and name neither."""
    alone = EmbeddingServer(models=["hash-embed:1024"], aliases={RECALLR_MODEL: "hash-embed:1024"}).start()
    try:
        yield alone
    finally:
        alone.stop()


def recallr_chunks(text: str, target: int = 1200, overlap: int = 200) -> list[str]:
    """chunk.SplitByParagraph(raw, 1200, 200): paragraphs at blank lines, joined with "\\n" while the runes stay
    within ``target``; past it the chunk is kept and the next starts with its last ``overlap`` runes (a chunk no longer
    than that is carried on as it is, the paragraph dropped: the app's own branch, kept)."""
    paragraphs, lines = [], []
    for line in text.split("\n"):
        if line.strip():
            lines.append(line)
        elif lines:
            paragraphs, lines = [*paragraphs, "\n".join(lines)], []
    paragraphs += ["\n".join(lines)] if lines else []
    if not paragraphs and text.strip():
        paragraphs = [text.strip()]
    chunks, current = [], ""
    for paragraph in paragraphs:
        if not current:
            current = paragraph
        elif len(current) + 1 + len(paragraph) > target:
            chunks.append(current)
            if len(current) > overlap:
                current = current[-overlap:] + "\n" + paragraph
        else:
            current += "\n" + paragraph
    return [*chunks, current] if current else chunks


def load_recallr(db, server, docs: dict[str, str]) -> dict[str, list[str]]:
    """`recallr ingest` (rag.IngestAllDocs): each .txt of the folder in name order, a `notes` row (title, raw_text,
    source_path), its chunks embedded in one `POST /api/embed {model, prompt: "", stream: false, input: chunks}` and
    inserted one by one as `note_chunks (note_id, idx, content, embedding)`. Returns each file's chunk ids in order."""
    import httpx

    ids: dict[str, list[str]] = {}
    with db.connect(autocommit=True) as conn:
        for name in sorted(docs):
            note = conn.execute("INSERT INTO notes (id, title, raw_text, source_path) VALUES (gen_random_uuid(), %s, "
                                "%s, %s) RETURNING id", (name, docs[name], f"doc/{name}")).fetchone()[0]
            chunks = recallr_chunks(docs[name]) or [docs[name]]
            vectors = httpx.post(f"{server.url}/api/embed", json={"model": RECALLR_MODEL, "prompt": "", "stream": False,
                                                                  "input": chunks}).json()["embeddings"]
            ids[name] = [str(conn.execute("INSERT INTO note_chunks (note_id, idx, content, embedding) VALUES "
                                          "(%s, %s, %s, %s::vector) RETURNING id", (note, i, c, str(v))).fetchone()[0])
                         for i, (c, v) in enumerate(zip(chunks, vectors))]
    return ids


def test_recallr_go_cobra_ingest_located_drafted_backfilled_and_repaired(cli, empty_db, recallr_server, tmp_path):
    """abhayishere/Recallr: a Go app (pgx, pgvector-go) whose cobra CLI `go run ./cmd/recallr ingest` cuts each
    doc/*.txt into chunks and posts them to Ollama's /api/embed through its own HTTP client, the model and URL read
    from OLLAMA_MODEL_EMB and OLLAMA_BASE_URL_EMB into the client's fields (the chat client beside it reads
    OLLAMA_MODEL), set only in .vscode/launch.json; `note_chunks.embedding vector(1024) NOT NULL` under `notes`, from
    its one SQL migration. locate, profile init, scope, plan, run --engine (no Go toolchain here), verify, record;
    then chunks gone wrong are named and repaired."""
    app = Source.of("abhayishere__Recallr").checkout("", tmp_path / "app")
    for path, said in (("internal/emb/embeddings.go", 'Model:      os.Getenv("OLLAMA_MODEL_EMB")'),
                       ("internal/rag/ingest.go", "chunk.SplitByParagraph(raw, 1200, 200)"),
                       ("internal/rag/ingest.go", "INSERT INTO note_chunks (note_id, idx, content, embedding)"),
                       ("cmd/recallr/ingest.go", "emb.NewOllama(1024)"),
                       (".vscode/launch.json", f'"OLLAMA_MODEL_EMB":"{RECALLR_MODEL}"')):
        assert said in (app / path).read_text(), (path, said)  # load_recallr writes what these files say
    empty_db.execute((app / "migrations/001_init.sql").read_text())  # `make migrate` with its default 1024
    # its own notes, and its README as a longer one
    ids = load_recallr(empty_db, recallr_server, {"notes.txt": (app / "doc/notes.txt").read_text(),
                                                  "readme.txt": (app / "README.md").read_text()})
    total = sum(len(v) for v in ids.values())
    assert [len(v) for v in ids.values()] == [3, 6], ids

    trial = procedure(cli, empty_db, recallr_server, app, tmp_path / "first", "note_chunks", plan=True)
    located = trial.locate.json
    assert [(d["path"], d["line"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("migrations/001_init.sql", 24, "note_chunks", "embedding", 1024)]
    # the client's fields, filled from the environment by its constructor (until this trial: neither; the draft's
    # TODO said the embedder read $OLLAMA_MODEL, the chat client's)
    assert [(c["path"], c["line"], c["kind"], c["model"], c["model_env"], c["url_env"])
            for c in located["embedding_calls"]] == [
        ("internal/emb/embeddings.go", 48, "ollama-http", None, "OLLAMA_MODEL_EMB", "OLLAMA_BASE_URL_EMB")]
    # the cobra subcommand in cmd/recallr/ingest.go (until this trial: no entrypoint), its contract read through the
    # module's packages it imports (until this trial: unknown, "cannot read what 'go' runs")
    assert located["best_entrypoint"] == "go run ./cmd/recallr ingest", located["entrypoints"]
    [entry] = located["entrypoints"]
    assert entry["contract"]["known"] and "internal/emb/embeddings.go" in entry["contract"]["files"], entry
    # the model goes to the embedder's OLLAMA_MODEL_EMB (until this trial: to the chat client's OLLAMA_MODEL)
    assert entry["contract"]["backfill_env"] == {"OLLAMA_BASE_URL": "{provider_url}", "DATABASE_URL": "{database_url}",
                                                 "OLLAMA_BASE_URL_EMB": "{provider_url}",
                                                 "OLLAMA_MODEL_EMB": "{model}"}, entry["contract"]
    # cobra's flags (until this trial: none read, and `--api`'s default, http://localhost:11434, was a hard-coded
    # address the draft said to serve "or change the code")
    assert entry["contract"]["flags"] == ["--dir", "--api"] and entry["contract"]["hardcoded_urls"] == [], entry
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"]) == (
        "note_chunks", "id", "content", "embedding", RECALLR_MODEL, 1024, "cosine"), drafted
    # the model from its launch configuration (until this trial: TODO, the file not read as settings)
    assert ".vscode/launch.json:18 sets $OLLAMA_MODEL_EMB to bge-m3" in drafted, drafted
    # the index is cosine, the search l2: both said
    assert "l2 (<-> at internal/rag/retrieve.go:19)" in drafted, drafted
    assert "hard-codes" not in drafted, drafted
    assert trial.scope.code == 0, trial.scope.out + trial.scope.err
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "note_chunks", "embedding", total, needed=0)

    # Gone wrong (the column is NOT NULL: none is lost): a chunk's text edited after its vector, another model's
    # vector (reversed), a chunk of the notes and one of the README holding each other's.
    edited, reversed_, mine, theirs = ids["readme.txt"][1], ids["readme.txt"][3], ids["notes.txt"][0], ids["readme.txt"][5]
    damage_inline(empty_db, "note_chunks", "content", edited=edited, reversed_=reversed_, swapped=(mine, theirs))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": recallr_server.url}
    target = ("--profile", trial.profile, "--collection", "note_chunks")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_, mine, theirs}, offenders
    # the edit adds a word to a chunk of 1,148 characters: named since the other rows reproduce exactly (with most rows
    # off, the bound is 0.99 and it passed: a damage round of 6 of 9 rows left it unnamed)
    assert damaged.code == 1 and offenders == {"recompute": {edited, reversed_, mine, theirs}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=4)
    assert empty_db.scalar("SELECT count(*) FROM note_chunks") == total


# -- gapor94/php-rag-symfony-example: Symfony + Doctrine, courses embedded as PHP json_encode documents --------------

SYMFONY_RAG_MODEL = "nomic-embed-text"


def php_json_encode(value) -> str:
    """PHP's json_encode with its default flags: no spaces, every non-ASCII character a lower-case \\uXXXX escape,
    and `/` escaped as `\\/`."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def course_document(c: dict) -> str:
    """What ImportCoursesCommand embeds for a course of resources/courses.json."""
    return php_json_encode({"id": c["id"], "name": c["name"], "summary": c["summary"], "categories": c["categories"],
                            "publishedAt": c["published_at"]})


def load_courses(db, server, app: Path, count: int) -> list[str]:
    """ImportCoursesCommand::execute for the first ``count`` courses of resources/courses.json: the course's PHP JSON
    document embedded through `{url}/embed` (NeuronAI's OllamaEmbeddingsProvider), the row persisted with its vector.
    Returns the keys, in order."""
    courses = json.loads((app / "resources/courses.json").read_text())[:count]
    with db.connect(autocommit=True) as conn:
        for c in courses:
            [vector] = httpx_embed(server, SYMFONY_RAG_MODEL, [course_document(c)])
            conn.execute("INSERT INTO mooc.courses (id, name, summary, categories, published_at, embedding) "
                         "VALUES (%s, %s, %s, %s, %s, %s::vector)",
                         (c["id"], c["name"], c["summary"], json.dumps(c["categories"]), c["published_at"], str(vector)))
    return [c["id"] for c in courses]


def test_symfony_rag_courses_located_drafted_backfilled_verified_and_repaired(cli, empty_db, server, tmp_path):
    """gapor94/php-rag-symfony-example: a Symfony app whose `mooc.courses` (its own SQL, the vector inline beside the
    course's columns, keys the course's own code) is filled by `app:import-courses`, which embeds each course's PHP
    `json_encode` document through NeuronAI's OllamaEmbeddingsProvider, a service config/services.yaml builds from
    `%env(OLLAMA_MODEL)%` and `%env(OLLAMA_URL)%` (`.env`: nomic-embed-text, `http://...:11434/api`). locate, profile
    init (the document measured on the stored vectors), scope, plan, run --engine (no PHP here), verify, record; then
    courses gone wrong are named row by row and repaired."""
    app = Source.of("gapor94__php-rag-symfony-example").checkout("", tmp_path / "app")
    for path, said in (("src/Command/ImportCoursesCommand.php", "$content = json_encode(["),
                       ("src/Command/ImportCoursesCommand.php", "'publishedAt' => $data['published_at'],"),
                       ("src/Command/ImportCoursesCommand.php", "$this->ollama->embedDocument($document)"),
                       ("config/services.yaml", "app.ollama_model: '%env(OLLAMA_MODEL)%'"),
                       (".env", "OLLAMA_MODEL=nomic-embed-text")):
        assert said in (app / path).read_text(), (path, said)  # load_courses does what these files say
    for sql in ("databases/0-enable-pgvector.sql", "databases/1-mooc.sql"):
        empty_db.execute((app / sql).read_text())
    keys = load_courses(empty_db, server, app, 24)
    empty_db.execute("UPDATE mooc.courses SET embedding = NULL WHERE id = ANY(%s)", (keys[-3:],))  # lost in a restore

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "courses", plan=True)
    located = trial.locate.json
    # the Doctrine entity's mapping beside the SQL (until this trial: the SQL only)
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("src/Entity/Course.php", "mooc.courses", "embedding", 768),
        ("databases/1-mooc.sql", "mooc.courses", "embedding", 768)], located["declarations"]
    # the provider the container builds (until this trial: no embedding call, and the draft's model TODO)
    assert [(c["path"], c["kind"], c["model_env"], c["url_env"]) for c in located["embedding_calls"]] == [
        ("config/services.yaml", "ollama-config", "OLLAMA_MODEL", "OLLAMA_URL")], located["embedding_calls"]
    # its console command, read through the container's configuration (until this trial: no entrypoint), is an
    # importer: the draft leaves it out, with the env it would need said (OLLAMA_URL under Ollama's /api)
    [entry] = located["entrypoints"]
    assert (entry["command"], entry["kind"]) == ("php bin/console app:import-courses", "symfony-command"), entry
    assert entry["contract"]["backfill_env"] == {"DATABASE_URL": "{database_url}", "OLLAMA_URL": "{provider_url}/api",
                                                 "OLLAMA_MODEL": "{model}"}, entry["contract"]
    assert entry["contract"]["adds_only"].startswith("it only adds rows (->persist at src/Command/"), entry["contract"]
    assert trial.init.json["todo"] == [], trial.init.out
    raw = yaml.safe_load(trial.profile.read_text())
    assert (raw["provider"]["model"], raw["provider"]["dimensions"], raw["chunks"]["schema"], raw["chunks"]["table"],
            raw["embeddings"]["vector"]) == (SYMFONY_RAG_MODEL, 768, "mooc", "courses", "embedding"), raw
    assert raw["backfill"] is None and '# command: "php bin/console app:import-courses"' in trial.profile.read_text(), \
        trial.profile.read_text()
    # the server OLLAMA_URL points at is the provider, not OLLAMA_URL's value itself (it ends in /api)
    assert "set OLLAMA_HOST to the server it is given (scheme, host and port" in trial.profile.read_text()
    # the document the importer embeds, json_encode's spelling (the repository's search writes the same one), measured
    # on the stored vectors (until this trial: `text: summary`, "not measured"; the engine filled lost vectors with the
    # summary, verify failed the app's own, and no profile key could say the document)
    assert ("src/Command/ImportCoursesCommand.php", 49, "php") in {
        (d["path"], d["line"], d["style"]) for d in located["json_documents"]}, located["json_documents"]
    assert (raw["chunks"]["text"], raw["chunks"]["text_json"]) == (
        ["id", "name", "summary", "categories", {"publishedAt": "published_at"}], "php"), trial.profile.read_text()
    assert "measured: nomic-embed-text re-embedding the JSON document" in trial.profile.read_text()
    assert_whole_procedure_ok(trial, empty_db, "mooc.courses", "embedding", len(keys), needed=3)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "courses")
    # the engine's vectors are the app's own: each of the 3 refilled equals what the importer embeds for it
    courses = {c["id"]: c for c in json.loads((app / "resources/courses.json").read_text())}
    for key in keys[-3:]:
        [app_vector] = httpx_embed(server, SYMFONY_RAG_MODEL, [course_document(courses[key])])
        stored = [float(x) for x in empty_db.scalar("SELECT embedding::text FROM mooc.courses WHERE id = %s",
                                                    (key,)).strip("[]").split(",")]
        assert max(abs(a - b) for a, b in zip(stored, app_vector, strict=True)) < 1e-5, key

    # Gone wrong: a summary edited after its vector, a vector reversed, two courses holding each other's, one lost.
    damage_inline(empty_db, "mooc.courses", "summary", edited=keys[0], reversed_=keys[1], swapped=(keys[2], keys[3]),
                  gone=keys[4])
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= set(keys[:4]), offenders
    assert damaged.code == 1 and offenders == {"recompute": set(keys[:4]), "coverage": {keys[4]}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)


# -- james-see/ragtag4: Go, pgx + pgvector-go, a gin server embedding through Ollama's own Go client (ollama/api) ----

RAGTAG_MODEL = "llama3.1"  # generateEmbedding's api.EmbedRequest{Model: "llama3.1"}
RAGTAG_DOCS = {  # title: text, as `POST /add_document {title, doc_text}` would carry them
    "Coffee shop": "INT. COFFEE SHOP - DAY\n\nJANE, 30s, sits at a corner table, typing furiously on her laptop.",
    "Rooftop": "EXT. ROOFTOP - NIGHT\n\nJOHN looks over the city. Sirens far below. He lights a cigarette.",
    "Diner": "INT. DINER - MORNING\n\nA WAITRESS pours coffee for two strangers who will not look at each other.",
    "Train": "INT. TRAIN CAR - DUSK\n\nThe lights flicker. MARIA counts the stops under her breath, eyes closed.",
    "Garage": "INT. GARAGE - LATE\n\nTwo brothers argue over an engine neither of them knows how to fix.",
}


@pytest.fixture(scope="module")
def ragtag_server():
    """`llama3.1` served alone, at its 4,096 dimensions."""
    alone = EmbeddingServer(models=["hash-embed:4096"], aliases={RAGTAG_MODEL: "hash-embed:4096"}).start()
    try:
        yield alone
    finally:
        alone.stop()


def load_ragtag(db, server, docs: dict[str, str]) -> list[int]:
    """`POST /add_document` per document: generateEmbedding(text) (`client.Embed` of `api.EmbedRequest{Model:
    "llama3.1", Input: text}`: `/api/embed`), then insertItem: `INSERT INTO items (title, doc, embedding)` with
    `doc = title + " " + text`. Returns the ids, in order."""
    with db.connect(autocommit=True) as conn:
        return [conn.execute("INSERT INTO items (title, doc, embedding) VALUES (%s, %s, %s::vector) RETURNING id",
                             (title, title + " " + text, str(httpx_embed(server, RAGTAG_MODEL, [text])[0])))
                .fetchone()[0] for title, text in docs.items()]


def test_ragtag4_go_ollama_client_located_drafted_verified_and_repaired(cli, empty_db, ragtag_server, tmp_path):
    """james-see/ragtag4: a Go gin server (pgx, pgvector-go) embedding each posted document through Ollama's own Go
    client (`api.NewClient(url.Parse(fmt.Sprintf("http://%s:11434", $OLLAMA_HOST)), ...).Embed(ctx,
    &api.EmbedRequest{Model: "llama3.1", ...})`) into `items.embedding vector(4096)` from init-db.sql; the row's `doc`
    is the title and the text, the text alone embedded. locate, profile init, scope, plan, run --engine, verify: the
    app's own vectors are named, none reproducing from what its rows hold; re-embedded from what the rows hold; then
    documents gone wrong are named, repaired, verified and recorded."""
    app = Source.of("james-see__ragtag4").checkout("", tmp_path / "app")
    main_go = (app / "main.go").read_text()
    for said in ('Model: "llama3.1", // Ensure this is an embedding-capable model',
                 'combinedText := title + " " + docText',
                 '"INSERT INTO items (title, doc, embedding) VALUES ($1, $2, $3)"'):
        assert said in main_go, said  # load_ragtag writes what main.go says
    empty_db.execute((app / "init-db.sql").read_text())  # as the database container's initdb runs it
    ids = load_ragtag(empty_db, ragtag_server, RAGTAG_DOCS)

    trial = procedure(cli, empty_db, ragtag_server, app, tmp_path / "first", "items", plan=True)
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("init-db.sql", "items", "embedding", 4096)], located["declarations"]
    # Ollama's own Go client (until this trial: no embedding call, and the draft's provider.model TODO)
    assert [(c["path"], c["line"], c["kind"], c["model"], c["model_env"], c["url_env"])
            for c in located["embedding_calls"]] == [
        ("main.go", 59, "ollama-client", RAGTAG_MODEL, None, "OLLAMA_HOST")], located["embedding_calls"]
    # `fmt.Sprintf("http://%s:11434", ollamaHost)` (until this trial: three settings `url: s:11434`)
    assert not [s for s in located["settings"] if s["name"] == "url" and s["path"] == "main.go"], located["settings"]
    assert located["entrypoints"] == [], located["entrypoints"]  # a server, which only adds what is posted to it
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["provider"]["model"], raw["provider"]["dimensions"], raw["chunks"]["table"], raw["chunks"]["text"],
            raw["embeddings"]["vector"], raw["distance"], raw["backfill"]) == (
        RAGTAG_MODEL, 4096, "items", "doc", "embedding", "l2", None), drafted
    # the draft says no column reproduces the stored vectors: the app embedded the text before prefixing the title
    assert "not measured: no column of doc, title, alone or two joined, re-embedded with llama3.1 reproduces" in drafted
    assert trial.scope.code == 0 and trial.scope.json["counts"]["needed"] == 0, trial.scope.out
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert trial.run.code == 0, trial.run.out + trial.run.err
    # no false ok: every one of the app's own vectors is named, none being of what its row holds
    first = tmp_path / "first" / "run"
    assert trial.verify.code == 1, trial.verify.out
    assert offenders_by_check(first / "offenders.jsonl") == {"recompute": set(ids)}
    # the user's choice: the rows re-embedded from what they hold (the title and the text), as the engine fills them
    # (verified with the damage round's repair below: a verify here costs seconds)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": ragtag_server.url}
    target = ("--profile", trial.profile, "--collection", "items")
    fixed = cli("backfill", *target, "--keys-from", first / "offenders.jsonl", "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == len(ids), fixed.out + fixed.err
    with empty_db.connect(autocommit=True) as conn:
        doc, vector = conn.execute("SELECT doc, embedding::text FROM items WHERE id = %s", (ids[0],)).fetchone()
    [wanted] = httpx_embed(ragtag_server, RAGTAG_MODEL, [doc])
    assert max(abs(a - b) for a, b in zip(map(float, vector.strip("[]").split(",")), wanted, strict=True)) < 1e-5

    # Gone wrong: a document edited after its vector, another model's vector (reversed), two documents holding each
    # other's, a lost one; and one the app adds afterwards (its text embedded without its title).
    damage_inline(empty_db, "items", "doc", edited=ids[0], reversed_=ids[1], swapped=(ids[2], ids[3]), gone=ids[4])
    [added] = load_ragtag(empty_db, ragtag_server, {"Pier": "EXT. PIER - DAWN\n\nGulls. A rowboat drifts in."})
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {*ids[:4], added}, offenders
    assert damaged.code == 1 and offenders == {"recompute": {*ids[:4], added}, "coverage": {ids[4]}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=6)
    assert empty_db.scalar("SELECT count(*) FROM items WHERE embedding IS NULL") == 0


# -- thomas-marquis/goLLMan: Go, GORM models (no SQL), Genkit's Mistral embedder, cobra ----------------------------

GOLLMAN_MODEL = "mistral-embed"  # cmd/root.go's defaultEmbeddingModel, "mistral/mistral-embed"
GOLLMAN_DDL = """
CREATE TABLE "books" ("id" bigserial, "title" text NOT NULL, "author" text NOT NULL,
    "selected" boolean NOT NULL DEFAULT false, "file_name" text, "metadata" jsonb, "status" text, PRIMARY KEY ("id"));
CREATE TABLE "book_parts" ("id" bigserial, "book_id" bigint NOT NULL, "content" text NOT NULL,
    "embedding" vector(1024) NOT NULL, PRIMARY KEY ("id"),
    CONSTRAINT "fk_book_parts_book" FOREIGN KEY ("book_id") REFERENCES "books"("id"));
"""  # what GORM's postgres dialect creates for orm.Book and orm.BookPart (MigrateUp's CreateTable)


@pytest.fixture(scope="module")
def gollman_server():
    """`mistral-embed` served alone, at its 1,024 dimensions."""
    alone = EmbeddingServer(models=["hash-embed:1024"], aliases={GOLLMAN_MODEL: "hash-embed:1024"}).start()
    try:
        yield alone
    finally:
        alone.stop()


def test_gollman_gorm_models_located_drafted_backfilled_and_repaired(cli, empty_db, gollman_server, tmp_path):
    """thomas-marquis/goLLMan: its tables only GORM models (`BookPart.Embedding pgvector.Vector
    \\`gorm:"type:vector(1024);not null"\\``: `book_parts`), searched through a GORM clause (`embedding <=> ?`), the
    book's parts embedded by Genkit's Mistral plugin (`mistral/mistral-embed`). locate, profile init (the model given,
    as the user reads it in cmd/root.go), scope, plan, run --engine, verify, record; then parts gone wrong."""
    app = Source.of("thomas-marquis__goLLMan").checkout("", tmp_path / "app")
    for path, said in (("internal/infrastructure/orm/book_part.go", 'Embedding pgvector.Vector `gorm:"type:vector(1024);not null"`'),
                       ("internal/infrastructure/orm/book_part.go", 'Content   string          `gorm:"not null"`'),
                       ("internal/infrastructure/orm/book.go", 'Selected bool   `gorm:"not null;default:false"`'),
                       ("internal/infrastructure/book_repository_pg.go", "parts[i] = orm.NewBookPart(book, content, vectors[i])"),
                       ("cmd/root.go", 'defaultEmbeddingModel  = "mistral/mistral-embed"')):
        assert said in (app / path).read_text(), (path, said)  # GOLLMAN_DDL and the rows are what these files say
    empty_db.execute(GOLLMAN_DDL)
    book = (app / "agent/testdata/book_like.md").read_text()
    # its paragraphs (a departure: not the app's markdown splitter), after the front matter
    parts = [p.strip() for p in book.split("---\n", 2)[2].split("\n\n") if p.strip()][:8]
    vectors = httpx_embed(gollman_server, GOLLMAN_MODEL, parts)
    with empty_db.connect(autocommit=True) as conn:
        book_id = conn.execute("INSERT INTO books (title, author, status) VALUES ('A Tale of Many Formats', 'J. Doe', "
                               "'indexed') RETURNING id").fetchone()[0]
        ids = [conn.execute("INSERT INTO book_parts (book_id, content, embedding) VALUES (%s, %s, %s::vector) "
                            "RETURNING id", (book_id, p, str(v))).fetchone()[0] for p, v in zip(parts, vectors)]
    assert len(ids) == 8

    trial = procedure(cli, empty_db, gollman_server, app, tmp_path / "first", "book_parts", model=GOLLMAN_MODEL,
                      plan=True)
    located = trial.locate.json
    # the GORM model (until this trial: `kind: sql`, no table, no column)
    assert [(d["path"], d["line"], d["kind"], d["table"], d["column"], d["dimensions"])
            for d in located["declarations"]] == [
        ("internal/infrastructure/orm/book_part.go", 13, "gorm", "book_parts", "embedding", 1024)], located
    # the search's GORM clause, on the model Find fills (until this trial: no distance)
    assert [(u["path"], u["line"], u["distance"], u["table"], u["column"]) for u in located["distances"]] == [
        ("internal/infrastructure/book_repository_pg.go", 215, "cosine", "book_parts", "embedding")], located
    # Genkit's embedder looked up by "provider/model" from viper's settings is not read: the model is given
    assert located["embedding_calls"] == [] and located["entrypoints"] == [], located
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"], raw["backfill"]) == (
        "book_parts", "id", "content", "embedding", GOLLMAN_MODEL, 1024, "cosine", None), drafted
    assert "measured: mistral-embed re-embedding content reproduces the stored vectors of 5 of the 5 rows" in drafted
    assert "(<=> at internal/infrastructure/book_repository_pg.go:215" in drafted, drafted
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "book_parts", "embedding", len(ids), needed=0)

    # Gone wrong (the column is NOT NULL: none is lost): a part edited after its vector, another model's vector
    # (reversed), two parts holding each other's.
    edited, reversed_, a, b = ids[1], ids[3], ids[5], ids[6]
    damage_inline(empty_db, "book_parts", "content", edited=edited, reversed_=reversed_, swapped=(a, b))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": gollman_server.url}
    target = ("--profile", trial.profile, "--collection", "book_parts")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_, a, b}, offenders
    assert damaged.code == 1 and offenders == {"recompute": {edited, reversed_, a, b}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=4)


# -- inigokintana/homelab-2-prod-ai-golden-path: pgai's vectorizer (SQL), a DB-side worker embedding through Ollama --

HOMELAB = "3-dapr-microservices-agents/2-injection-agent-web-dapr"
HOMELAB_PAGES = {  # url: text, as the spider's JSON carries them into dapr_web
    "https://docs.dapr.io/concepts/overview/": "Dapr is a portable, event-driven runtime that makes it easy for any "
    "developer to build resilient, stateless, and stateful applications that run on the cloud and edge.",
    "https://docs.dapr.io/concepts/building-blocks-concept/": "A building block is an HTTP or gRPC API that can be "
    "called from your code and uses one or more Dapr components.",
    "https://docs.dapr.io/concepts/components-concept/": "Dapr uses a modular design where functionality is delivered "
    "as a component. Each component has an interface definition.",
    "https://docs.dapr.io/concepts/dapr-services/sidecar/": "Dapr uses a sidecar architecture, running as a separate "
    "process or as a sidecar container alongside your application.",
    "https://docs.dapr.io/developing-applications/building-blocks/bindings/": "Using bindings, you can trigger your "
    "app with events coming in from external systems, or interface with external systems.",
}


def pgai_worker_once(dsn: str, ollama_host: str, monkeypatch) -> None:
    """pgai's own vectorizer worker, once (it drains every queue and exits), with OLLAMA_HOST set as the worker's
    deployment sets it (the vectorizer names no base_url)."""
    import asyncio
    import logging

    import structlog
    from pgai.vectorizer import Worker

    monkeypatch.setenv("OLLAMA_HOST", ollama_host)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(Worker(dsn, once=True).run())


def homelab_database(app: Path, db, server, monkeypatch) -> None:
    """The table as sql/create-table.sql makes it, pgai installed (`pgai install -d`, as the IaC scripts run it), the
    vectorizer as sql/create-vectorized-table.sql makes it (its CREATE EXTENSION lines left out: pgai >= 0.10 is no
    extension, and pgvectorscale is not installed here), the pages inserted as load-into-db-dapr.py inserts them, and
    pgai's worker run once."""
    import pgai

    db.execute((app / "sql/create-table.sql").read_text())
    pgai.install(db.dsn)
    vectorizer = "\n".join(line for line in (app / "sql/create-vectorized-table.sql").read_text().splitlines()
                           if not line.startswith("CREATE EXTENSION"))
    db.execute(vectorizer)
    with db.connect(autocommit=True) as conn:
        conn.execute("DELETE FROM dapr_web")  # load-into-db-dapr.py: `DELETE FROM {db_table};`, then the inserts
        for url, text in HOMELAB_PAGES.items():
            conn.execute("INSERT INTO dapr_web (url, text, lastupdate) VALUES (%s, %s, CURRENT_DATE)", (url, text))
    pgai_worker_once(db.dsn, server.url, monkeypatch)


def test_homelab_pgai_vectorizer_store_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path,
                                                                               monkeypatch):
    """inigokintana/homelab-2-prod-ai-golden-path's web-injection agent: `dapr_web` rows embedded by pgai's worker
    into `dapr_web_embeddings_store` as `ai.create_vectorizer(..., embedding => ai.embedding_ollama('all-minilm', 384),
    destination => ai.destination_table(target_table => ..., view_name => ...))` says: no DDL of the store, no
    embedding call in the code. locate, profile init, scope, plan, run --engine, verify, record; then chunks gone
    wrong, named and repaired."""
    app = Source.of("inigokintana__homelab-2-prod-ai-golden-path").checkout(HOMELAB, tmp_path / "app")
    homelab_database(app, empty_db, server, monkeypatch)
    chunks = empty_db.scalar("SELECT count(*) FROM dapr_web_embeddings_store")
    assert chunks == len(HOMELAB_PAGES)  # one chunk per page (each under the splitter's 800 characters)

    # the draft's backfill is pgai's own worker (the pgai package's CLI, as the app's hosts install it)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "dapr_web", run_args=(), plan=True)
    located = trial.locate.json
    # the vectorizer's store and its embedder (until this trial: no declaration, no embedding call; the draft's
    # provider.model TODO); the 0.9 form in a /* */ comment above it declares nothing
    assert [(d["path"], d["line"], d["kind"], d["table"], d["column"], d["dimensions"])
            for d in located["declarations"]] == [
        ("sql/create-vectorized-table.sql", 42, "pgai", "dapr_web_embeddings_store", "embedding", 384)], located
    assert [(c["path"], c["line"], c["kind"], c["model"], c["url"], c["url_env"], c["dimensions"])
            for c in located["embedding_calls"]] == [
        ("sql/create-vectorized-table.sql", 47, "ollama-pgai", "all-minilm", None, "OLLAMA_HOST", 384)], located
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["provider"]["model"], raw["provider"]["dimensions"], raw["chunks"]["table"], raw["chunks"]["id"],
            raw["chunks"]["text"], raw["embeddings"]["vector"], raw["distance"]) == (
        "all-minilm", 384, "dapr_web_embeddings_store", "embedding_uuid", "chunk", "embedding", "cosine"), drafted
    # pgai's worker, once, as the backfill (until this trial: none; it exits when pgai's queue is drained)
    assert raw["backfill"] == {"command": 'pgai vectorizer worker -d "$DATABASE_URL" -i 1 --once'}, drafted
    # pgai's layout (until this trial: the store drafted as a table of its own, `collection_name:
    # dapr_web_embeddings_store`, no source table, so a page the worker has still to embed went unseen)
    assert (raw["chunks"]["text_format"], raw["chunks"]["collection_name"], raw["chunks"]["sources"],
            raw["source"]) == ("pgai", "dapr_web", ["source.url", "id"],
                               {"table": "dapr_web", "key": "id", "queue": "pgai"}), drafted
    assert "measured: all-minilm re-embedding chunk reproduces the stored vectors of 5 of the 5 rows" in drafted
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "dapr_web_embeddings_store", "embedding", chunks, needed=0)

    # Gone wrong: another model's vector (reversed) and two chunks holding each other's; a page loaded after the
    # worker last ran, still in pgai's queue.
    with empty_db.connect(autocommit=True) as conn:
        keys = [r[0] for r in conn.execute("SELECT embedding_uuid FROM dapr_web_embeddings_store ORDER BY id")]
        reversed_, a, b = keys[0], keys[1], keys[2]
        conn.execute("UPDATE dapr_web_embeddings_store SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE embedding_uuid = %s",
                     (reversed_,))
        conn.execute("UPDATE dapr_web_embeddings_store d SET embedding = o.embedding FROM dapr_web_embeddings_store o "
                     "WHERE (d.embedding_uuid, o.embedding_uuid) IN ((%s, %s), (%s, %s))", (a, b, b, a))
        queued = conn.execute("INSERT INTO dapr_web (url, text, lastupdate) VALUES (%s, %s, CURRENT_DATE) RETURNING id",
                              ("https://docs.dapr.io/concepts/faq/", "Dapr is not a service mesh.")).fetchone()[0]
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "dapr_web")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {str(k) for k in (reversed_, a, b)}, offenders
    # the queued page is named through the draft's source section (pgai's queue), not by any chunk row
    assert damaged.code == 1 and offenders == {"recompute": {str(k) for k in (reversed_, a, b)},
                                               "source_coverage": {("dapr_web", queued)}}, offenders
    # run: the application's own backfill, pgai's worker, embeds the page it was queued
    ran = cli("run", *target, "--run-dir", tmp_path / "worker", "--json", env=env)
    assert ran.code == 0, ran.out + ran.err
    assert empty_db.scalar("SELECT count(*) FROM dapr_web_embeddings_store WHERE id = %s", (queued,)) == 1
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=3)


# -- EmadMokhtar/BuddyFit: Go, golang-migrate, pgai 0.2's vectorizer (a formatting template of three source columns) --

# migrations/000003's vectorizer in pgai 0.12's terms (pgai >= 0.10 took the chunk column into loading_column and the
# destination's name into destination_table; the names pgai gives are the same: yt_videos_embeddings_store and view).
BUDDYFIT_VECTORIZER = """SELECT ai.create_vectorizer('yt_videos'::regclass,
    loading => ai.loading_column('transcript'),
    destination => ai.destination_table('yt_videos_embeddings'),
    embedding => ai.embedding_ollama('nomic-embed-text', 768),
    chunking => ai.chunking_recursive_character_text_splitter(512, 50),
    formatting => ai.formatting_python_template('title: $title - author: $author - url: $url - $chunk'))"""
BUDDYFIT_VIDEOS = [  # (author, title, transcript, url) as cmd/importer inserts a video's transcript
    ("Coach A", "Full body warm-up", "Start with light jogging in place for two minutes. Then arm circles, ten each "
     "way. Hip openers follow, slow and controlled.", "https://www.youtube.com/watch?v=warmup01"),
    ("Coach B", "Beginner squats", "Feet shoulder-width apart, toes slightly out. Push the hips back as if sitting "
     "on a chair and keep the chest up.", "https://www.youtube.com/watch?v=squat002"),
    ("Coach A", "Plank basics", "Elbows under the shoulders, body in one line from head to heels. Breathe and hold "
     "for thirty seconds.", "https://www.youtube.com/watch?v=plank003"),
    ("Coach C", "Stretching after a run", "Calves against a wall, then hamstrings with a straight leg on a step. Hold "
     "each stretch without bouncing.", "https://www.youtube.com/watch?v=stretch4"),
]


def test_buddyfit_pgai_formatting_template_store_located_drafted_backfilled_and_repaired(cli, empty_db, server,
                                                                                        tmp_path, monkeypatch):
    """EmadMokhtar/BuddyFit: its `yt_videos` embedded by pgai's worker (its docker-compose's vectorizer-worker,
    OLLAMA_HOST set) as migrations/000003 asks: `ai.create_vectorizer('yt_videos'::regclass, destination =>
    'yt_videos_embeddings', embedding => ai.embedding_ollama('nomic-embed-text', 768), ..., formatting =>
    ai.formatting_python_template('title: $title - author: $author - url: $url - $chunk'))`."""
    import pgai

    app = Source.of("EmadMokhtar__BuddyFit").checkout("", tmp_path / "app")
    migration = (app / "migrations/000003_create_vectorizer.up.sql").read_text()
    for said in ("destination => 'yt_videos_embeddings'", "ai.embedding_ollama('nomic-embed-text', 768)",
                 "chunking_recursive_character_text_splitter('transcript', 512, 50)",
                 "formatting_python_template('title: $title - author: $author - url: $url - $chunk')"):
        assert said in migration, said  # BUDDYFIT_VECTORIZER is what the migration says
    empty_db.execute((app / "migrations/000001_create_table.up.sql").read_text())
    pgai.install(empty_db.dsn)
    empty_db.execute(BUDDYFIT_VECTORIZER)
    with empty_db.connect(autocommit=True) as conn:
        for video in BUDDYFIT_VIDEOS:
            conn.execute("INSERT INTO yt_videos (author, title, transcript, url) VALUES (%s, %s, %s, %s)", video)
    pgai_worker_once(empty_db.dsn, server.url, monkeypatch)
    chunks = empty_db.scalar("SELECT count(*) FROM yt_videos_embeddings_store")

    assert chunks == len(BUDDYFIT_VIDEOS)  # one chunk per video (each transcript under the splitter's 512)

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "yt_videos", run_args=(), plan=True)
    located = trial.locate.json
    # pgai 0.2's form: `destination => 'yt_videos_embeddings'`, a string, names the view; the store is its _store
    assert [(d["path"], d["line"], d["kind"], d["table"], d["column"], d["dimensions"])
            for d in located["declarations"]] == [
        ("migrations/000003_create_vectorizer.up.sql", 1, "pgai", "yt_videos_embeddings_store", "embedding", 768)]
    assert [(c["path"], c["line"], c["kind"], c["model"], c["url"], c["url_env"], c["dimensions"])
            for c in located["embedding_calls"]] == [
        ("migrations/000003_create_vectorizer.up.sql", 4, "ollama-pgai", "nomic-embed-text", None, "OLLAMA_HOST", 768)]
    # the make target starting the worker's container (detached: it returns before anything is embedded)
    assert located["best_entrypoint"] == "make vectorizer-worker-start", located["entrypoints"]
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["provider"]["model"], raw["provider"]["dimensions"], raw["chunks"]["table"], raw["chunks"]["id"],
            raw["chunks"]["text"], raw["chunks"]["text_format"], raw["chunks"]["collection_name"],
            raw["chunks"]["sources"], raw["source"], raw["embeddings"]["vector"], raw["distance"]) == (
        "nomic-embed-text", 768, "yt_videos_embeddings_store", "embedding_uuid", "chunk", "pgai", "yt_videos",
        ["source.url", "id"], {"table": "yt_videos", "key": "id", "queue": "pgai"}, "embedding", "cosine"), drafted
    # pgai's worker once in place of the make target (until this trial: `command: "make vectorizer-worker-start"`)
    assert raw["backfill"] == {"command": 'pgai vectorizer worker -d "$DATABASE_URL" -i 1 --once'}, drafted
    assert '# locate\'s best entrypoint, "make vectorizer-worker-start" (make-target makefile), left out' in drafted
    assert "measured: nomic-embed-text re-embedding chunk reproduces the stored vectors of 4 of the 4 rows" in drafted
    assert "(<=> at migrations/000004_get_related_docs.up.sql:12" in drafted, drafted
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "yt_videos_embeddings_store", "embedding", chunks, needed=0)

    # Gone wrong: another model's vector (reversed); a video retitled (its template's $title) and one imported after
    # the worker last ran, both in pgai's queue.
    with empty_db.connect(autocommit=True) as conn:
        ids = dict(conn.execute("SELECT title, id FROM yt_videos").fetchall())
        reversed_ = conn.execute("SELECT embedding_uuid FROM yt_videos_embeddings_store WHERE id = %s",
                                 (ids["Plank basics"],)).fetchone()[0]
        conn.execute("UPDATE yt_videos_embeddings_store SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE embedding_uuid = %s",
                     (reversed_,))
        conn.execute("UPDATE yt_videos SET title = 'Beginner squats, done right' WHERE id = %s",
                     (ids["Beginner squats"],))
        added = conn.execute("INSERT INTO yt_videos (author, title, transcript, url) VALUES (%s, %s, %s, %s) "
                             "RETURNING id", ("Coach B", "Lunges", "Step forward and lower the back knee.",
                                              "https://www.youtube.com/watch?v=lunges05")).fetchone()[0]
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "yt_videos")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    with empty_db.connect(autocommit=True) as conn:
        retitled = conn.execute("SELECT embedding_uuid FROM yt_videos_embeddings_store WHERE id = %s",
                                (ids["Beginner squats"],)).fetchone()[0]
    assert offenders.pop("citations", set()) <= {str(reversed_), str(retitled)}, offenders
    # the retitled video's chunk is named by recompute too: text_format pgai frames it with the title as it is now
    assert damaged.code == 1 and offenders == {
        "recompute": {str(reversed_), str(retitled)},
        "source_coverage": {("yt_videos", ids["Beginner squats"]), ("yt_videos", added)}}, offenders
    # run: the application's own backfill, pgai's worker, re-embeds the two queued videos; the reversed vector, which
    # no queue holds, is the engine's (backfill --keys-from)
    ran = cli("run", *target, "--run-dir", tmp_path / "worker", "--json", env=env)
    assert ran.code == 0, ran.out + ran.err
    assert empty_db.scalar("SELECT count(*) FROM yt_videos_embeddings_store") == len(BUDDYFIT_VIDEOS) + 1
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=1)


# -- pramindanata/learn-vector-search-with-pg: knex migrations, vectors of no declared dimension, commander commands --

# The tables as knex builds them from migrations/20250607055319_setup.js (`table.increments('id').primary()`,
# `table.string('role')`, `table.text('description')`, `table.specificType('embedding_vector', 'vector').nullable()`).
LEARN_VECTOR_DDL = """CREATE TABLE jobs (id serial PRIMARY KEY, role varchar(255), description text,
                                         embedding_vector vector NULL);
CREATE TABLE basic_users (id serial PRIMARY KEY, name varchar(255), work_experiences jsonb, embedding_vector vector NULL);
CREATE TABLE "values" (id serial PRIMARY KEY, name varchar(255), embedding_vector vector NULL)"""
LEARN_VECTOR_MODEL = "text-embedding-3-small"
LEARN_VECTOR_JOBS = [  # (role, description) as seeders/jobs.js seeds them (shortened)
    ("backend engineer", "Design, develop, and maintain scalable server-side applications and robust APIs."),
    ("senior backend developer (golang)", "Architect and implement complex backend systems using Go."),
    ("backend architect", "Design the overall structure of backend systems, ensuring scalability and security."),
    ("frontend engineer", "Build responsive user interfaces with React and collaborate with designers."),
]


def load_learn_vector_jobs(db, server) -> list[int]:
    """The jobs seeded, then each embedded as command/generate-job-embedding-vector.js embeds it: the role and
    description framed by its template, the vector normalised, `UPDATE jobs SET embedding_vector = ? WHERE id = ?`."""
    import math

    db.execute(LEARN_VECTOR_DDL)
    ids = []
    with db.connect(autocommit=True) as conn:
        for role, description in LEARN_VECTOR_JOBS:
            job = conn.execute("INSERT INTO jobs (role, description) VALUES (%s, %s) RETURNING id",
                               (role, description)).fetchone()[0]
            vector = httpx_embed(server, LEARN_VECTOR_MODEL,
                                 [f'The job role is "{role}". The job description is {description}'])[0]
            norm = math.sqrt(sum(x * x for x in vector))
            conn.execute("UPDATE jobs SET embedding_vector = %s::vector WHERE id = %s",
                         (str([x / norm for x in vector]), job))
            ids.append(job)
    return ids


def test_learn_vector_search_knex_untyped_vectors_located_drafted_and_verified(cli, empty_db, server, tmp_path):
    """pramindanata/learn-vector-search-with-pg: three knex tables, each `embedding_vector` a `vector` of no declared
    dimension, filled by a commander subcommand per table (`node index.js generate-job-embedding-vector`) through
    OpenAI's /v1/embeddings. locate, profile init, scope, run --engine, verify, record on `jobs`."""
    app = Source.of("pramindanata__learn-vector-search-with-pg").checkout("", tmp_path / "app")
    command = (app / "command/generate-job-embedding-vector.js").read_text()
    for said in ("const input = `The job role is \"${job.role}\". The job description is ${job.description}`;",
                 "model: 'text-embedding-3-small'", "UPDATE jobs SET embedding_vector = ? WHERE id = ?"):
        assert said in command, said  # load_learn_vector_jobs embeds what the command says
    ids = load_learn_vector_jobs(empty_db, server)

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "jobs", plan=True)
    located = trial.locate.json
    # knex's `specificType('embedding_vector', 'vector')`, no width (until this trial: no declaration at all)
    assert [(d["path"], d["line"], d["kind"], d["table"], d["column"], d["dimensions"])
            for d in located["declarations"]] == [
        ("migrations/20250607055319_setup.js", 13, "knex", "jobs", "embedding_vector", None),
        ("migrations/20250607055319_setup.js", 19, "knex", "basic_users", "embedding_vector", None),
        ("migrations/20250607055320_create_values_table.js", 9, "knex", "values", "embedding_vector", None)]
    # commander's subcommands that embed stored rows, through index.js (until this trial: no entrypoint); the one
    # printing the vector of the text it is given (`<text>`) is none
    assert [e["command"] for e in located["entrypoints"]] == [
        "node index.js generate-job-embedding-vector", "node index.js generate-user-embedding-vector",
        "node index.js generate-values-embedding-vector"], located["entrypoints"]
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    # jobs, the table holding vectors (until this trial: basic_users, empty, first by name: neither was analysed);
    # the text the command composes (until this trial: `description`, which reproduced none)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["vector"],
            raw["provider"]["model"], raw["distance"]) == (
        "jobs", "id", 'The job role is "{role}". The job description is {description}', "embedding_vector",
        LEARN_VECTOR_MODEL, "cosine"), drafted
    assert "reproduces the stored vectors of 4 of the 4 rows read" in drafted, drafted
    # the command posts to OpenAI's API, written in its code: named and left out (until this trial: drafted, and scope
    # refused it, `the command hard-codes https://api.openai.com/v1/embeddings while the provider is ...`)
    assert not raw.get("backfill"), drafted
    assert ('# command: "node index.js generate-job-embedding-vector"  # locate\'s best entrypoint (script index.js), '
            "left out: it posts to https://api.openai.com/v1/embeddings, written in its code, and reads no provider "
            "URL: never the provider; run with --engine") in drafted, drafted
    assert trial.scope.code == 0, trial.scope.out + trial.scope.err
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "jobs", "embedding_vector", len(ids), needed=0)

    # Gone wrong: a job edited after its vector, another model's vector (reversed), two jobs holding each other's, a
    # job added since the command last ran (no vector).
    edited, reversed_, a, b = ids
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE jobs SET description = description || ' (edited)' WHERE id = %s", (edited,))
        conn.execute("UPDATE jobs SET embedding_vector = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding_vector::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE id = %s", (reversed_,))
        conn.execute("UPDATE jobs d SET embedding_vector = o.embedding_vector FROM jobs o "
                     "WHERE (d.id, o.id) IN ((%s, %s), (%s, %s))", (a, b, b, a))
        added = conn.execute("INSERT INTO jobs (role, description) VALUES ('qa engineer', 'Test the platform.') "
                             "RETURNING id").fetchone()[0]
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "jobs")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    offenders.pop("citations", None)
    assert offenders == {"recompute": {edited, reversed_, a, b}, "coverage": {added}}, offenders
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 1, scoped.out
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env,
                                   embedded=5)


# -- sundar139/Meeting-RAG-Local: Python, a typer CLI ingesting meeting transcripts through the ollama client ---------

MEETING_RAG_MODEL = "nomic-embed-text-v2-moe"  # Settings.ollama_model, and .env.example's OLLAMA_MODEL
MEETING_RAG_DOCUMENT_PREFIX = "search_document: "  # embedder.py's DOCUMENT_PREFIX

# The app's own retrieval_chunk_builder (it imports only its pydantic schemas), run in a subprocess on the checkout.
MEETING_RAG_CHUNKS = '''
import json, sys
sys.path.insert(0, sys.argv[1])
from meeting_pipeline.audio.retrieval_chunk_builder import build_retrieval_chunks
from meeting_pipeline.schemas.transcript import SpeakerTurn
meetings = json.load(sys.stdin)
out = {}
for meeting_id, turns in meetings.items():
    chunks = build_retrieval_chunks(meeting_id=meeting_id, turns=[SpeakerTurn(meeting_id=meeting_id, **t) for t in turns],
                                    window_seconds=45.0, overlap_seconds=15.0)  # Settings' defaults
    out[meeting_id] = [dict(chunk_key=c.chunk_key, speaker_label=c.speaker_label, start_time=c.start_time,
                            end_time=c.end_time, content=c.content) for c in chunks]
print(json.dumps(out))
'''


def meeting_turns(text: str, speakers: tuple[str, ...], count: int = 8, seconds: float = 20.0) -> list[dict]:
    """A transcript's turns: the first ``count`` non-empty lines of ``text`` one turn each, the speakers in turn,
    ``seconds`` apart."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("```", "|"))][:count]
    return [{"speaker_label": speakers[i % len(speakers)], "start_time": i * seconds,
             "end_time": i * seconds + seconds - 1.0, "text": line} for i, line in enumerate(lines)]


def load_meeting_rag(db, server, app: Path, meetings: dict[str, list[dict]]) -> dict[str, list[int]]:
    """`python scripts/ingest_embeddings.py --meeting-id M --turns-path T` per meeting: the app's retrieval chunks of
    its turns, each embedded as Embedder.embed_document does (`search_document: ` + the whitespace-collapsed text,
    the ollama client's `embed` at OLLAMA_HOST), inserted as TranscriptChunkRepository.insert_transcript_chunks
    inserts them. Returns each meeting's chunk ids in order."""
    built = subprocess.run([sys.executable, "-c", MEETING_RAG_CHUNKS, str(app / "src")], input=json.dumps(meetings),
                           capture_output=True, text=True, check=True)
    ids: dict[str, list[int]] = {}
    with db.connect(autocommit=True) as conn:
        for meeting_id, chunks in json.loads(built.stdout).items():
            ids[meeting_id] = []
            for c in chunks:
                [vector] = httpx_embed(server, MEETING_RAG_MODEL,
                                       [MEETING_RAG_DOCUMENT_PREFIX + " ".join(c["content"].split())])
                ids[meeting_id].append(conn.execute(
                    "INSERT INTO meeting_transcripts (meeting_id, speaker_label, start_time, end_time, content, "
                    "embedding, chunk_key) VALUES (%s, %s, %s, %s, %s, %s::vector, %s) "
                    "ON CONFLICT (meeting_id, chunk_key) DO NOTHING RETURNING chunk_id",
                    (meeting_id, c["speaker_label"], c["start_time"], c["end_time"], c["content"], str(vector),
                     c["chunk_key"])).fetchone()[0])
    return ids


def test_meeting_rag_typer_ingest_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """sundar139/Meeting-RAG-Local: a Python app whose typer command `scripts/ingest_embeddings.py` cuts a meeting's
    speaker turns into 45-second windows and embeds each through the ollama client with nomic's `search_document: `
    prefix, the model and host from pydantic-settings (`OLLAMA_MODEL`, `OLLAMA_HOST`), the database from
    `POSTGRES_*`; `meeting_transcripts.embedding vector(768)` from its SQL migrations. locate, profile init, scope,
    plan, run --engine, verify, record; then chunks gone wrong are named and repaired."""
    # the application and its settings (its tests and uv.lock left out: locate reads every file it is given)
    app = Source.of("sundar139__Meeting-RAG-Local").checkout("", tmp_path / "app", only=(
        "src/", "scripts/", "migrations/", "docs/", ".env.example", "pyproject.toml", "README.md"))
    for path, said in (("src/meeting_pipeline/embeddings/embedder.py", 'DOCUMENT_PREFIX = "search_document: "'),
                       ("src/meeting_pipeline/config.py", f'ollama_model: str = "{MEETING_RAG_MODEL}"'),
                       ("scripts/ingest_embeddings.py", "text=retrieval_chunk.content"),
                       ("src/meeting_pipeline/db/repository.py", "ON CONFLICT (meeting_id, chunk_key) DO NOTHING")):
        assert said in (app / path).read_text(), (path, said)  # load_meeting_rag does what these files say
    for migration in sorted((app / "migrations").glob("*.sql")):  # scripts/run_migrations.py, in name order
        empty_db.execute(migration.read_text())
    ids = load_meeting_rag(empty_db, server, app, {
        "ES2002a": meeting_turns((app / "docs/architecture.md").read_text(), ("SPEAKER_00", "SPEAKER_01")),
        "ES2002b": meeting_turns((app / "docs/evaluation.md").read_text(), ("SPEAKER_00", "SPEAKER_01", "SPEAKER_02"))})
    total = sum(len(v) for v in ids.values())
    assert [len(v) for v in ids.values()] == [6, 6], ids
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    # No vector stored yet (a table whose chunks were loaded before anything embedded them): the prefix is the code's,
    # no stored vector says it. The vectors wait in a temporary table of this session, unseen by profile init.
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE kept AS SELECT chunk_id, embedding::text AS v FROM meeting_transcripts")
        conn.execute("UPDATE meeting_transcripts SET embedding = NULL")
        fresh = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output",
                    tmp_path / "fresh.yaml", "--json", env=env)
        assert fresh.code == 0, fresh.out + fresh.err
        # embedder.py hands DOCUMENT_PREFIX to its own _embed_prefixed, which calls the app's ollama wrapper (until
        # this trial: no prefix drafted, and the engine would have embedded the bare text)
        assert ('text_prefix: "search_document: "  # guess: the application puts it before what it embeds '
                "(src/meeting_pipeline/embeddings/embedder.py:11)") in (tmp_path / "fresh.yaml").read_text()
        conn.execute("UPDATE meeting_transcripts m SET embedding = k.v::vector FROM kept k WHERE k.chunk_id = m.chunk_id")
        # two chunks whose embedding request failed: stored without one
        conn.execute("UPDATE meeting_transcripts SET embedding = NULL WHERE chunk_id = ANY(%s)",
                     ([ids["ES2002a"][1], ids["ES2002b"][0]],))
    drafts = []

    def choose(text: str) -> str:
        # The engine runs: the app's command ingests a turns file it is given (and is not installed here).
        drafts.append(text)
        return re.sub(r"\n  (?:command|workdir|env):[^\n]*(?:\n    [^\n]*)*", "", text)

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "meeting_transcripts", edit=choose, plan=True)
    located = trial.locate.json
    assert [(d["path"], d["line"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("migrations/0001_init.sql", 9, "meeting_transcripts", "embedding", 768)]
    # the typer command, its required options read (until this trial: none required, and scope passed the drafted
    # command, which typer stops before it starts: "Missing option '--meeting-id'")
    assert located["best_entrypoint"] == "python -m scripts.ingest_embeddings", located["entrypoints"]
    entry, batch = located["entrypoints"]
    assert entry["contract"]["required_flags"] == ["--meeting-id", "--turns-path"], entry["contract"]
    # the batch command imports that script, whose parser never runs there: it requires nothing
    assert batch["command"] == "python -m scripts.ingest_many_meetings" and batch["contract"]["required_flags"] == []
    assert [(p["prefix"], p["where"]) for p in located["task_prefixes"]] == [
        ("search_document: ", "src/meeting_pipeline/embeddings/embedder.py:11"),
        ("search_query: ", "src/meeting_pipeline/embeddings/embedder.py:12")], located["task_prefixes"]
    # the command stops before it starts without its options, which only the application's data can give: the draft
    # leaves it TODO, saying so (until this trial: drafted as it was, no TODO, and scope refused it)
    assert trial.init.json["todo"] == ["backfill.command"], trial.init.out
    [drafted] = drafts
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["text_prefix"],
            raw["chunks"]["query_prefix"], raw["embeddings"]["vector"], raw["provider"]["model"],
            raw["provider"]["dimensions"], raw["distance"]) == (
        "meeting_transcripts", "chunk_id", "content", MEETING_RAG_DOCUMENT_PREFIX, "search_query: ", "embedding",
        MEETING_RAG_MODEL, 768, "cosine"), drafted
    assert "reproduces the stored vectors of 5 of the 5 rows read" in drafted, drafted
    assert raw["backfill"]["command"] == "TODO" and (
        '"python -m scripts.ingest_embeddings", requires --meeting-id, --turns-path, which it is not given: write it '
        "with them, or remove this line to run with --engine") in drafted, drafted
    assert {k: raw["backfill"]["env"][k] for k in ("POSTGRES_HOST", "POSTGRES_PASSWORD", "OLLAMA_HOST", "OLLAMA_MODEL")} \
        == {"POSTGRES_HOST": "{database_host}", "POSTGRES_PASSWORD": "{database_password}",
            "OLLAMA_HOST": "{provider_url}", "OLLAMA_MODEL": "{model}"}, drafted
    # the command as locate found it: scope refuses it, naming the options it is not given (the draft's rule)
    as_drafted = tmp_path / "as-drafted.yaml"
    as_drafted.write_text(re.sub(r"\n  command: TODO[^\n]*", '\n  command: "python -m scripts.ingest_embeddings"', drafted))
    refused = cli("scope", "--profile", as_drafted, "--collection", "meeting_transcripts", "--json", env=env)
    assert refused.code == 1 and refused.json["reason"].startswith(
        "command's required flags: the command requires --meeting-id, --turns-path, which it is not given"), refused.out
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert_whole_procedure_ok(trial, empty_db, "meeting_transcripts", "embedding", total, needed=2)

    # Gone wrong: a chunk's text edited after its vector, another model's vector (reversed), a chunk of each meeting
    # holding the other's, a lost one.
    edited, reversed_, mine, theirs, gone = (ids["ES2002a"][0], ids["ES2002a"][2], ids["ES2002a"][3], ids["ES2002b"][2],
                                             ids["ES2002b"][3])
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE meeting_transcripts SET content = content || ' (edited)' WHERE chunk_id = %s", (edited,))
        conn.execute("UPDATE meeting_transcripts SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE chunk_id = %s", (reversed_,))
        conn.execute("UPDATE meeting_transcripts d SET embedding = o.embedding FROM meeting_transcripts o "
                     "WHERE (d.chunk_id, o.chunk_id) IN ((%s, %s), (%s, %s))", (mine, theirs, theirs, mine))
        conn.execute("UPDATE meeting_transcripts SET embedding = NULL WHERE chunk_id = %s", (gone,))
    target = ("--profile", trial.profile, "--collection", "meeting_transcripts")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_, mine, theirs}, offenders
    assert offenders == {"recompute": {edited, reversed_, mine, theirs}, "coverage": {gone}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)
    assert empty_db.scalar("SELECT count(*) FROM meeting_transcripts WHERE embedding IS NULL") == 0


# -- qbart/pgvector-example: Go, goose SQL migrations, uptrace/bun models, langchaingo's OpenAI embedder ---------------

PGVECTOR_EXAMPLE_MODEL = "text-embedding-3-small"  # internal/documents/openai.go's EmbeddingModel


def load_pgvector_example(db, server, documents: dict[str, str]) -> dict[str, int]:
    """`POST /documents` per file: IndexDocument inserts the document (title, metadata), processDocument cuts its text
    (paragraphs: a departure, not langchaingo's token splitter), embeds each chunk's PageContent as it is
    (`CreateEmbedding(ctx, doc.PageContent)`) and inserts a DocumentChunk per chunk (`Chunk: i+1`, `Chunks`, `Status:
    "success"`). Returns each document's id."""
    ids = {}
    with db.connect(autocommit=True) as conn:
        for title, text in documents.items():
            parts = [p.strip() for p in text.split("\n\n") if p.strip()]
            ids[title] = conn.execute("INSERT INTO documents (title, metadata) VALUES (%s, %s) RETURNING id",
                                      (title, json.dumps({"filename": title, "size": len(text)}))).fetchone()[0]
            for i, (part, vector) in enumerate(zip(parts, httpx_embed(server, PGVECTOR_EXAMPLE_MODEL, parts))):
                conn.execute("INSERT INTO document_chunks (document_id, chunk, chunks, content, embedding, status) "
                             "VALUES (%s, %s, %s, %s, %s::vector, 'success')",
                             (ids[title], i + 1, len(parts), part, str(vector)))
    return ids


def test_pgvector_example_goose_migrations_and_bun_models_located_drafted_backfilled_and_repaired(
        cli, empty_db, server, tmp_path):
    """qbart/pgvector-example: a Go web app whose schema is goose's SQL migrations (`-- +goose Up`, run by
    `goose.Up` at start), its rows uptrace/bun models (`Embedding pgvector.Vector \\`bun:"type:vector(1536)"\\``),
    each uploaded document's chunks embedded by langchaingo's OpenAI provider (`openai.WithEmbeddingModel(
    EmbeddingModel)`, a constant), keyed by (document_id, chunk). locate, profile init, scope, plan, run --engine,
    verify, record; then chunks gone wrong."""
    app = Source.of("qbart__pgvector-example").checkout("", tmp_path / "app")
    for path, said in (("internal/documents/entity.go", 'Embedding  pgvector.Vector `bun:"type:vector(1536)"`'),
                       ("internal/documents/openai.go", f'const EmbeddingModel = "{PGVECTOR_EXAMPLE_MODEL}"'),
                       ("internal/documents/service.go", "embedded, err := s.openAI.CreateEmbedding(ctx, doc.PageContent)"),
                       ("internal/documents/service.go", "Chunk:      int64(i + 1),"),
                       ("main.go", 'goose.Up(sqldb, "db/migrations")')):
        assert said in (app / path).read_text(), (path, said)  # load_pgvector_example does what these files say
    for migration in sorted((app / "db/migrations").glob("*.sql")):  # goose.Up: in version order, the Up part
        empty_db.execute(migration.read_text().split("-- +goose Down")[0])
    ids = load_pgvector_example(empty_db, server, {name: (app / name).read_text()
                                                   for name in ("Makefile", "docker-compose.yml", "docs/db.plantuml")})
    chunks = {title: empty_db.scalar("SELECT count(*) FROM document_chunks WHERE document_id = %s", (i,))
              for title, i in ids.items()}
    assert chunks == {"Makefile": 7, "docker-compose.yml": 3, "docs/db.plantuml": 2}, chunks

    def keyed(text: str) -> str:
        # What the draft asks for (no one column keys a chunk): the chunk's ordinal, unique within its document.
        text = re.sub(r"(?m)^  id: TODO.*$", "  id: chunk  # the user's: unique within its document", text)
        return re.sub(r"(?m)^  collection_name: document_chunks.*$", "  collection: document_id  # the user's", text)

    makefile = str(ids["Makefile"])
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", makefile, edit=keyed, plan=True)
    located = trial.locate.json
    # the goose migration and the bun model say the same column (until this trial the model was `kind: sql`, no table)
    assert [(d["path"], d["line"], d["kind"], d["table"], d["column"], d["dimensions"])
            for d in located["declarations"]] == [
        ("db/migrations/20240531134053_create_document_chunks.sql", 8, "sql", "document_chunks", "embedding", 1536),
        ("internal/documents/entity.go", 21, "bun", "document_chunks", "embedding", 1536)], located["declarations"]
    # the model a constant gives langchaingo's option (until this trial: none, provider.model TODO)
    assert [(c["path"], c["kind"], c["model"]) for c in located["embedding_calls"]] == [
        ("internal/documents/openai.go", "openai", PGVECTOR_EXAMPLE_MODEL)], located["embedding_calls"]
    assert located["entrypoints"] == [], located["entrypoints"]  # main.go serves HTTP: no backfill command
    # the row's own content, inline (until this trial: documents.title through the foreign key, a filter TODO on
    # `chunk` as if several models' vectors lay side by side, and defaults TODO for the app's NOT NULL columns)
    assert trial.init.json["todo"] == ["chunks.id"], trial.init.out
    drafted = trial.init.json["profile"]
    assert ("id: TODO  # TODO: primary key (document_id, chunk) on public.document_chunks: name the column that tells "
            "a chunk apart as chunks.id, and a column it is unique within as chunks.collection") in drafted, drafted
    raw = yaml.safe_load(keyed(drafted))
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["collection"], raw["chunks"]["text"],
            raw["chunks"]["sources"], raw["embeddings"], raw["provider"]["model"], raw["provider"]["dimensions"],
            raw["distance"], raw["backfill"]) == (
        "document_chunks", "chunk", "document_id", "content", ["document_id"], {"vector": "embedding"},
        PGVECTOR_EXAMPLE_MODEL, 1536, "cosine", None), drafted
    assert "reproduces the stored vectors of 5 of the 5 rows read" in drafted, drafted
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    assert trial.scope.code == 0, trial.scope.out + trial.scope.err
    assert trial.scope.json["counts"]["needed"] == 0, trial.scope.out  # every chunk is inserted with its vector
    for step in (trial.run, trial.verify, trial.record):
        assert step.code == 0, step.out + step.err

    # Gone wrong in the Makefile's chunks: one edited after its vector, another model's vector (reversed), two holding
    # each other's, a lost one (the column is nullable). The other documents' rows are theirs.
    with empty_db.connect(autocommit=True) as conn:
        doc = ids["Makefile"]
        conn.execute("UPDATE document_chunks SET content = content || ' (edited)' WHERE document_id = %s AND chunk = 1",
                     (doc,))
        conn.execute("UPDATE document_chunks SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector WHERE document_id = %s AND chunk = 2",
                     (doc,))
        conn.execute("UPDATE document_chunks d SET embedding = o.embedding FROM document_chunks o WHERE "
                     "d.document_id = %s AND o.document_id = %s AND (d.chunk, o.chunk) IN ((4, 5), (5, 4))", (doc, doc))
        conn.execute("UPDATE document_chunks SET embedding = NULL WHERE document_id = %s AND chunk = 7", (doc,))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", makefile)
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {1, 2, 4, 5}, offenders
    assert offenders == {"recompute": {1, 2, 4, 5}, "coverage": {7}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)
    assert empty_db.scalar("SELECT count(*) FROM document_chunks WHERE embedding IS NULL") == 0
    # another document is its own collection: its chunks are checked apart
    other = cli("verify", "--profile", trial.profile, "--collection", str(ids["docker-compose.yml"]), "--run-dir",
                tmp_path / "other", "--json", env=env)
    assert other.code == 0, other.out + other.err


# -- fiberplane/create-honc-app: a Hono worker (`export default instrument(app)`), drizzle, an ingest script -----------

HONC_MODEL = "text-embedding-3-small"  # scripts/create-vectors.ts: openai.embedding("text-embedding-3-small")
HONC_FOLDER = "examples/cf-retrieval-augmented-goose"


def load_honc_goose(db, server, documents: dict[str, str]) -> dict[str, list[str]]:
    """scripts/create-vectors.ts per document: processDoc cuts it into chunks (paragraphs: a departure, not
    gpt-4o-mini's generateObject), embedMany embeds each chunk's content, saveToDatabase inserts the document (title,
    url, content the chunks joined, hash the url's md5), then its chunks (chunkNumber from 0, text the content,
    metadata the tags, hash the content's md5). Returns each document's chunk ids in order."""
    import hashlib

    held = {}
    with db.connect(autocommit=True) as conn:
        for url, text in documents.items():
            parts = [p.strip() for p in text.split("\n\n") if p.strip()]
            doc = conn.execute("INSERT INTO documents (title, url, content, hash) VALUES (%s, %s, %s, %s) RETURNING id",
                               (parts[0][:80], url, "\n".join(parts), hashlib.md5(url.encode()).hexdigest())).fetchone()[0]
            held[url] = [str(conn.execute(
                "INSERT INTO chunks (document_id, chunk_number, text, embedding, metadata, hash) "
                "VALUES (%s, %s, %s, %s::vector, %s, %s) RETURNING id",
                (doc, i, part, str(vector), json.dumps(["hono", "workers"]), hashlib.md5(part.encode()).hexdigest())
            ).fetchone()[0]) for i, (part, vector) in enumerate(zip(parts, httpx_embed(server, HONC_MODEL, parts)))]
    return held


def test_honc_goose_hono_worker_and_its_ingest_script_located_drafted_backfilled_and_repaired(
        cli, empty_db, server, tmp_path):
    """fiberplane's cf-retrieval-augmented-goose: a Hono app on Cloudflare Workers (`export default instrument(app)`,
    run by `wrangler dev`), its schema drizzle-kit's migrations, its chunks written only by an ingest script
    (`vectors:create`: `tsx --tsconfig tsconfig.scripts.json scripts/create-vectors.ts`) that chunks with a language
    model and inserts new documents. locate, profile init, scope, plan, run --engine, verify, record; then chunks
    gone wrong."""
    import hashlib

    app = Source.of("fiberplane__create-honc-app").checkout(HONC_FOLDER, tmp_path / "app")
    for path, said in (("src/db/schema.ts", 'embedding: vector("embedding", { dimensions: 1536 }),'),
                       ("scripts/create-vectors.ts", f'model: openai.embedding("{HONC_MODEL}"),'),
                       ("scripts/create-vectors.ts", "values: chunks.map((chunk) => chunk.content),"),
                       ("scripts/create-vectors.ts", "text: chunk.content,"),
                       ("scripts/create-vectors.ts", 'hash: crypto.createHash("md5").update(chunk.content).digest("hex"),'),
                       ("src/index.tsx", "export default instrument(app);"),
                       ("package.json", '"vectors:create": "tsx --tsconfig tsconfig.scripts.json scripts/create-vectors.ts"')):
        assert said in (app / path).read_text(), (path, said)  # load_honc_goose does what these files say
    drizzle_migrations(empty_db, app / "drizzle")
    held = load_honc_goose(empty_db, server, {name: (app / name).read_text() for name in ("README.md",)})
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "chunks", plan=True)
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("src/db/schema.ts", "chunks", "embedding", 1536), ("drizzle/0000_absent_thing.sql", "chunks", "embedding", 1536),
        ("drizzle/meta/0000_snapshot.json", "chunks", "embedding", 1536)], located["declarations"]
    # the ingest script and the package script that runs it (until this trial: no entrypoint at all, `vectors` said
    # nothing; then the package script's contract read tsx's `--tsconfig` file as the script it runs)
    entries = {e["command"]: e for e in located["entrypoints"]}
    assert set(entries) == {"npm run vectors:create", "npx tsx scripts/create-vectors.ts"}, located["entrypoints"]
    script = entries["npm run vectors:create"]["contract"]
    assert script["files"][:2] == ["scripts/create-vectors.ts", "src/db/schema.ts"], script
    assert script["inserts"] == [["documents", "scripts/create-vectors.ts:113"], ["chunks", "scripts/create-vectors.ts:123"]], script
    assert script["changes"] == [] and script["serves"] == "", script
    # the worker's search embeds the question (the server, run by `wrangler dev`, is no entrypoint)
    assert {(c["path"], c["model"]) for c in located["embedding_calls"]} == {
        ("src/index.tsx", HONC_MODEL), ("scripts/create-vectors.ts", HONC_MODEL)}, located["embedding_calls"]
    # were the worker's module run by Bun, as a Bun user runs a Hono app, it would serve (until this branch: read as
    # a script that runs to its end; node and tsx do run it to its end)
    from harness.locate.contract import command_contract

    assert command_contract("bun run src/index.tsx", app).serves == (
        "it starts a server (Bun serving export default instrument(app) at src/index.tsx:147) and never exits")
    assert command_contract("npx tsx src/index.tsx", app).serves == ""
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.init.json["profile"]
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["sources"],
            raw["embeddings"]["vector"], raw["embeddings"]["input_hash"], raw["embeddings"]["input_hash_algorithm"],
            raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"], raw["backfill"]) == (
        "chunks", "id", "text", ["document_id"], "embedding", "hash", "md5", HONC_MODEL, 1536, "cosine", None), drafted
    # the ingest adds a document and its chunks for each file it reads: never the backfill command (until this trial:
    # `backfill.command: "npx tsx scripts/create-vectors.ts"`, which would insert every chunk a second time)
    assert ('# command: "npm run vectors:create"  # locate\'s best entrypoint (npm-script package.json), left out: it only '
            "adds rows (INSERT INTO chunks at scripts/create-vectors.ts:123, no upsert, UPDATE or DELETE of it)") in drafted, drafted
    assert_whole_procedure_ok(trial, empty_db, "chunks", "embedding", len(held["README.md"]), needed=0)
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err

    # Gone wrong: a chunk edited after its vector (its hash left as it was), another model's vector (reversed), two
    # holding each other's, a lost one (the column is nullable).
    ids = held["README.md"]
    damage_inline(empty_db, "chunks", "text", edited=ids[1], reversed_=ids[2], swapped=(ids[4], ids[5]), gone=ids[7])
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", "chunks")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {ids[1], ids[2], ids[4], ids[5]}, offenders
    # the edited chunk by its stale md5 (`hash`), the others by their vectors re-embedded, the lost one by coverage
    assert offenders == {"fresh": {ids[1]}, "recompute": {ids[2], ids[4], ids[5]}, "coverage": {ids[7]}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)
    with empty_db.connect(autocommit=True) as conn:
        text, digest = conn.execute("SELECT text, hash FROM chunks WHERE id = %s", (ids[1],)).fetchone()
    assert text.endswith(" (edited)") and digest == hashlib.md5(text.encode()).hexdigest()  # as saveToDatabase hashes


# -- vishaljadhav7/Git-Forge: Express + Prisma in a client/server monorepo, Gemini's embedder, raw `::vector` updates ---

GIT_FORGE_MODEL = "text-embedding-004"  # server/src/utils/loadRepo.utils.ts: getGenerativeModel({ model: ... })
GIT_FORGE_USERS = {"alice": ("b3c1a0de-0000-4000-8000-00000000a11c", "server/src/repositories/"),
                   "bob": ("b3c1a0de-0000-4000-8000-000000000b0b", "server/src/services/")}


def git_forge_schema(db, app: Path) -> None:
    """The app's own schema: its Prisma migrations in order, as `prisma migrate deploy` applies them."""
    migrations = sorted((app / "server/prisma/migrations").glob("*/migration.sql"))
    assert len(migrations) == 7
    with db.connect(autocommit=True) as conn:
        for sql_file in migrations:
            conn.execute(sql_file.read_text())


def git_forge_summary(path: str, source: str) -> str:
    """Stands in for gemini-1.5-flash's summary of a file (no language model here): its path and first code line."""
    first = next(line.strip() for line in source.splitlines() if line.strip())
    return f"{path} begins with {first}"


def load_git_forge(db, server, app: Path) -> dict[str, list[str]]:
    """A user, their project and its files as the app stores them: `createProject` (Project, UserToProject), then
    `loadGitRepo`: each file's summary embedded (`embedContent(summary)`), `tx.sourceCodeEmbedding.create` with a uuid
    Prisma makes, then `$executeRaw` `UPDATE "SourceCodeEmbedding" SET "summaryEmbedding" = ...::vector`. Returns each
    project's row ids in order (uuid5 of the project and the file: the same at each run)."""
    import uuid

    held: dict[str, list[str]] = {}
    with db.connect(autocommit=True) as conn:
        for name, (user, folder) in GIT_FORGE_USERS.items():
            conn.execute('INSERT INTO "User" (id, email, password, "userName") VALUES (%s, %s, %s, %s)',
                         (user, f"{name}@example.com", "x", name))
            project = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/project"))
            conn.execute('INSERT INTO "Project" (id, "updatedAt", "projectName", "githubUrl", "ownerId") '
                         "VALUES (%s, now(), %s, %s, %s)", (project, f"{name}'s fork", f"https://github.com/{name}/git-forge", user))
            conn.execute('INSERT INTO "UserToProject" (id, "updatedAt", "userId", "projectId") VALUES (%s, now(), %s, %s)',
                         (str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/member")), user, project))
            files = sorted(p for p in (app / folder).rglob("*.ts"))
            sources = {str(p.relative_to(app)): p.read_text() for p in files}
            summaries = [git_forge_summary(path, source) for path, source in sources.items()]
            for (path, source), summary, vector in zip(sources.items(), summaries,
                                                       httpx_embed(server, GIT_FORGE_MODEL, summaries)):
                key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{project}/{path}"))
                conn.execute('INSERT INTO "SourceCodeEmbedding" (id, "sourceCode", "fileName", summary, "projectId") '
                             "VALUES (%s, %s, %s, %s, %s)", (key, source, path, summary, project))
                conn.execute('UPDATE "SourceCodeEmbedding" SET "summaryEmbedding" = %s::vector WHERE id = %s',
                             (str(vector), key))
                held.setdefault(project, []).append(key)
    return held


def test_git_forge_prisma_monorepo_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """vishaljadhav7/Git-Forge: a client/server monorepo whose Express server writes through the Prisma client its own
    module makes (`tx.sourceCodeEmbedding.create`, then `$executeRaw` `UPDATE ... SET "summaryEmbedding" = ...::vector`),
    its schema Prisma's migrations (`Unsupported("vector(768)")`), each file's summary embedded by Gemini's
    `text-embedding-004` (a model object made by `getGenerativeModel`), projects shared through `UserToProject`. A
    failed update leaves a file without a vector (the app logs it and goes on). locate, profile init, scope, plan, run
    --engine (no command: the server embeds), verify, record; then rows gone wrong, named and repaired."""
    app = Source.of("vishaljadhav7__Git-Forge").checkout("", tmp_path / "app", only=("server/", "client/package.json"))
    for path, said in (("server/prisma/schema.prisma", 'summaryEmbedding Unsupported("vector(768)")?'),
                       ("server/src/utils/loadRepo.utils.ts", f'model: "{GIT_FORGE_MODEL}",'),
                       ("server/src/utils/loadRepo.utils.ts", "await model.embedContent(fileSummary.summary);"),
                       ("server/src/repositories/repo.repository.ts", "await tx.sourceCodeEmbedding.create({"),
                       ("server/src/repositories/repo.repository.ts", 'SET "summaryEmbedding" = ${fileItem.summaryEmbedding.values}::vector')):
        assert said in (app / path).read_text(), (path, said)  # load_git_forge does what these files say
    git_forge_schema(empty_db, app)
    held = load_git_forge(empty_db, server, app)
    rows = [key for keys in held.values() for key in keys]
    lost = (rows[1], rows[-2])  # the raw update failed: logged, the file kept without a vector
    with empty_db.connect(autocommit=True) as conn:
        conn.execute('UPDATE "SourceCodeEmbedding" SET "summaryEmbedding" = NULL WHERE id = ANY(%s)', (list(lost),))
    table = "SourceCodeEmbedding"
    trial = procedure(cli, empty_db, server, app, tmp_path / "first", table, plan=True)
    located = trial.locate.json
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]] == [
        ("server/prisma/schema.prisma", table, "summaryEmbedding", 768),
        ("server/prisma/migrations/20250522121457_added_source_code_embedding_model/migration.sql", table,
         "summaryEmbedding", 768),
        # the generated client's schema.prisma; its index.js and edge.js inline it as a string (until this trial: read
        # as SQL, two declarations with no table)
        ("server/generated/prisma/schema.prisma", table, "summaryEmbedding", 768)], located["declarations"]
    # Gemini's JavaScript embedder (until this trial: none read, the draft's model TODO)
    assert [(c["path"], c["kind"], c["name"], c["model"]) for c in located["embedding_calls"]] == [
        ("server/src/utils/loadRepo.utils.ts", "gemini", "embedContent", GIT_FORGE_MODEL)], located["embedding_calls"]
    assert located["entrypoints"] == []
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    # the whole table one collection (until this trial: `collection: userId` through UserToProject, --collection alice,
    # each shared project's files in every member's collection)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["collection_name"],
            raw["chunks"]["sources"], raw["embeddings"]["vector"], raw["provider"]["model"],
            raw["provider"]["dimensions"], raw["backfill"]) == (
        table, "id", "summary", table, ["fileName"], "summaryEmbedding", GIT_FORGE_MODEL, 768, None), drafted
    assert "collection_join" not in raw["chunks"], drafted
    assert "text: summary  # measured: text-embedding-004 re-embedding summary reproduces the stored vectors" in drafted
    assert_whole_procedure_ok(trial, empty_db, f'"{table}"', "summaryEmbedding", len(rows), needed=2)
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err

    # Gone wrong: a summary edited after its vector, a vector reversed, two files (of two users' projects) holding
    # each other's, a lost one.
    edited, reversed_, swapped, gone = rows[2], rows[3], (rows[4], rows[-1]), rows[5]
    damage_inline(empty_db, f'"{table}"', "summary", edited=edited, reversed_=reversed_, swapped=swapped, gone=gone,
                  vector='"summaryEmbedding"')
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    target = ("--profile", trial.profile, "--collection", table)
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_, *swapped}, offenders
    assert offenders == {"recompute": {edited, reversed_, *swapped}, "coverage": {gone}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)


# -- SabeelNasir/ai-agentic-rag-nestjs: NestJS + TypeORM migrations, a bull queue that embeds, one `vectors` table ----

AGENTIC_MODEL = "text-embedding-3-small"  # .env-example's OPENAI_EMBEDDING_MODEL
AGENTIC_GENRES = ("Dramas", "Comedies", "Documentaries", "Thrillers", "Kids' TV", "Anime Series", "Horror Movies")
AGENTIC_PLACES = ("India", "United States", "Japan", "Nigeria", "Spain", "South Korea", "Brazil")
AGENTIC_THINGS = ("a lighthouse keeper", "two rival chefs", "a retired detective", "a robot gardener",
                  "a village choir", "an exiled prince", "a teenage hacker", "three sisters", "a night-shift nurse",
                  "a mountain rescue team")
AGENTIC_DEEDS = ("uncover a smuggling ring", "rebuild a flooded town", "win a baking contest", "cross a frozen sea",
                 "solve a decades-old riddle", "open a jazz club", "escape a sinking ship", "forge an unlikely friendship")


def typeorm_migration_statements(migrations: Path) -> list[str]:
    """What `typeorm migration:run` sends for migrations that are raw SQL: each template literal of each class's
    ``up()``, file by file in their timestamp order. A literal with ``$1`` (a seeded user: bcrypt, parameters) is
    data, not schema, and is left out."""
    statements = []
    for path in sorted(migrations.glob("*.ts")):
        up = path.read_text().split("async up(", 1)[1].split("async down(", 1)[0]
        statements += [s for s in re.findall(r"`([^`]*)`", up) if "$1" not in s]
    return statements


def agentic_show(n: int) -> dict:
    """A row of `netflix_shows` in the shape of the app's CSV (written here, the dataset is not in the repository)."""
    return {"show_id": f"s{n}", "type": "TV Show" if n % 3 == 0 else "Movie",
            "title": f"The {AGENTIC_THINGS[n % 10].split()[-1].title()} of {AGENTIC_PLACES[n % 7]} {n}",
            "director": None if n % 4 == 0 else f"Director {n}", "cast_members": f"Actor {n}, Actor {n + 1}",
            "country": AGENTIC_PLACES[n % 7], "date_added": f"2021-{1 + n % 12:02d}-{1 + n % 27:02d}",
            "release_year": 1990 + n, "rating": ("PG-13", "TV-MA", "R", "TV-14")[n % 4], "duration": f"{80 + n} min",
            "listed_in": f"{AGENTIC_GENRES[n % 7]}, {AGENTIC_GENRES[(n + 2) % 7]}",
            "description": f"{AGENTIC_THINGS[n % 10].capitalize()} must {AGENTIC_DEEDS[n % 8]} before winter {n}."}


def agentic_summary(show: dict) -> str:
    """NetflixShowRagService.createSummaryText: the show's fields that are set, labelled, joined by ', '."""
    parts = []
    for key, form in (("title", '"{}"'), ("type", "({})"), ("release_year", "released in {}"), ("country", "from {}"),
                      ("director", "directed by {}"), ("cast_members", "starring {}"), ("listed_in", "genre: {}"),
                      ("description", "about: {}"), ("date_added", "added on: {}"), ("listed_in", "listed in: {}"),
                      ("rating", "rating is: {}")):
        if show.get(key):
            parts.append(form.format(show[key]))
    return ", ".join(parts)


def agentic_jobs(db, server, shows: list[dict]) -> list[str]:
    """EmbeddingVectorsQueueProcessor over the jobs `createEmbeddings` queues: each show's summary embedded
    (OpenAIEmbeddings.embedDocuments), then `repo.save({collection, metadata: {...show}, id, embedding_text,
    embedding})`. Returns the ids."""
    from psycopg.types.json import Jsonb

    summaries = [agentic_summary(s) for s in shows]
    ids = []
    with db.connect(autocommit=True) as conn:
        for show, text, vector in zip(shows, summaries, httpx_embed(server, AGENTIC_MODEL, summaries)):
            ids.append(f"netflix-shows-{show['show_id']}")
            conn.execute("INSERT INTO vectors (id, collection, embedding, metadata, embedding_text) "
                         "VALUES (%s, 'netflix-shows', %s::vector, %s, %s)", (ids[-1], str(vector), Jsonb(show), text))
    return ids


def test_agentic_rag_typeorm_vectors_located_drafted_backfilled_and_repaired(cli, empty_db, server, tmp_path):
    """SabeelNasir/ai-agentic-rag-nestjs: a NestJS API whose TypeORM migrations (raw SQL) make one `vectors` table
    (id text, collection, embedding vector(1536), metadata jsonb, embedding_text) for every collection; a bull queue's
    processor embeds each job's embedding_text with LangChain.js's OpenAIEmbeddings (the model through the app's own
    config service) and saves the row; its second migration drops and re-adds the vector column, so the rows saved
    before it lost their vectors. locate, profile init, scope, plan, run --engine (the embedding is an HTTP route's
    queue), verify, record; a second collection verified; then rows gone wrong, named and repaired."""
    app = Source.of("SabeelNasir__ai-agentic-rag-nestjs").checkout("", tmp_path / "app")
    for path, said in (("src/microservices/queues/embedding-vectors-queue/processor.ts",
                        "await this.embeddingService.embedText(payload.embedding_text);"),
                       ("src/microservices/queues/embedding-vectors-queue/processor.ts",
                        "await this.vectorStoreService.getRepo().save(payload);"),
                       ("src/modules/netflix-show/netflix-show-rag.service.ts",
                        "id: `${ENUM_VECTOR_COLLECTIONS.NETFLIX_SHOWS}-${show.show_id}`"),
                       ("src/modules/netflix-show/netflix-show-rag.service.ts", 'return parts.join(", ");'),
                       ("src/modules/file-loader/file-loader.service.ts",
                        "embedding_text: JSON.stringify(docs[0].pageContent),"),
                       ("src/database/migrations/1759675101976-add-vectors-index-on-embeddings.ts",
                        "DROP COLUMN embedding,\n      ADD COLUMN embedding vector(1536);"),
                       (".env-example", f"OPENAI_EMBEDDING_MODEL={AGENTIC_MODEL}")):
        assert said in (app / path).read_text(), (path, said)  # the loaders below do what these files say
    statements = typeorm_migration_statements(app / "src/database/migrations")
    assert len(statements) == 36
    shows = [agentic_show(n) for n in range(1, 31)]
    with empty_db.connect(autocommit=True) as conn:
        conn.execute(statements[0])
    early = agentic_jobs(empty_db, server, shows[:12])  # embedded before the second migration dropped the column
    with empty_db.connect(autocommit=True) as conn:
        for statement in statements[1:]:
            conn.execute(statement)
        for show in shows:
            conn.execute("INSERT INTO netflix_shows (" + ", ".join(show) + ") VALUES (" + ", ".join(["%s"] * len(show))
                         + ")", list(show.values()))
    late = agentic_jobs(empty_db, server, shows[12:])
    docs = agentic_documents(empty_db, server)
    assert empty_db.scalar("SELECT count(*) FROM vectors WHERE embedding IS NULL") == len(early)

    trial = procedure(cli, empty_db, server, app, tmp_path / "first", "netflix-shows", plan=True)
    located = trial.locate.json
    # the entity's table (None until this trial: an @Index decorator sat between @Entity({ name }) and the class)
    assert {(d["path"].rsplit("/", 1)[-1], d["table"], d["column"], d["dimensions"]) for d in located["declarations"]
            if not d["superseded"]} == {
        ("1759675101976-add-vectors-index-on-embeddings.ts", "vectors", "embedding", 1536),
        ("vector.entity.ts", "vectors", "embedding", None),
        ("1765118293048-MissingTables.ts", "item", "embedding", 1536), ("items.entity.ts", "item", "embedding", 1536)}
    # the embedder's variable, read through EnvConfigService (imported as "src/config/...") and NestJS's
    # ConfigService (none until this trial)
    assert [(c["path"], c["name"], c["model"], c["model_env"]) for c in located["embedding_calls"]] == [
        (".env-example", "OPENAI_EMBEDDING_MODEL", AGENTIC_MODEL, "OPENAI_EMBEDDING_MODEL"),
        ("src/modules/rag/embeddings/embedding.service.ts", "OpenAIEmbeddings", None, "OPENAI_EMBEDDING_MODEL")]
    assert located["entrypoints"] == []
    assert trial.init.json["todo"] == [], trial.init.out
    drafted = trial.profile.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["chunks"]["collection"],
            raw["embeddings"]["vector"], raw["provider"]["model"], raw["provider"]["dimensions"], raw["distance"],
            raw["backfill"]) == ("vectors", "id", "embedding_text", "collection", "embedding", AGENTIC_MODEL, 1536,
                                 "cosine", None), drafted
    # OpenAIEmbeddings' stripNewLines (until this trial: left out, .env-example's setting counted as an embedder)
    assert "text_newlines: space  # guess: the application's embedder makes each newline a space before embedding " \
           "(OpenAIEmbeddings, src/modules/rag/embeddings/embedding.service.ts:10)" in drafted, drafted
    assert "reproduces the stored vectors of 5 of the 5 rows read" in drafted
    assert "but the application's code searches vectors.embedding with ip (<#> at " in drafted, drafted
    assert_whole_procedure_ok(trial, empty_db, "vectors", "embedding", len(early + late + docs), needed=len(early))
    assert trial.plan is not None and trial.plan.code == 0, trial.plan and trial.plan.out + trial.plan.err
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": server.url}
    uploads = cli("verify", "--profile", trial.profile, "--collection", "documents", "--run-dir", tmp_path / "docs",
                  "--json", env=env)
    assert uploads.code == 0 and not [c for c in uploads.json["checks"] if c["status"] == "failed"], uploads.out
    # The user's source for the shows: a show whose job failed has no row at all, seen only from netflix_shows; the
    # filter keeps the source to its collection (until this trial: `documents` failed every show as without chunks).
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO netflix_shows (show_id, title) VALUES ('s99', 'A show whose job failed')")
    trial.profile.write_text(trial.profile.read_text() + 'source: {table: netflix_shows, key: show_id, chunk_key: '
                             '"metadata->>\'show_id\'", chunk_filter: {collection: netflix-shows}}\n')
    shows = agentic_source_coverage(trial.profile, env, "netflix-shows")
    assert shows.status == "failed" and [o.id for o in shows.offenders] == ["s99"], shows.message()
    assert agentic_source_coverage(trial.profile, env, "documents").status == "skipped"
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("DELETE FROM netflix_shows WHERE show_id = 's99'")
    # A checkout without .env-example (the real .env is never committed): the draft names the variable the embedder
    # reads its model from (until this trial: a bare TODO, no variable named).
    (app / ".env-example").unlink()
    bare = cli("profile", "init", "--repo", app, "--database-url", empty_db.dsn, "--output", tmp_path / "bare.yaml",
               "--json", env=env)
    assert bare.json["todo"] == ["provider.model"], bare.out
    line = next(x for x in (tmp_path / "bare.yaml").read_text().splitlines() if x.strip().startswith("model: TODO"))
    assert "reads it from $OPENAI_EMBEDDING_MODEL" in line, line

    # Gone wrong: a summary edited after its vector, a vector reversed, two shows holding each other's, a lost one.
    rows = early + late
    edited, reversed_, swapped, gone = rows[2], rows[13], (rows[14], rows[-1]), rows[5]
    damage_inline(empty_db, "vectors", "embedding_text", edited=edited, reversed_=reversed_, swapped=swapped, gone=gone)
    target = ("--profile", trial.profile, "--collection", "netflix-shows")
    damaged = cli("verify", *target, "--run-dir", tmp_path / "damaged", "--json", env=env)
    assert damaged.code == 1, damaged.out
    offenders = offenders_by_check(tmp_path / "damaged" / "offenders.jsonl")
    assert offenders.pop("citations", set()) <= {edited, reversed_, *swapped}, offenders
    assert offenders == {"recompute": {edited, reversed_, *swapped}, "coverage": {gone}}, offenders
    repaired_verified_and_recorded(cli, target, tmp_path / "damaged", tmp_path / "historylog.md", app, env, embedded=5)


def agentic_source_coverage(profile: Path, env: dict[str, str], collection: str):
    """The source_coverage check alone, in-process (a whole verify costs seconds)."""
    from harness import CheckOptions, open_session, resolve
    from harness.checks.source_coverage import source_coverage

    session = open_session(resolve(str(profile), env=env), CheckOptions(collections=(collection,)))
    try:
        return source_coverage(session, collection)
    finally:
        session.close()


def agentic_documents(db, server) -> list[str]:
    """FileLoaderService.processFileForEmbedding for three uploaded PDFs of one vector store: the first page's text
    JSON.stringify'd as the job's embedding_text, the job's id the time in milliseconds."""
    from psycopg.types.json import Jsonb

    pages = ["Quarterly report\nRevenue grew in every region.", "Onboarding guide\nAsk IT for a laptop on day one.",
             "Safety manual\nKeep the fire exits clear at all times."]
    texts = [json.dumps(p) for p in pages]
    ids = []
    with db.connect(autocommit=True) as conn:
        store = conn.execute("INSERT INTO vector_store (store_label) VALUES ('handbooks') RETURNING id").fetchone()[0]
        for n, (page, text, vector) in enumerate(zip(pages, texts, httpx_embed(server, AGENTIC_MODEL, texts))):
            ids.append(str(1768600000000 + n))
            metadata = {"0": {"pageContent": page, "metadata": {"source": f"uploads/file-{n}.pdf"}}}
            conn.execute("INSERT INTO vectors (id, collection, embedding, metadata, embedding_text, vector_store_id) "
                         "VALUES (%s, 'documents', %s::vector, %s, %s, %s)", (ids[-1], str(vector), Jsonb(metadata), text, store))
    return ids

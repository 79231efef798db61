"""locate finds a repo's embedding files and backfill entrypoints, on shapes it has never seen."""

import shutil

import pytest

from harness.steps.locate import locate

from ..conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"


@pytest.fixture(scope="module")
def ts():
    return locate(FIXTURES / "ts-monorepo")


@pytest.fixture(scope="module")
def py():
    return locate(FIXTURES / "py-backend")


def paths(hits):
    return [h.path for h in hits]


def test_typescript_monorepo_npm_script_is_the_first_entrypoint_run_from_its_package(ts):
    first = ts.entrypoints[0]
    assert (first.kind, first.name, first.workdir) == ("npm-script", "db:backfill-embeddings", "packages/db")
    assert first.command == "npm run db:backfill-embeddings"
    assert first.runner == "npm run db:backfill-embeddings --workspace packages/db"


def test_typescript_backfill_script_is_an_entrypoint(ts):
    assert "packages/db/src/scripts/backfill-embeddings.ts" in [e.path for e in ts.entrypoints]


def test_typescript_monorepo_drizzle_schema_declares_768(ts):
    assert "packages/db/src/schema/embeddings.ts" in paths(ts.schema)
    assert "packages/db/drizzle/0003_embeddings.sql" in paths(ts.schema)
    assert ts.declared_dimensions == (768,)


def test_typescript_monorepo_config_service_and_smoke_are_ranked(ts):
    assert paths(ts.config) == [".env.example"]
    assert "apps/api/src/embeddings.ts" in paths(ts.service)
    assert paths(ts.smoke) == ["docs/smoke-checklist.md"]


def test_vendored_node_modules_are_never_reported(ts):
    everything = paths(ts.config + ts.service + ts.schema + ts.smoke) + [e.path for e in ts.entrypoints]
    assert not [p for p in everything if "node_modules" in p]
    assert 999 not in ts.declared_dimensions


def test_python_backend_script_make_target_and_module_are_entrypoints(py):
    commands = [e.command for e in py.entrypoints]
    assert commands[0] == "make backfill-embeddings"
    assert "python scripts/backfill_embeddings.py" in commands
    assert "python -m worker.reembed" in commands


def test_python_backend_alembic_migration_declares_1536(py):
    assert paths(py.schema) == ["alembic/versions/20240101_add_embeddings.py"]
    assert py.declared_dimensions == (1536,)


def test_python_backend_env_file_and_smoke_checklist(py):
    assert paths(py.config) == [".env"]
    assert set(py.config[0].terms) == {"EMBED_MODEL", "MAX_CHUNK_SIZE"}
    assert paths(py.smoke) == ["docs/SMOKE.md"]


def test_outside_git_the_walk_skips_virtualenvs_and_vendor_folders(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "py-backend", repo)
    for junk in (".venv/lib", "venv", "vendor", "node_modules/x", "dist"):
        (repo / junk).mkdir(parents=True, exist_ok=True)
        (repo / junk / "backfill_embeddings.py").write_text("document_embeddings = 'vector(42)'\n"
                                                            "if __name__ == '__main__':\n    pass\n")
    result = locate(repo)
    assert result.file_source == "walk"
    assert 42 not in result.declared_dimensions
    assert not [e for e in result.entrypoints if e.path.count("/") and e.path.split("/")[0] in
                (".venv", "venv", "vendor", "node_modules", "dist")]


def test_profile_and_flag_terms_are_searched(tmp_path):
    (tmp_path / "retriever.py").write_text("TABLE = 'kb_vectors'\n")
    result = locate(tmp_path, ("kb_vectors",))
    assert paths(result.service) == ["retriever.py"]


@pytest.mark.slow
def test_ten_thousand_files_are_all_scanned(tmp_path):
    for i in range(10_000):
        folder = tmp_path / f"pkg{i // 500}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{i}.py").write_text(f"VALUE = {i}\n" + ("EMBED_MODEL = 'x'\n" if i == 7_777 else ""))
    result = locate(tmp_path)
    assert result.files_scanned == 10_000
    assert paths(result.service) == ["pkg15/mod7777.py"]


def test_a_missing_repo_is_a_config_error(tmp_path):
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="not a folder"):
        locate(tmp_path / "nope")


def test_a_create_table_built_in_a_python_f_string_names_the_table_its_method_returns_by_default():
    from harness.locate.schema import scan

    code = ('import os\n\nclass Store:\n    def table_name(self):\n        return os.getenv("NOTES_TABLE", "py_notes")\n\n'
            '    def other(self):\n        return "not_this"\n\n    def create(self, dims):\n'
            '        return f"CREATE TABLE IF NOT EXISTS {self.table_name()} (id uuid, embedding vector({dims}))"\n')
    [found] = scan("store.py", code, "python")
    assert (found.table, found.column, found.dimensions) == ("py_notes", "embedding", None)


def test_an_unquoted_js_interpolated_table_and_a_constant_dimension_are_resolved():
    from harness.locate.schema import scan

    code = ('const T = process.env.X ?? "js_notes";\nconst DIMS = 768;\n'
            'const ddl = `CREATE TABLE ${T} (id int, embedding vector(${DIMS}))`;\n')
    [found] = scan("store.js", code, "js")
    assert (found.table, found.column, found.dimensions) == ("js_notes", "embedding", 768)


def test_an_interpolated_dimension_outside_a_table_statement_is_no_declaration():
    from harness.locate.schema import scan

    assert scan("query.js", "const q = `SELECT embedding::vector(${n}) FROM t`;", "js") == []


ABSTRACT_PASSAGE = '''
from pgvector.sqlalchemy import Vector
from sqlalchemy.orm import Mapped, mapped_column
from app.constants import MAX_EMBEDDING_DIM


class BasePassage(SqlalchemyBase):
    __abstract__ = True

    text: Mapped[str] = mapped_column()
    embedding = mapped_column(Vector(MAX_EMBEDDING_DIM), nullable=True)


class SourcePassage(BasePassage, FileMixin):
    __tablename__ = "source_passages"


class ArchivalPassage(BasePassage):
    __tablename__ = "archival_passages"
'''


def test_a_column_of_an_abstract_sqlalchemy_class_is_declared_on_each_table_that_inherits_it():
    from harness.locate.schema import scan

    found = scan("app/orm/passage.py", ABSTRACT_PASSAGE, "python")
    assert {(d.table, d.column) for d in found} == {("source_passages", "embedding"), ("archival_passages", "embedding")}


def test_a_dimension_imported_from_a_module_of_the_repository_is_that_constants_value(tmp_path):
    from harness.steps.locate import locate

    (tmp_path / "app" / "orm").mkdir(parents=True)
    (tmp_path / "app" / "orm" / "passage.py").write_text(ABSTRACT_PASSAGE)
    (tmp_path / "app" / "constants.py").write_text("MAX_EMBEDDING_DIM = 4096  # do NOT change\n")
    found = locate(tmp_path).declarations
    assert {(d.table, d.dimensions) for d in found} == {("source_passages", 4096), ("archival_passages", 4096)}

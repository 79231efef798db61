"""The stores the libraries write, as the presets must see them: the DONE checks are green on a healthy default store."""

from psycopg import sql

from ...conftest import finished_run
from ..checks_run import run_checks
from .conftest import failed, passed

GREEN = {"coverage", "recompute", "citations", "index", "dimensions", "sane_vectors"}


def test_the_library_finds_a_document_by_its_title(library_store):
    doc = library_store.docs[3]
    assert library_store.expect(doc) in library_store.search(doc.title, k=3)


def test_checks_pass_on_a_healthy_default_store(library_store, tmp_path):
    run_dir = tmp_path / "run"
    finished_run(run_dir, library_store.collections[0])
    outcomes = library_store.checks(run_dir, sample=None)
    assert failed(outcomes) == set(), {n: o.message() for n, o in outcomes.items() if n in failed(outcomes)}
    assert GREEN <= passed(outcomes), {n: o.message() for n, o in outcomes.items()}
    assert outcomes["tenant_isolation"].status == "skipped", outcomes["tenant_isolation"].message()


def test_pytest_checks_take_a_preset_by_name(langchain_store, tmp_path):
    """The pytest face (what the procedure's verify step runs) reads the preset too: one subprocess proves it."""
    run_dir = tmp_path / "run"
    finished_run(run_dir, "licenses")
    run = run_checks(tmp_path, "--bh-profile", "langchain", "--bh-collection", "licenses", "--bh-run-dir", str(run_dir),
                     env=langchain_store.env)
    assert run.failed == set(), run.output
    assert {f"test_{c}[licenses]" for c in GREEN} <= run.with_status("passed"), run.output
    assert "test_tenant_isolation[licenses]" in run.with_status("skipped"), run.output


def test_the_llamaindex_preset_composes_exactly_what_llamaindex_embeds(llamaindex_store):
    from llama_index.core.schema import MetadataMode
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    from harness.profile import load_profile
    from harness.profiles import profile_path
    from harness.target import Target

    target = Target(load_profile(profile_path("llamaindex"), env=llamaindex_store.env))
    with llamaindex_store.db.connect() as conn:
        rows = conn.execute(sql.SQL("SELECT c.text, c.metadata_, {} FROM data_licenses AS c ORDER BY c.id").format(
            target.text)).fetchall()
    assert rows
    for text, metadata, composed in rows:
        node = metadata_dict_to_node(metadata, text)
        assert composed == node.get_content(metadata_mode=MetadataMode.EMBED)
        assert composed.startswith("title: ") and "file_name" not in composed  # excluded from what is embedded

"""Of two entrypoints ranked alike, the one whose contract locate reads is the backfill the draft names: scope can
check what it reads; a command whose contract is unknown can only be assumed."""

from pathlib import Path

from harness.steps.locate import locate

# study-pg-hybrid-search's script, as the py-model-flag fixture holds it
EMBED_DOCUMENTS = (Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "py-model-flag" / "scripts"
                   / "embed_documents.py").read_text()
# study-pg-hybrid-search's Makefile: a venv made with pip, then the script once per model of a list
MAKEFILE = ("MODELS ?= nomic-embed-text:v1.5 snowflake-arctic-embed:22m\nPYTHON ?= .venv/bin/python\n\n"
            "venv:\n\tpython3 -m venv .venv\n\t$(PYTHON) -m pip install -r requirements.txt\n\n"
            "embed_all: venv\n\t@for model in $(MODELS); do \\\n\t\t$(PYTHON) scripts/embed_documents.py --model $$model ; \\\n"
            "\t done\n")


def test_a_script_whose_contract_is_read_is_drafted_before_a_make_loop_ranked_alike(tmp_path: Path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "embed_documents.py").write_text(EMBED_DOCUMENTS)
    (tmp_path / "Makefile").write_text(MAKEFILE)
    found = locate(tmp_path)
    scores = {e.command: (e.score, e.contract is not None and e.contract.known) for e in found.entrypoints}
    assert scores["make embed_all"][0] == scores["python scripts/embed_documents.py"][0], scores
    assert found.best_entrypoint is not None and found.best_entrypoint.command == "python scripts/embed_documents.py", (
        scores)

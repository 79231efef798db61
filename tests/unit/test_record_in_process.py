"""The historylog entry shows an in-process embedder: what the command loaded, next to the provider's model."""

from harness import historylog
from harness.profile import parse_profile
from harness.settings import resolve
from harness.steps.record import entry_from_run

PROFILE = """
name: t
provider: {model: all-minilm, url: 'http://127.0.0.1:11434'}
chunks: {table: chunks, collection_name: docs}
embeddings: {key: id, vector: embedding}
backfill:
  command: python -m app.embed_chunks
"""


def settings(extra: str = ""):
    return resolve(parse_profile(PROFILE + extra, env={}), env={"DATABASE_URL": "postgresql://u@h/db"})


def test_an_in_process_embedder_is_recorded_and_reads_back(tmp_path):
    s = settings("  embeds_in_process: true\n  in_process_model: ./models/all-MiniLM-L6-v2\n")
    entry = entry_from_run(s, "docs", None, outcome="succeeded")
    assert entry.in_process_model == "./models/all-MiniLM-L6-v2"
    path = tmp_path / "historylog.md"
    historylog.append(path, entry)
    text = path.read_text()
    assert "- embeds in process: ./models/all-MiniLM-L6-v2\n" in text and "- model: all-minilm\n" in text
    assert historylog.read_entries(path)[0].in_process_model == "./models/all-MiniLM-L6-v2"
    assert historylog.verify(path).ok


def test_a_provider_embedder_adds_no_line(tmp_path):
    entry = entry_from_run(settings(), "docs", None, outcome="succeeded")
    assert entry.in_process_model is None
    path = tmp_path / "historylog.md"
    historylog.append(path, entry)
    assert "embeds in process" not in path.read_text()

"""The demo runs the whole procedure on each collection of the demo app and prints a short summary."""

import pytest

from harness import historylog


@pytest.mark.slow
def test_demo_runs_the_procedure_per_collection(cli, tmp_path, checks_dir, monkeypatch):
    for name in ("DATABASE_URL", "OLLAMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "demo"
    result = cli("demo", "--model", "hash-embed:384", "--stack", "embedded", "--out", out, "--checks", checks_dir)
    assert result.code == 0, result.out + result.err[-3000:]
    assert "Every chunk has its vector and every DONE check passed." in result.out
    for collection, chunks in (("global_corpus", 256), ("tenant_acme", 107), ("tenant_globex", 29)):
        assert f"{collection:<16} {chunks:>7} {chunks:>9}" in result.out
        assert (out / collection / "verify.json").exists()
    entries = historylog.read_entries(out / "historylog.md")
    assert [e.outcome for e in entries] == ["succeeded"] * 3 and historylog.verify(out / "historylog.md").ok
    assert len(result.out.splitlines()) <= 12


@pytest.mark.slow
def test_demo_json_carries_the_table(cli, tmp_path, checks_dir, monkeypatch):
    for name in ("DATABASE_URL", "OLLAMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    result = cli("demo", "--model", "hash-embed:384", "--stack", "embedded", "--out", tmp_path / "demo",
                 "--checks", checks_dir, "--json")
    data = result.json
    assert data["ok"] and data["historylog_chain_ok"]
    assert {c["collection"]: (c["chunks"], c["embedded"]) for c in data["collections"]} == {
        "global_corpus": (256, 256), "tenant_acme": (107, 107), "tenant_globex": (29, 29)}

"""An application that stores Matryoshka-truncated vectors: it asks Ollama's /api/embed for ``dimensions: N`` (the
model's vector truncated to N values and re-normalised) and its column is vector(N), below the model's own dimension.
With ``provider.request_dimensions: N`` every request asks for the same vectors, every dimension check compares the
column with N, and verify recomputes them; a vector not truncated the same way is still refused."""

import json

import httpx
import numpy as np
import pytest

MODEL, NATIVE, N = "hash-embed:384", 384, 128
PASSAGES = f"""
CREATE TABLE passage (id text PRIMARY KEY, body text NOT NULL, embedding vector({N}));
INSERT INTO passage SELECT 'p' || g, 'passage number ' || g || ' about ' || (ARRAY['tea', 'rain', 'maps'])[g % 3 + 1]
  || ' and ' || (ARRAY['ships', 'bread', 'owls', 'clocks'])[g % 4 + 1], NULL FROM generate_series(1, 12) g;
"""
PROFILE = (f"name: passage\nprovider: {{model: {MODEL}, dimensions: {NATIVE}, request_dimensions: {N}}}\n"
           "chunks: {table: passage, id: id, text: body, collection_name: passage}\n"
           "embeddings: {vector: embedding}\ndistance: %s\n")


def _native(url, texts, model=MODEL):
    """The model's own vectors, as /api/embed returns them without ``dimensions``."""
    body = httpx.post(f"{url}/api/embed", json={"model": model, "input": texts}).json()
    return np.asarray(body["embeddings"], dtype=np.float64)


def _truncated(vectors, n=N, renormalise=True):
    part = vectors[:, :n]
    return part / np.linalg.norm(part, axis=1, keepdims=True) if renormalise else part


def _store(db, ids_vectors):
    for key, vector in ids_vectors:
        db.execute(f"UPDATE passage SET embedding = '{json.dumps([float(x) for x in vector])}'::vector "
                   f"WHERE id = '{key}'")


def _app_rows(db, url, ids=("p1", "p2", "p3", "p4", "p5", "p6")):
    """The application's own writes: half the rows, each the model's vector truncated to N and re-normalised."""
    rows = dict(db.connect(autocommit=True).execute("SELECT id, body FROM passage").fetchall())
    vectors = _truncated(_native(url, [rows[k] for k in ids]))
    _store(db, zip(ids, vectors))
    return rows


def _setup(empty_db, embed_server, tmp_path, distance="cosine"):
    empty_db.execute(PASSAGES)
    rows = _app_rows(empty_db, embed_server.url)
    profile = tmp_path / "passage.yaml"
    profile.write_text(PROFILE % distance)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    return profile, env, rows


def test_the_embedding_server_truncates_and_renormalises_to_the_requested_dimensions(embed_server):
    texts = ["tea and ships", "rain over maps"]
    asked = httpx.post(f"{embed_server.url}/api/embed", json={"model": MODEL, "input": texts, "dimensions": N}).json()
    vectors = np.asarray(asked["embeddings"])
    assert vectors.shape == (2, N)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert np.allclose(vectors, _truncated(_native(embed_server.url, texts)), atol=1e-6)


def test_the_embedding_server_returns_the_models_vectors_for_dimensions_at_or_above_its_own(embed_server):
    """Ollama truncates only below the model's dimension (``req.Dimensions < len(embedding)``) and ignores the rest."""
    for asked in (NATIVE, NATIVE + 1, 0):
        body = httpx.post(f"{embed_server.url}/api/embed", json={"model": MODEL, "input": ["tea"], "dimensions": asked})
        assert body.status_code == 200 and len(body.json()["embeddings"][0]) == NATIVE, asked


def test_the_embedding_server_refuses_dimensions_that_are_not_an_integer(embed_server):
    body = httpx.post(f"{embed_server.url}/api/embed", json={"model": MODEL, "input": ["tea"], "dimensions": "128"})
    assert body.status_code == 400 and "dimensions" in body.json()["error"]


def test_the_provider_sends_dimensions_in_every_embed_request_and_reports_them_as_its_dimension(embed_server):
    from harness.provider import OllamaProvider

    with OllamaProvider(embed_server.url, MODEL, request_dimensions=N, retries=0) as provider:
        assert provider.embed(["tea and ships"]).vectors.shape == (1, N)
        assert provider.dimensions() == N and provider.native_dimensions() == NATIVE


def test_an_ollama_that_ignores_dimensions_is_refused_not_stored(embed_server, monkeypatch):
    """Ollama before ``dimensions`` drops the unknown field and answers the model's own vectors: never written."""
    from harness.embedserver import server
    from harness.errors import ProviderError
    from harness.provider import OllamaProvider

    monkeypatch.setattr(server, "matryoshka", lambda vectors, dimensions: vectors)
    with OllamaProvider(embed_server.url, MODEL, request_dimensions=N, retries=1, backoff_s=0) as provider:
        with pytest.raises(ProviderError, match=f"dimension {NATIVE}, expected {N}"):
            provider.embed(["tea and ships"])


@pytest.mark.slow
def test_scope_run_and_verify_pass_for_vectors_truncated_to_the_column(cli, empty_db, embed_server, tmp_path):
    profile, env, rows = _setup(empty_db, embed_server, tmp_path)
    target = ("--profile", profile, "--collection", "passage")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0, scoped.json.get("reason") or scoped.out
    dims = next(c for c in scoped.json["checks"] if c["check"] == "dimensions agree")
    assert dims["status"] == "passed" and f"truncated to {N}" in dims["found"], dims
    said = next(i for i in scoped.json["inputs"] if i["name"] == "dimensions")
    assert said["value"] == N and "request_dimensions" in said["source"], said
    planned = cli("plan", *target, "--engine", "--run-dir", tmp_path / "plan", "--json", env=env)
    assert planned.code == 0, planned.out + planned.err
    assert f"truncated to {N}" in (tmp_path / "plan" / "plan.md").read_text()
    ran = cli("run", *target, "--engine", "--run-dir", tmp_path / "run", "--json", env=env)
    assert ran.code == 0, ran.out + ran.err
    written = dict(empty_db.connect(autocommit=True).execute(
        "SELECT id, embedding::text FROM passage WHERE id IN ('p7', 'p8', 'p9')").fetchall())
    assert all(v is not None for v in written.values()), written
    wanted = _truncated(_native(embed_server.url, [rows[k] for k in sorted(written)]))
    for key, want in zip(sorted(written), wanted):
        assert np.allclose(json.loads(written[key]), want, atol=1e-6), key
    verified = cli("verify", *target, "--run-dir", tmp_path / "run", "--json", env=env)
    assert verified.code == 0, [c for c in verified.json["checks"] if c["status"] != "passed"]
    checks = {c["check"]: c for c in verified.json["checks"]}
    assert checks["recompute"]["status"] == "passed" and checks["dimensions"]["status"] == "passed"
    assert f"truncated to {N}" in checks["dimensions"]["found"], checks["dimensions"]
    log = tmp_path / "historylog.md"
    recorded = cli("record", *target, "--run-dir", tmp_path / "run", "--historylog", log, "--json", env=env)
    assert f"- dimensions: {N}\n- truncation: the model's vectors truncated to {N}" in log.read_text(), recorded.out


def _checked(check, distance, dsn, url):
    """One DONE check's outcome on the ``passage`` collection, through a CheckSession of its own."""
    from harness.checks import CheckOptions, open_session
    from harness.profile import parse_profile
    from harness.settings import resolve

    settings = resolve(parse_profile(PROFILE % distance, env={}), database_url=dsn, env={"OLLAMA_HOST": url})
    session = open_session(settings, CheckOptions(collections=("passage",)))
    try:
        return check(session, "passage")
    finally:
        session.close()


def _damaged(empty_db, embed_server, vectors_of, distance="cosine"):
    """Every row holds ``vectors_of(texts)`` instead of the model's vectors truncated and re-normalised."""
    empty_db.execute(PASSAGES)
    rows = dict(empty_db.connect(autocommit=True).execute("SELECT id, body FROM passage").fetchall())
    keys = sorted(rows)
    _store(empty_db, zip(keys, vectors_of([rows[k] for k in keys])))
    from harness.checks import recompute

    return _checked(recompute, distance, empty_db.dsn, embed_server.url)


def test_recompute_passes_the_models_vectors_truncated_and_renormalised(empty_db, embed_server):
    outcome = _damaged(empty_db, embed_server, lambda texts: _truncated(_native(embed_server.url, texts)), "ip")
    assert outcome.status == "passed", outcome.message()


@pytest.mark.parametrize("distance", ["ip", "l2"])
def test_recompute_fails_vectors_truncated_without_renormalising_where_the_distance_ranks_by_length(
        empty_db, embed_server, distance):
    outcome = _damaged(empty_db, embed_server,
                       lambda texts: _truncated(_native(embed_server.url, texts), renormalise=False), distance)
    assert outcome.status == "failed" and "length" in outcome.found, outcome.message()


def test_recompute_fails_the_first_values_of_another_models_vectors(empty_db, embed_server):
    outcome = _damaged(empty_db, embed_server,
                       lambda texts: _truncated(_native(embed_server.url, texts, "hash-embed:768")))
    assert outcome.status == "failed", outcome.message()


def test_recompute_fails_vectors_cut_from_another_window_of_the_models_vector(empty_db, embed_server):
    def tail(texts):
        part = _native(embed_server.url, texts)[:, NATIVE - N:]
        return part / np.linalg.norm(part, axis=1, keepdims=True)

    outcome = _damaged(empty_db, embed_server, tail)
    assert outcome.status == "failed", outcome.message()


def test_dimensions_check_compares_the_column_with_the_requested_dimensions(empty_db, embed_server):
    empty_db.execute(PASSAGES)
    from harness.checks import dimensions

    outcome = _checked(dimensions, "cosine", empty_db.dsn, embed_server.url)
    assert outcome.status == "passed" and f"truncated to {N}" in outcome.found, outcome.message()


def test_dimensions_check_fails_a_column_of_the_models_own_dimension_under_request_dimensions(empty_db, embed_server):
    empty_db.execute(PASSAGES.replace(f"vector({N})", f"vector({NATIVE})"))
    from harness.checks import dimensions

    outcome = _checked(dimensions, "cosine", empty_db.dsn, embed_server.url)
    assert outcome.status == "failed", outcome.message()


def test_without_request_dimensions_scope_refuses_the_column_narrower_than_the_model(cli, empty_db, embed_server,
                                                                                     tmp_path):
    """What happened before: the model's 384 against vector(128) is a mismatch, and nothing says otherwise."""
    empty_db.execute(PASSAGES)
    profile = tmp_path / "passage.yaml"
    profile.write_text((PROFILE % "cosine").replace(f", dimensions: {NATIVE}, request_dimensions: {N}", ""))
    scoped = cli("scope", "--profile", profile, "--collection", "passage", "--json",
                 env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert scoped.code != 0


def test_request_dimensions_other_than_the_columns_fail_scope_and_the_engine_writes_nothing(cli, empty_db,
                                                                                            embed_server, tmp_path):
    empty_db.execute(PASSAGES)
    profile = tmp_path / "passage.yaml"
    profile.write_text((PROFILE % "cosine").replace(f"request_dimensions: {N}", "request_dimensions: 96"))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    target = ("--profile", profile, "--collection", "passage")
    scoped = cli("scope", *target, "--json", env=env)
    dims = next(c for c in scoped.json["checks"] if c["check"] == "dimensions agree")
    assert scoped.code == 1 and dims["status"] == "failed" and "column 128" in dims["found"], dims
    gated = cli("backfill", *target, "--json", env=env)
    assert gated.code == 2 and "profile 96, column 128" in gated.json["error"], gated.out
    # Past the gate the engine refuses on its own: the column holds no vector of the requested dimension.
    forced = cli("backfill", *target, "--override", "testing the engine's own refusal", "--json", env=env)
    assert forced.code == 1 and "returns 96-dimension vectors" in forced.json["error"], forced.out
    assert empty_db.scalar("SELECT count(embedding) FROM passage") == 0


def test_scope_refuses_request_dimensions_not_below_the_models_own(cli, empty_db, embed_server, tmp_path):
    empty_db.execute(PASSAGES.replace(f"vector({N})", f"vector({NATIVE})"))
    profile = tmp_path / "passage.yaml"
    profile.write_text((PROFILE % "cosine").replace(f"dimensions: {NATIVE}, request_dimensions: {N}",
                                                     f"request_dimensions: {NATIVE}"))
    scoped = cli("scope", "--profile", profile, "--collection", "passage", "--json",
                 env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert scoped.code == 2 and "provider.request_dimensions" in scoped.json["error"], scoped.out


# -- profile init reads the dimensions the application asks for ------------------------------------------------------

EMBEDDER_TS = ('import { OllamaEmbeddings } from "@langchain/ollama";\n\n'
               f'export const embeddings = new OllamaEmbeddings({{ model: "{MODEL}", dimensions: {N} }});\n')


def _init(cli, db, repo, tmp_path, url):
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", db.dsn, "--output", out, "--model", MODEL,
                 "--json", env={"OLLAMA_HOST": url})
    assert result.code == 0, result.out + result.err
    return out


def test_profile_init_drafts_request_dimensions_from_the_applications_embedder_call(cli, empty_db, embed_server,
                                                                                     tmp_path):
    empty_db.execute(PASSAGES)
    repo = tmp_path / "app"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "embed.ts").write_text(EMBEDDER_TS)
    out = _init(cli, empty_db, repo, tmp_path, embed_server.url)
    text = out.read_text()
    assert "src/embed.ts:3" in text, text
    from harness.profile import load_profile

    profile = load_profile(out, env={})
    assert (profile.provider.request_dimensions, profile.provider.dimensions) == (N, NATIVE), text


def test_profile_init_says_a_column_narrower_than_the_model_without_such_a_call_is_a_likely_truncation(
        cli, empty_db, embed_server, tmp_path):
    empty_db.execute(PASSAGES)
    repo = tmp_path / "app"
    repo.mkdir()
    out = _init(cli, empty_db, repo, tmp_path, embed_server.url)
    text = out.read_text()
    assert "likely Matryoshka truncation" in text and f"request_dimensions: {N}" in text, text
    assert "request_dimensions:" not in [line.split("#")[0].strip() for line in text.splitlines()]


def test_scope_fails_a_provider_that_ignores_dimensions_instead_of_taking_them_as_said(cli, empty_db, embed_server,
                                                                                         tmp_path, monkeypatch):
    """/api/show states the model's own dimension only: the truncation is measured on one embedding, not assumed."""
    from harness.embedserver import server

    profile, env, _ = _setup(empty_db, embed_server, tmp_path)
    monkeypatch.setattr(server, "matryoshka", lambda vectors, dimensions: vectors)
    scoped = cli("scope", "--profile", profile, "--collection", "passage", "--json", env=env)
    assert scoped.code == 1, scoped.out
    checks = {c["check"]: c for c in scoped.json["checks"]}
    assert not any(c["status"] == "passed" and f"truncated to {N}" in c["found"] for c in checks.values()), checks
    failed = [c for c in checks.values() if c["status"] == "failed"]
    assert any(f"dimension {NATIVE}, expected {N}" in (c["found"] or "") for c in failed), failed

"""Fixtures for the reliability suite: a fault proxy in front of the embedding server, fast-failing profiles,
and the reference vectors a clean run produces (hash-embed is deterministic, so "exact" is checkable)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from harness.provider import OllamaProvider

from ..conftest import DEMO_PROFILE, TEST_MODEL
from .faultproxy import FaultProxy

# Small enough that a permanent fault ends a run in about a second.
FAST_TIMEOUT_S = 0.3
FAST_RETRIES = 2


@pytest.fixture
def proxy(embed_server):
    """A fault proxy on loopback forwarding to the session's embedding server; no fault armed."""
    with FaultProxy(embed_server.url) as running:
        yield running


@pytest.fixture
def fast_provider(proxy):
    """A provider talking through the proxy with a short timeout, few retries and tiny backoff."""
    with OllamaProvider(proxy.url, TEST_MODEL, timeout_s=FAST_TIMEOUT_S, retries=FAST_RETRIES, backoff_s=0.01) as provider:
        yield provider


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture
def write_profile(tmp_path):
    """Write the demo profile with changes (deep-merged) and fast provider settings; return its path."""
    counter = iter(range(1000))

    def write(changes: dict | None = None, *, text: str | None = None) -> Path:
        path = tmp_path / f"profile{next(counter)}.yaml"
        if text is None:
            raw = yaml.safe_load(DEMO_PROFILE.read_text())
            raw = _merge(raw, {"provider": {"timeout_s": FAST_TIMEOUT_S, "retries": FAST_RETRIES}})
            text = yaml.safe_dump(_merge(raw, changes or {}), sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def fault_env(proxy):
    """Environment for the demo profile through the proxy (tests add DATABASE_URL)."""
    return {"OLLAMA_HOST": proxy.url, "EMBED_MODEL": TEST_MODEL}


@pytest.fixture(scope="session")
def reference(pg, templates):
    """Per collection: {chunk_id: (vector text, input_hash, model)} from the cleanly backfilled template."""
    with psycopg.connect(pg.dsn(templates["demo_embedded"])) as conn:
        rows = conn.execute(
            "SELECT collection, chunk_id, embedding::text, input_hash, model_name FROM document_embeddings"
        ).fetchall()
    out: dict[str, dict] = {}
    for collection, key, vector, digest, model in rows:
        out.setdefault(collection, {})[key] = (vector, digest, model)
    return out

"""Transient provider faults are retried through; a provider that stays down ends the run with a clear error."""

import socket

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import ProviderUnavailable
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL
from ._engine_servers import FaultyProxy


def _provider(url, **kw):
    return OllamaProvider(url, TEST_MODEL, backoff_s=0.01, max_backoff_s=0.05, **kw)


def _run(db, profile_path, provider):
    profile = load_profile(profile_path, env={"EMBED_MODEL": TEST_MODEL})
    return run_backfill(resolve(profile, database_url=db.dsn, provider_url=provider.url),
                        BackfillOptions("tenant_globex", batch_size=10, progress=False), provider=provider)


def test_injected_500s_are_retried_and_every_row_lands(demo_db, embed_server, demo_profile):
    fault = lambda n, body: ("status", 500, "model runner crashed") if n in (1, 2, 4) else None  # noqa: E731
    with FaultyProxy(embed_server.url, fault) as proxy, _provider(proxy.url, retries=3) as provider:
        summary = _run(demo_db, demo_profile, provider)
    assert summary.ok and summary.embedded == summary.selected == 29
    assert proxy.embed_requests == 3 + 3  # three batches, three refused attempts
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 29


def test_timeouts_are_retried_and_every_row_lands(demo_db, embed_server, demo_profile):
    fault = lambda n, body: ("stall", 1.0) if n == 2 else None  # noqa: E731
    with FaultyProxy(embed_server.url, fault) as proxy, _provider(proxy.url, retries=2, timeout_s=0.3) as provider:
        summary = _run(demo_db, demo_profile, provider)
    assert summary.ok and summary.embedded == 29
    assert proxy.embed_requests == 4


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_a_provider_that_stays_down_fails_with_a_clear_message_and_writes_nothing(demo_db, demo_profile, cli, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace("  timeout_s: 120\n", "  timeout_s: 2\n  retries: 1\n"))
    result = cli("backfill", "--profile", profile, "--collection", "tenant_globex",
                 env={"OLLAMA_HOST": _closed_port_url(), "EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn})
    assert result.code == 1
    assert "failed after 2 attempts" in result.err and "ConnectError" in result.err
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 0


def test_a_provider_that_keeps_answering_500_fails_after_the_last_retry(demo_db, embed_server, demo_profile):
    fault = lambda n, body: ("status", 503, "overloaded")  # noqa: E731
    with FaultyProxy(embed_server.url, fault) as proxy, _provider(proxy.url, retries=2) as provider:
        with pytest.raises(ProviderUnavailable, match="failed after 3 attempts; last error: HTTP 503: overloaded"):
            _run(demo_db, demo_profile, provider)


def test_a_429_is_waited_out_not_blamed_on_the_inputs(demo_db, embed_server, demo_profile):
    waits = []
    fault = lambda n, body: ("status", 429, "too many requests") if n == 1 else None  # noqa: E731
    with FaultyProxy(embed_server.url, fault) as proxy, _provider(proxy.url, retries=2, sleep=waits.append) as provider:
        summary = _run(demo_db, demo_profile, provider)
    assert summary.ok and summary.embedded == 29 and summary.failed == 0
    assert proxy.embed_requests == 4 and len(waits) == 1

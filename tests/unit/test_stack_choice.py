"""The stack's choice: explicit URLs first, then Docker when a daemon answers, else the embedded stack."""

from harness.stack import DOCKER, EMBEDDED, EXPLICIT, choose, normalise_ollama_host


def test_explicit_environment_wins():
    choice = choose({"DATABASE_URL": "postgresql://db/x", "OLLAMA_HOST": "http://gpu:11434"}, docker=True)
    assert (choice.database, choice.provider) == (EXPLICIT, EXPLICIT)
    assert choice.provider_url == "http://gpu:11434"


def test_profile_urls_count_as_explicit():
    choice = choose({}, "postgresql://db/x", "http://gpu:11434")
    assert (choice.database, choice.provider) == (EXPLICIT, EXPLICIT)


def test_environment_beats_profile():
    choice = choose({"DATABASE_URL": "postgresql://env/x"}, "postgresql://profile/x")
    assert choice.database_url == "postgresql://env/x"


def test_docker_when_a_daemon_answers():
    choice = choose({}, docker=True, models=("all-minilm",))
    assert (choice.database, choice.provider) == (DOCKER, DOCKER)


def test_embedded_without_docker():
    choice = choose({}, docker=False)
    assert (choice.database, choice.provider) == (EMBEDDED, EMBEDDED)
    assert "no Docker daemon" in choice.why[0]


def test_hash_embed_is_never_sent_to_an_ollama_container():
    choice = choose({}, docker=True, models=("hash-embed:384",))
    assert (choice.database, choice.provider) == (DOCKER, EMBEDDED)


def test_each_service_is_chosen_on_its_own():
    choice = choose({"OLLAMA_HOST": "gpu:11434"}, docker=False)
    assert (choice.database, choice.provider) == (EMBEDDED, EXPLICIT)


def test_prefer_forces_the_fallback():
    assert choose({}, docker=True, prefer=EMBEDDED).database == EMBEDDED


def test_ollama_host_without_scheme_or_port_becomes_a_url():
    assert normalise_ollama_host("gpu") == "http://gpu:11434"
    assert normalise_ollama_host("0.0.0.0:9000") == "http://0.0.0.0:9000"
    assert normalise_ollama_host("https://ollama.example/") == "https://ollama.example"

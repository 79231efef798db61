"""A hard-coded Ollama URL is reported whole, scheme included, wherever a default syntax puts it."""

from harness.locate.config import scan


def test_a_compose_default_after_colon_dash_keeps_the_urls_scheme():
    """Before: the match could not start after `:-` and began at the host: `localhost:11434`."""
    text = "services:\n  app:\n    environment:\n      OLLAMA_HOST: ${OLLAMA_HOST:-http://localhost:11434}\n"
    urls = [s.value for s in scan("docker-compose.yml", text, is_config_file=True) if s.name == "url"]
    assert urls == ["http://localhost:11434"]


def test_a_host_a_format_verb_fills_is_no_url():
    assert not [s for s in scan("main.go", 'u := fmt.Sprintf("http://%s:11434", host)\n', is_config_file=False)
                if s.name == "url"]

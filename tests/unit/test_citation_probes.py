"""What the citations check embeds to search: a spot query as the application's own search embeds it."""

from harness.checks.citations import Probe


def test_a_spot_query_is_embedded_after_the_applications_query_prefix():
    """nomic-embed-text's application searches with `search_query: ` + the question: a query embedded bare is another
    vector, and the check would measure a search the application never runs."""
    assert Probe("tea on ships", "notes.md", 3).embedded("search_query: ") == "search_query: tea on ships"


def test_a_sampled_chunk_is_searched_by_its_text_as_embedded_with_no_query_prefix():
    """A sampled chunk's text already carries chunks.text_prefix: it must find its own vector first."""
    probe = Probe("search_document: tea on ships", "n1", 5, by_id=True, sampled=True)
    assert probe.embedded("search_query: ") == "search_document: tea on ships"


def test_without_a_query_prefix_a_spot_query_is_embedded_as_written():
    assert Probe("tea on ships", "notes.md", 3).embedded("") == "tea on ships"

"""The task prefixes embedding models are trained with: an application puts one before every document it embeds
(nomic-embed-text's ``search_document: ``, the e5 family's ``passage: ``) and another before every search query
(``search_query: ``, ``query: ``, mxbai/bge's instruction). A vector embedded without the prefix the application's
queries expect is another vector, so the prefix is part of the text (``chunks.text_prefix``, ``chunks.query_prefix``).
"""

from __future__ import annotations

# Each document prefix with the query prefix its model pairs it with, most used first.
PAIRS = (
    ("search_document: ", "search_query: "),  # nomic-embed-text
    ("passage: ", "query: "),  # e5, multilingual-e5
)
DOCUMENT_PREFIXES = tuple(document for document, _ in PAIRS)
# mxbai-embed-large and bge prefix only the query, with an instruction.
QUERY_PREFIXES = (*(query for _, query in PAIRS), "Represent this sentence for searching relevant passages: ")


def query_prefix_of(document_prefix: str) -> str | None:
    """The query prefix the model pairs with ``document_prefix`` (None for a prefix of no known model)."""
    return next((query for document, query in PAIRS if document == document_prefix), None)

"""pgai's vectorizer as the application declares it: ``ai.create_vectorizer(...)`` in SQL (a file, or a string of code)
or pgai's Python configuration (``CreateVectorizer(...)``, Alembic's ``op.create_vectorizer(...)``). No DDL names its
store: pgai's worker makes the table and embeds every source row, so the call is both the vector column's declaration
and the application's embedder."""

from __future__ import annotations

import re

from .embedding_calls import EmbeddingCall
from .lexing import without_comments
from .literals import call_args, line_of, split_args
from .schema import VectorDeclaration

# `ai.create_vectorizer(` in SQL; pgai's Python classes and Alembic operation take the same arguments as keywords.
_CREATE = re.compile(r"""\b(?:ai\s*\.\s*create_vectorizer|CreateVectorizer|op\s*\.\s*create_vectorizer)\s*\(""")
_EMBEDDERS = {  # pgai's embedding functions (and their Python configurations): the kind of call each makes
    "embedding_ollama": "ollama-pgai", "EmbeddingOllamaConfig": "ollama-pgai",
    "embedding_openai": "openai", "EmbeddingOpenaiConfig": "openai",
    "embedding_litellm": "litellm", "EmbeddingLitellmConfig": "litellm",
    "embedding_voyageai": "voyageai", "EmbeddingVoyageaiConfig": "voyageai",
}
_CONFIG = re.compile(r"""(?:\bai\s*\.\s*)?\b(?P<fn>\w+)\s*\(""")
_NAMED = re.compile(r"""^(?P<k>\w+)\s*(?:=>|=(?!=)|:=)\s*""")
_LITERAL = re.compile(r"""^[EeRr]?(?P<q>['"])(?P<s>[^'"\n]*)(?P=q)""")
_REGCLASS = re.compile(r"""^(?P<q>['"])(?P<s>[^'"\n]+)(?P=q)\s*(?:::\s*regclass)?""")
# the worker's Ollama client reads OLLAMA_HOST where the vectorizer names no base_url (pgai's docs set it on the worker)
_OLLAMA_HOST = "OLLAMA_HOST"
# pgai's indexing default (diskann, else hnsw) searches with cosine; `opclass => 'vector_l2_ops'` says another
_OPCLASS = re.compile(r"""\bopclass\s*(?:=>|=)\s*['"]vector_(?P<op>l2|ip|cosine)_ops['"]""")
_DISTANCE_OF_OPCLASS = {"l2": "l2", "ip": "ip", "cosine": "cosine"}


class Vectorizer:
    """One ``create_vectorizer`` call: its source, store, view and embedder, as literal as the call has them."""

    def __init__(self, rel: str, text: str, at: int, args: str, args_at: int) -> None:
        self.rel, self.line = rel, line_of(text, at)
        parts = _arguments(args)
        source = parts.get("source", parts.get(0, ""))
        m = _REGCLASS.match(source)
        qualified = m.group("s") if m else ""
        schema, _, source = qualified.rpartition(".")
        self.source_schema: str = schema
        self.source: str = source
        self.embedder: str | None = None
        self.model: str | None = None
        self.dimensions: int | None = None
        self.base_url: str | None = None
        self.embedder_line = self.line
        embedding = parts.get("embedding", "")
        if e := _CONFIG.match(embedding):
            self.embedder = _EMBEDDERS.get(e.group("fn"))
            inner = _arguments(call_args(embedding, e.end() - 1))
            self.model = _literal(inner.get("model", inner.get(0, "")))
            dims = inner.get("dimensions", inner.get(1, "")).strip()
            self.dimensions = int(dims) if dims.isdigit() else None
            self.base_url = _literal(inner.get("base_url", ""))
            self.embedder_line = line_of(text, args_at + args.find(embedding))
        destination = parts.get("destination", "")
        d = _CONFIG.match(destination)
        where: dict[str | int, str] = _arguments(call_args(destination, d.end() - 1)) if d else {}
        self.column: str | None = None
        if d and d.group("fn") in ("destination_column", "DestinationColumnConfig"):
            self.column = _literal(where.get("embedding_column", where.get(0, "")))
        # pgai < 0.10 took the names as create_vectorizer's own arguments (`destination => 'name'`, `target_table =>`)
        named: dict[str | int, str] = {**{k: v for k, v in parts.items() if isinstance(k, str)}, **where}
        base = _literal(where.get("destination", where.get(0, ""))) if d else _literal(destination)
        self.store = _literal(named.get("target_table", "")) or (f"{base}_store" if base else
                                                                  f"{self.source}_embedding_store")
        self.store_schema = _literal(named.get("target_schema", ""))
        self.view = _literal(named.get("view_name", "")) or base or f"{self.source}_embedding"
        op = _OPCLASS.search(parts.get("indexing", ""))
        self.distance = _DISTANCE_OF_OPCLASS[op.group("op")] if op else "cosine"

    def declaration(self) -> VectorDeclaration | None:
        if not self.source:
            return None
        if self.column:  # destination_column: the vector is a column of the source table itself
            return VectorDeclaration(self.rel, self.line, self.dimensions, "pgai", self.source, self.column,
                                     distance=self.distance)
        table = f"{self.store_schema}.{self.store}" if self.store_schema else self.store
        return VectorDeclaration(self.rel, self.line, self.dimensions, "pgai", table, "embedding",
                                 distance=self.distance)

    def call(self) -> EmbeddingCall | None:
        if self.embedder is None:
            return None
        ollama = self.embedder == "ollama-pgai"
        return EmbeddingCall(self.rel, self.embedder_line, self.embedder, "ai.create_vectorizer", self.model, None,
                             self.base_url, _OLLAMA_HOST if ollama and not self.base_url else None,
                             dimensions=self.dimensions)


def _literal(value: str) -> str | None:
    m = _LITERAL.match(value.strip())
    return m.group("s") if m else None


def _arguments(args: str) -> dict[str | int, str]:
    """An argument list by name (SQL's ``name => value``, Python's ``name=value``), else by position."""
    out: dict[str | int, str] = {}
    for position, (_, part) in enumerate(split_args(args)):
        part = part.strip()
        if m := _NAMED.match(part):
            out[m.group("k")] = part[m.end():].strip()
        else:
            out[position] = part
    return out


def vectorizers(rel: str, text: str, lang: str) -> list[Vectorizer]:
    """Every vectorizer the file creates (one commented out creates none)."""
    if "create_vectorizer" not in text and "CreateVectorizer" not in text:
        return []
    if lang == "sql":
        # SQL's lexer blanks literals too: the calls are found in the text without comments, read in the text itself
        code = without_comments(text, "sql")
    else:
        code = without_comments(text, lang) if lang in ("python", "js", "ruby", "php", "shell", "other") else text
        text = code
    found = []
    for m in _CREATE.finditer(code):
        args = call_args(text, m.end() - 1, limit=4000)
        found.append(Vectorizer(rel, text, m.start(), args, m.end()))
    return found


def declarations(rel: str, text: str, lang: str) -> list[VectorDeclaration]:
    """The vector column each vectorizer of the file makes: its store's ``embedding`` (or its destination column)."""
    return [d for v in vectorizers(rel, text, lang) if (d := v.declaration()) is not None]


def embedding_calls(rel: str, text: str, lang: str) -> list[EmbeddingCall]:
    """The embedder each vectorizer of the file has pgai's worker call, with its model and dimension."""
    return [c for v in vectorizers(rel, text, lang) if (c := v.call()) is not None]

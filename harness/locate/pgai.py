"""pgai's vectorizer as the application declares it: ``ai.create_vectorizer(...)`` in SQL (a file, or a string of code)
or pgai's Python configuration (``CreateVectorizer(...)``, Alembic's ``op.create_vectorizer(...)``). No DDL names its
store: pgai's worker makes the table and embeds every source row, so the call is both the vector column's declaration
and the application's embedder."""

from __future__ import annotations

import re

from .embedding_calls import EmbeddingCall, value_at
from .lexing import without_comments
from .literals import EnvRead, call_args, env_reads, line_of, split_args
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
_NAME = re.compile(r"""^[A-Za-z_]\w*$""")
_LITERAL = re.compile(r"""^[EeRr]?(?P<q>['"])(?P<s>[^'"\n]*)(?P=q)""")
_REGCLASS = re.compile(r"""^(?P<q>['"])(?P<s>[^'"\n]+)(?P=q)\s*(?:::\s*regclass)?""")
# the worker's Ollama client reads OLLAMA_HOST where the vectorizer names no base_url (pgai's docs set it on the worker)
_OLLAMA_HOST = "OLLAMA_HOST"
# pgai's indexing default (diskann, else hnsw) searches with cosine; `opclass => 'vector_l2_ops'` says another
_OPCLASS = re.compile(r"""\bopclass\s*(?:=>|=)\s*['"]vector_(?P<op>l2|ip|cosine)_ops['"]""")

Args = dict[str | int, tuple[int, str]]  # by name, else by position: (where the value starts in the text, the value)


def _arguments(text: str, open_paren: int) -> Args:
    """A call's arguments by name (SQL's ``name => value``, Python's ``name=value``), else by position."""
    args = call_args(text, open_paren, limit=4000)
    out: Args = {}
    for position, (offset, part) in enumerate(split_args(args)):
        at = open_paren + 1 + offset + len(part) - len(part.lstrip())
        part = part.strip()
        if m := _NAMED.match(part):
            out[m.group("k")] = (at + m.end(), part[m.end():].strip())
        else:
            out[position] = (at, part)
    return out


def _config(text: str, value: tuple[int, str] | None) -> tuple[str, Args] | None:
    """A configuration argument's function and its arguments; a name bound to one earlier in the file is read there
    (one `EmbeddingOllamaConfig(...)` passed to several vectorizers)."""
    if value is None:
        return None
    at, expr = value
    if _NAME.match(expr):
        bound: re.Match[str] | None = None
        for assigned in re.finditer(rf"(?m)^[ \t]*{re.escape(expr)}\s*(?::[^=\n]+)?=\s*(?=\w)", text[:at]):
            bound = assigned  # the last assignment before the call
        if bound is None:
            return None
        at, expr = bound.end(), text[bound.end():bound.end() + 200]
    call = _CONFIG.match(expr)
    return (call.group("fn"), _arguments(text, at + call.end() - 1)) if call else None


def _literal(value: tuple[int, str] | None) -> str | None:
    m = _LITERAL.match(value[1]) if value else None
    return m.group("s") if m else None


class Vectorizer:
    """One ``create_vectorizer`` call: its source, store, view and embedder, as the call (or the environment it reads)
    has them."""

    def __init__(self, rel: str, text: str, at: int, open_paren: int, reads: list[EnvRead]) -> None:
        self.rel, self.line = rel, line_of(text, at)
        parts = _arguments(text, open_paren)
        source = parts.get("source", parts.get(0))
        m = _REGCLASS.match(source[1]) if source else None
        schema, _, name = (m.group("s") if m else "").rpartition(".")
        self.source_schema: str = schema
        self.source: str = name
        self.embedder: str | None = None
        self.model: tuple[str | None, str | None] = (None, None)  # (the model or its env's default, the env)
        self.dimensions: tuple[int | None, str | None] = (None, None)
        self.base_url: str | None = None
        self.embedder_line = self.line
        if embedding := _config(text, parts.get("embedding")):
            fn, inner = embedding
            self.embedder = _EMBEDDERS.get(fn)
            model = inner.get("model", inner.get(0))
            self.model = (_literal(model), None) if _literal(model) or not model else value_at(text, model[0], reads)
            dims = inner.get("dimensions", inner.get(1))
            if dims and dims[1].isdigit():
                self.dimensions = (int(dims[1]), None)
            elif dims:
                default, env = value_at(text, dims[0], reads)
                self.dimensions = (int(default) if default and default.isdigit() else None, env)
            self.base_url = _literal(inner.get("base_url"))
            self.embedder_line = line_of(text, (model or dims or parts["embedding"])[0])
        destination = parts.get("destination")
        config = _config(text, destination) if destination and not _literal(destination) else None
        where: Args = config[1] if config else {}
        self.column: str | None = None
        if config and config[0] in ("destination_column", "DestinationColumnConfig"):
            self.column = _literal(where.get("embedding_column", where.get(0)))
        # pgai < 0.10 took the names as create_vectorizer's own arguments (`destination => 'name'`, `target_table =>`)
        named: Args = {**{k: v for k, v in parts.items() if isinstance(k, str)}, **where}
        base = _literal(where.get("destination", where.get(0))) if config else _literal(destination)
        self.store = _literal(named.get("target_table")) or (f"{base}_store" if base else
                                                              f"{self.source}_embedding_store")
        self.store_schema = _literal(named.get("target_schema"))
        self.view = _literal(named.get("view_name")) or base or f"{self.source}_embedding"
        op = _OPCLASS.search(parts.get("indexing", (0, ""))[1])
        self.distance = op.group("op") if op else "cosine"

    def declaration(self) -> VectorDeclaration | None:
        if not self.source:
            return None
        if self.column:  # destination_column: the vector is a column of the source table itself
            return VectorDeclaration(self.rel, self.line, self.dimensions[0], "pgai", self.source, self.column,
                                     distance=self.distance, dims_env=self.dimensions[1])
        table = f"{self.store_schema}.{self.store}" if self.store_schema else self.store
        return VectorDeclaration(self.rel, self.line, self.dimensions[0], "pgai", table, "embedding",
                                 distance=self.distance, dims_env=self.dimensions[1])

    def call(self) -> EmbeddingCall | None:
        if self.embedder is None:
            return None
        ollama = self.embedder == "ollama-pgai"
        return EmbeddingCall(self.rel, self.embedder_line, self.embedder, "ai.create_vectorizer", *self.model,
                             self.base_url, _OLLAMA_HOST if ollama and not self.base_url else None,
                             dimensions=self.dimensions[0], dimensions_env=self.dimensions[1])


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
    reads = env_reads(text, lang) if lang != "sql" else []
    return [Vectorizer(rel, text, m.start(), m.end() - 1, reads) for m in _CREATE.finditer(code)]


def declarations(rel: str, text: str, lang: str) -> list[VectorDeclaration]:
    """The vector column each vectorizer of the file makes: its store's ``embedding`` (or its destination column)."""
    return [d for v in vectorizers(rel, text, lang) if (d := v.declaration()) is not None]


def embedding_calls(rel: str, text: str, lang: str) -> list[EmbeddingCall]:
    """The embedder each vectorizer of the file has pgai's worker call, with its model and dimension."""
    return [c for v in vectorizers(rel, text, lang) if (c := v.call()) is not None]

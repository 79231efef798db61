"""YAML profile -> frozen dataclasses, with errors that name the key.

A profile describes one target: where chunks and embeddings live, which
provider and model embed them, how the target's own backfill is run, and the
spot queries that prove retrieval works. Values may reference the environment
(``${DATABASE_URL}``, ``${EMBED_MODEL:-all-minilm}``); where each resolved
value came from is kept in ``Profile.sources`` so that ``scope`` can say it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, overload

import yaml

from .errors import ConfigError
from . import hashing, text_parts
from .json_text import STYLES as JSON_STYLES

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_TODO = re.compile(r"^\s*TODO\b")
_MAX_IDENTIFIER_BYTES = 63  # Postgres silently truncates longer names; refuse instead.
DISTANCES = {"cosine": "<=>", "l2": "<->", "ip": "<#>"}
# l2 and inner product rank by length too (cosine does not): a vector of the model's direction at another length (an
# endpoint that does not normalise, beside one that does) is ranked wrongly by the application's own search.
LENGTH_DISTANCES = ("l2", "ip")
# The operator class an index needs for each distance (vector_ip_ops, halfvec_cosine_ops, ...).
OPCLASS_SUFFIX = {"cosine": "_cosine_ops", "l2": "_l2_ops", "ip": "_ip_ops"}
_OPERATOR = re.compile("|".join(re.escape(op) for op in DISTANCES.values()))


def distance_of_opclass(opclass: str) -> str | None:
    """The distance an index of this operator class serves (None: another, e.g. bit_hamming_ops)."""
    return next((d for d, suffix in OPCLASS_SUFFIX.items() if opclass.endswith(suffix)), None)


def distances_in_sql(text: str) -> set[str]:
    """The distances whose pgvector operator the SQL text uses."""
    by_operator = {op: d for d, op in DISTANCES.items()}
    return {by_operator[m.group(0)] for m in _OPERATOR.finditer(text)}
# plain: the text column(s) as stored; llamaindex: what LlamaIndex embeds (MetadataMode.EMBED), metadata lines from
# the node JSON in ``chunks.metadata`` minus its excluded_embed_metadata_keys, a blank line, then the text;
# pgai: what pgai's formatting template (read from ai.vectorizer) makes of the chunk with its source row as it is now.
TEXT_FORMATS = ("plain", "llamaindex", "pgai")
# What the application does to a text's newlines before embedding it: nothing, or each one made a space (OpenAI's old
# advice, `content.replace(/\n/g, ' ')`), which a tokenizer that keeps newlines embeds differently.
TEXT_NEWLINES = ("keep", "space")


@dataclass(frozen=True)
class NotNull:
    """A filter value ``{not: null}``: the column IS NOT NULL (an array column: and not empty)."""

    def __str__(self) -> str:
        return "{not: null}"


NOT_NULL = NotNull()
_JSON_KEY = re.compile(r"^\s*([^\s'\"][^']*?)\s*->>\s*(?:'([^']+)'|([^\s'\"][^']*?))\s*$")


def json_field(name: str) -> tuple[str, str | None]:
    """A field the profile names: ``column`` as (column, None), ``column->>key`` (a key of a JSON column, the key
    bare or quoted as in SQL: ``metadata->>'text'``) as (column, key); ValueError saying why a ``->>`` is malformed."""
    if "->>" not in name:
        return name, None
    match = _JSON_KEY.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not column->>key; expected a JSON column and a key, e.g. metadata->>'text'")
    column, key = match.group(1), match.group(2) or match.group(3)
    if "->" in column or (match.group(3) and "->" in key):
        raise ValueError(f"{name!r} is a path of several keys; expected one key of a JSON column, e.g. metadata->>'text'")
    return column, key


@dataclass(frozen=True)
class DatabaseSettings:
    url: str | None = field(default=None, repr=False)  # may carry a password: kept out of reprs and tracebacks
    # set_config(name, value, true) in every transaction (RLS policies read them); "{tenant}" runs tenant by tenant
    session: Mapping[str, str] = field(default_factory=dict)
    tenants: tuple[str, ...] = ()  # the tenants to go through when a session value uses {tenant}

    @property
    def per_tenant(self) -> bool:
        return any("{tenant}" in value for value in self.session.values())


@dataclass(frozen=True)
class ProviderSettings:
    model: str
    url: str | None = None
    dimensions: int | None = None
    timeout_s: float = 60.0
    retries: int = 5
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # tokens: kept out of reprs
    # Sent as /api/embed's ``dimensions``: the model's vectors truncated to this many values and re-normalised
    # (Matryoshka representation learning); ``dimensions`` then stays the model's own, above it.
    request_dimensions: int | None = None

    @property
    def vector_dimensions(self) -> int | None:
        """The dimension of the vectors the provider returns for this profile: the one every column is compared with."""
        return self.request_dimensions or self.dimensions

    @property
    def dimensions_key(self) -> str:
        """The profile key that sets ``vector_dimensions``, for messages."""
        return "provider.request_dimensions" if self.request_dimensions else "provider.dimensions"


@dataclass(frozen=True)
class CollectionTable:
    """A table naming the collections (LangChain's ``langchain_pg_collection``): chunks hold its key, not the name."""

    table: str
    key: str = "uuid"
    name: str = "name"
    schema: str = "public"


@dataclass(frozen=True)
class CollectionJoin:
    """A join table placing chunks in collections (Quivr's ``knowledge_brain``, a ``brains_vectors``): each of its rows
    whose ``key`` holds a chunk's ``chunk`` column puts that chunk in the collection its ``chunks.collection`` column
    holds; a chunk is in every collection a row names (as an array's elements do)."""

    table: str
    key: str  # the join table's column holding the chunk's value
    chunk: str  # the chunk column it holds (chunks.id, or a column the chunk shares with it: its document's key)
    schema: str = "public"


@dataclass(frozen=True)
class SourceTable:
    """The table chunks are cut from (pgai's source): every row must have chunks, and ``queue`` says who keeps them."""

    table: str
    key: str = "id"  # the source's key, held under the same name by each chunk unless chunk_key says where
    schema: str = "public"
    queue: str | None = None  # "pgai": items still pending in pgai's vectorizer queue count as not covered
    # Where each chunk names its source row: a column or ``column->>'key'`` (LlamaIndex's metadata_->>'doc_id').
    chunk_key: str | None = None
    # The chunks this table is the source of, where others share the key column: a polymorphic association's type
    # (Rails' ``chunkable_type: Text`` beside ``chunkable_id``).
    chunk_filter: tuple[tuple[str, Any], ...] = ()
    # The source's own column placing each row in collections as chunks.collection does (R2R's documents.collection_ids):
    # only the collection's rows must have chunks in it. ``"column[]"``: an array.
    collection: str | None = None
    collection_array: bool = False

    @property
    def held_by(self) -> str:
        """The chunk field holding the source's key."""
        return self.chunk_key or self.key


@dataclass(frozen=True)
class ChunkTable:
    table: str
    id: str = "id"
    text: tuple[str, ...] = ("content",)
    text_separator: str = " "
    text_newlines: str = "keep"  # TEXT_NEWLINES
    # The task prefix the application puts before every text it embeds (nomic's "search_document: ") and before
    # every search query (harness.task_prefixes): part of what is embedded and hashed.
    text_prefix: str = ""
    query_prefix: str = ""
    schema: str = "public"
    collection: str | None = None
    collection_name: str | None = None
    tenant: str | None = None
    sources: tuple[str, ...] = ()
    filter: tuple[tuple[str, Any], ...] = ()
    collection_table: CollectionTable | None = None  # when set, ``collection`` is the column holding its key
    # ``collection: "collection_ids[]"``: an array column, each element a collection the chunk belongs to (R2R's uuid[])
    collection_array: bool = False
    updated_at: str | None = None  # when the chunk's text last changed (stale vectors; recent edits sampled first)
    text_format: str = "plain"  # how the embedded text is composed: TEXT_FORMATS
    # the text is a JSON document of the chunks.text fields, as this serializer writes it (JSON_STYLES), each under
    # its key in text_json_keys
    text_json: str | None = None
    text_json_keys: tuple[str, ...] = ()
    metadata: str | None = None  # the JSON column a text format reads (LlamaIndex's ``metadata_``)
    # each collection is a table of its own, named by this pattern ("data_{collection}", LlamaIndex's PGVectorStore)
    collection_tables: str | None = None
    # ``collection`` is then a column of this join table, not of the chunks (harness.collection_join)
    collection_join: CollectionJoin | None = None
    schema_given: bool = False  # chunks.schema named, not the default: a table of the name elsewhere is no rival

    @property
    def collection_several(self) -> bool:
        """A chunk may be in several collections: an array column lists them, or a join table's rows do."""
        return self.collection_array or self.collection_join is not None


@dataclass(frozen=True)
class EmbeddingTable:
    table: str
    key: str
    vector: str = "embedding"
    schema: str = "public"
    model: str | None = None
    input_hash: str | None = None
    input_hash_algorithm: str = "sha256"  # harness.hashing.ALGORITHMS; the form (hex or bytea) is the column's type
    # what the input hash is of where not the embedded text: chunks.text's form (columns, labelled parts), joined by
    # chunks.text_separator (an app that embeds a text's first N characters and hashes all of it)
    input_hash_of: tuple[str, ...] = ()
    collection: str | None = None
    tenant: str | None = None
    dimensions: str | None = None
    model_value: str | None = None  # the model of every stored vector, declared when no model column says it
    updated_at: str | None = None  # when the vector was written: a chunk changed after it is stale
    embedded_at: str | None = None  # the same, under the other name apps use
    # column -> SQL expression for NOT NULL columns the engine does not otherwise fill ({dims}, {model})
    defaults: Mapping[str, str] = field(default_factory=dict)
    # the embedding rows that are this target's where one table keeps several models' vectors side by side, the model
    # part of the key (discourse-ai's {model_id: 2, strategy_id: 1}): read alone, and written with these values
    filter: tuple[tuple[str, Any], ...] = ()

    @property
    def written_at(self) -> str | None:
        return self.embedded_at or self.updated_at
    index_min_rows: int = 100_000  # below this many vectors a sequential scan is fast enough (pgai's own min_rows)
    # the application pads each model vector with zeros to this width (the column's); provider.dimensions is the model's
    pad_to: int | None = None
    schema_given: bool = False  # embeddings.schema (or chunks.schema) named, not the default

    def is_inline(self, chunks: ChunkTable) -> bool:
        """True when vectors live in a nullable column of the chunk table itself."""
        return (self.schema, self.table) == (chunks.schema, chunks.table)


@dataclass(frozen=True)
class ChunkingSettings:
    max_chunk_size: int | None = None
    overlap: int | None = None


# What backfill.env values may name; harness.steps.common.backfill_env substitutes them.
BACKFILL_ENV_PLACEHOLDERS = ("database_url", "database_host", "database_port", "database_user", "database_password",
                             "database_name", "provider_url", "model", "batch_size", "dimensions", "collection", "into")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class BackfillSettings:
    command: str | None = None
    args: tuple[str, ...] = ()  # extra arguments after the command; placeholders filled like the command's
    workdir: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    batch_size: int = 100
    timeout_s: float = 3600.0
    embeds_in_process: bool = False  # the command embeds with a model it loads itself; the provider only checks
    in_process_model: str | None = None  # what it loads (a local path or a Hugging Face id)
    done_pattern: str | None = None  # regex with named groups embedded, total, failed for the command's closing line
    probe_command: str | None = None  # the command on a few rows ({limit}), timed by plan


@dataclass(frozen=True)
class VerifySettings:
    """The bound DONE requires of every sampled check: fewer than ``max_bad_fraction`` bad rows at ``confidence``."""

    max_bad_fraction: float = 0.01
    confidence: float = 0.95


@dataclass(frozen=True)
class SpotQuery:
    query: str
    expect_source: str | None = None
    k: int = 5


@dataclass(frozen=True)
class CustomCheck:
    name: str
    sql: str
    expect: Any


@dataclass(frozen=True)
class Profile:
    name: str
    chunks: ChunkTable
    embeddings: EmbeddingTable
    provider: ProviderSettings
    database: DatabaseSettings = DatabaseSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    backfill: BackfillSettings = BackfillSettings()
    verify: VerifySettings = VerifySettings()
    distance: str = "cosine"
    spot_queries: tuple[SpotQuery, ...] = ()
    custom_checks: tuple[CustomCheck, ...] = ()
    search_terms: tuple[str, ...] = ()
    source: SourceTable | None = None
    path: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def inline(self) -> bool:
        return self.embeddings.is_inline(self.chunks)

    @property
    def embedded_as(self) -> dict[str, Any]:
        """Beside the model, what makes a chunk's vector what it is: the text composed and sent, the width asked for
        and stored. Two runs differing here write different vectors for the same text and model."""
        ch, em = self.chunks, self.embeddings
        return {"chunks.text": list(ch.text), "chunks.text_separator": ch.text_separator,
                "chunks.text_newlines": ch.text_newlines, "chunks.text_prefix": ch.text_prefix,
                "chunks.text_format": ch.text_format, "chunks.metadata": ch.metadata,
                "chunks.text_json": [ch.text_json, list(ch.text_json_keys)] if ch.text_json else None,
                "provider.request_dimensions": self.provider.request_dimensions, "embeddings.pad_to": em.pad_to}


def load_profile(path: str | Path, env: Mapping[str, str] | None = None) -> Profile:
    """Read a YAML profile (a path, a preset name or ``preset:NAME``) and return it validated; ConfigError names the bad key."""
    from .profiles import preset_env, preset_of, profile_path

    path = profile_path(path)
    preset = preset_of(path)
    if preset:
        env = preset_env(preset, os.environ if env is None else env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"profile {str(path)!r} does not exist; expected a readable YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"profile {str(path)!r} cannot be read: {exc}") from None
    return parse_profile(text, env=env, path=path)


class _ProfileLoader(yaml.SafeLoader):
    """YAML without surprises: an alias is refused (a few lines could expand without bound), a key given twice
    is refused (else the last one silently wins)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _ProfileYAMLError(f"uses the alias *{event.anchor}", event.start_mark,
                                    "; expected plain values (aliases are refused in profiles)")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise _ProfileYAMLError(f"gives the key {key!r} twice", key_node.start_mark,
                                            f" (first at line {seen[key].line + 1}); expected each key once")
                seen[key] = key_node.start_mark
            except TypeError:
                pass  # an unhashable key: SafeLoader says so below
        return super().construct_mapping(node, deep=deep)


_ProfileLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _ProfileLoader.construct_mapping)


class _ProfileYAMLError(Exception):
    def __init__(self, what: str, mark: Any, expected: str):
        super().__init__(what)
        self.text = f"{what} at line {mark.line + 1}, column {mark.column + 1}{expected}"


def parse_profile(text: str, env: Mapping[str, str] | None = None, path: Path | None = None) -> Profile:
    """Parse profile text (YAML) into a Profile."""
    where = str(path) if path else "profile"
    try:
        raw = yaml.load(text, Loader=_ProfileLoader)  # noqa: S506 - a SafeLoader subclass
    except _ProfileYAMLError as exc:
        raise ConfigError(f"{where}: {exc.text}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise ConfigError(f"{where}: malformed YAML{at}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of profile keys at the top level, found {_kind(raw)}")
    reader = _Reader(env if env is not None else os.environ)
    profile = reader.profile(raw)
    return _with(profile, path=path, sources=dict(reader.sources))


def _with(profile: Profile, **changes: Any) -> Profile:
    from dataclasses import replace

    return replace(profile, **changes)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _column_only(key: str, column: str | None) -> str | None:
    """``column`` for a role only a column plays: a key of a JSON column (``metadata->>'source'``), quoted as one
    column's name, failed on the database (scope) or in a check."""
    if column is not None and ("->" in column or "#>" in column):  # ->> and -> (json), #>> and #> (a path)
        raise ConfigError(f"profile key '{key}' names {column!r}, a key of a JSON column; expected a column (only "
                          "chunks.text, chunks.sources, filters and an inline embeddings.model read a JSON key)")
    return column


class _Reader:
    """Walks the raw YAML, interpolating env references and recording where each value came from."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.sources: dict[str, str] = {}

    # -- scalars -----------------------------------------------------------------
    def interpolate(self, key: str, value: Any) -> Any:
        if isinstance(value, str) and _TODO.match(value):
            # A draft from `profile init` marks what it could not find; it must not run until someone decides.
            raise ConfigError(f"profile key '{key}' is still TODO (left by profile init); replace it with the real value")
        if not isinstance(value, str) or "${" not in value:
            if value is not None:
                self.sources.setdefault(key, "profile")
            return value
        origins: list[str] = []

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.env and self.env[name] != "":
                origins.append(f"env {name}")
                return self.env[name]
            if default is not None:
                origins.append(f"default for {name}")
                return default
            raise ConfigError(
                f"profile key '{key}' needs environment variable {name}, which is not set; "
                f"set it or write ${{{name}:-default}}"
            )

        result = _ENV_REF.sub(substitute, value)
        self.sources[key] = ", ".join(origins) if origins else "profile"
        return result

    def mapping(self, key: str, raw: Any, allowed: set[str], required: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"profile key '{key}' must be a mapping, found {_kind(raw)}")
        for name in raw:
            if name not in allowed:
                raise ConfigError(
                    f"profile key '{_join(key, name)}' is not known; expected one of: {', '.join(sorted(allowed))}"
                )
        for name in sorted(required):
            if raw.get(name) in (None, ""):
                raise ConfigError(f"profile key '{_join(key, name)}' is required")
        return raw

    @overload
    def string(self, key: str, value: Any, *, required: Literal[True]) -> str: ...
    @overload
    def string(self, key: str, value: Any, *, required: bool = False) -> str | None: ...

    def string(self, key: str, value: Any, *, required: bool = False) -> str | None:
        value = self.interpolate(key, value)
        if value is None or value == "":
            if required:
                raise ConfigError(f"profile key '{key}' is required; expected a string")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"profile key '{key}' must be a string, found {_kind(value)}")
        return str(value)

    @overload
    def identifier(self, key: str, value: Any, *, required: Literal[True]) -> str: ...
    @overload
    def identifier(self, key: str, value: Any, *, required: bool = False) -> str | None: ...

    def identifier(self, key: str, value: Any, *, required: bool = False) -> str | None:
        name = self.string(key, value, required=required)
        if name is None:
            return None
        if "\x00" in name or name.strip() == "":
            raise ConfigError(f"profile key '{key}' must be a SQL identifier, found {name!r}")
        if "%" in name:
            # psycopg reads '%' in composed SQL as a placeholder whenever the query also has parameters.
            raise ConfigError(f"profile key '{key}' names {name!r}, which contains '%'; expected a name without '%'")
        if len(name.encode("utf-8")) > _MAX_IDENTIFIER_BYTES:
            raise ConfigError(
                f"profile key '{key}' names {name!r}, longer than Postgres' {_MAX_IDENTIFIER_BYTES}-byte identifier limit"
            )
        return name

    def identifiers(self, key: str, value: Any) -> tuple[str, ...]:
        value = self.interpolate(key, value)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"profile key '{key}' must be a column name or a list of column names, found {_kind(value)}")
        return tuple(self.identifier(f"{key}[{i}]", item, required=True) for i, item in enumerate(value))

    def json_members(self, key: str, value: Any, style: str | None) -> tuple[tuple[str, ...], Any]:
        """chunks.text of a JSON document (chunks.text_json): each item a field, under its own name, or ``{key:
        field}``; (the keys, the fields) where ``style`` is given, else ((), the value unchanged)."""
        if style is None and not isinstance(value, list):
            return (), value  # a mapping alone is no list of parts: text_items says what chunks.text must be
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict) and style is None:
                raise ConfigError(f"profile key '{key}[{i}]' is {{key: column}}, which only chunks.text_json composes; "
                                  "expected a column")
            if isinstance(item, dict) and len(item) != 1:
                raise ConfigError(f"profile key '{key}[{i}]' must be a column or {{key: column}}, found a mapping of "
                                  f"{len(item)} keys")
            if isinstance(item, dict) and not all(isinstance(x, str) for x in (*item, *item.values())):
                raise ConfigError(f"profile key '{key}[{i}]' must be a column or {{key: column}} whose key and column "
                                  f"are text, found {item!r}")
        if style is None:
            return (), value
        pairs = [next(iter(item.items())) if isinstance(item, dict) else (item, item) for item in items]
        return tuple(str(k) for k, _ in pairs), [f for _, f in pairs]

    def text_items(self, key: str, value: Any) -> tuple[str, ...]:
        """chunks.text: column names, or labelled parts around them (harness.text_parts)."""
        raw, value = value, self.interpolate(key, value)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            items = []
            for i, item in enumerate(value):
                if not text_parts.is_template(item):
                    items.append(self.identifier(f"{key}[{i}]", item, required=True))
                    continue
                if "%" in item:
                    raise ConfigError(f"profile key '{key}[{i}]' is {item!r}, which contains '%'; expected no '%'")
                try:
                    text_parts.parse(item)
                except ValueError as exc:
                    raise ConfigError(f"profile key '{key}[{i}]' is {exc}") from None
                items.append(item)
            return tuple(items)
        if isinstance(value, str) and text_parts.is_template(value):
            return self.text_items(key, [value])
        return self.identifiers(key, raw)

    @overload
    def integer(self, key: str, value: Any, *, default: int, minimum: int = 1) -> int: ...
    @overload
    def integer(self, key: str, value: Any, *, default: None = None, minimum: int = 1) -> int | None: ...

    def integer(self, key: str, value: Any, *, default: int | None = None, minimum: int = 1) -> int | None:
        value = self.interpolate(key, value)
        if value is None or value == "":
            return default
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value)
            if isinstance(value, float) and number != value:
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(f"profile key '{key}' must be an integer, found {value!r}") from None
        if number < minimum:
            raise ConfigError(f"profile key '{key}' must be at least {minimum}, found {number}")
        return number

    def number(self, key: str, value: Any, *, default: float) -> float:
        value = self.interpolate(key, value)
        if value is None or value == "":
            return default
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"profile key '{key}' must be a number, found {value!r}") from None
        if not number > 0:
            raise ConfigError(f"profile key '{key}' must be greater than 0, found {value!r}")
        return number

    def string_map(self, key: str, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"profile key '{key}' must be a mapping of names to strings, found {_kind(value)}")
        return {str(k): self.string(f"{key}.{k}", v) or "" for k, v in value.items()}

    # -- sections ----------------------------------------------------------------
    def profile(self, raw: dict[str, Any]) -> Profile:
        top = self.mapping(
            "",
            raw,
            {"name", "database", "provider", "chunks", "embeddings", "chunking", "backfill", "distance",
             "spot_queries", "custom_checks", "search_terms", "verify", "source"},
            {"name", "provider", "chunks"},
        )
        chunks = self.chunks(top["chunks"])
        embeddings = self.embeddings(top.get("embeddings"), chunks)
        distance = self.string("distance", top.get("distance")) or "cosine"
        if distance not in DISTANCES:
            raise ConfigError(f"profile key 'distance' must be one of {', '.join(DISTANCES)}, found {distance!r}")
        source = self.source(top.get("source"))
        if chunks.text_format == "pgai" and source is None:
            raise ConfigError("profile key 'source' must name pgai's source table with chunks.text_format 'pgai' "
                              "(its formatting template reads the source row); found none")
        if source is not None and source.collection is not None and chunks.collection is None:
            raise ConfigError(f"profile key 'source.collection' names {source.collection!r}, but chunks name no "
                              "collection column (chunks.collection): expected it absent")
        terms = top.get("search_terms") or []
        if not isinstance(terms, list) or not all(isinstance(t, str) and t for t in terms):
            raise ConfigError(f"profile key 'search_terms' must be a list of non-empty strings, found {terms!r}")
        provider = self.provider(top["provider"])
        if embeddings.pad_to is not None and provider.request_dimensions is not None:
            raise ConfigError(f"profile key 'provider.request_dimensions' ({provider.request_dimensions}) cannot be "
                              f"combined with embeddings.pad_to ({embeddings.pad_to}); expected one of them: vectors "
                              "truncated to their column, or the model's vectors padded to it")
        if embeddings.pad_to is not None and (provider.dimensions is None or provider.dimensions >= embeddings.pad_to):
            raise ConfigError(f"profile key 'embeddings.pad_to' ({embeddings.pad_to}) needs provider.dimensions, the model's "
                              f"own dimension, below it; found provider.dimensions {provider.dimensions}")
        return Profile(
            name=self.string("name", top["name"], required=True),
            database=self.database(top.get("database")),
            provider=provider,
            chunks=chunks,
            embeddings=embeddings,
            chunking=self.chunking(top.get("chunking")),
            backfill=self.backfill(top.get("backfill")),
            verify=self.verify(top.get("verify")),
            distance=distance,
            spot_queries=self.spot_queries(top.get("spot_queries")),
            custom_checks=self.custom_checks(top.get("custom_checks")),
            search_terms=tuple(terms),
            source=source,
        )

    def column_values(self, key: str, raw: Any) -> tuple[tuple[str, Any], ...]:
        """A mapping of column to one value each (``chunks.filter``, ``source.chunk_filter``); ``null`` is IS NULL and
        ``{not: null}`` IS NOT NULL (``NOT_NULL``)."""
        raw = raw or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"profile key '{key}' must be a mapping of column to value, found {_kind(raw)}")
        for k, v in raw.items():
            if v is not None and not isinstance(v, (str, bool, int, float)) and v != {"not": None}:
                raise ConfigError(f"profile key '{key}.{k}' is {_kind(v)}; expected a single value "
                                  "(a string, number, true/false or null) or {not: null}")
        pairs = tuple((self.identifier(f"{key}.{k}", k, required=True),
                       NOT_NULL if isinstance(v, dict) else self.interpolate(f"{key}.{k}", v)) for k, v in raw.items())
        for column, _ in pairs:
            try:  # a key of a JSON column (`status->>'state'`) is one field; a malformed one is refused here
                json_field(column)
            except ValueError as e:
                raise ConfigError(f"profile key '{key}.{column}': {e}") from None
        for column, value in pairs:
            if "%" in str(value):
                raise ConfigError(f"profile key '{key}.{column}' has value {value!r}, which contains '%'; "
                                  "expected a value without '%'")
        return pairs

    def source(self, raw: Any) -> SourceTable | None:
        if raw is None:
            return None
        section = self.mapping("source", raw, {"schema", "table", "key", "queue", "chunk_key", "chunk_filter", "collection"},
                               {"table"})
        collection = self.identifier("source.collection", section.get("collection"))
        queue = self.string("source.queue", section.get("queue"))
        if queue not in (None, "pgai"):
            raise ConfigError(f"profile key 'source.queue' must be pgai or absent, found {queue!r}")
        chunk_key = self.identifier("source.chunk_key", section.get("chunk_key"))
        if chunk_key is not None:
            try:
                json_field(chunk_key)
            except ValueError as exc:
                raise ConfigError(f"profile key 'source.chunk_key' names {exc}") from None
            if queue is not None:
                raise ConfigError("profile key 'source.chunk_key' is not read with source.queue pgai (pgai's chunks "
                                  "hold the source's key under its own name); expected it absent")
        return SourceTable(
            collection=collection.removesuffix("[]") if collection else None,
            collection_array=bool(collection and collection.endswith("[]")),
            chunk_key=chunk_key,
            table=self.identifier("source.table", section["table"], required=True),
            key=self.identifier("source.key", section.get("key")) or "id",
            schema=self.identifier("source.schema", section.get("schema")) or "public",
            queue=queue,
            chunk_filter=self.column_values("source.chunk_filter", section.get("chunk_filter")),
        )

    def database(self, raw: Any) -> DatabaseSettings:
        section = self.mapping("database", raw, {"url", "session", "tenants"})
        session = self.string_map("database.session", section.get("session"))
        for name, value in session.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+", name):
                raise ConfigError(f"profile key 'database.session.{name}' is not a custom setting name; "
                                  "expected a dotted name such as app.current_tenant_id")
            if re.sub(r"\{tenant\}", "", value).count("{tenant") or re.search(r"\{(?!tenant\})[a-z_]+\}", value):
                raise ConfigError(f"profile key 'database.session.{name}' has value {value!r}; expected text, "
                                  "optionally with the placeholder {tenant}")
        tenants = section.get("tenants")
        if tenants is not None and (not isinstance(tenants, list) or not tenants
                                    or not all(isinstance(t, (str, int)) and not isinstance(t, bool) for t in tenants)):
            raise ConfigError(f"profile key 'database.tenants' must be a non-empty list of tenant values, found {_kind(tenants)}")
        return DatabaseSettings(url=self.string("database.url", section.get("url")), session=session,
                                tenants=tuple(str(self.interpolate(f"database.tenants[{i}]", t)) for i, t in enumerate(tenants or [])))

    def provider(self, raw: Any) -> ProviderSettings:
        section = self.mapping(
            "provider", raw, {"url", "model", "dimensions", "timeout_s", "retries", "headers", "request_dimensions"},
            {"model"}
        )
        url = self.string("provider.url", section.get("url"))
        if url is not None and not re.match(r"^https?://[^\s/]+", url):
            raise ConfigError(f"profile key 'provider.url' must be an http(s) URL, found {url!r}")
        native = self.integer("provider.dimensions", section.get("dimensions"))
        request = self.integer("provider.request_dimensions", section.get("request_dimensions"))
        if request is not None and native is not None and request >= native:
            raise ConfigError(f"profile key 'provider.request_dimensions' ({request}) must be below the model's own "
                              f"dimension, provider.dimensions {native}; expected a positive integer below {native} "
                              "(Ollama returns the model's vectors unchanged otherwise)")
        return ProviderSettings(
            url=url.rstrip("/") if url else None,
            model=self.string("provider.model", section["model"], required=True),
            dimensions=native,
            request_dimensions=request,
            timeout_s=self.number("provider.timeout_s", section.get("timeout_s"), default=60.0),
            retries=self.integer("provider.retries", section.get("retries"), default=5, minimum=0),
            headers=self.string_map("provider.headers", section.get("headers")),
        )

    def chunks(self, raw: Any) -> ChunkTable:
        section = self.mapping(
            "chunks",
            raw,
            {"schema", "table", "id", "text", "text_separator", "text_newlines", "text_prefix", "query_prefix",
             "collection", "collection_name",
             "tenant", "sources", "filter", "collection_table", "updated_at", "text_format", "metadata",
             "collection_tables", "collection_join", "text_json"},
            {"table"},
        )
        collection = self.identifier("chunks.collection", section.get("collection"))
        collection_array = collection is not None and collection.endswith("[]")
        if collection_array:
            collection = self.identifier("chunks.collection", cast(str, collection)[:-2], required=True)
        collection_name = self.string("chunks.collection_name", section.get("collection_name"))
        if collection is None and collection_name is None:
            raise ConfigError(
                "profile key 'chunks.collection' is required (the column that names the collection), "
                "or 'chunks.collection_name' for a table that holds a single collection"
            )
        filters = self.column_values("chunks.filter", section.get("filter"))
        text_json = self.string("chunks.text_json", section.get("text_json"))
        if text_json is not None and text_json not in JSON_STYLES:
            raise ConfigError(f"profile key 'chunks.text_json' must be one of {', '.join(JSON_STYLES)}, found {text_json!r}")
        json_keys, raw_text = self.json_members("chunks.text", section.get("text", "content"), text_json)
        text = self.text_items("chunks.text", raw_text)
        if not text:
            raise ConfigError("profile key 'chunks.text' must name at least one column")
        separator = section.get("text_separator", " ")
        if not isinstance(separator, str):
            raise ConfigError(f"profile key 'chunks.text_separator' must be a string, found {_kind(separator)}")
        text_format = self.string("chunks.text_format", section.get("text_format")) or "plain"
        if text_format not in TEXT_FORMATS:
            raise ConfigError(f"profile key 'chunks.text_format' must be one of {', '.join(TEXT_FORMATS)}, found {text_format!r}")
        newlines = self.string("chunks.text_newlines", section.get("text_newlines")) or "keep"
        if newlines not in TEXT_NEWLINES:
            raise ConfigError(f"profile key 'chunks.text_newlines' must be one of {', '.join(TEXT_NEWLINES)}, "
                              f"found {newlines!r}")
        if newlines != "keep" and text_format != "plain":
            raise ConfigError(f"profile key 'chunks.text_newlines' is {newlines!r}, which chunks.text_format "
                              f"{text_format!r} does not apply; expected keep")
        prefixes = {}
        for key in ("text_prefix", "query_prefix"):
            value = section.get(key, "")
            if not isinstance(value, str):
                raise ConfigError(f"profile key 'chunks.{key}' must be a string, found {_kind(value)}")
            prefixes[key] = value
        if prefixes["text_prefix"] and text_format == "pgai":
            raise ConfigError(f"profile key 'chunks.text_prefix' is {prefixes['text_prefix']!r}, which chunks.text_format "
                              "pgai does not take: pgai's formatting template says what is put before the chunk; "
                              "expected no text_prefix")
        metadata = self.identifier("chunks.metadata", section.get("metadata"))
        if text_format == "llamaindex":
            metadata = metadata or "metadata_"
        sources = self.identifiers("chunks.sources", section.get("sources"))
        for i, item in enumerate(text):
            if text_parts.is_template(item) and text_json is not None:
                raise ConfigError(f"profile key 'chunks.text[{i}]' is a labelled part ({item!r}), which chunks.text_json "
                                  "does not compose; expected a column or {key: column}")
            if text_parts.is_template(item) and text_format != "plain":
                raise ConfigError(f"profile key 'chunks.text[{i}]' is a labelled part ({item!r}), which chunks.text_format "
                                  f"{text_format!r} does not compose; expected a column")
        for key, item in [*((f"chunks.text[{i}]", f) for i, t in enumerate(text) for f in text_parts.fields(t)),
                          *((f"chunks.sources[{i}]", t) for i, t in enumerate(sources))]:
            try:
                _, json_key = json_field(item)
            except ValueError as exc:
                raise ConfigError(f"profile key '{key}' names {exc}") from None
            if json_key is not None and key.startswith("chunks.text") and text_format != "plain":
                raise ConfigError(f"profile key '{key}' names a JSON key ({item!r}), which chunks.text_format "
                                  f"{text_format!r} does not read; expected a column")
        roles = {"chunks.id": self.identifier("chunks.id", section.get("id")) or "id", "chunks.collection": collection,
                 "chunks.tenant": self.identifier("chunks.tenant", section.get("tenant"))}
        for key, column in roles.items():
            _column_only(key, column)
        for i, item in ((i, f) for i, t in enumerate(text) for f in text_parts.fields(t) if f == t):
            # A column of another role is the same for many chunks: each would be embedded as its collection's name.
            role = next((k for k, column in roles.items() if column is not None and column == item), None)
            # a JSON document holds it beside the chunk's own fields (a course's id in its json_encode)
            if role is not None and (text_json is None or set(text) <= {c for c in roles.values() if c}):
                raise ConfigError(f"profile key 'chunks.text[{i}]' names {item!r}, which is {role}: every chunk would "
                                  f"be embedded as its {role.split('.')[1]}; expected the column holding the chunk's text")
        if text_json is not None and text_format != "plain":
            raise ConfigError(f"profile key 'chunks.text_json' is {text_json!r}, which chunks.text_format "
                              f"{text_format!r} does not compose; expected text_format plain")
        if text_format != "plain" and len(text) != 1:
            raise ConfigError(f"profile key 'chunks.text' must name one column with chunks.text_format {text_format!r}, "
                              f"found {len(text)}")
        collection_tables = self.string("chunks.collection_tables", section.get("collection_tables"))
        if collection_tables is not None and (collection_name is None or "{collection}" not in collection_tables
                                              or collection_tables.replace("{collection}", collection_name)
                                              != self.identifier("chunks.table", section["table"], required=True)):
            raise ConfigError(f"profile key 'chunks.collection_tables' must be a table name pattern with {{collection}} that "
                              f"gives chunks.table for chunks.collection_name, found {collection_tables!r}")
        collection_join = self.collection_join(section.get("collection_join"), collection, collection_array,
                                               section.get("id"), section.get("schema"))
        return ChunkTable(
            collection_join=collection_join,
            collection_tables=collection_tables,
            text_format=text_format,
            text_json=text_json,
            text_json_keys=json_keys,
            metadata=metadata,
            schema=self.identifier("chunks.schema", section.get("schema")) or "public",
            schema_given=section.get("schema") is not None,
            table=self.identifier("chunks.table", section["table"], required=True),
            id=self.identifier("chunks.id", section.get("id")) or "id",
            text=text,
            text_separator=separator,
            text_newlines=newlines,
            text_prefix=prefixes["text_prefix"],
            query_prefix=prefixes["query_prefix"],
            collection=collection,
            collection_array=collection_array,
            collection_name=collection_name,
            tenant=self.identifier("chunks.tenant", section.get("tenant")),
            sources=sources,
            filter=filters,
            collection_table=self.collection_table(section.get("collection_table"), collection),
            updated_at=self.identifier("chunks.updated_at", section.get("updated_at")),
        )

    def collection_join(self, raw: Any, collection: str | None, array: bool, chunk_id: Any,
                        chunk_schema: Any) -> CollectionJoin | None:
        if raw is None:
            return None
        section = self.mapping("chunks.collection_join", raw, {"schema", "table", "key", "chunk"}, {"table", "key"})
        if collection is None or array:
            raise ConfigError("profile key 'chunks.collection_join' needs 'chunks.collection' naming the join table's "
                              f"column that holds the collection, found {collection!r}{'[]' if array else ''}; "
                              "expected a column name (no [])")
        return CollectionJoin(
            schema=self.identifier("chunks.collection_join.schema", section.get("schema"))
            or self.identifier("chunks.schema", chunk_schema) or "public",
            table=self.identifier("chunks.collection_join.table", section["table"], required=True),
            key=self.identifier("chunks.collection_join.key", section["key"], required=True),
            chunk=self.identifier("chunks.collection_join.chunk", section.get("chunk"))
            or self.identifier("chunks.id", chunk_id) or "id",
        )

    def collection_table(self, raw: Any, collection: str | None) -> CollectionTable | None:
        if raw is None:
            return None
        section = self.mapping("chunks.collection_table", raw, {"schema", "table", "key", "name"}, {"table"})
        if collection is None:
            raise ConfigError("profile key 'chunks.collection' is required with 'chunks.collection_table': "
                              "the chunk column holding the collection table's key")
        return CollectionTable(
            schema=self.identifier("chunks.collection_table.schema", section.get("schema")) or "public",
            table=self.identifier("chunks.collection_table.table", section["table"], required=True),
            key=self.identifier("chunks.collection_table.key", section.get("key")) or "uuid",
            name=self.identifier("chunks.collection_table.name", section.get("name")) or "name",
        )

    def embeddings(self, raw: Any, chunks: ChunkTable) -> EmbeddingTable:
        section = self.mapping(
            "embeddings",
            raw,
            {"schema", "table", "key", "vector", "model", "input_hash", "input_hash_algorithm", "input_hash_of",
             "collection", "tenant", "dimensions", "updated_at", "embedded_at", "model_value", "defaults",
             "index_min_rows", "pad_to", "filter"},
        )
        table = self.identifier("embeddings.table", section.get("table")) or chunks.table
        schema = self.identifier("embeddings.schema", section.get("schema")) or chunks.schema
        inline = (schema, table) == (chunks.schema, chunks.table)
        key = _column_only("embeddings.key", self.identifier("embeddings.key", section.get("key")))
        if key is None:
            if not inline:
                raise ConfigError("profile key 'embeddings.key' is required: the column that references chunks.id")
            key = chunks.id
        model = self.identifier("embeddings.model", section.get("model"))
        try:
            model_key = json_field(model)[1] if model is not None else None
        except ValueError as exc:
            raise ConfigError(f"profile key 'embeddings.model' names {exc}") from None
        if model_key is not None and not inline:
            raise ConfigError(f"profile key 'embeddings.model' names a key of a JSON column ({model!r}), which is read "
                              "and written beside an inline vector column only; expected a column of "
                              f"{schema}.{table}")
        collection = _column_only("embeddings.collection", self.identifier("embeddings.collection", section.get("collection")))
        if collection is not None and chunks.collection_several:
            # an embedding row filed under one collection cannot follow a chunk that belongs to several
            from .collection_join import described

            raise ConfigError(f"profile key 'embeddings.collection' names {collection!r}, but chunks.collection "
                              f"{described(chunks)} (a chunk in several collections); expected no "
                              "embeddings.collection: vectors follow their chunk's key")
        input_hash = _column_only("embeddings.input_hash", self.identifier("embeddings.input_hash", section.get("input_hash")))
        hashed = section.get("input_hash_of")
        if hashed is not None and input_hash is None:
            raise ConfigError("profile key 'embeddings.input_hash_of' names what the input hash is of, but "
                              "embeddings.input_hash is not set; expected embeddings.input_hash (the column holding the "
                              "hash) or no input_hash_of")
        rows = self.column_values("embeddings.filter", section.get("filter"))
        for column, value in rows:
            if inline:
                raise ConfigError(f"profile key 'embeddings.filter' names {column!r} beside an inline vector column (one "
                                  "vector per chunk row); expected no embeddings.filter, or chunks.filter for the chunks")
            if value is None:
                raise ConfigError(f"profile key 'embeddings.filter.{column}' is null; expected the value the engine "
                                  "writes into the rows of this target (e.g. the model's id)")
            if column in (key, section.get("vector") or "embedding") or column in (section.get("defaults") or {}):
                raise ConfigError(f"profile key 'embeddings.filter.{column}' names a column the engine writes otherwise "
                                  "(the key, the vector or an embeddings.defaults entry); expected another column")
        return EmbeddingTable(
            schema=schema,
            schema_given=section.get("schema") is not None or chunks.schema_given,
            table=table,
            key=key,
            vector=_column_only("embeddings.vector", self.identifier("embeddings.vector", section.get("vector"))) or "embedding",
            model=model,
            input_hash=input_hash,
            input_hash_algorithm=self.hash_algorithm(section.get("input_hash_algorithm"), input_hash),
            input_hash_of=self.text_items("embeddings.input_hash_of", hashed) if hashed is not None else (),
            collection=collection,
            tenant=_column_only("embeddings.tenant", self.identifier("embeddings.tenant", section.get("tenant"))),
            dimensions=self.identifier("embeddings.dimensions", section.get("dimensions")),
            defaults=self.defaults(section.get("defaults")),
            updated_at=self.identifier("embeddings.updated_at", section.get("updated_at")),
            embedded_at=self.identifier("embeddings.embedded_at", section.get("embedded_at")),
            model_value=self.string("embeddings.model_value", section.get("model_value")),
            index_min_rows=self.integer("embeddings.index_min_rows", section.get("index_min_rows"), default=100_000,
                                        minimum=0),
            pad_to=self.integer("embeddings.pad_to", section.get("pad_to")),
            filter=rows,
        )

    def hash_algorithm(self, raw: Any, input_hash: str | None) -> str:
        key = "embeddings.input_hash_algorithm"
        if raw is None:
            return hashing.DEFAULT
        if not isinstance(raw, str) or raw.lower() not in hashing.ALGORITHMS:
            raise ConfigError(f"profile key '{key}' must be one of {', '.join(hashing.ALGORITHMS)}, found {raw!r}")
        if input_hash is None:
            raise ConfigError(f"profile key '{key}' names the algorithm of embeddings.input_hash, which is not set; "
                              "expected embeddings.input_hash (the column holding the hash) or no algorithm")
        return raw.lower()

    def defaults(self, raw: Any) -> dict[str, str]:
        from .sqlexpr import PLACEHOLDERS, problem

        values = self.string_map("embeddings.defaults", raw)
        for column, expression in values.items():
            key = f"embeddings.defaults.{column}"
            self.identifier(key, column, required=True)
            why = problem(expression)
            if why:
                raise ConfigError(f"profile key '{key}' has {expression!r}, which is not one SQL expression: {why}; "
                                  "expected e.g. gen_random_uuid()::text or " + ", ".join("{%s}" % p for p in PLACEHOLDERS))
        return values

    def chunking(self, raw: Any) -> ChunkingSettings:
        section = self.mapping("chunking", raw, {"max_chunk_size", "overlap"})
        return ChunkingSettings(
            max_chunk_size=self.integer("chunking.max_chunk_size", section.get("max_chunk_size")),
            overlap=self.integer("chunking.overlap", section.get("overlap"), minimum=0),
        )

    def backfill(self, raw: Any) -> BackfillSettings:
        section = self.mapping("backfill", raw, {"command", "args", "workdir", "env", "batch_size", "timeout_s",
                                                 "done_pattern", "probe_command", "embeds_in_process", "in_process_model"})
        env = self.string_map("backfill.env", section.get("env"))
        for name, value in env.items():
            unknown = sorted(set(PLACEHOLDER.findall(value)) - set(BACKFILL_ENV_PLACEHOLDERS))
            if unknown:
                raise ConfigError(f"profile key 'backfill.env.{name}' uses placeholder {{{unknown[0]}}}; expected one of: "
                                  + ", ".join(f"{{{p}}}" for p in BACKFILL_ENV_PLACEHOLDERS))
        in_process = section.get("embeds_in_process", False)
        if not isinstance(in_process, bool):
            raise ConfigError(f"profile key 'backfill.embeds_in_process' must be true or false, found {_kind(in_process)}")
        in_process_model = self.string("backfill.in_process_model", section.get("in_process_model"))
        if in_process and not in_process_model:
            raise ConfigError("profile key 'backfill.in_process_model' is required when backfill.embeds_in_process is "
                              "true; expected what the command loads (a local path or a Hugging Face id)")
        return BackfillSettings(
            command=self.string("backfill.command", section.get("command")),
            args=self.items("backfill.args", section.get("args"), lambda key, item: self.string(key, item, required=True)),
            workdir=self.string("backfill.workdir", section.get("workdir")),
            env=env,
            batch_size=self.integer("backfill.batch_size", section.get("batch_size"), default=100),
            timeout_s=self.number("backfill.timeout_s", section.get("timeout_s"), default=3600.0),
            probe_command=self.string("backfill.probe_command", section.get("probe_command")),
            embeds_in_process=in_process,
            in_process_model=in_process_model,
            done_pattern=self.done_pattern(section.get("done_pattern")),
        )

    def verify(self, raw: Any) -> VerifySettings:
        section = self.mapping("verify", raw, {"max_bad_fraction", "confidence"})
        fraction = self.number("verify.max_bad_fraction", section.get("max_bad_fraction"), default=0.01)
        confidence = self.number("verify.confidence", section.get("confidence"), default=0.95)
        if fraction > 1:
            raise ConfigError(f"profile key 'verify.max_bad_fraction' must be at most 1, found {fraction!r}")
        if confidence >= 1:
            raise ConfigError(f"profile key 'verify.confidence' must be less than 1, found {confidence!r}")
        return VerifySettings(max_bad_fraction=fraction, confidence=confidence)

    def done_pattern(self, raw: Any) -> str | None:
        key = "backfill.done_pattern"
        text = self.string(key, raw)
        if text is None:
            return None
        try:
            groups = set(re.compile(text).groupindex)
        except re.error as exc:
            raise ConfigError(f"profile key '{key}' is not a valid regular expression ({exc}); expected e.g. "
                              r"'Embedded (?P<embedded>\d+)/(?P<total>\d+).*?(?P<failed>\d+) errors'") from None
        if not groups & {"embedded", "failed"}:
            raise ConfigError(f"profile key '{key}' has no named group 'embedded' or 'failed'; expected named groups "
                              "embedded, total and failed, e.g. (?P<failed>\\d+)")
        return text

    def items(self, name: str, raw: Any, build) -> tuple:
        """A list section: each item read by ``build(key, item)`` with its own indexed key for errors."""
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise ConfigError(f"profile key '{name}' must be a list, found {_kind(raw)}")
        return tuple(build(f"{name}[{i}]", item) for i, item in enumerate(raw))

    def spot_queries(self, raw: Any) -> tuple[SpotQuery, ...]:
        def build(key: str, item: Any) -> SpotQuery:
            section = self.mapping(key, item, {"query", "expect_source", "k"}, {"query"})
            return SpotQuery(
                query=self.string(f"{key}.query", section["query"], required=True),
                expect_source=self.string(f"{key}.expect_source", section.get("expect_source")),
                k=self.integer(f"{key}.k", section.get("k"), default=5),
            )

        return self.items("spot_queries", raw, build)

    def custom_checks(self, raw: Any) -> tuple[CustomCheck, ...]:
        def build(key: str, item: Any) -> CustomCheck:
            section = self.mapping(key, item, {"name", "sql", "expect"}, {"name", "sql"})
            if "expect" not in section:
                raise ConfigError(f"profile key '{key}.expect' is required: the value the query must return")
            return CustomCheck(
                name=self.string(f"{key}.name", section["name"], required=True),
                sql=self.string(f"{key}.sql", section["sql"], required=True),
                expect=section["expect"],
            )

        return self.items("custom_checks", raw, build)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else str(name)

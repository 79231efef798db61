"""Configuration by pattern: the environment names an embedding backfill depends on, and hard-coded Ollama URLs."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from dataclasses import dataclass

from .. import redact
from .literals import line_of

# *EMBED*, OLLAMA_*, *_DSN, DATABASE_URL, *_MODEL (and the usual Postgres names).
# Also prefixed: a vector store's own DSN (PGVECTOR_DB_URL), a feature's Ollama URL (RAG_OLLAMA_BASE_URL), the width
# a store gives its column (PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH).
NAME = re.compile(r"\b(?P<name>[A-Z][A-Z0-9_]*EMBED[A-Z0-9_]*|EMBED[A-Z0-9_]*|(?:[A-Z][A-Z0-9_]*_)?OLLAMA_[A-Z0-9_]+|[A-Z][A-Z0-9_]*_DSN|"
                  r"DSN|DATABASE_URL|[A-Z][A-Z0-9_]*_DATABASE_URL|[A-Z][A-Z0-9_]*_DB_UR[LI]|[A-Z][A-Z0-9_]*_DATASOURCE_UR[LI]|POSTGRES_[A-Z0-9_]*URL[A-Z0-9_]*|PG_URL|"
                  r"[A-Z0-9_]*VECTOR_(?:LENGTH|DIMS?|DIMENSIONS?|SIZE)|"
                  r"[A-Z0-9_]*(?:PG|POSTGRES|VECTOR|DB|DATABASE)[A-Z0-9_]*_CONNECTION_STRING|OPENAI_(?:BASE_URL|API_BASE|API_HOST)|[A-Z][A-Z0-9_]*_MODEL(?:_NAME)?|"
                  r"MAX_CHUNK_SIZE|CHUNK_SIZE|CHUNK_OVERLAP)\b")
# A word every NAME holds: lines without one are not tried (NAME's branches begin at every capital letter, and a
# monorepo's locale files are mostly capitals and words; kept a superset of NAME's branches).
_NAME_HINT = re.compile(r"EMBED|OLLAMA_|DSN|DATABASE_URL|_DB_UR|_DATASOURCE_UR|POSTGRES_|PG_URL|VECTOR_|_CONNECTION_STRING|"
                        r"OPENAI_|_MODEL|CHUNK_SIZE|CHUNK_OVERLAP")
# (a host a format verb fills, Go's `fmt.Sprintf("http://%s:11434", host)`, is the variable's: no match; a `-` before it
# only as a default's `:-`, `${OLLAMA_HOST:-http://localhost:11434}`, else the match began at the host, its scheme lost)
OLLAMA_URL = re.compile(r"(?<![%\w.])(?<![^:]-)(?P<url>(?:https?://)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|host\.docker\.internal|"
                        r"[A-Za-z0-9.-]+):11434\b[^\s'\"`,)}]*)")
# ``${NAME:default}`` (Spring's property placeholders) and ``${NAME:-default}`` (shell, Compose): the environment name
# read first, its default the value otherwise.
_PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*)(?::-?(?P<default>[^}]*))?\}")
# JSON's `"NAME": "value",` too (a launch configuration's env block): the key quoted, a comma after the value
_ASSIGN = re.compile(r"^\s*(?:export\s+)?(?P<q>\"?)(?P<name>[A-Z][A-Z0-9_]*)(?P=q)\s*[=:]\s*(?P<value>.*?)\s*$")
# A setting of the app's own name whose value chooses the embedder (lobe-chat's
# `DEFAULT_FILES_CONFIG="embedding_model=ollama/..."`), set or commented out as an example.
_EMBEDDING_VALUE = re.compile(r"^\s*#?\s*(?:export\s+)?(?P<name>[A-Z][A-Z0-9_]*)\s*=\s*(?P<value>\S*embed.*?)\s*$", re.I)
_EMBED_WORD = re.compile(r"embed", re.I)  # what every _EMBEDDING_VALUE holds


@dataclass(frozen=True)
class ConfigSetting:
    path: str
    line: int
    name: str  # an environment name, or "url" for a hard-coded :11434 URL
    value: str | None = None  # secrets masked

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# Another database system's settings (rag_api's ATLAS_MONGO_DB_URI beside its Postgres names), or the DSN of an error
# tracker or analytics service (formbricks' SENTRY_DSN): never our DSN, whose password must not reach them.
# Stores other than the Postgres the vectors live in: a graph database (GRAPH_DATABASE_URL), a cache (CACHE_DB_URL),
# Turso/libSQL, Kuzu, LanceDB (cognee reads all of them beside its DB_*).
_OTHER_STORES = re.compile(r"MONGO|REDIS|MYSQL|MARIA|SQLITE|ELASTIC|OPENSEARCH|QDRANT|MILVUS|WEAVIATE|CHROMA|PINECONE|"
                           r"NEO4J|CLICKHOUSE|CASSANDRA|DYNAMO|COSMOS|FIRESTORE|VALKEY|MEMCACHE|GRAPH|CACHE|TURSO|LIBSQL|"
                           r"KUZU|LANCE|"
                           # object stores and message buses take connection strings too (SurfSense's file store:
                           # AZURE_STORAGE_CONNECTION_STRING)
                           r"AZURE_STORAGE|STORAGE_ACCOUNT|BLOB|(?:^|_)S3(?:_|$)|BUCKET|SERVICE_?BUS|EVENT_?HUB|RABBIT|KAFKA|"
                           r"AMQP|(?:^|_)SQS(?:_|$)|"
                           r"SENTRY|GLITCHTIP|BUGSNAG|ROLLBAR|HONEYBADGER|POSTHOG|DATADOG|NEW_?RELIC|RAYGUN|APPSIGNAL")
# A name carrying the collection the command writes (rag_api's COLLECTION_NAME), not a table of collections.
_COLLECTION = re.compile(r"(?:^|_)COLLECTION(?:_NAME|_ID)?$")


# A database reached over HTTP, not by a Postgres connection: Supabase's REST API (PostgREST) at the project's URL
# (`createClient(process.env.NEXT_PUBLIC_SUPABASE_URL, key)`). No DSN can be given to a command that reads only this.
_DATABASE_API = re.compile(r"SUPABASE_(?:API_)?UR[LI]$|POSTGREST\w*(?:URL|URI|HOST)$|^PGRST_\w*URL$")


def database_api(name: str) -> bool:
    """Whether an env name carries the URL of an HTTP API in front of the database (never a DSN)."""
    return bool(_DATABASE_API.search(name.upper()))


def kind_of(name: str) -> str:
    """database / provider / model / collection / chunking / other: which of our settings an env name carries."""
    n = name.upper()
    if _COLLECTION.search(n) and not _OTHER_STORES.search(n):
        return "collection"  # before the database: PG_COLLECTION_NAME names a collection, not the database
    if re.search(r"DSN|DATABASE|POSTGRES|^PG_|DB_URL|^DB$|_DB$|^DB_|_DB_|^PG(?:HOST|PORT|USER|PASSWORD|DATABASE)$|"
                 r"CONNECTION_STRING|CONN_STR|DATASOURCE_(?:UR[LI]|USER|PASS)|^PG\w*(?:URL|URI|CONN)", n) and not re.search(r"EMBED|MODEL|DIM", n) \
            and not _OTHER_STORES.search(n):
        return "database"
    if "MODEL" in n and not re.search(r"CHAT|LLM|COMPLETION|GENERAT|RERANK|VISION", n):
        return "model"
    if re.search(r"OLLAMA|EMBED", n) and re.search(r"HOST|URL|BASE|ENDPOINT|API$|SERVER|ADDR", n):
        return "provider"
    if "CHUNK" in n:
        return "chunking"
    if re.search(r"BATCH", n) and not _OTHER_STORES.search(n):  # a cache's batch (EMBEDDING_CACHE_EVICTION_BATCH) is none
        return "batch"
    if re.search(r"DIM|VECTOR_(?:LENGTH|SIZE)", n):
        return "dimensions"
    return "other"


# A name that says it is the embedder's: EMBED..., or EMB as a word of its own (Recallr's OLLAMA_MODEL_EMB beside the
# chat client's OLLAMA_MODEL)
EMBEDDING_NAME = re.compile(r"EMBED|(?:^|_)EMBS?(?:_|$)", re.I)

# The names that carry a JDBC URL (Spring's spring.datasource.url as the environment sets it).
_JDBC_URL = re.compile(r"JDBC|DATASOURCE_UR[LI]")


def placeholder_for(name: str) -> str | None:
    """The backfill.env placeholder that carries what an env name means, or None when it is not ours to set."""
    kind = kind_of(name)
    if kind == "database" and _JDBC_URL.search(name.upper()) and database_part(name) is None:
        # JDBC takes no credentials in the URL's usual form: they travel in their own settings.
        return "jdbc:postgresql://{database_host}:{database_port}/{database_name}"
    if kind == "database":
        part = database_part(name)
        return "{database_url}" if part is None else (None if part == "other" else f"{{database_{part}}}")
    if kind == "provider":
        return "{provider_url}"
    if kind == "collection":
        return "{into}"  # where it writes; with --into the new collection, never the live one
    if kind == "model" and (EMBEDDING_NAME.search(name) or name.upper() in ("MODEL", "MODEL_NAME", "OLLAMA_MODEL")):
        return "{model}"
    if kind == "batch" and EMBEDDING_NAME.search(name):
        return "{batch_size}"
    if kind == "dimensions" and (EMBEDDING_NAME.search(name) or "VECTOR" in name.upper()):
        return "{dimensions}"
    return None


def model_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names that carry the embedding model (``{model}``); beside one that says it is the embedder's
    (EMBEDDING_MODEL, OLLAMA_MODEL_EMB) a bare MODEL or OLLAMA_MODEL is the chat model's, not ours to set."""
    carrying = [n for n in names if placeholder_for(n) == "{model}"]
    return tuple([n for n in carrying if EMBEDDING_NAME.search(n)] or carrying)


def database_part(name: str) -> str | None:
    """Which part of a DSN a database name carries: host / port / user / password / name, None for a whole DSN,
    "other" for the rest (SSL mode, pool size)."""
    n = name.upper()
    if re.search(r"ARGS|OPTIONS|POOL|SSL|TIMEOUT", n):  # DATABASE_CONNECT_ARGS: how to connect, not where
        return "other"
    if re.search(r"DSN|URL|URI|CONN", n):
        return None
    for part, pattern in (("host", r"HOST|SERVER|ADDR"), ("port", r"PORT"), ("password", r"PASS|PWD"),
                          ("user", r"USER"), ("name", r"DATABASE$|_NAME$|_DB$|^PGDATABASE$|DBNAME|_DATABASE_NAME")):
        if re.search(pattern, n):
            return part
    return "other"


def scan(rel: str, text: str, *, is_config_file: bool) -> list[ConfigSetting]:
    """Names matching the patterns (with their value in config files) and :11434 URLs, one per line and name."""
    out: list[ConfigSetting] = []
    seen: set[tuple[int, str]] = set()
    # outside config files a line counts only where a hint (a word, never spanning lines) is on it: a file with none
    # anywhere is not split and tried line by line (a monorepo's files asked 1.4 million lines)
    hinted = is_config_file or _NAME_HINT.search(text) is not None
    lines = text.splitlines() if hinted else []
    # the lines holding a hint (and, in a config file, a word `embed`), found in one pass over the text: asked line by
    # line, the patterns took most of the scan of a file of many lines
    named = _lines_holding(_NAME_HINT, text) if hinted else set()
    embedding = _lines_holding(_EMBED_WORD, text) if is_config_file else set()
    for number, raw in (enumerate(lines, 1) if is_config_file else ((n, lines[n - 1]) for n in sorted(named))):
        if is_config_file:
            for p in _PLACEHOLDER.finditer(raw):
                if NAME.fullmatch(p.group("name")) and (number, p.group("name")) not in seen:
                    out.append(ConfigSetting(rel, number, p.group("name"), _masked(p.group("name"), p.group("default") or None)))
                    seen.add((number, p.group("name")))
            m = _ASSIGN.match(raw)
            if m and NAME.fullmatch(m.group("name")) and (number, m.group("name")) not in seen:
                value = _assigned(m.group("value").removesuffix(",") if m.group("q") else m.group("value")) or None
                out.append(ConfigSetting(rel, number, m.group("name"), _masked(m.group("name"), value)))
                seen.add((number, m.group("name")))
                continue
            m = _EMBEDDING_VALUE.match(raw) if number in embedding else None
            if m and m.group("name").isupper() and not NAME.search(raw):
                value = _assigned(m.group("value"))
                out.append(ConfigSetting(rel, number, m.group("name"), _masked(m.group("name"), value)))
                seen.add((number, m.group("name")))
                continue
        for m in NAME.finditer(raw) if number in named else ():
            if (number, m.group("name")) not in seen:
                seen.add((number, m.group("name")))
                out.append(ConfigSetting(rel, number, m.group("name")))
    for m in OLLAMA_URL.finditer(text) if ":11434" in text else ():
        number = line_of(text, m.start())
        if (number, "url") not in seen:
            seen.add((number, "url"))
            out.append(ConfigSetting(rel, number, "url", m.group("url")))
    return out


def _lines_holding(pattern: re.Pattern[str], text: str) -> set[int]:
    """The numbers of the lines (as ``str.splitlines`` splits them) holding a match of ``pattern``, which never spans
    a line break."""
    ends = list(accumulate(map(len, text.splitlines(keepends=True))))
    return {bisect_right(ends, m.start()) + 1 for m in pattern.finditer(text)}


def _assigned(value: str) -> str:
    """An assignment's value as dotenv, shells and YAML read it: a quoted one whole, an unquoted one up to ` #`."""
    value = value.strip()
    if value[:1] in ("'", '"') and (end := value.find(value[0], 1)) > 0:
        return value[1:end]
    return re.split(r"\s#", value, maxsplit=1)[0].strip().strip("'\"")


def _masked(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    shown = redact.redact_env({name: value})[name]
    return redact.safe_dsn(shown) if "://" in shown else shown

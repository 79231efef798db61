"""Laravel applications: the artisan commands that embed (`php artisan NAME`); openai-php's and Prism's embedding
calls; and an embedding call's model and URL where PHP gives them as a parameter's default and a
`config('file.key', default)` that `config/file.php` fills from `env('NAME', default)` (Prism's Ollama URL: its
`config/prism.php`, `providers.ollama.url`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from .contract import Contract, _keeps, _mask
from .orm_writes import only_adds
from .embedding_calls import EmbeddingCall
from .embedding_calls import has_calls as _has_calls
from .embedding_calls import scan as _scan_calls
from .entrypoints import Entrypoint
from .lexing import lex
from .literals import line_of
from .schema import VectorDeclaration

_COMMAND = re.compile(r"\bclass\s+\w+\s+extends\s+Command\b")
_SIGNATURE = re.compile(r"""\$signature\s*=\s*(['"])(?P<sig>[^'"]+)\1""")
_USE = re.compile(r"(?m)^\s*use\s+App\\(?P<cls>[\w\\]+)\s*;")
# A worker that drains a queue until stopped: given --once, it stops when the queue is empty.
_ONCE = re.compile(r"\{\s*--once\s*\}")
# What reaches the application's database: the query builder or schema facade, an Eloquent model used or declared.
_DATABASE = re.compile(r"\b(?:DB|Schema)\s*::|^\s*use\s+App\\Models\\|\bextends\s+(?:Model|Authenticatable|Pivot)\b", re.M)
# A search by distance (a raw builder fragment's operator, pgvector-php's nearestNeighbors) and a language model asked
# (Prism's text or structured request, openai-php's chat or completions): together, a RAG question.
_SEARCHES = re.compile(r"""->\s*(?:orderBy|select|where|orWhere|having)Raw\s*\(\s*['"][^'"]*?(?P<op><=>|<->|<#>)"""
                       r"""|->\s*(?P<nn>nearestNeighbors)\s*\(""")
# A vector kept: a key or property named for one given a value (`'embedding' => $v`, `$row->embedding = $v`, SQL's
# `SET embedding = ?`): what such files embed is a stored row, whatever else they search or ask. A model's `$casts`
# maps the key to a type (`'embedding' => 'array'`, `Vector::class`): no value, nothing kept.
_STORES = re.compile(r"""(['"])\w*(?:embedding|vector)s?\1\s*=>(?!\s*(?:['"]|[\w\\]+::class\b))"""
                     r"""|->\s*\w*(?:embedding|vector)s?\s*=(?![=>])"""
                     r"""|\bSET\s+"?\w*(?:embedding|vector)s?"?\s*=""", re.I)
_ASKS = re.compile(r"\bPrism\s*::\s*(?:text|structured)\s*\(|\bOpenAI\s*::\s*(?:chat|completions)\s*\(|->\s*chat\s*\(\s*\)\s*->\s*create\s*\(")
_MODEL_VAR = re.compile(r"""(['"])model\1\s*=>\s*\$(?P<var>\w+)""")
_CONFIG = re.compile(r"""\bconfig\(\s*(['"])(?P<key>[\w.-]+)\1\s*(?:,\s*(['"])(?P<default>[^'"]*)\3\s*)?\)""")
# openai-php (its Laravel facade or a client): `OpenAI::embeddings()->create([...])`, `$client->embeddings()->create(`
_OPENAI_PHP = re.compile(r"(?:\bOpenAI\s*::|\$\w+\s*->)\s*embeddings\(\s*\)\s*->\s*create\s*\(")
_MODEL_KEY = re.compile(r"""(['"])model\1\s*=>\s*(['"])(?P<m>[^'"]+)\2""")
# Prism: `Prism::embeddings()->using(Provider::Ollama, 'model')` (or the provider as a string, `'ollama'`), other
# options of the builder before it or after it (`->withClientOptions([...])->using(...)`) in the same statement
_PRISM = re.compile(r"""\bPrism\s*::\s*embeddings\s*\(\s*\)[^;]*?->\s*using\s*\(\s*(?:Provider\s*::\s*(?P<p>\w+)|(['"])(?P<p2>\w+)\2)"""
                    r"""\s*,\s*(['"])(?P<m>[^'"]+)\4""")
# `env('NAME', 'default')`, a number's default unquoted and cast (`(int) env('DIMENSIONS', 768)`); a default computed
# (`env('IMPORT_DIRECTORY', storage_path('app/imports'))`) is no literal to say, but the name is read all the same
_ENV = re.compile(r"""^\s*(?:\(int\)\s*)?env\(\s*(['"])(?P<name>\w+)\1\s*"""
                  r"""(?:\)|,\s*(?:(?:(['"])(?P<default>[^'"]*)\3|(?P<number>\d+))\s*\))?)""")


def artisan_command(root: Path, rel: str, data: bytes) -> Entrypoint | None:
    """A console command class of a Laravel application (an ``artisan`` file at or above it) that embeds, itself or
    through a class of the application it uses: ``php artisan NAME`` from that folder, ``--once`` where the command
    takes it (a queue worker loops until stopped without it)."""
    if not rel.endswith(".php") or b"extends Command" not in data or b"$signature" not in data:
        return None
    text = data.decode("utf-8", "replace")
    signature = _SIGNATURE.search(text)
    if not _COMMAND.search(text) or signature is None:
        return None
    folder = next((p for p in PurePosixPath(rel).parents if (root / p / "artisan").is_file()), None)
    if folder is None:
        return None
    sig = signature.group("sig").strip()
    name = sig.split()[0]
    contract = _contract(root, folder, rel, text)
    if not contract.embedding_calls:
        return None
    command = f"php artisan {name}" + (" --once" if _ONCE.search(sig) else "")
    return Entrypoint(rel, "artisan-command", name, command, str(folder), contract=contract)


def artisan_contract(name: str, workdir: Path, root: Path) -> Contract | None:
    """The contract of ``php artisan NAME`` run in ``workdir``: the command class of that signature; None where no
    class of the application's ``app/Console/Commands`` has it."""
    for path in sorted((workdir / "app" / "Console" / "Commands").rglob("*.php")):
        text = path.read_text("utf-8", "replace")
        signature = _SIGNATURE.search(text)
        if signature and signature.group("sig").split()[:1] == [name] and _COMMAND.search(text):
            folder = PurePosixPath(workdir.relative_to(root).as_posix()) if workdir != root else PurePosixPath(".")
            return _contract(root, folder, path.relative_to(root).as_posix(), text)
    return None


def _contract(root: Path, folder: PurePosixPath, rel: str, text: str) -> Contract:
    """What the command and the application's classes it uses read: the env behind each ``config()`` key (through
    config/*.php) and behind the pgsql connection of config/database.php, the models their embedding calls name."""

    def read(path: str) -> str | None:
        p = root / path
        return p.read_text("utf-8", "replace") if p.is_file() else None

    texts = {rel: text, **{used: t for used in _used(folder, text) if (t := read(used)) is not None}}
    calls = with_config(_calls_of(root, folder, rel, text), read)
    # what a library reads for its call (Prism: config/prism.php's `providers.ollama.url`), where the files name no key
    env: dict[str, str | None] = {c.url_env: c.url for c in calls if c.url_env}
    for path, t in texts.items():
        for m in _CONFIG.finditer(t):
            first, *keys = m.group("key").split(".")
            if keys and (found := _setting(path, first, keys, m.group("default"), read)) and found[1]:
                env.setdefault(found[1], found[0])
    # a command none of whose files reach the database (a demo printing a vector) reads none of its settings
    reaches = any(_DATABASE.search(t) for t in texts.values())
    database = (read(f"{folder}/config/database.php" if str(folder) != "." else "config/database.php") or "") if reaches else ""
    connection = _array_value(database, ["connections", "pgsql"]) or ""
    # the default connection's env picks a driver (`pgsql`, `sqlite`): a choice the app's .env makes, not a value
    selector = _ENV.match((_array_value(database, ["default"]) or "").split("\n", 1)[0])
    for m in re.finditer(r"""\benv\(\s*(['"])(?P<name>\w+)\1\s*(?:,\s*(['"])(?P<default>[^'"]*)\3)?""",
                         connection[:_closing(connection, 0)]):
        env.setdefault(m.group("name"), m.group("default"))
    if selector:
        env.setdefault(selector.group("name"), selector.group("default"))
    return Contract(reads_env=tuple(env), files=tuple(texts),
                    # masked as every contract's defaults are: a DSN default (`env('DB_URL', 'postgresql://u:pw@h/db')`)
                    # keeps no password
                    env_defaults=tuple((n, _mask(d)) for n, d in env.items()
                                       if d and not re.search(r"PASS|SECRET|KEY|TOKEN", n)),
                    hardcoded_models=tuple(dict.fromkeys(c.model for c in calls if c.model and not c.model_env)),
                    embedding_calls=tuple(f"{c.path}:{c.line} {c.kind}" for c in calls),
                    keeps=tuple(k for path, t in texts.items() for k in _keeps(path, t, *lex(t, "php"))),
                    selectors=(selector.group("name"),) if selector else (), adds_only=_adds_only(texts),
                    answers=_answers(texts))


def _answers(texts: dict[str, str]) -> str:
    """Why the files answer a question ("" where they do not both search by distance and ask a language model, or
    where they keep a vector: a batch job embedding rows may summarise their neighbours too)."""
    code = {path: lex(t, "php")[0] for path, t in texts.items()}
    search = next(((p, m) for p, c in code.items() if (m := _SEARCHES.search(c))), None)
    ask = next(((p, m) for p, c in code.items() if (m := _ASKS.search(c))), None)
    if search is None or ask is None or any(_STORES.search(c) for c in code.values()):
        return ""
    (sp, sm), (ap, am) = search, ask
    said = sm.group("op") or sm.group("nn")
    asked = re.sub(r"\s+", "", am.group(0)).rstrip("(")
    return (f"it searches by distance ({said} at {sp}:{line_of(code[sp], sm.start(sm.lastgroup or 0))}) and asks a "
            f"language model ({asked} at {ap}:{line_of(code[ap], am.start())}): what it embeds is a question, not a "
            "stored row")


def _adds_only(texts: dict[str, str]) -> str:
    """Why the files only add rows (``contract.only_adds`` of this framework's calls)."""
    return only_adds(texts, "laravel")


def _used(folder: PurePosixPath, text: str) -> list[str]:
    """The files of the application's classes the file uses (``App\\`` is ``app/``)."""
    return [str(folder / "app" / (m.group("cls").replace("\\", "/") + ".php")) for m in _USE.finditer(text)]


def _calls_of(root: Path, folder: PurePosixPath, rel: str, text: str) -> list[EmbeddingCall]:
    """The embedding calls of the command's file and of the application's classes it uses (``App\\`` is ``app/``)."""
    found = (_scan_calls(rel, text, "php") if _has_calls(text) else []) + embedding_calls(rel, text)
    for used in _used(folder, text):
        if (root / used).is_file():
            other = (root / used).read_text("utf-8", "replace")
            found += (_scan_calls(used, other, "php") if _has_calls(other) else []) + embedding_calls(used, other)
    return found


def embedding_calls(rel: str, text: str) -> list[EmbeddingCall]:
    """openai-php's and Prism's embedding calls of a PHP file, each with the model it names."""
    from .literals import call_args

    found = []
    for m in _OPENAI_PHP.finditer(text):
        model = _MODEL_KEY.search(call_args(text, m.end() - 1))
        found.append(EmbeddingCall(rel, line_of(text, m.start()), "openai", "embeddings()->create",
                                   model.group("m") if model else None))
    for m in _PRISM.finditer(text):
        provider = (m.group("p") or m.group("p2") or "").lower()
        found.append(EmbeddingCall(rel, line_of(text, m.start()), "ollama-prism" if provider == "ollama" else "prism",
                                   f"Prism::embeddings({provider})", m.group("m")))
    return found


def with_config(calls: Iterable[EmbeddingCall], read: Callable[[str], str | None]) -> list[EmbeddingCall]:
    """PHP calls given what their file says of the model (the default of the parameter the payload's ``'model'``
    takes) and of the URL (a ``config()`` key, as the config folder's ``env()`` read fills it)."""
    out = []
    for c in calls:
        text = read(c.path) if c.path.endswith(".php") and (c.model is None or c.url is None) else None
        if text is not None:
            if c.model is None and c.model_env is None and (model := _model_default(text)):
                c = replace(c, model=model)
            url = _prism_url(c.path, read) if c.kind == "ollama-prism" else _config_url(c.path, text, read)
            if c.url is None and c.url_env is None and url:
                c = replace(c, url=url[0], url_env=url[1])
        out.append(c)
    return out


def with_config_dimensions(decls: Iterable[VectorDeclaration], read: Callable[[str], str | None]
                           ) -> list[VectorDeclaration]:
    """Blueprint columns whose dimension is a ``config('file.key')``: the value config/file.php gives the key, the
    default of the ``env()`` read that fills it (and that read's name)."""
    out = []
    for d in decls:
        first, *path = (d.dims_config or "").split(".")
        found = _setting(d.path, first, path, str(d.dimensions) if d.dimensions else None, read) if path else None
        if found and found[0] and found[0].isdigit():
            d = replace(d, dimensions=int(found[0]), dims_env=found[1])
        out.append(d)
    return out


def _model_default(text: str) -> str | None:
    """The one literal the variable the payload's ``'model' =>`` takes is given (a parameter's default or an
    assignment)."""
    names = {m.group("var") for m in _MODEL_VAR.finditer(text)}
    if len(names) != 1:
        return None
    values = set(re.findall(rf"""\${names.pop()}\s*=\s*(['"])([^'"\n]+)\1""", text))
    return values.pop()[1] if len(values) == 1 else None


def _config_url(rel: str, text: str, read: Callable[[str], str | None]) -> tuple[str | None, str | None] | None:
    """(default, env name) of the one URL-like ``config('file.a.b', default)`` the file reads."""
    keys = {(m.group("key"), m.group("default")) for m in _CONFIG.finditer(text) if re.search(r"url|host|base", m.group("key"), re.I)}
    if len(keys) != 1:
        return None
    key, default = keys.pop()
    first, *path = key.split(".")
    return _setting(rel, first, path, default, read)


def _prism_url(rel: str, read: Callable[[str], str | None]) -> tuple[str | None, str | None] | None:
    """(default, env name) of Prism's Ollama URL, ``providers.ollama.url`` of the application's config/prism.php."""
    return _setting(rel, "prism", ["providers", "ollama", "url"], None, read)


def _setting(rel: str, first: str, path: list[str], default: str | None, read: Callable[[str], str | None]
             ) -> tuple[str | None, str | None] | None:
    """(value, env name) of the key path of ``config/<first>.php`` nearest above the file: the literal it holds, or
    the default of the ``env()`` read that fills it (``default``, the ``config()`` call's own, where neither says)."""
    config = next((t for p in PurePosixPath(rel).parents
                   if (t := read(f"config/{first}.php" if str(p) == "." else f"{p}/config/{first}.php")) is not None), None)
    value = _array_value(config, path) if config and path else None
    env = _ENV.match(value) if value else None
    if env is None:
        literal = re.match(r"""\s*(?:(['"])(?P<s>[^'"\n]*)\1|(?P<n>\d+))\s*(?:[,\]]|$)""", value or "")
        given = literal and (literal.group("s") or literal.group("n"))
        return (given or default, None) if given or default else None
    return env.group("default") or env.group("number") or default, env.group("name")


def _array_value(text: str, path: list[str]) -> str | None:
    """The text after ``'key' =>`` at the end of the path of nested PHP array keys."""
    start, end = 0, len(text)
    for i, key in enumerate(path):
        m = re.compile(rf"""(['"]){re.escape(key)}\1\s*=>\s*""").search(text, start, end)
        if m is None:
            return None
        if i == len(path) - 1:
            return text[m.end():end]
        if text[m.end():m.end() + 1] != "[":
            return None
        start, end = m.end() + 1, _closing(text, m.end())
    return None


def _closing(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"[": 1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return len(text)

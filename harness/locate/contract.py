"""The target's contract, read from its code: which environment variables and flags its backfill reads, and
which hosts and models it hard-codes. ``command_contract`` follows a command line to the modules it runs."""

from __future__ import annotations

import heapq
import json
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import cast, overload

from .. import redact, task_prefixes
from . import embedding_calls, orm_writes, serving, typer_cli
from .files import MAKEFILES, exists, is_dir, is_file, is_test, language, once, read
from .lexing import in_strings, lex, without_comments
from .literals import (call_args, chained_calls, django_settings_module, dotenv_line, env_reads, finditer_at, finditer_where, in_spans, line_of, only_literal,
                       py_docstrings, split_args)

MAX_FILES = 30
# A language model's settings: a name with an LLM / chat / completion / generation part that sets a model, provider,
# endpoint or key (a bare MODEL beside EMBEDDING_MODEL is create-llama's chat model too, but says nothing alone).
_LANGUAGE_MODEL = re.compile(r"(?:^|_)(?:LLM|CHAT|COMPLETIONS?|GENERATION)(?:_|$)", re.I)
_LANGUAGE_MODEL_SETTING = re.compile(r"MODEL|PROVIDER|ENDPOINT|URL|HOST|BASE|KEY", re.I)
# A flag that names the embedding model (`--model`, `--embed-model`, `--embedding-model-name`).
MODEL_FLAG = re.compile(r"^--(?:embed\w*[-_])?model(?:[-_]name)?$", re.I)
_EMBED_MODEL_FLAG = re.compile(r"^--embed\w*[-_]model", re.I)


def is_model_flag(flag: str, declared: Iterable[str]) -> bool:
    """Whether ``flag`` names the embedding model (``MODEL_FLAG``): beside an embedding model's own flag among the
    ``declared`` ones (`--embed-model`), only such a one (a plain `--model` is then another model's, a chat's)."""
    if not MODEL_FLAG.search(flag):
        return False
    return bool(_EMBED_MODEL_FLAG.search(flag)) or not any(_EMBED_MODEL_FLAG.search(f) for f in declared)
MAX_DEPTH = 6  # nested commands (npm script -> make -> python)
IMPORT_DEPTH = 3  # the module run, and the local modules it imports, three levels down


# https on a named public host: no loopback, private address or docker service name (a local provider's), no port
_HOSTED = re.compile(r"^https://(?!localhost\b|127\.|10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|host\.docker\.internal\b)"
                     r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:/|$)", re.I)


@dataclass(frozen=True)
class Contract:
    reads_env: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    hardcoded_urls: tuple[str, ...] = ()
    hardcoded_models: tuple[str, ...] = ()
    known: bool = True
    reason: str = ""  # why the contract could not be read (known False)
    files: tuple[str, ...] = ()  # the modules read, relative to the root
    env_defaults: tuple[tuple[str, str], ...] = ()  # (name, literal default), secrets masked
    required_flags: tuple[str, ...] = ()
    flag_env: tuple[tuple[str, str], ...] = ()  # (flag, env variable it defaults from)
    given_env: tuple[str, ...] = ()  # set on the command line itself (VAR=... cmd)
    given_flags: tuple[str, ...] = ()  # passed on the command line (or in the npm script / make recipe)
    in_process_models: tuple[str, ...] = ()  # what it loads to embed in-process (sentence-transformers, ...)
    engine: bool = False  # the command is backfill-harness's own engine
    embedding_calls: tuple[str, ...] = ()  # "path:line kind" of each embedding call in the files read
    selectors: tuple[str, ...] = ()  # env names compared with literals (OPENAI_EMBED_HOST == "ollama"): choices, not values
    # "path:line call" of each LlamaIndex index build (VectorStoreIndex.from_documents): it embeds with the embed model
    # set elsewhere (Settings.embed_model), which the files read may never name.
    index_builds: tuple[str, ...] = ()
    # "path:line call" of each OpenAI SDK embedding call whose client the code gives no URL: it calls api.openai.com
    # unless the SDK reads a base URL from the environment (openai>=1 / openai-node>=4: OPENAI_BASE_URL; Python's
    # openai<1 `Embedding.create`: OPENAI_API_BASE; openai-node 3's `createEmbedding`: none, only code sets it).
    openai_sdk: tuple[str, ...] = ()
    # "path:line" where a file that embeds makes each newline a space (`content.replace(/\n/g, ' ')`, OpenAI's old
    # advice): what it embeds is the text so changed (chunks.text_newlines: space).
    newlines_to_spaces: tuple[str, ...] = ()
    # (prefix, "path:line") of each task prefix (harness.task_prefixes) the files put before what they embed.
    task_prefixes: tuple[tuple[str, str], ...] = ()
    # (name, path, where): a provider setting whose value is Ollama's endpoint itself, not its base URL (cognee's
    # EMBEDDING_ENDPOINT, `http://localhost:11434/api/embed` in its .env.template: it posts to the URL as it is), or the
    # base URL under Ollama's API prefix (`/api`: a client posting to `embed` under it).
    endpoint_paths: tuple[tuple[str, str, str], ...] = ()
    # (separator, parts, "path:line") of each text a file that embeds joins from labelled parts (pydantic-ai's
    # `'\n\n'.join((f'path: {self.path}', f'title: {self.title}', self.content))`): the parts as chunks.text says them.
    composed_texts: tuple[tuple[str, tuple[str, ...], str], ...] = ()
    # "path:line" of each place the files read keep something: SQL that writes, a database client, ORM or vector store,
    # a request to a service, a file written. A command that embeds and keeps none of it (a demo printing the vectors)
    # re-embeds no row.
    keeps: tuple[str, ...] = ()
    # the Postgres drivers, ORMs and clients the files use (psycopg, pg, sqlalchemy, Prisma ...): it reaches a database
    # even where no setting it reads says which (libpq's PGHOST defaults, a config module locate does not follow)
    database_clients: tuple[str, ...] = ()
    # the script the command runs, which is no file where it runs (known False): it cannot be read, nor run here
    missing: str = ""
    # (flag, value) of each flag the command line gives a value (`--model M`, `--model=M`): what the command is told
    given_flag_values: tuple[tuple[str, str], ...] = ()
    # (flag, literal default) of each flag the files read declare with a string default (argparse's `default="..."`)
    flag_defaults: tuple[tuple[str, str], ...] = ()
    # (short, long) of each flag the files read declare under both names (argparse's `'-m', '--model'`)
    flag_aliases: tuple[tuple[str, str], ...] = ()
    # why running it first empties the table it fills (a Spring app whose PgVectorStore drops vector_store at start):
    # every row and key replaced by what it adds, no backfill of the rows there
    drops: str = ""
    # why running it only adds rows (an importer creating one for each file it reads) and updates none: it re-embeds no
    # row there is, whatever it embeds
    adds_only: str = ""
    # (table, "path:line") of each insert the files make, by SQL or an ORM, that skips or updates no row there is, and the
    # tables they upsert, update, merge into, delete from or truncate (``orm_writes``): a command that inserts a table's
    # rows and changes none (``adds_again``)
    inserts: tuple[tuple[str, str], ...] = ()
    changes: tuple[str, ...] = ()
    # why it answers a question (it searches by distance and asks a language model): what it embeds is the question,
    # never a stored row, whatever its name says
    answers: str = ""
    # why it never exits (it starts a server, a queue worker or a file watcher: `uvicorn.run at app/main.py:16`): run
    # would wait for it until backfill.timeout_s, and it would serve against the database it is given
    serves: str = ""
    # the words its command line gives its script that are neither flags nor their values (`docs` of `python embed.py
    # docs`), and those of them naming the subcommand it runs (`ingest` of `python cli.py ingest docs`)
    given_words: tuple[str, ...] = ()
    command_words: tuple[str, ...] = ()

    def backfill_env(self) -> dict[str, str]:
        """The ``backfill.env`` a profile needs so the command receives our settings: each name it reads that
        carries the database, provider, model, batch size or dimension, with its placeholder."""
        from .config import model_names, placeholder_for

        if not self.known or self.engine:
            return {}
        mapping = {n: p for n in self.reads_env if n not in self.selectors and (p := placeholder_for(n))}
        models = model_names(mapping)
        mapping = {n: p for n, p in mapping.items() if p != "{model}" or n in models}
        if sdk_env := self.openai_base_url():  # the OpenAI SDK reads it itself: Ollama's OpenAI-compatible API
            mapping.setdefault(sdk_env, "{provider_url}/v1")
        for name, path, _ in self.endpoint_paths:
            if mapping.get(name) == "{provider_url}":
                mapping[name] = "{provider_url}" + path
        return mapping

    def language_model_settings(self) -> tuple[str, ...]:
        """The names it reads that configure a language model (cognee's LLM_PROVIDER, LLM_MODEL, LLM_ENDPOINT,
        LLM_API_KEY; CHAT_MODEL): it may call that model besides the embedder (to extract or summarise)."""
        return tuple(n for n in self.reads_env if _LANGUAGE_MODEL.search(n) and _LANGUAGE_MODEL_SETTING.search(n))

    def database_apis(self) -> tuple[str, ...]:
        """The names of HTTP APIs (Supabase's REST API) through which alone the command reaches its database: none
        when it reads a Postgres setting or hard-codes a DSN, since then DATABASE_URL can be given to it."""
        from .config import database_api, kind_of

        if any(kind_of(n) == "database" for n in self.reads_env) or \
                any(u.startswith(("postgres://", "postgresql://")) for u in self.hardcoded_urls):
            return ()
        return tuple(n for n in self.reads_env if database_api(n))

    def reaches_no_database(self) -> bool:
        """Read, and it gives no sign of reaching a database: no database setting read or given on its command line,
        no database flag, no DSN hard-coded, no database API, no Postgres client used."""
        from .config import kind_of

        return self.known and not self.engine and not any(
            kind_of(n) == "database" for n in (*self.reads_env, *self.given_env)) and not any(
            DATABASE_FLAG.search(f) for f in self.flags) and not any(
            _DSN.match(u) for u in self.hardcoded_urls) and not self.database_apis() and not self.database_clients

    def given_long_flags(self) -> set[str]:
        """The flags its command line gives, each under its long name where the files declare both (`-m M` given is
        `--model M` given)."""
        long_name = dict(self.flag_aliases)
        return {*(long_name.get(f, f) for f in self.given_flags), *(long_name.get(f, f) for f, _ in self.given_flag_values)}

    def missing_flags(self, also_given: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The required flags and positional arguments its command line (with ``also_given``) does not give: without
        them it stops before it starts (argparse and typer exit 2). Its arguments, in order, are given by its words
        that name no subcommand."""
        given = self.given_long_flags() | set(also_given)
        words = list(self.given_words)
        for command in self.command_words:
            if command in words:
                words.remove(command)
        arguments = [f for f in self.required_flags if not f.startswith("-")]
        return tuple(f for f in self.required_flags if f not in given and f not in arguments[:len(words)])

    def openai_base_url(self) -> str | None:
        """Where every embedding call is an OpenAI SDK client given no URL in code: the environment variable its SDK
        takes a base URL from ("" for openai-node 3, which reads none); None otherwise."""
        if not self.openai_sdk or len(self.openai_sdk) != len(self.embedding_calls):
            return None
        if any(call.endswith("createEmbedding") for call in self.openai_sdk):
            return ""
        return "OPENAI_API_BASE" if any(call.endswith("Embedding.create") for call in self.openai_sdk) \
            else "OPENAI_BASE_URL"

    def hosted_embedding_urls(self) -> tuple[str, ...]:
        """The embedding endpoints the code writes on a public host over https (``https://api.openai.com/v1/embeddings``)
        where it reads no provider URL: it posts there whatever its environment says, never to a local provider."""
        from .config import kind_of

        if any(kind_of(n) == "provider" for n in self.reads_env):
            return ()
        return tuple(u for u in self.hardcoded_urls if _HOSTED.match(u) and "embed" in u)

    def defaults(self) -> dict[str, str]:
        """Each name's default where every read of it agrees (a default per provider branch is no default)."""
        seen: dict[str, set[str]] = {}
        for name, value in self.env_defaults:
            seen.setdefault(name, set()).add(value)
        return {name: values.pop() for name, values in seen.items() if len(values) == 1}

    def as_dict(self) -> dict:
        data = dict(self.__dict__)
        data["env_defaults"] = self.defaults()
        data["flag_env"] = dict(self.flag_env)
        data["backfill_env"] = self.backfill_env()
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def merged(self, other: "Contract") -> "Contract":
        def u(a, b):
            return tuple(dict.fromkeys([*a, *b]))
        return Contract(u(self.reads_env, other.reads_env), u(self.flags, other.flags),
                        u(self.hardcoded_urls, other.hardcoded_urls), u(self.hardcoded_models, other.hardcoded_models),
                        self.known and other.known, self.reason or other.reason, u(self.files, other.files),
                        u(self.env_defaults, other.env_defaults), u(self.required_flags, other.required_flags),
                        u(self.flag_env, other.flag_env), u(self.given_env, other.given_env),
                        u(self.given_flags, other.given_flags), u(self.in_process_models, other.in_process_models),
                        self.engine or other.engine, u(self.embedding_calls, other.embedding_calls),
                        u(self.selectors, other.selectors), u(self.index_builds, other.index_builds),
                        u(self.openai_sdk, other.openai_sdk), u(self.newlines_to_spaces, other.newlines_to_spaces),
                        u(self.task_prefixes, other.task_prefixes), u(self.endpoint_paths, other.endpoint_paths),
                        u(self.composed_texts, other.composed_texts), u(self.keeps, other.keeps),
                        missing=self.missing or other.missing,
                        given_flag_values=u(self.given_flag_values, other.given_flag_values),
                        flag_defaults=u(self.flag_defaults, other.flag_defaults),
                        flag_aliases=u(self.flag_aliases, other.flag_aliases),
                        database_clients=u(self.database_clients, other.database_clients),
                        drops=self.drops or other.drops, adds_only=_of_each_embedder(self, other, "adds_only"),
                        inserts=u(self.inserts, other.inserts), changes=u(self.changes, other.changes),
                        answers=_of_each_embedder(self, other, "answers"), serves=self.serves or other.serves,
                        given_words=u(self.given_words, other.given_words),
                        command_words=u(self.command_words, other.command_words))

    def adds_again(self, table: str, vectors: str | None = None) -> str:
        """Why the command only adds ``table``'s rows (Recallr's `ingest`: a note and its chunks inserted for each file
        read, whatever is stored; pydantic-ai's `build`: the sections not stored yet): ``adds_only``'s reason for that
        table, from its SQL and ORM calls ("" where an upsert, UPDATE, MERGE, DELETE or TRUNCATE of it, or of ``vectors``, the
        separate table of their vectors, changes the rows there are: a CLI module's `embed` beside its `ingest`)."""
        name = table.lower()
        where = next((w for t, w in self.inserts if t == name), None)
        if where is None or name in self.changes or (vectors is not None and vectors.lower() in self.changes):
            return ""
        return (f"it only adds rows (INSERT INTO {table} at {where}, no upsert, UPDATE or DELETE of it) and updates "
                "none: it re-embeds no row there is, and adds a second row for each text it inserts again")

    def text(self, most: int | None = None) -> str:
        """The contract in one line; with ``most``, at most that many env names, those ours to set first (a command
        reading a whole package's settings, cognee's, reads hundreds)."""
        if not self.known:
            return f"contract unknown: {self.reason}"
        if self.engine:
            return "backfill-harness's own engine (reads the profile)"
        names = list(self.reads_env)
        if most is not None and len(names) > most:
            ours = self.backfill_env()
            names = [n for n in names if n in ours] + [n for n in names if n not in ours]
            names = names[:most] + [f"and {len(self.reads_env) - most} more (locate --command prints them all)"]
        parts = [f"reads env {', '.join(names) or 'none'}"]
        if self.flags:
            parts.append(f"flags {', '.join(self.flags)}")
        if self.hardcoded_urls:
            parts.append(f"hard-codes {', '.join(self.hardcoded_urls)}")
        if self.hardcoded_models:
            parts.append(f"hard-codes model {', '.join(self.hardcoded_models)}")
        if self.in_process_models:
            parts.append(f"embeds in-process with {', '.join(self.in_process_models)}")
        if self.task_prefixes:
            parts.append("task prefix " + ", ".join(f"{p!r} ({where})" for p, where in self.task_prefixes))
        return "; ".join(parts)


def unknown(reason: str, **kw) -> Contract:
    return Contract(known=False, reason=reason, **kw)


# -- reading source files ------------------------------------------------------------------------------------------

_URL = re.compile(r"""(?P<q>['"`])(?P<u>(?:https?|postgres(?:ql)?)://[^'"`\s]+|(?:localhost|127\.0\.0\.1|0\.0\.0\.0):\d{2,5}[^'"`\s]*)(?P=q)""")
# A database by its scheme (a link to postgresql.org's manual is no database), or an embedder's or a local address.
_RELEVANT_URL = re.compile(r"^postgres(?:ql)?://|:11434|ollama|/api/embed|/v1/embeddings|localhost|127\.0\.0\.1|0\.0\.0\.0|"
                           r"host\.docker\.internal")
_MODEL_CONST = re.compile(r"""(?m)^\s*(?:export\s+)?(?:const\s+|let\s+|var\s+)?(?P<n>[A-Z0-9_]*EMBED[A-Z0-9_]*MODEL(?:_NAME|_ID)?|embed\w*_model(?:_name)?|MODEL(?:_NAME)?)\s*(?::\s*[^=\n]+)?=\s*(?P<q>['"])(?P<v>[^'"\n]+)(?P=q)\s*;?\s*(?:#.*|//.*)?$""")
_ARGPARSE = re.compile(r"""\badd_argument\(""")
_CLICK = re.compile(r"""@click\.(?P<kind>option|argument)\(""")
# A typer parameter: `name: T = typer.Option(default, *decls)`, or `name: Annotated[T, typer.Option(*decls)] = default`
# (its name where a name starts: tried inside a run of word characters it backtracked over the rest, quadratic)
_TYPER = re.compile(r"""(?<!\w)(?P<p>[A-Za-z_]\w*)\s*:\s*(?:(?P<ann>Annotated\[[^,\n]+,\s*)|[^=\n]+=\s*)"""
                    r"""typer\.(?P<kind>Option|Argument)\(""")
# click's and typer's `envvar=` (the first, of a list): the variable an option or argument not given is read from
_ENVVAR = re.compile(r"""\benvvar\s*=\s*[(\[]?\s*['"](?P<e>[A-Za-z_]\w*)['"]""")
_KEYWORD_ARG = re.compile(r"(?P<k>[A-Za-z_]\w*)\s*=(?!=)\s*(?P<v>.*)", re.S)
_COMMANDER = re.compile(r"""\.(?P<req>requiredOption|option)\(\s*['"](?P<spec>[^'"]+)['"]""")
_PARSEARGS = re.compile(r"""\bparseArgs\s*\(""")
# yargs' option declarations, one (`.option('model', {alias: 'm'})`) or several (`.options({model: {...}})`)
_YARGS_OPTION = re.compile(r"""\.option\(\s*['"](?P<k>[A-Za-z][\w-]*)['"]\s*,\s*\{""")
_YARGS_OPTIONS = re.compile(r"""\.options\(\s*\{""")
_ARGV_FLAG = re.compile(r"""['"](?P<f>--[A-Za-z][\w-]*)['"]""")
# commander's option objects, `new Option('-m, --model <name>', '...')`, and the calls chained on them
# (`.env('EMBED_MODEL').default('x').makeOptionMandatory()`); meow's `meow(help, {flags: {embedModel: {...}}})`
_COMMANDER_OPTION = re.compile(r"""\bnew\s+Option\s*\(\s*['"](?P<spec>[^'"]+)['"]""")
_MEOW = re.compile(r"\bmeow\s*\(")


def _commander_options(text: str) -> list[tuple[int, int, str, dict[str, str]]]:
    """(start, end, flags spec, {method: its arguments}) of each commander ``new Option(...)`` and its chained calls."""
    out = []
    for m in _COMMANDER_OPTION.finditer(text):
        opened = text.index("(", m.start())
        calls, end = chained_calls(text, opened + len(call_args(text, opened)) + 2)
        out.append((m.start(), end, m.group("spec"), calls))
    return out


def _js_flag_spans(text: str) -> list[tuple[int, int]]:
    """Where a JS file declares its flags (commander's and cac's `.option(...)`, yargs' `.option('x', {...})`,
    `new Option(...)` chains): a default there is the flag's, which the command line overrides."""
    spans = [(a, b) for a, b, _, _ in _commander_options(text)]
    for m in _COMMANDER.finditer(text):
        opened = m.start() + len(m.group("req")) + 1
        spans.append((m.start(), opened + len(call_args(text, opened)) + 2))
    return spans


def _js_constant(text: str, name: str) -> str | None:
    """The one string literal a JS file's `const NAME = '...'` (or let, var, exported) gives ``name``, else None."""
    found = {m.group("v") for m in re.finditer(
        rf"""(?m)^[ \t]*(?:export\s+)?(?:const|let|var)\s+{re.escape(name)}\s*(?::[^=\n]+)?=\s*(?P<q>['"`])"""
        r"""(?P<v>[^'"`\n$]*)(?P=q)""", text)}
    return found.pop() if len(found) == 1 else None


# Go's flags: cobra's (pflag) `cmd.Flags().StringVarP(&v, "name", "n", "default", "usage")`, the standard library's
# `flag.String("name", "default", "usage")`; `Var` takes the variable first, `P` a shorthand after the name.
_GO_FLAG = re.compile(r"(?:Flags\s*\(\s*\)|\bflag)\s*\.\s*(?P<t>[A-Z][A-Za-z0-9]*?)(?P<var>Var)?(?P<p>P)?\s*\(")
_GO_STRING = re.compile(r'^"(?P<v>[^"\\\n]*)"$|^`(?P<r>[^`]*)`$')


def _go_flags(text: str) -> list[tuple[int, int, str, str | None, str | None]]:
    """(start, end, name, shorthand, literal default) of each flag a Go file declares."""
    out = []
    for m in _GO_FLAG.finditer(text):
        args = call_args(text, m.end() - 1)
        parts = [a.strip() for _, a in split_args(args)][1 if m.group("var") else 0:]
        strings = [(g.group("v") if g.group("v") is not None else g.group("r")) if (g := _GO_STRING.match(a)) else None
                   for a in parts]
        at = 2 if m.group("p") else 1
        if not strings or not strings[0]:
            continue
        out.append((m.start(), m.end() + len(args), strings[0], strings[1] if at == 2 and len(strings) > 1 else None,
                    strings[at] if len(strings) > at else None))
    return out


def read_contract(rel: str, text: str, args: tuple[str, ...] | None = None) -> Contract:
    """What one source file reads and hard-codes; run with ``args`` (the words its command line gives it), only the
    flags of the subcommand they name (a CLI's other subcommands take their own). Read once per locate
    (``files.once``): it follows each command through the same modules, and a Contract is frozen."""
    return once(("contract", rel, text, args), lambda: _read_contract(rel, text, args))


def _read_contract(rel: str, text: str, args: tuple[str, ...] | None) -> Contract:
    lang = language(rel)
    if PurePosixPath(rel).name in MAKEFILES:
        lang = "make"
    reads = env_reads(text, {".rs": "rust", ".go": "go"}.get(PurePosixPath(rel).suffix, lang))
    names = [r.name for r in reads]
    defaults = [(r.name, _mask(r.default)) for r in reads if r.default]
    go, rust = rel.endswith(".go"), rel.endswith(".rs")
    flags, required, flag_env, flag_defaults, aliases = _flags(text, "go" if go else "rust" if rust else lang, names,
                                                               _other_subcommands(rel, text, args))
    go_flags = _go_flags(text) if go else []
    # where flags are declared: a default there is the flag's, which the command line overrides
    flag_spans = [(a, b) for a, b, *_ in go_flags]
    if rust:
        from .rust import clap_args

        flag_spans += [a.span for a in clap_args(text)]
    if lang == "js":
        flag_spans += _js_flag_spans(text)
    calls = embedding_calls.scan(rel, text, lang) if embedding_calls.has_calls(text) else []
    lexed = lex(text, lang)
    if rel.endswith(".go"):
        from .golang import with_request_fields

        calls = with_request_fields(rel, text, calls)
    urls = []
    docstrings = py_docstrings(text) if lang == "python" else []
    for m in _URL.finditer(text):
        url = m.group("u")
        if "{" in url and lang == "python" and text[max(0, m.start() - 2):m.start()].lower().endswith(("f", "fr", "rf")):
            url = _f_string_of_literals(text, url, m.start()) or url
        if any(a <= m.start() < b for a, b in flag_spans):
            continue
        if (in_spans(m.start(), reads) or not _RELEVANT_URL.search(url) or _in_comment(text, m.start())
                or "{" in url or any(a <= m.start() < b for a, b in docstrings)
                or _in_other_string(text, m.start(), m.group("q"))):
            continue
        if _is_env_fallback(text, m.end()) or _is_named_default(text, m.start()) or (
                lang == "python" and _is_parameter_default(text, m.start(), m.end())) or _own_address(text, m.start()):
            continue
        urls.append(_mask(url))
    # a library's own default address, in no string of the file (the AI SDK's Ollama provider: 127.0.0.1:11434)
    urls += [c.url for c in calls if c.kind == "ollama-ai-sdk" and c.url and not c.url_env]
    models = [c.model for c in calls if c.model and not c.model_env and not c.in_process]
    for m in _MODEL_CONST.finditer(text):
        models.append(m.group("v"))
    in_process = [c.model or (f"${c.model_env}" if c.model_env else "?") for c in calls if c.in_process]
    # The ollama clients read OLLAMA_HOST themselves; calls whose model or URL comes from a variable read it.
    names += [n for c in calls for n in (c.model_env, c.url_env) if n]
    inserts, changes = orm_writes.writes(rel, text, lang, *lexed)
    return Contract(tuple(dict.fromkeys(names)), tuple(dict.fromkeys(flags)), tuple(dict.fromkeys(urls)),
                    tuple(dict.fromkeys(models)), files=(rel,), env_defaults=tuple(dict.fromkeys(defaults)),
                    required_flags=tuple(dict.fromkeys(required)), flag_env=tuple(dict.fromkeys(flag_env)),
                    flag_defaults=tuple(dict.fromkeys(flag_defaults)), flag_aliases=tuple(dict.fromkeys(aliases)),
                    in_process_models=tuple(dict.fromkeys(in_process)),
                    embedding_calls=tuple(f"{c.path}:{c.line} {c.kind}" for c in calls),
                    selectors=tuple(dict.fromkeys(_selectors(text, reads))),
                    index_builds=_index_builds(rel, text),
                    openai_sdk=tuple(f"{c.path}:{c.line} {c.name}" for c in calls
                                     if c.kind == "openai" and not c.url and not c.url_env),
                    newlines_to_spaces=tuple(f"{rel}:{line_of(text, m.start())}" for m in _NEWLINES_TO_SPACE.finditer(text)
                                             if calls and not _in_comment(text, m.start())),
                    task_prefixes=task_prefixes_in(rel, text, bool(calls)),
                    composed_texts=composed_texts_in(rel, text, bool(calls)) if lang in ("python", "js") else (),
                    keeps=_keeps(rel, text, *lexed), inserts=inserts, changes=changes,
                    database_clients=tuple(dict.fromkeys(m.group(0) for m in finditer_at(
                        _DATABASE_CLIENT, without_comments(text, lang), *_DATABASE_CLIENT_HEADS))),
                    command_words=serving.given_python_commands(text, args) if args and lang == "python" else ())


def _other_subcommands(rel: str, text: str, args: tuple[str, ...] | None) -> list[tuple[int, int]]:
    """The spans of a CLI's subcommands that ``args`` do not run (JS: commander's, yargs'; Rust: clap's; Python:
    argparse's subparsers' add_argument calls); none where the arguments are not known."""
    if args is None:
        return []
    if rel.endswith(".rs"):
        from .rust import given_subcommand, other_subcommands

        return other_subcommands(lex(text, "rust")[0], given_subcommand(list(args)))
    if language(rel) == "python":  # each call declaring a flag on another subcommand's parser; a typer or click command
        parsers = "|".join(map(re.escape, serving.other_python_subparsers(text, args)))
        calls = re.finditer(rf"\b(?:{parsers})\s*\.\s*add_argument\(", text) if parsers else ()
        return [(m.start(), m.end()) for m in calls] + serving.other_python_commands(text, args)
    return serving.other_js_subcommands(lex(text, "js")[0], args) if language(rel) == "js" else []


_PLACEHOLDER = re.compile(r"\{(?P<n>[A-Za-z_]\w*)\}")
_DEF_PARAMS = re.compile(r"\bdef\s+\w+\s*\((?P<params>[^)]*)\)")


def _f_string_of_literals(text: str, template: str, at: int) -> str | None:
    """A Python f-string's text with each ``{name}`` replaced by the one literal the file assigns that name
    (``host = "127.0.0.1"``): an address the code builds of constants is as hard-coded as a literal one. None if a
    name has no such literal (an env read, two values, nothing)."""
    names = {m.group("n") for m in _PLACEHOLDER.finditer(template)}
    # a parameter of the function the f-string is in is whatever its caller passes, not a literal assigned elsewhere
    enclosing = [m for m in _DEF_PARAMS.finditer(text, 0, at)][-1:]
    parameters = {p.strip().split(":")[0].split("=")[0].strip().lstrip("*") for m in enclosing
                  for p in m.group("params").split(",")}
    parts = {n: only_literal(text, n) if n not in parameters else None for n in names}
    if not parts or None in parts.values() or _PLACEHOLDER.sub("", template).count("{"):
        return None
    return _PLACEHOLDER.sub(lambda m: cast(str, parts[m.group("n")]), template)


def composed_texts_in(rel: str, text: str, embeds: bool) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """Each ``'sep'.join((...))`` of a Python file that embeds whose parts are all attributes or names, bare or inside
    f-strings with labels: (separator, the parts as chunks.text items, "path:line"); of a JS file, each template
    literal it hands the embedder (``_js_composed``)."""
    if embeds and language(rel) == "js":
        return _js_composed(rel, text)
    if not embeds or ".join(" not in text:
        return ()
    import ast

    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ()

    def name(node: ast.expr) -> str | None:
        return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None

    def part(node: ast.expr) -> str | None:
        if name(node) is not None:
            return name(node)
        if not isinstance(node, ast.JoinedStr):
            return None
        out = ""
        for piece in node.values:
            if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                out += piece.value.replace("{", "{{").replace("}", "}}")
            elif isinstance(piece, ast.FormattedValue) and piece.conversion == -1 and piece.format_spec is None \
                    and (field := name(piece.value)) is not None:
                out += "{" + field + "}"
            else:
                return None
        return out

    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
                and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str)
                and len(node.args) == 1 and isinstance(node.args[0], (ast.Tuple, ast.List)) and len(node.args[0].elts) > 1):
            parts = [part(e) for e in node.args[0].elts]
            if all(p is not None for p in parts):
                found.append((node.func.value.value, tuple(cast(list[str], parts)), f"{rel}:{node.lineno}"))
    return tuple(found)


# A JS template literal of labels around plain names (`The job role is "${job.role}". ...`) bound to a variable.
_JS_TEMPLATE = re.compile(r"""\b(?:const|let|var)\s+(?P<v>[\w$]+)\s*=\s*`(?P<t>[^`\\]*)`""")
_JS_PLACE = re.compile(r"""\$\{\s*(?:[\w$]+\s*\??\.\s*)*(?P<n>[\w$]+)\s*\}""")


def _js_composed(rel: str, text: str) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """Each template literal of labels around names or attributes (``${job.role}`` is the column ``role``) whose
    variable the file hands the embedder as its input (``input: v``, ``{input}``, ``value: v``, ``embed(v)``): one
    labelled part. A literal only logged or built into a URL is no text embedded."""
    found = []
    for m in _JS_TEMPLATE.finditer(text):
        template, v = m.group("t"), re.escape(m.group("v"))
        handed = (rf"\b(?:input|inputs|value|values|prompt|text|texts)\s*:\s*\[?\s*{v}\b"
                  rf"|[{{,]\s*{v}\s*[,}}]" if m.group("v") in ("input", "value", "prompt", "text") else "$^")
        handed = rf"{handed}|\.embed\w*\s*\(\s*\[?\s*{v}\b"
        labels = _JS_PLACE.sub("", template)
        if "${" not in template or "${" in labels or not labels.strip() or not re.search(handed, text[m.end():]):
            continue  # an expression no column names, or no label at all (a value alone is its column)
        pieces, at = [], 0
        for p in _JS_PLACE.finditer(template):
            pieces.append(template[at:p.start()].replace("{", "{{").replace("}", "}}") + "{" + p.group("n") + "}")
            at = p.end()
        rest = template[at:].replace("{", "{{").replace("}", "}}")
        found.append(("", ("".join(pieces) + rest,), f"{rel}:{line_of(text, m.start())}"))
    return tuple(found)


# A newline made a space: JS `.replace(/\n/g, ' ')`, `.replaceAll('\n', ' ')`, Python `.replace("\n", " ")`.
_NEWLINES_TO_SPACE = re.compile(r"""\.replace(?:All)?\(\s*(?:/\\n/g|(['"])\\n\1)\s*,\s*(['"]) \2\s*\)""")


# A task prefix as a literal of its own (`DOC = "search_document: "`, `"passage: " + t`) or opening an interpolated
# string (f"search_document: {t}", `search_document: ${t}`, "passage: {}".format, "passage: %s").
_PREFIXES = (*task_prefixes.DOCUMENT_PREFIXES, *task_prefixes.QUERY_PREFIXES)
_PREFIX_LITERAL = re.compile(r"""(?P<q>['"`])(?P<p>{})(?:(?P=q)|\{{|\$\{{|%s)""".format("|".join(map(re.escape, _PREFIXES))))


# A call (`embed_many(`, `self._embed_prefixed(`), not a definition.
_CALL = re.compile(r"(?<!def )(?<!function )\b(?P<n>[A-Za-z_]\w*)\s*\(")
# What follows a JS method's parameter list where it is defined, not called: its body (after a TypeScript return type).
_DEFINED = re.compile(r"\s*(?::[^{};=\n]+)?\{")
# A constant assigned one literal on its own line (`DOCUMENT_PREFIX = "search_document: "`): the name it is used by.
_CONSTANT_OF = re.compile(r"""(?m)^[ \t]*(?:export\s+)?(?:const\s+|let\s+|var\s+)?(?P<n>[A-Za-z_]\w*)\s*(?::[^=\n]+)?=\s*$""")


def task_prefixes_in(rel: str, text: str, embeds: bool) -> tuple[tuple[str, str], ...]:
    """Each task prefix of a file that embeds, or that hands it (or the constant holding it) to a function named for
    embedding (an app's own wrapper around its client), with where. Elsewhere a prefix is no evidence: AnythingLLM
    keeps a table of its in-process models' prefixes and prose naming them in its settings UI, while its Ollama
    embedder puts none before the text."""
    # A docstring's example (LightRAG's `document_prefix: ... (e.g., "search_document: ")`) is documentation.
    docstrings = py_docstrings(text) if rel.endswith(".py") else []
    found = [(m.group("p"), f"{rel}:{line_of(text, m.start())}") for m in finditer_where(_PREFIX_LITERAL, text, *_PREFIXES)
             if not _in_comment(text, m.start()) and not any(a <= m.start() < b for a, b in docstrings)
             and (embeds or _given_to_an_embedder(text, m.start()))]
    return tuple(dict.fromkeys(found))


def _given_to_an_embedder(text: str, at: int) -> bool:
    """The literal at ``at``, or the constant it is assigned to, is an argument of a call named for embedding, that
    call its innermost (a setting's default inside it, `os.getenv("X", "search_document: ")`, is the setting's)."""
    line_start = text.rfind("\n", 0, at) + 1
    constant = _CONSTANT_OF.match(text[line_start:at])
    if constant is None:
        return _in_an_embedding_call(text, at)
    return any(_in_an_embedding_call(text, u.start()) for u in re.finditer(rf"\b{re.escape(constant.group('n'))}\b", text)
               if not line_start <= u.start() < at)


def _in_an_embedding_call(text: str, at: int) -> bool:
    """The innermost call whose arguments hold ``at`` is named for embedding."""
    for m in reversed([m for m in _CALL.finditer(text, max(0, at - 1500), at)]):
        args = call_args(text, m.end() - 1)
        if at < m.end() + len(args):
            # a JS method defined (`embedMany(texts, prefix = "...") {`), as a Python `def`: its default, not a call's
            return "embed" in m.group("n").lower() and not _DEFINED.match(text, m.end() + len(args) + 1)
    return False


# LlamaIndex calls that embed every node they are given with the configured embed model.
# What keeps a result: SQL that writes; a database driver, ORM or vector store; an index or document store's add; a
# request (an API the app writes through); a file written; a queue or cache. Broad on purpose: only a command whose
# files show none of these is said to keep nothing.
def _of_each_embedder(a: Contract, b: Contract, name: str) -> str:
    """Why a command made of two parts is no backfill (``adds_only``, ``answers``), where each part that embeds says it:
    one part re-embedding the rows there are (a make target's reembed beside an importer) makes the whole one."""
    embedders = [c for c in (a, b) if c.embedding_calls]
    if not embedders:
        return cast(str, getattr(a, name) or getattr(b, name))
    said = [cast(str, getattr(c, name)) for c in embedders]
    return said[0] if all(said) else ""


# A command-line flag that takes the database (``--dsn``, ``--database-url``, ``--db``).
DATABASE_FLAG = re.compile(r"dsn|database|db[-_]?url|^--db$|postgres|pg[-_]?url|conn(?:ection)?[-_]?str", re.I)

# The Postgres drivers, ORMs and clients by name: the one list both rules below read.
_POSTGRES_CLIENTS = (r"psycopg\w*|asyncpg|pg8000|sqlalchemy|sqlmodel|databases|peewee|tortoise|django\.db"
                     r"|dj_database_url|pgx\w*|lib/pq|jackc/pgx|gorm|sqlx|tokio_postgres|tokio-postgres|diesel"
                     r"|Npgsql|Ecto\.Repo|Postgrex|ActiveRecord|jdbc:postgresql|org\.postgresql|@prisma/client"
                     r"|PrismaClient|drizzle-orm|knex|typeorm|sequelize|kysely|postgres\.js|@vercel/postgres"
                     r"|@neondatabase/serverless|pg-promise|slonik")
# A Postgres client, as code or a module name imports it (`require("pg")`: strings count).
_DATABASE_CLIENT = re.compile(rf"\b(?:{_POSTGRES_CLIENTS})\b|(?<=['\"])(?:pg|postgres)(?=['\"])")
# The words its matches begin with (each name's letters up to its first escape): where it is tried.
_DATABASE_CLIENT_HEADS = tuple(dict.fromkeys(
    [re.match(r"[\w@/:-]*", name).group(0) for name in _POSTGRES_CLIENTS.split("|")] + ["pg", "postgres"]))  # type: ignore[union-attr]
_DSN = re.compile(r"postgres(?:ql)?(?:\+\w+)?://", re.I)

# SQL is written inside strings; everything else counts only in code (a demo embedding "milvus vector database", a
# `# adds src/app` comment, a docstring naming the store: none keeps anything).
_KEEPS_SQL = re.compile(r"(?i:\b(?:INSERT\s+INTO|UPDATE\s+[\w\".]+\s+SET|COPY\s+[\w\".]+|MERGE\s+INTO|UPSERT)\b)")
_KEEPS = re.compile(rf"\b(?:{_POSTGRES_CLIENTS}|pg|postgres\w*|sqlite3|mysql2?|pymongo|mongoose|mongodb"
                    r"|redis|ioredis|prisma|supabase|django"
                    r"|database/sql|ApplicationRecord|jdbc\w*|hibernate|chromadb|qdrant\w*|pinecone|weaviate|milvus"
                    r"|lancedb|faiss|hnswlib\w*|elasticsearch|opensearch)\b"
                    r"|(?i:\b\w*(?:VectorStore|DocumentStore|PGVector|Client|Pool|Session|Connection|Engine|Repository|Record))\b"
                    # a call that writes, sends or stores: Ruby's bare `save!` and Go's `Exec(` too
                    r"|(?i:\b(?:add\w*|from_?documents|from_?texts|upsert\w*|bulk_\w+|exec\w*|query\w*|commit|save\w*|insert\w*"
                    r"|update\w*|create\w*|persist|merge|store\w*|index\w*|write\w*|dump|put|copy\w*|send\w*|publish|fetch"
                    r"|post|request|urlopen|axios|requests|httpx|aiohttp|got|ky)[!?]?(?:\s*\(|\s+[:\w]))")


def _keeps(rel: str, text: str, code: str, strings: list[tuple[int, int]]) -> tuple[str, ...]:
    """"path:line" of the first places the file keeps something (``_KEEPS_SQL`` anywhere but comments, ``_KEEPS`` in
    code only); ``code`` and ``strings``: the file as ``lex`` reads it."""
    # both in order, merged as they come: the scan stops at the fifth line, not at the file's end (most code files
    # keep something on every few lines)
    found = heapq.merge((m.start() for m in _KEEPS_SQL.finditer(code)),
                        (m.start() for m in _KEEPS.finditer(code) if not in_strings(m.start(), strings)))
    lines: list[int] = []
    line, at = 1, 0
    for pos in found:  # counted on from the last place, and only to the fifth line: linear in the file
        line, at = line + text.count("\n", at, pos), pos
        if not lines or lines[-1] != line:
            lines.append(line)
            if len(lines) == 5:
                break
    return tuple(f"{rel}:{n}" for n in lines)


_INDEX_BUILD = re.compile(r"\b(?P<name>VectorStoreIndex\s*\.\s*from_documents|VectorStoreIndex|IngestionPipeline)\s*\(")


def _index_builds(rel: str, text: str) -> tuple[str, ...]:
    """Each LlamaIndex index build of a file that imports LlamaIndex, as "path:line call"."""
    if "llama_index" not in text or not re.search(r"\bllama_index\b", text):
        return ()
    return tuple(f"{rel}:{line_of(text, m.start())} {''.join(m.group('name').split())}"
                 for m in _INDEX_BUILD.finditer(text) if not _in_comment(text, m.start())
                 and not re.search(r"\b(?:import|class|def)\b[^\n]*$", text[text.rfind("\n", 0, m.start()) + 1:m.start()]))


# Settings naming the web application's own addresses (its site, the origins its frontend calls it from).
_OWN_ADDRESS = re.compile(r"ORIGIN|ALLOWED_HOSTS|CSRF|CORS|SITE_URL|FRONTEND|REDIRECT|CALLBACK|WEBHOOK", re.I)
_ASSIGNED = re.compile(r"(?m)^[ \t]*(?P<n>[A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)")


def _own_address(text: str, pos: int) -> bool:
    """The URL is a value of a setting that names the application's own address (OWASP Nest's ``SITE_URL``, its
    ``ALLOWED_ORIGINS``): no address the command calls."""
    assigned = list(_ASSIGNED.finditer(text, max(0, pos - 2000), pos))
    if not assigned or not _OWN_ADDRESS.search(assigned[-1].group("n")):
        return False
    # the URL is in that statement: on its line, or inside a bracket it opens (a call on a later line is not)
    depth = 0
    for ch in text[assigned[-1].end():pos]:
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "\n" and depth <= 0:
            return False
    return True


def _in_comment(text: str, pos: int) -> bool:
    start = text.rfind("\n", 0, pos) + 1
    head = text[start:pos].lstrip()
    return head.startswith(("#", "//", "*", "/*"))


def _in_other_string(text: str, pos: int, quote: str) -> bool:
    """A quoted URL inside a string of the other quote (``description="... Example: 'https://localhost:11434'."``):
    prose, not an address the code uses."""
    other = {"'": '"', '"': "'"}.get(quote)
    head = text[text.rfind("\n", 0, pos) + 1:pos].replace("\\" + (other or ""), "")
    return other is not None and head.count(other) % 2 == 1


def _is_env_fallback(text: str, end: int) -> bool:
    """``"http://localhost:11434"`` used as ``os.getenv(...) or URL`` / ``process.env.X ?? URL``: a default."""
    start = text.rfind("\n", 0, end) + 1
    line = text[start:end]
    return bool(re.search(r"(?:getenv|environ|process\.env|Deno\.env|Bun\.env)[^\n]*(?:\?\?|\|\||\bor\b)\s*['\"`][^'\"`]*['\"`]$", line))


# Compared with a non-empty literal: a choice. `X == ""` only asks whether it is set, and a value still flows.
_COMPARED = re.compile(r"""\s*(?:==|!=|===|!==)\s*(?P<q>['"])(?!(?P=q))|\s+(?:in|not\s+in)\s*[\[(]""")


def _selectors(text: str, reads) -> list[str]:
    """Env names whose value is compared with literals (or matched against cases), directly or through a variable."""
    out = []
    for r in reads:
        if _COMPARED.match(text, r.end):
            out.append(r.name)
            continue
        var = re.search(r"(?m)^\s*(?:const\s+|let\s+)?(\w+)\s*=\s*$", text[text.rfind("\n", 0, r.start) + 1:r.start])
        name = re.escape(var.group(1)) if var else ""
        # the comparison begins with the name: tried where the name is (a leading \b is tried at every character)
        if var and (next(finditer_at(re.compile(rf"\b{name}\s*(?:==|!=|===|!==)\s*(?P<q>['\"])(?!(?P=q))"), text,
                                     var.group(1)), None) is not None
                    or ("match" in text or "switch" in text)
                    and re.search(rf"^\s*(?:match|switch)\s*\(?\s*{name}\s*\)?\s*[:{{]", text, re.M)):
            out.append(r.name)
    return out


def _is_named_default(text: str, pos: int) -> bool:
    """``DEFAULT_URL = "http://127.0.0.1:11434"``: a library's fallback, used when nothing is configured."""
    start = text.rfind("\n", 0, pos) + 1
    return bool(re.match(r"\s*(?:export\s+)?(?:(?:const|let|var)\s+)?[\w.]*(?:DEFAULT|FALLBACK|default|fallback)\w*\s*"
                         r"(?::[^=\n]+)?[:=]", text[start:pos]))


# A Python parameter's default: `def f(host="...")`, or `url: str = "...",` on its own line of a parameter list (a ','
# or ')' after it: an annotated assignment in a function's body, `dsn: str = "..."`, is what the code connects to).
_PY_PARAMETER_DEFAULT = re.compile(r"\bdef\s+\w+\s*\([^)]*\b\w+\s*(?::[^=,)]+)?=\s*$")
_PY_PARAMETER_LINE = re.compile(r"^[ \t]+\w+\s*:\s*[^=\n]+=\s*$")


def _is_parameter_default(text: str, start: int, end: int) -> bool:
    """``def __init__(self, url: str = "http://localhost:11434")``: what the caller does not pass (Haystack's
    embedder; the app's script passes its own), not an address the code always calls."""
    head = text[text.rfind("\n", 0, start) + 1:start]
    return bool(_PY_PARAMETER_DEFAULT.search(head)
                or (_PY_PARAMETER_LINE.search(head) and re.match(r"\s*[,)]", text[end:])))


@overload
def _mask(value: str) -> str: ...
@overload
def _mask(value: None) -> None: ...
@overload
def _mask(value: str | None) -> str | None: ...


def _mask(value: str | None) -> str | None:
    if value is None:
        return None
    return redact.safe_dsn(value) if "://" in value else redact.redact(value)


def _quoted(source: str) -> str | None:
    """The value of ``source`` where it is one quoted string literal."""
    m = re.fullmatch(r"""[rRuU]?(?P<q>['"])(?P<v>[^'"\n]*)(?P=q)""", source.strip())
    return m.group("v") if m else None


def _typer_parameter(m: re.Match[str], text: str, add) -> None:
    """One typer parameter (``_TYPER``'s match) given to ``add``: the names its declarations give (its own name, dashed,
    for an option declaring none), its literal default, and required where it has none (typer's ``...``)."""
    args = call_args(text, m.end() - 1)
    parts = [a.strip() for _, a in split_args(args) if a.strip()]
    keywords = {k.group("k"): k.group("v").strip() for a in parts if (k := _KEYWORD_ARG.fullmatch(a))}
    positional = [a for a in parts if not _KEYWORD_ARG.fullmatch(a)]
    if m.group("ann"):  # Annotated: every positional argument declares a name; the default follows the brackets
        after = re.match(r"\s*\)\s*\]\s*=\s*(?P<d>[^,\n)]+)", text[m.end() + len(args):])
        default, decls = (after.group("d").strip() if after else None), positional
    else:
        # typer.Option(default, *decls): its first argument is the default (`...`: none, the option is required)
        factory = keywords.get("default_factory")
        default = keywords.get("default", positional[0] if positional else factory or "...")
        decls = positional if "default" in keywords else positional[1:]
    names = [n.split("/", 1)[0] for d in decls if (n := _quoted(d) or "").startswith("-")]
    if not names:
        names = ["--" + m.group("p").replace("_", "-") if m.group("kind") == "Option" else m.group("p")]
    literal = _quoted(default) if default else None
    # an environment variable fills an option not given (`typer.Option(..., envvar="DATABASE_URL")`): not required
    env = _ENVVAR.search(args)
    add(names, needed=(default is None or default == "...") and not env, env=env and env.group("e"), default=literal,
        at=m.start())


def _flags(text: str, lang: str, env_names: list[str], elsewhere: Sequence[tuple[int, int]] = ()
           ) -> tuple[list[str], list[str], list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """The flags the file declares (none declared ``elsewhere``: in a subcommand the command line does not run)."""
    flags, required, flag_env, defaults = [], [], [], []
    aliases: list[tuple[str, str]] = []

    def add(names: list[str], *, needed: bool = False, env: str | None = None, default: str | None = None, at: int = -1):
        longs = [n for n in names if n.startswith("--")] or names
        if not longs or any(a <= at < b for a, b in elsewhere):
            return
        flag = longs[0]
        flags.append(flag)
        aliases.extend((n, flag) for n in names if re.fullmatch(r"-\w", n) and flag.startswith("--"))
        if needed:
            required.append(flag)
        if env:
            flag_env.append((flag, env))
        elif default:
            defaults.append((flag, default))

    def add_py(names: list[str], args: str, env: str | None = None, at: int = -1, click: bool = False):
        env_m = re.search(r"""(?:os\.(?:getenv|environ\.get)\(|os\.environ\[|envvar\s*=\s*\(?)\s*['"](?P<e>[A-Za-z_]\w*)['"]""", args)
        literal = re.search(r"""\bdefault\s*=\s*(?P<q>['"])(?P<v>[^'"\n]+)(?P=q)""", args)
        # click's `required=True` takes the variable (`envvar=`) or the default where the flag is not given; argparse's
        # required flag ignores its default
        filled = click and bool(_ENVVAR.search(args) or re.search(r"\bdefault\s*=\s*(?!None\b)", args))
        add(names, needed=bool(re.search(r"\brequired\s*=\s*True", args)) and not filled,
            env=env or (env_m and env_m.group("e")), default=literal and literal.group("v"), at=at)

    def add_js(names: list[str], default: str | None, needed: bool = False, env: str | None = None, at: int = -1):
        """A JS option whose default is ``default``'s source: a literal, a constant holding one, cac's `{ default: ... }`,
        or an environment read (`process.env.X ?? 'y'`); ``env``: the variable it falls back to (commander's `.env()`)."""
        source = (default or "").strip()
        if source.startswith("{"):  # cac's config object
            source = next((a.split(":", 1)[1].strip() for _, a in split_args(source[1:-1]) if re.match(r"default\s*:", a)),
                          "")
        reads = env_reads(source, "js")
        literal = re.fullmatch(r"""(?P<q>['"`])(?P<v>[^'"`\n$]+)(?P=q)""", source)
        value = literal.group("v") if literal else (
            _js_constant(text, source) if re.fullmatch(r"[A-Za-z_$][\w$]*", source) else None)
        add(names, needed=needed, env=env or (reads[0].name if reads else None), default=value, at=at)

    if lang == "python":
        for m in _ARGPARSE.finditer(text):
            args = call_args(text, m.end() - 1)
            names = re.findall(r"""^\s*['"](-{1,2}[\w-]+)['"]|,\s*['"](-{1,2}[\w-]+)['"]""", args)
            names = [a or b for a, b in names]
            if names:
                add_py(names, args, at=m.start())
            else:
                positional = re.match(r"""\s*['"]([A-Za-z_][\w-]*)['"]""", args)
                if positional and not any(a <= m.start() < b for a, b in elsewhere):
                    flags.append(positional.group(1))
                    required.append(positional.group(1))
        for m in _CLICK.finditer(text):
            args = call_args(text, m.end() - 1)
            names = re.findall(r"""['"](-{1,2}[\w-]+)['"]""", args)
            if m.group("kind") == "argument":
                # a positional argument: required unless it has a default, is optional or takes any number
                argument = re.match(r"""\s*['"]([A-Za-z_][\w-]*)['"]""", args)
                if argument:
                    env = _ENVVAR.search(args)
                    add([argument.group(1)], needed=not env and not re.search(
                        r"\b(?:default\s*=|required\s*=\s*False|nargs\s*=\s*-1)", args),
                        env=env and env.group("e"), at=m.start())
            else:
                add_py(names, args, at=m.start(), click=True)
            if "envvar" in args:
                env_names.extend(re.findall(r"""envvar\s*=\s*\(?\s*['"]([A-Za-z_]\w*)['"]""", args))
        typer = typer_cli.parameters(text) if "typer" in text else ()
        for p in typer or ():
            add(list(p.names), needed=p.needed, env=p.env[0] if p.env else None, default=p.default, at=p.at)
            env_names.extend(p.env)
        # a file that does not parse (Python 2, a template): its typer parameters as the pattern finds them
        for m in _TYPER.finditer(text) if typer is None and "typer." in text else ():
            _typer_parameter(m, text, add)
            env_names.extend(re.findall(r"""envvar\s*=\s*['"]([A-Za-z_]\w*)['"]""", call_args(text, m.end() - 1)))
        if "sys.argv" in text:
            flags.extend(m.group("f") for m in _ARGV_FLAG.finditer(text))
    elif lang == "js":
        for m in _COMMANDER.finditer(text):
            # commander's option(flags, description, [parser,] default): a third argument or a fourth is the default
            parts = [a for _, a in split_args(call_args(text, m.start() + len(m.group("req")) + 1))]
            add_js(re.findall(r"(?<![\w-])-{1,2}[A-Za-z][\w-]*", m.group("spec")), parts[-1] if len(parts) > 2 else None,
                   m.group("req") == "requiredOption", at=m.start())
        for start, _, spec, calls in _commander_options(text):
            env = re.fullmatch(r"""(?P<q>['"])(?P<e>[A-Za-z_]\w*)(?P=q)""", calls.get("env", ""))
            env_names.extend([env.group("e")] if env else [])
            add_js(re.findall(r"(?<![\w-])-{1,2}[A-Za-z][\w-]*", spec), calls.get("default"), "makeOptionMandatory" in calls,
                   env=env.group("e") if env else None, at=start)
        for at, key, body in _js_option_objects(text):
            short = re.search(r"""\b(?:short|shortFlag|alias)\s*:\s*\[?\s*(?P<q>['"])(?P<s>[\w-]+)(?P=q)""", body)
            names = [_dashed(key)] + ([_dashed(short.group("s"))] if short else [])
            default = next((a.split(":", 1)[1] for _, a in split_args(body) if re.match(r"default\s*:", a)), None)
            add_js(names, default, bool(re.search(r"\b(?:demandOption|required|isRequired)\s*:\s*true", body)), at=at)
        if "process.argv" in text or "Deno.args" in text:
            flags.extend(m.group("f") for m in _ARGV_FLAG.finditer(text))
    elif lang == "go":
        for _, _, name, letter, literal in _go_flags(text):
            add([_dashed(name), *([f"-{letter}"] if letter else [])], default=literal)
    elif lang == "rust":
        from .rust import clap_args

        for arg in clap_args(text):
            if not any(a <= arg.span[0] < b for a, b in elsewhere):
                env_names.extend([arg.env] if arg.env else [])
            add(list(arg.names), needed=arg.needed, env=arg.env, default=arg.default, at=arg.span[0])
    return flags, required, flag_env, defaults, aliases


def _js_option_objects(text: str) -> list[tuple[int, str, str]]:
    """(where, name, object's body) of each option node's ``parseArgs({options: {name: {...}}})``, yargs'
    ``.option('name', {...})`` / ``.options({name: {...}})`` and meow's ``meow(help, {flags: {name: {...}}})`` declare,
    where: the start of the call declaring it."""
    out = []
    for m in _PARSEARGS.finditer(text):
        opts = re.search(r"options\s*:\s*\{", args := call_args(text, m.end() - 1))
        if opts:
            out += [(m.start(), *o) for o in _keyed_objects(call_args(args, opts.end() - 1, limit=3000))]
    for m in _YARGS_OPTION.finditer(text):
        out.append((m.start(), m.group("k"), call_args(text, m.end() - 1)))
    for m in _YARGS_OPTIONS.finditer(text):
        out += [(m.start(), *o) for o in _keyed_objects(call_args(text, m.end() - 1, limit=3000))]
    for m in _MEOW.finditer(text):  # meow's camelCase flags are given kebab-case (`embedModel`: `--embed-model`)
        flags = re.search(r"\bflags\s*:\s*\{", args := call_args(text, m.end() - 1, limit=6000))
        if flags:
            out += [(m.start(), re.sub(r"(?<=[a-z0-9])([A-Z])", lambda c: "-" + c.group(1).lower(), key), body)
                    for key, body in _keyed_objects(call_args(args, flags.end() - 1, limit=3000))]
    return out


def _dashed(name: str) -> str:
    """An option's name as a command line gives it: `-m` for a letter, `--model` for a word."""
    return ("--" if len(name) > 1 else "-") + name


def _keyed_objects(body: str) -> list[tuple[str, str]]:
    """(key, object's body) of each ``key: {...}`` at the top level of an object literal's body."""
    return [(m.group(1), call_args(part, m.end() - 1)) for _, part in split_args(body)
            if (m := re.match(r"""['"]?([A-Za-z][\w-]*)['"]?\s*:\s*\{""", part))]


# -- following imports -----------------------------------------------------------------------------------------------

_PY_IMPORT = re.compile(r"""(?m)^\s*(?:from\s+(?P<from>\.*[\w.]*)\s+import\s+(?P<names>\([^)]*\)|[^\n#]+)|import\s+(?P<mods>[\w., ]+))""")
_JS_IMPORT = re.compile(r"""(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\(\s*|^\s*import\s+)['"](?P<spec>[^'"]+)['"]""", re.M)
_JS_EXTS = (".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".jsx")


def _py_candidates(root: Path, current: Path, text: str, src_roots: tuple[Path, ...] = ()) -> list[Path]:
    out = []
    ups = [root, current.parent, *[p for p in current.parents if p != root and root in p.parents]]
    for m in _PY_IMPORT.finditer(text):
        if m.group("mods"):
            mods = [x.strip().split(" ")[0] for x in m.group("mods").split(",")]
            names: list[str] = []
        else:
            mods = [m.group("from")]
            names = [n.strip().split(" ")[0] for n in m.group("names").strip("()").split(",") if n.strip()]
        for mod in mods:
            if not mod:
                continue
            dots = len(mod) - len(mod.lstrip("."))
            parts = [p for p in mod.lstrip(".").split(".") if p]
            bases = [current.parent.parents[dots - 2] if dots > 1 else current.parent] if dots else \
                [*ups, *[r for r in src_roots if parts and exists(r / parts[0])]]
            for base in bases:
                target = base.joinpath(*parts)
                # a folder first: most bases hold no such module, and a long `from x import (...)` asks for each name
                if parts and is_dir(target.parent) and is_file(module := target.with_suffix(".py")):
                    out.append(module)
                if is_dir(target):
                    out.extend(c for c in (target / "__init__.py", *(target / f"{n}.py" for n in names)) if is_file(c))
    return out


def _js_candidates(root: Path, current: Path, text: str, packages: dict[str, Path]) -> list[Path]:
    out = []
    for m in _JS_IMPORT.finditer(text):
        spec = m.group("spec")
        if spec.startswith("."):
            base = current.parent / spec
        elif spec.startswith(("@/", "~/")):
            pkg = _package_dir(current, root)
            base = next((d / spec[2:] for d in (pkg / "src", pkg) if exists((d / spec[2:]).parent)), pkg / spec[2:])
        else:
            name = spec if not spec.startswith("@") else "/".join(spec.split("/")[:2])
            if name not in packages:
                continue
            rest = spec[len(name):].lstrip("/")
            pkg_dir = packages[name]
            base = pkg_dir / rest if rest else _package_entry(pkg_dir)
        for cand in _js_files(base):
            out.append(cand)
            break
    return out


def _js_files(base: Path) -> list[Path]:
    stem = base.with_suffix("") if base.suffix in (".js", ".mjs", ".cjs", ".jsx") else base
    cands = [base] if base.suffix in _JS_EXTS else []
    cands += [Path(str(stem) + e) for e in _JS_EXTS] + [base / f"index{e}" for e in _JS_EXTS]
    return [c for c in cands if is_file(c)]


def _package_dir(path: Path, root: Path) -> Path:
    for parent in path.parents:
        if is_file(parent / "package.json"):
            return parent
        if parent == root:
            break
    return root


def _package_entry(pkg: Path) -> Path:
    try:
        data = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    for key in ("source", "main", "module"):
        if isinstance(data.get(key), str):
            return pkg / data[key]
    exports = data.get("exports")
    if isinstance(exports, str):
        return pkg / exports
    return pkg / "src" / "index"


def workspace_packages(root: Path) -> dict[str, Path]:
    """package.json name -> folder, for the workspace packages of a JS monorepo (cheap: two levels deep)."""
    found: dict[str, Path] = {}
    for pattern in ("*/package.json", "*/*/package.json", "*/*/*/package.json"):
        for p in root.glob(pattern):
            if "node_modules" in p.parts:
                continue
            try:
                name = json.loads(p.read_text(encoding="utf-8")).get("name")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(name, str):
                found.setdefault(name, p.parent)
    return found


def python_src_roots(root: Path) -> tuple[Path, ...]:
    """The repository's ``src`` folders a few levels down: a monorepo's packages in src layout, which an absolute
    import reaches once installed (haystack-core-integrations: ``integrations/<name>/src/haystack_integrations``)."""
    found = [p for pattern in ("src", "*/src", "*/*/src", "*/*/*/src") for p in sorted(root.glob(pattern))
             if p.is_dir() and not {"node_modules", ".venv", "venv", "site-packages"} & set(p.relative_to(root).parts)]
    return tuple(found)


_PY_MAIN_GUARD = re.compile(r"""(?m)^if\s+__name__\s*==\s*['"]__main__['"]\s*:""")


def contract_of_files(root: Path, entry_files: list[Path], *, extra: Contract | None = None,
                      limit: int = MAX_FILES, args: tuple[str, ...] | None = None) -> Contract:
    """The contract of the given files and the local modules they import (breadth first, bounded); whether the first,
    the file run (given ``args``), serves (``serving.in_code``: an import runs no ``__main__`` block)."""
    root = root.resolve()
    run = entry_files[0].resolve() if entry_files else None
    packages: dict[str, Path] | None = None
    src_roots: tuple[Path, ...] | None = None
    queue = [(p.resolve(), 0) for p in entry_files]
    seen: set[Path] = set()
    result = extra or Contract(files=())
    bound: dict[str, str] = {}  # the models and table variables its ORM calls write through, in every file read
    while queue and len(seen) < limit:
        path, depth = queue.pop(0)
        if path in seen or not is_file(path):
            continue
        seen.add(path)
        data = read(path)
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        rel = _rel(path, root)
        # an imported Python module's typer app or argparse subparsers are the ones a command line names (`python -m kb
        # ingest` runs kb/cli.py's ingest): only those its arguments name narrow its flags
        own = read_contract(rel, text, args if path == run or language(rel) == "python" else None)
        if path != run and own.required_flags and _PY_MAIN_GUARD.search(text):
            # a script of its own, imported: its parser runs under its `__main__` block, never for this command
            own = replace(own, required_flags=())
        result = result.merged(own)
        bound.update(orm_writes.bindings(rel, text))
        if path == run and not result.serves:
            result = replace(result, serves=serving.in_code(rel, text, language(rel), args or ()))
        if depth >= IMPORT_DEPTH:
            continue
        lang = language(rel)
        if lang == "python":
            if src_roots is None:
                src_roots = once(("src roots", root), partial(python_src_roots, root))
            nxt = once(("imports", root, path, src_roots), partial(_py_candidates, root, path, text, src_roots))
        elif lang == "js":
            if packages is None:
                packages = workspace_packages(_workspace_root(path, root))
            nxt = _js_candidates(root, path, text, packages)
        elif rel.endswith(".rs"):
            from .rust import modules

            nxt = modules(path, text)
        elif rel.endswith(".go"):
            from .golang import imported_files

            nxt = imported_files(root, path, text)
        else:
            nxt = []
        queue.extend((q, depth + 1) for q in map(_resolved, nxt) if q.is_relative_to(root))
    if any(t.startswith(orm_writes.HANDLE) for t in (*result.changes, *(t for t, _ in result.inserts))):
        # Prisma's models are declared in its schema, which no file imports
        for path in once(("prisma schemas", root), partial(orm_writes.schema_files, root)):
            if (data := read(path)) is not None:
                bound.update(orm_writes.bindings(_rel(path, root), data.decode("utf-8", "replace")))
    inserts, changes = orm_writes.named(result.inserts, result.changes, bound)
    result = replace(result, inserts=inserts, changes=changes)
    for path in package_settings(root, seen):
        data = read(path)
        if data is not None:
            result = result.merged(read_contract(_rel(path, root), data.decode("utf-8", "replace")))
    # The dotenv files beside the entry files and beside the packages they import (the project's own folder).
    folders = [root, *dict.fromkeys(p.parent for p in [*entry_files, *(t.parent for t in _packages(root, seen))])]
    found = _endpoint_paths(list(dict.fromkeys(f.resolve() for f in folders)), result)
    return replace(result, endpoint_paths=tuple(dict.fromkeys([*result.endpoint_paths, *found])))


# Ollama's embedding endpoints, or its API's prefix, ending a URL: a setting holding one takes the endpoint itself
# (cognee's EMBEDDING_ENDPOINT), or the base URL with `/api` and posts to `embed` under it (NeuronAI's provider).
_OLLAMA_ENDPOINT = re.compile(r"^https?://[^/\s]+(?P<path>/api(?:/embed(?:dings)?)?)/?$")


def _endpoint_paths(folders: list[Path], contract: Contract) -> list[tuple[str, str, str]]:
    """Provider settings the command reads whose value, in a default in code or in the project's dotenv files
    (`.env.example`, `.env.template`: the values the application documents), is an Ollama endpoint's URL."""
    values = [(name, value, "a default in code") for name, value in contract.env_defaults]
    for path in [p for folder in folders for p in sorted(folder.glob(".env*"))]:
        data = read(path) if path.is_file() else None
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            if (setting := dotenv_line(line)) is not None:
                values.append((*setting, path.name))
    reads = set(contract.reads_env)
    return [(name, m.group("path"), where) for name, value, where in values
            if name in reads and (m := _OLLAMA_ENDPOINT.match(value))]


MAX_SETTINGS_FILES = 60
_SETTINGS_CLASS = re.compile(r"(?m)^class\s+\w+\s*\([^)]*\bBaseSettings\b")


def _packages(root: Path, seen: set[Path]) -> list[Path]:
    """The outermost package folder (of ``__init__.py`` files) around each module read."""
    tops = {once(("package top", root, path), partial(_package_top, root, path)) for path in seen}
    return sorted(t for t in tops if t is not None)


def _package_top(root: Path, path: Path) -> Path | None:
    """The outermost package folder around ``path`` (within ``root``), None outside any; once per look (a
    command's modules were asked again for each of a repository's scripts)."""
    top = None
    for parent in path.parents:
        if parent == root or root not in parent.parents or not is_file(parent / "__init__.py"):
            break
        top = parent
    return top


def _resolved(path: Path) -> Path:
    """``path.resolve()``, once per look."""
    return once(("resolved", path), path.resolve)


def package_settings(root: Path, seen: set[Path]) -> list[Path]:
    """The modules defining pydantic ``BaseSettings`` classes in the packages the command's modules belong to (the
    outermost folder of ``__init__.py`` files around each): pydantic-settings reads the environment when a class is
    first used, so a pipeline that finds its engines through registries (cognee's ``cognify``) reads them without an
    import near the script."""
    root = root.resolve()
    found = [path for top in _packages(root, seen) for path in once(("settings", top), partial(_settings_modules, top))
             if path not in seen]
    return found[:MAX_SETTINGS_FILES]


def _settings_modules(top: Path) -> tuple[Path, ...]:
    """Every module of the package ``top`` that defines a ``BaseSettings`` class (its tests left out), in path order."""
    found = []
    for path in sorted(top.rglob("*.py")):
        if is_test(_rel(path, top.parent)):
            continue
        data = read(path)
        if data and b"BaseSettings" in data and _SETTINGS_CLASS.search(data.decode("utf-8", "replace")):
            found.append(path)
    return tuple(found)


def _workspace_root(path: Path, root: Path) -> Path:
    top = root
    for parent in path.parents:
        if (parent / "pnpm-workspace.yaml").exists() or _has_workspaces(parent / "package.json"):
            top = parent
        if parent == root:
            break
    return top


def _has_workspaces(package_json: Path) -> bool:
    try:
        return "workspaces" in json.loads(package_json.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


# -- following a command line ---------------------------------------------------------------------------------------

_PY = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")
_JS_RUNNERS = frozenset({"node", "tsx", "ts-node", "ts-node-esm", "bun", "esno", "esrun", "vite-node", "jiti"})
_WRAPPERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"), ("rye", "run"),
             ("npx",), ("pnpx",), ("pnpm", "exec"), ("pnpm", "dlx"), ("yarn", "exec"), ("bunx",), ("dotenv", "--"), ("env",),
             ("time",), ("exec",), ("nohup",), ("npm", "exec"), ("bundle", "exec")}
_PMS = frozenset({"npm", "pnpm", "yarn", "bun"})


# What a Rails command boots before it runs a task or a script: the application's configuration and initializers,
# then the code it autoloads (only files that read the environment or embed are read: the rest adds nothing).
_RAILS_BOOT = ("config/application.rb", "config/environment.rb", "config/environments/production.rb")
_RAILS_CODE = ("config/initializers", "app", "lib")
RAILS_MAX_FILES = 300


def _rails(words: list[str], workdir: Path, root: Path, base: Contract) -> Contract:
    """``bin/rails ns:task`` / ``rake ns:task`` / ``rails runner script.rb``: the task's rake files or the script,
    and what the booted application reads (``DATABASE_URL`` among them: Rails reads it itself)."""
    if not (workdir / "config" / "application.rb").is_file():
        return unknown(f"{words[0]} {words[1]}: no Rails application (config/application.rb) in {workdir}")
    arg = words[1]
    if arg == "runner":
        script = next((w for w in words[2:] if not w.startswith("-")), None)
        if script is None or not (workdir / script).is_file():
            return unknown(f"rails runner runs code given inline or {script!r}, which is not a file in {workdir}")
        first = [workdir / script]
    elif re.fullmatch(r"[\w:-]+(?:\[.*\])?", arg) and arg not in ("server", "s", "console", "c", "db", "generate", "g"):
        task = arg.split("[", 1)[0].rsplit(":", 1)[-1]
        first = [f for f in sorted((workdir / "lib" / "tasks").rglob("*.rake"))
                 if re.search(rf"""\btask\s*\(?\s*(?::{re.escape(task)}\b|['"]{re.escape(task)}['"]|{re.escape(task)}:)""",
                              (read(f) or b"").decode("utf-8", "replace"))]
        if not first:
            return unknown(f"no rake task {arg!r} in {workdir / 'lib' / 'tasks'}")
    else:
        return unknown(f"{words[0]} {arg} is no task or script whose code can be read")
    boot = [workdir / f for f in _RAILS_BOOT]
    code = [f for folder in _RAILS_CODE for f in sorted((workdir / folder).rglob("*.rb"))
            if re.search(rb"\bENV\b", read(f) or b"")
            or embedding_calls.has_calls((read(f) or b"").decode("utf-8", "replace"))]
    database = read(workdir / "config" / "database.yml")
    rails_reads = ("DATABASE_URL", *(r.name for r in env_reads((database or b"").decode("utf-8", "replace"), "ruby")))
    extra = base.merged(Contract(reads_env=tuple(dict.fromkeys(rails_reads)), files=()))
    return contract_of_files(root, first + boot + code, extra=extra, limit=RAILS_MAX_FILES)


def command_contract(command: str, workdir: str | Path, root: str | Path | None = None) -> Contract:
    """Follow a shell command line (npm/pnpm/yarn scripts, make targets, python/tsx/node, wrappers) to the
    modules it runs, and read their contract; unknown when it runs something that cannot be read."""
    workdir = Path(workdir).resolve()
    root = Path(root).resolve() if root else workdir
    if not workdir.is_dir():
        return unknown(f"working directory {str(workdir)!r} does not exist")
    return _follow(command, workdir, root, 0)


def _follow(command: str, workdir: Path, root: Path, depth: int) -> Contract:
    if depth > MAX_DEPTH:
        return unknown("the command nests too deeply to follow")
    result: Contract | None = None
    for segment in re.split(r"\s*(?:&&|\|\||;|\|)\s*|\n", command):
        if not segment.strip():
            continue
        cd = re.fullmatch(r"\s*cd\s+(\S+)\s*", segment)
        if cd:  # `cd packages/db && pnpm run x`: what follows runs there
            workdir = (workdir / cd.group(1).strip("'\"")).resolve()
            continue
        part = _segment(segment, workdir, root, depth)
        if part is None:
            continue
        result = part if result is None else result.merged(part)
    return result or unknown(f"nothing to follow in {command!r}")


def _flag_values(words: list[str], program: bool = False) -> tuple[tuple[str, str], ...]:
    """(flag, value) of each `--flag=value`, and of each `--flag value` whose next word is no flag; of a Python or JS
    script's own arguments (after the interpreter's `-m module` or the script), or of all ``words`` where they are the
    ``program``'s own (after `cargo run --`), each `-f value` too (argparse's, commander's or clap's short alias of a
    long flag: ``Contract.flag_aliases``)."""
    out = []
    script = words if program else _script_args(words)
    for i, w in enumerate(words):
        short = re.fullmatch(r"-\w", w) is not None and script is not None and i >= len(words) - len(script)
        if not short and (not w.startswith("--") or len(w) <= 2):
            continue
        if "=" in w and not short:
            out.append(tuple(w.split("=", 1)))
        elif i + 1 < len(words) and not words[i + 1].startswith("-"):
            out.append((w, words[i + 1]))
    return tuple(cast(tuple[str, str], v) for v in out)


def _words(words: list[str], program: bool = False) -> tuple[str, ...]:
    """The words a Python or JS script (or the ``program``) is given that are neither flags nor a flag's value (the
    word after `--flag` or `-f`, as ``_flag_values`` takes it), nor part of a `$(...)` whose words are not known (a
    make recipe's `$(call args)`: the goals after the target, often none)."""
    script = (words if program else _script_args(words)) or []
    out, depth = [], 0
    for i, w in enumerate(script):
        opened = depth or "$(" in w
        depth = max(0, depth + w.count("(") - w.count(")")) if opened else 0
        if opened or w.startswith("-") or (i and (re.fullmatch(r"-\w", script[i - 1]) or (
                script[i - 1].startswith("--") and "=" not in script[i - 1]))):
            continue
        out.append(w)
    return tuple(out)


def _script_args(words: list[str]) -> list[str] | None:
    """The words a Python or JS command line gives its script or module (after `python [options] -m module` or the
    script's path, `node [options] script`); None for any other command."""
    if not words:
        return None
    name = PurePosixPath(words[0]).name
    if name in _JS_RUNNERS or (name == "deno" and words[1:2] == ["run"]):
        args = words[2:] if name == "deno" else words[1:]
        script = next((i for i, a in enumerate(args) if re.search(r"\.(?:[cm]?[jt]sx?)$", a)), None)
        return None if script is None else args[script + 1:]
    if not _PY.match(words[0]):
        return None
    args = words[1:]
    while args and args[0].startswith("-") and args[0] != "-m":
        args = args[1:]
    return args[2:] if args[:1] == ["-m"] else args[1:]


def _segment(segment: str, workdir: Path, root: Path, depth: int) -> Contract | None:
    try:
        words = shlex.split(segment, comments=True)
    except ValueError:
        return unknown(f"cannot parse the command {segment!r}")
    given_env = []
    while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
        given_env.append(words.pop(0).split("=", 1)[0])
    if not words or words[0] in ("cd", "echo", "export", "set", "true", "test", "[", "mkdir", "rm", "cp", "sleep"):
        if words and words[0] == "cd" and len(words) > 1:
            return None
        return None
    passed = words
    # npm keeps a script's flags for itself, and `cargo run` / `dotnet run` theirs, but for those after `--`
    built = PurePosixPath(words[0]).name in ("cargo", "dotnet") and words[1:2] == ["run"]
    if PurePosixPath(words[0]).name == "npm" or built:
        passed = words[words.index("--") + 1:] if "--" in words else []
    given_flags = [w.split("=", 1)[0] for w in passed if w.startswith("--") and len(w) > 2]
    base = Contract(files=(), given_env=tuple(given_env), given_flags=tuple(given_flags),
                    given_flag_values=_flag_values(passed, program=built), given_words=_words(passed, program=built))
    # Wrappers (uv run, npx, pnpm exec, env VAR=..., dotenv --) run what follows.
    for wrapper in sorted(_WRAPPERS, key=len, reverse=True):
        if tuple(words[:len(wrapper)]) == wrapper:
            rest = words[len(wrapper):]
            while rest and (rest[0].startswith("-") or re.fullmatch(r"[A-Za-z_]\w*=.*", rest[0])):
                if "=" in rest[0] and not rest[0].startswith("-"):
                    given_env.append(rest[0].split("=", 1)[0])
                rest = rest[1:]
            if not rest:
                return unknown(f"{' '.join(wrapper)} with nothing to run")
            inner = _segment(shlex.join(rest), workdir, root, depth + 1)
            return base.merged(inner) if inner else base
    found = _runs(words, workdir, root, depth, base)
    # a server's own command line says it serves, whatever its files say (`uvicorn app.main:app`, `next dev`)
    why = serving.command(words)
    return replace(found, serves=found.serves or why) if why else found


def _runs(words: list[str], workdir: Path, root: Path, depth: int, base: Contract) -> Contract:
    """The contract of one command (its environment assignments and wrappers taken off) and what it runs."""
    head = words[0]
    name = PurePosixPath(head).name
    args_given = tuple(_script_args(words) or ())
    if name == "prisma" and words[1:3] == ["db", "seed"]:
        try:
            seed = json.loads((workdir / "package.json").read_text(encoding="utf-8")).get("prisma", {}).get("seed")
        except (OSError, ValueError, AttributeError):
            seed = None
        if not isinstance(seed, str):
            return unknown(f"no prisma.seed in {workdir / 'package.json'}")
        return base.merged(_follow(seed, workdir, root, depth + 1))
    if name == "php" and words[1:2] == ["artisan"] and len(words) > 2:  # a Laravel console command
        from .laravel import artisan_contract

        artisan = artisan_contract(words[2], workdir, root)
        return base.merged(artisan) if artisan else unknown(f"no artisan command {words[2]!r} in {workdir}/app/Console/Commands")
    if name == "php" and words[1:2] in (["bin/console"], ["./bin/console"]) and len(words) > 2:  # a Symfony command
        from .symfony import console_contract

        symfony = console_contract(words[2], workdir, root)
        return base.merged(symfony) if symfony else unknown(f"no console command {words[2]!r} in {workdir}/src")
    if name in ("ruby", "php") and len(words) > 1 and words[1] != "-S":  # a script (`php -S` is PHP's web server)
        script = next((w for w in words[1:] if not w.startswith("-")), None)
        if script is None or not (workdir / script).is_file():
            return unknown(f"{name} script {script!r} not found in {workdir}", missing=script or "")
        return contract_of_files(root, [workdir / script], extra=base, args=tuple(words[words.index(script) + 1:]))
    if name == "mix" and len(words) > 1 and not words[1].startswith("-"):
        from .elixir import mix_task_file

        task = mix_task_file(words[1], workdir)
        if task is None:
            return unknown(f"mix {words[1]} is no task of the application's lib/ (Mix's own or a dependency's: code "
                           "outside the repository)")
        # what it reads depends on the environment Mix boots the application for: not read here
        return unknown(f"mix {words[1]} runs {_rel(task, root)} in the application booted for its MIX_ENV "
                       "(config/*.exs), whose settings locate does not read")
    if name in ("backfill-harness",) or (_PY.match(head) and words[1:3] == ["-m", "harness"]):
        return base.merged(Contract(reads_env=("DATABASE_URL", "OLLAMA_HOST"), engine=True, files=()))
    if _PY.match(head):
        args = words[1:]
        while args and args[0].startswith("-") and args[0] != "-m":
            args = args[1:]
        if args[:1] == ["-m"] and len(args) > 1:
            files = _module_files(args[1], workdir)
            if not files:
                return unknown(f"python module {args[1]!r} not found from {workdir}")
            return contract_of_files(root, files, extra=base, args=args_given)
        if args[:1] == ["manage.py"] and len(args) > 1:  # a Django management command
            # an app's commands sit in <app>/management/commands, the apps themselves anywhere below manage.py's
            # folder (OWASP Nest's src/apps/ai/management/commands)
            found = sorted(p for p in workdir.glob(f"**/management/commands/{args[1]}.py")
                           if not {"node_modules", ".venv", "venv", "site-packages"} & set(p.relative_to(workdir).parts))
            if found:  # its name is manage.py's, no argument of the command's
                return contract_of_files(root, found[:1] + _django_settings(workdir),
                                         extra=replace(base, command_words=(args[1],)))
        if args:
            path = workdir / args[0]
            if not path.is_file():
                return unknown(f"script {args[0]!r} not found in {workdir}", missing=args[0])
            return contract_of_files(root, [path], extra=base, args=args_given)
        return unknown("python with no script")
    if name in _JS_RUNNERS or (name == "deno" and len(words) > 1 and words[1] == "run"):
        args = words[2:] if name == "deno" else words[1:]
        # Flags may take values (--compiler-options '{...}', tsx's `--tsconfig tsconfig.scripts.json`, a file too): the
        # script is the first JS or TS file among the arguments, else the first argument that is a file.
        candidates = [a for a in args if not a.startswith("-")]
        scripts = [a for a in candidates if re.search(r"\.(?:[cm]?[jt]sx?)$", a)]
        script = next((a for a in scripts if (workdir / a).is_file()), None) or next(
            (a for a in candidates if (workdir / a).is_file()), None) or next(
            iter(scripts), candidates[0] if candidates else None)
        if not script:
            return unknown(f"{name} with no script")
        path = workdir / script
        if not path.is_file():
            return unknown(f"script {script!r} not found in {workdir}", missing=script)
        ran = contract_of_files(root, [path], extra=base, args=args_given)
        if name == "bun" and not ran.serves and (data := read(path)) is not None:
            # Bun, unlike node, serves a default export that has a `fetch` (Hono's `export default app`), also one made
            # in the module it is imported from
            text = data.decode("utf-8", "replace")
            made_in = None
            if (spec := serving.default_import(text)) is not None:
                module = next(iter(_js_candidates(root, path, f'import "{spec}"\n',
                                                  workspace_packages(_workspace_root(path, root)))), None)
                module_data = read(module) if module is not None else None
                if module is not None and module_data is not None:
                    made_in = (_rel(module, root), module_data.decode("utf-8", "replace"))
            ran = replace(ran, serves=serving.bun_default_export(_rel(path, root), text, made_in))
        return ran
    if name in ("sh", "bash", "zsh") or head.endswith(".sh") or head.startswith("./"):
        script = words[1] if name in ("sh", "bash", "zsh") and len(words) > 1 else head
        path = workdir / script
        if not path.is_file():
            return unknown(f"script {script!r} not found in {workdir}", missing=script)
        if path.suffix in (".py", ".ts", ".js", ".mjs"):
            return contract_of_files(root, [path], extra=base)
        data = read(path)
        if data is None:
            return unknown(f"{script!r} is not a text script")
        text = data.decode("utf-8", "replace")
        inner = _follow("\n".join(ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")),
                        workdir, root, depth + 1)
        return base.merged(read_contract(_rel(path, root), text)).merged(inner)
    if name in ("rails", "rake") and len(words) > 1:
        return _rails(words, workdir, root, base)
    if name in _PMS:
        return _package_script(words, workdir, root, depth, base)
    if name == "make":
        return _make(words, workdir, root, depth, base)
    if name == "cargo" and words[1:2] == ["run"]:
        from .rust import binary_file

        binary = binary_file(words[2:], workdir)
        if isinstance(binary, str):
            return unknown(binary)
        built = contract_of_files(root, [binary], extra=base, args=tuple(words[2:]))
        return replace(built, serves=built.serves or serving.rust_binary(words, workdir, root))
    if name == "go" and words[1:2] == ["run"]:
        from .golang import package_files

        target = next((w for w in words[2:] if not w.startswith("-")), ".")
        built_files = package_files(workdir / target)
        if not built_files:
            return unknown(f"go run: no Go package at {target} in {workdir}", missing=target)
        built = contract_of_files(root, built_files, extra=base)
        return replace(built, serves=built.serves or serving.go_package(workdir / target, root))
    if name in ("docker", "docker-compose", "podman", "kubectl"):
        return unknown(f"the command runs in a container ({name}); its code is not read")
    local = workdir / head
    if local.is_file() and read(local) is not None and local.suffix in (".py", ".ts", ".js", ".mjs", ".sh"):
        return contract_of_files(root, [local], extra=base)
    console = _console_script(name, workdir, root)
    if console:
        return contract_of_files(root, console, extra=base)
    return unknown(f"cannot read what {name!r} runs (a binary or a tool outside the repository)",
                   serves=_compiled_serves(words, workdir, root))


def _compiled_serves(words: list[str], workdir: Path, root: Path) -> str:
    """Why `go run`, `cargo run` or `dotnet run` serves, from the code of what it builds ("" for any other command)."""
    name = PurePosixPath(words[0]).name
    if name == "go" and words[1:2] == ["run"]:
        target = next((w for w in words[2:] if not w.startswith("-")), ".")
        return serving.go_package(workdir / target, root)
    if name == "cargo" and words[1:2] == ["run"]:
        return serving.rust_binary(words, workdir, root)
    if name == "dotnet" and words[1:2] == ["run"]:
        return serving.dotnet_project(words, workdir, root)
    return ""


def _django_settings(workdir: Path) -> list[Path]:
    """The settings module manage.py names (DJANGO_SETTINGS_MODULE): Django loads it before any command, so the
    database and provider it reads are the command's. The module may be rooted above the working folder (khoj's
    manage.py sits in ``src/khoj`` and names ``khoj.app.settings``): the folders above it, while they are packages,
    are tried too (the first one without ``__init__.py`` is where Python imports the package from)."""
    data = read(workdir / "manage.py")
    module = django_settings_module(data.decode("utf-8", "replace")) if data else None
    if not module:
        return []
    # a src layout: manage.py puts its ``src`` folder on sys.path (OWASP Nest's ``settings.local`` is src/settings)
    folders, here = [workdir, *([workdir / "src"] if (workdir / "src").is_dir() else [])], workdir
    while (here / "__init__.py").is_file() and here.parent != here:
        here = here.parent
        folders.append(here)
    for folder in folders:
        found = _module_files(module, folder) or _module_files(module + ".__init__", folder)
        if found:
            return found
    return []


def _module_files(module: str, workdir: Path) -> list[Path]:
    target = workdir.joinpath(*module.split("."))
    for cand in (target.with_suffix(".py"), target / "__main__.py", workdir / "src" / Path(*module.split(".")) / "__main__.py",
                 (workdir / "src").joinpath(*module.split(".")).with_suffix(".py")):
        if cand.is_file():
            return [cand]
    return []


def _console_script(name: str, workdir: Path, root: Path) -> list[Path]:
    """A [project.scripts] / [tool.poetry.scripts] entry of a pyproject.toml: the module it names."""
    import tomllib

    for folder in dict.fromkeys([workdir, root]):
        try:
            data = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        scripts = {**(data.get("project", {}).get("scripts") or {}),
                   **(data.get("tool", {}).get("poetry", {}).get("scripts") or {})}
        target = scripts.get(name)
        if isinstance(target, str):
            files = _module_files(target.split(":")[0], folder)
            if files:
                return files
    return []


def _package_script(words: list[str], workdir: Path, root: Path, depth: int, base: Contract) -> Contract:
    pm, args = PurePosixPath(words[0]).name, words[1:]
    folder, script = workdir, None
    i = 0
    rest: list[str] = []
    while i < len(args):
        a = args[i]
        if a in ("--filter", "-F", "--workspace", "-w") and i + 1 < len(args):
            folder = _workspace_folder(args[i + 1], workdir, root) or folder
            i += 2
            continue
        if a.startswith(("--filter=", "--workspace=")):
            folder = _workspace_folder(a.split("=", 1)[1], workdir, root) or folder
        elif a == "workspace" and pm == "yarn" and i + 1 < len(args):
            folder = _workspace_folder(args[i + 1], workdir, root) or folder
            i += 2
            continue
        elif a in ("run", "run-script") and script is None:
            pass
        elif a == "--":
            rest = args[i + 1:]
            break
        elif not a.startswith("-") and script is None:
            script = a
        elif script is not None and pm != "npm":  # npm takes them as its own configuration
            rest.append(a)
        i += 1
    if not script:
        return unknown(f"{pm} with no script to run")
    try:
        scripts = json.loads((folder / "package.json").read_text(encoding="utf-8")).get("scripts") or {}
    except (OSError, ValueError, AttributeError):
        return unknown(f"no package.json in {folder}")
    body = scripts.get(script)
    if not isinstance(body, str):
        # `yarn prisma db seed`, `pnpm tsx x.ts`: not a script, a binary of the package run with its arguments.
        tail = args[args.index(script) + (1 if script == "exec" else 0):]
        if not tail or (script != "exec" and pm == "npm"):
            return unknown(f"package {folder.name!r} has no script {script!r}")
        inner = _segment(shlex.join(tail), folder, root, depth + 1)
        return inner if inner is not None else unknown(f"package {folder.name!r} has no script {script!r}")
    body = body + (" " + shlex.join(rest) if rest else "")
    found = base.merged(_follow(body, folder, root, depth + 1))
    text = (folder / "package.json").read_text(encoding="utf-8", errors="replace")
    said = re.search(rf'"{re.escape(script)}"\s*:', text)
    where = f"{_rel(folder / 'package.json', root)}:{line_of(text, said.start()) if said else 1}"
    return replace(found, serves=serving.located(found.serves, where))


def _workspace_folder(selector: str, workdir: Path, root: Path) -> Path | None:
    if (workdir / selector / "package.json").is_file():
        return workdir / selector
    if (root / selector / "package.json").is_file():
        return root / selector
    top = _workspace_root(workdir / "package.json", root) if (workdir / "package.json").exists() else root
    return workspace_packages(top).get(selector) or workspace_packages(root).get(selector)


def _make(words: list[str], workdir: Path, root: Path, depth: int, base: Contract) -> Contract:
    folder, targets, i = workdir, [], 1
    while i < len(words):
        if words[i] == "-C" and i + 1 < len(words):
            folder = workdir / words[i + 1]
            i += 2
            continue
        if not words[i].startswith("-") and "=" not in words[i]:
            targets.append(words[i])
        i += 1
    makefile = next((folder / n for n in ("GNUmakefile", "makefile", "Makefile") if (folder / n).is_file()), None)
    if makefile is None:
        return unknown(f"no Makefile in {folder}")
    text = makefile.read_text(encoding="utf-8", errors="replace")
    recipes = make_recipes(text)
    target = targets[0] if targets else next(iter(recipes), None)
    if target not in recipes:
        return unknown(f"make target {target!r} not found in {makefile}")
    lines = [re.sub(r"^[@\-+]+", "", ln.strip()) for ln in recipes[target]]
    body = "\n".join(re.sub(r"\$\(([A-Z_][A-Z0-9_]*)\)", r"${\1}", ln).replace("$$", "$") for ln in lines)
    reads = Contract(reads_env=tuple(dict.fromkeys(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", body))), files=())
    found = base.merged(reads).merged(_follow(body, folder, root, depth + 1))
    said = re.search(rf"(?m)^{re.escape(target)}\s*:", text)
    where = f"{_rel(makefile, root)}:{line_of(text, said.start()) if said else 1}"
    return replace(found, serves=serving.located(found.serves, where))


def make_recipes(text: str) -> dict[str, list[str]]:
    """target -> recipe lines of a Makefile (prerequisites' recipes are not merged)."""
    recipes: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("\t"):
            if current:
                recipes[current].append(line[1:])
            continue
        m = re.match(r"^([A-Za-z0-9_.:/-]+?)\s*:(?!=)", line)
        if m and not line.startswith((".", "#")) and "=" not in m.group(1):
            current = m.group(1)
            recipes.setdefault(current, [])
        elif line.strip() and not line.startswith("#"):
            current = None if "=" in line else current
    return recipes


def with_files_relative(contract: Contract, root: Path) -> Contract:
    return replace(contract, files=tuple(_rel(Path(f), root) if Path(f).is_absolute() else f for f in contract.files))


__all__ = ["Contract", "command_contract", "contract_of_files", "read_contract", "unknown", "make_recipes", "field"]

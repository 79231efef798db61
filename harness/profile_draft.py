"""A commented draft profile from what ``discover`` read in the database and ``locate`` found in the repository.

Every guess carries a comment saying why; every unknown is written as ``TODO`` with a comment, and the
profile loader refuses a profile that still holds one (naming the key), so a draft cannot run unreviewed.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any, cast

from .model_names import same_model, tagged
from . import hashing, redact
from .discover import Column, Guess, Shape
from .locate.embedding_calls import IN_PROCESS_KINDS
from .locate.files import DRAFT_HEADER
from .text_probe import MeasuredText

TODO = "TODO"


@dataclass(frozen=True)
class Draft:
    text: str
    todo: tuple[str, ...]  # profile keys still marked TODO
    shape: Shape | None

    def as_dict(self) -> dict[str, Any]:
        return {"todo": list(self.todo), "profile": self.text}


def _scalar(value: Any) -> str:
    """A YAML scalar: plain where safe, JSON-quoted otherwise (JSON strings are valid YAML)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text and text.replace("_", "").replace("-", "").replace(".", "").isalnum() and text[0].isalpha() \
            and text.lower() not in ("yes", "no", "on", "off", "true", "false", "null", "y", "n"):
        return text
    return json.dumps(text)


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.todo: list[str] = []

    def comment(self, text: str, indent: int = 0) -> None:
        for line in text.splitlines():
            self.lines.append(" " * indent + "# " + line)

    def section(self, name: str, comment: str | None = None) -> None:
        if comment:
            self.comment(comment)
        self.lines.append(f"{name}:")

    def value(self, key: str, name: str, value: Any, comment: str | None = None, indent: int = 2) -> None:
        shown = value if isinstance(value, str) and value.startswith("${") else None
        text = json.dumps(shown or value) if shown or isinstance(value, list) else _scalar(value)
        line = " " * indent + f"{name}: {text}"
        if value == TODO:
            self.todo.append(key)
            line += f"  # TODO: {comment or 'unknown'}"
        elif comment:
            line += f"  # {comment}"
        self.lines.append(line)

    def guess(self, key: str, name: str, guess: Guess, *, required: bool, indent: int = 2) -> None:
        """A guessed column: written with why (and the alternatives), TODO when required and unknown."""
        if guess.column is None:
            if required:
                self.value(key, name, TODO, guess.why, indent)
            else:
                self.comment(f"{name}: (none: {guess.why})", indent)
            return
        note = guess.why + (f"; or one of: {', '.join(guess.alternatives)}" if guess.alternatives else "")
        self.value(key, name, guess.column, f"guess: {note}", indent)


def _prefixes(w: _Writer, measured: MeasuredText | None, in_code: tuple[tuple[str, str], ...]) -> None:
    """chunks.text_prefix and query_prefix: measured on the stored vectors where they were, else read in the code."""
    from .task_prefixes import DOCUMENT_PREFIXES, QUERY_PREFIXES, query_prefix_of

    documents = [(p, where) for p, where in in_code if p in DOCUMENT_PREFIXES]
    queries = [(p, where) for p, where in in_code if p in QUERY_PREFIXES]
    document = ""
    if measured is not None and measured.matched:
        document = measured.prefix
        if document:
            w.value("chunks.text_prefix", "text_prefix", document, measured.why)
        elif documents:
            w.comment(f"text_prefix: (none: the code puts {documents[0][0]!r} before a text ({documents[0][1]}), but "
                      "the stored vectors are reproduced without it)", 2)
    elif documents:
        document = documents[0][0]
        others = "; also " + ", ".join(f"{p!r} ({where})" for p, where in documents[1:]) if documents[1:] else ""
        w.value("chunks.text_prefix", "text_prefix", document,
                f"guess: the application puts it before what it embeds ({documents[0][1]}){others}")
    if queries:
        w.value("chunks.query_prefix", "query_prefix", queries[0][0],
                f"guess: the application puts it before a search query ({queries[0][1]})")
    elif document and (paired := query_prefix_of(document)):
        w.value("chunks.query_prefix", "query_prefix", paired,
                f"guess: the query prefix {document!r} is paired with (the spot queries are embedded after it)")


def _composed_in_code(w: _Writer, shape: Shape, composed: tuple[tuple[str, tuple[str, ...], str], ...]) -> None:
    """What the entrypoint's code joins into the text it embeds (labelled parts, harness.text_parts), said beside a text
    no measurement confirmed: as chunks.text and text_separator where the table holds every part, else which part no
    column holds (the application derives it: a SQL expression over the columns in braces says it)."""
    one = _composed_for(shape, composed)
    if one is None:
        return
    from .text_parts import fields

    separator, parts, where = one
    columns = {c.name for c in shape.chunks.columns}
    absent = [f for p in parts for f in fields(p) if f not in columns]
    said = f"{separator!r}.join of {', '.join(map(repr, parts))} ({where})"
    if absent:
        w.comment(f"the application embeds {said}: {', '.join(absent)} is no column of {shape.chunks.name}; say "
                  f"{'it' if len(absent) == 1 else 'each'} as a SQL expression over the columns in braces "
                  f"(\"label: {{expression}}\") in chunks.text with text_separator: {json.dumps(separator)}, or "
                  "recompute fails the application's vectors", 2)
        return
    w.comment(f"the application embeds {said}, not measured: text: {json.dumps(list(parts))} with text_separator: "
              f"{json.dumps(separator)} says it", 2)


def _composed_for(shape: Shape, composed: tuple[tuple[str, tuple[str, ...], str], ...]
                  ) -> tuple[str, tuple[str, ...], str] | None:
    """The one text of ``composed`` this table's vectors are of: the only one, or of several (a CLI embedding each of
    its tables in a command of its own) the only one whose every field is a column of the chunk table."""
    from .text_parts import fields

    if len(composed) == 1:
        return composed[0]
    columns = {c.name for c in shape.chunks.columns}
    held = [c for c in composed if all(f in columns for p in c[1] for f in fields(p))]
    return held[0] if len(held) == 1 else None


def _model_flag(contract: Any, model: str | None) -> str | None:
    """The flag by which the entrypoint is told its model, where its command line does not give it and no environment
    variable the draft maps fills its default."""
    from .locate.contract import is_model_flag

    if contract is None or not contract.known or not model or model == TODO:
        return None
    from_env = dict(contract.flag_env)
    given = contract.given_long_flags()
    return next((f for f in contract.flags if is_model_flag(f, contract.flags) and f not in given
                 and f not in from_env), None)


def _drafted_command(command: str, contract: Any, model: str | None) -> tuple[str, str, tuple[str, ...]]:
    """The entrypoint's ``command`` as drafted: given the profile's model by its model flag where it is not told one,
    and a required flag naming the collection it writes ``{into}`` (run fills it); what the draft says of that; and
    the required flags and arguments it still lacks (scope's rule, Contract.missing_flags)."""
    from .locate.config import placeholder_for

    if contract is None:
        return command, "", ()
    told, given = "", []
    if flag := _model_flag(contract, model):
        # the command embeds its flag's default unless told: the profile's model, said on its command line
        default = dict(contract.flag_defaults).get(flag)
        command, told = _with_flag(command, flag, cast(str, model)), \
            f", given the profile's model by its {flag}" + (f" (its default: {default})" if default else "")
        given.append(flag)
    for flag in contract.missing_flags(also_given=tuple(given)):
        if flag.startswith("--") and placeholder_for(flag[2:].replace("-", "_").upper()) == "{into}":
            command = _with_flag(command, flag, "{into}", quote=False)
            told += f", given the collection it writes by its {flag}"
            given.append(flag)
    return command, told, contract.missing_flags(also_given=tuple(given))


def _with_flag(command: str, flag: str, value: str, quote: bool = True) -> str:
    """The command given ``flag value`` (a placeholder unquoted): after `--` on an npm or `cargo run` line, where npm or
    cargo keeps a flag before it for itself."""
    words = command.split()
    after = " --" if (words[:1] == ["npm"] or words[:2] == ["cargo", "run"]) and "--" not in words else ""
    return f"{command}{after} {flag} {shlex.quote(value) if quote else value}"


def _side_by_side(w: _Writer, shape: Shape, named: dict[str, tuple[Any, str]], model: str | None) -> None:
    """``embeddings.filter`` where the embedding table's unique key holds columns beside the chunk's key (several
    models' rows side by side): the values every stored row shares, or the one whose row of another table names the
    model (``named``); TODO for a column whose stored values differ otherwise."""
    cols, combos = shape.side_by_side, shape.side_by_side_values
    unique = f"{shape.embeddings.name}'s unique key ({', '.join((*cols, str(shape.key.column)))})"
    values: list[str] = []
    for i, column in enumerate(cols):
        seen = {combo[i] for combo, _ in combos}
        if len(seen) == 1:
            values.append(f"{column}: {_scalar(next(iter(seen)))}")
        elif column in named:
            values.append(f"{column}: {_scalar(named[column][0])}")
        else:
            values.append(f"{column}: {TODO}")
            w.todo.append(f"embeddings.filter.{column}")
    stored = "; ".join("{" + ", ".join(f"{c}: {_scalar(v)}" for c, v in zip(cols, combo)) + f"}} {n} rows"
                       for combo, n in combos)
    why = (f"{unique} keeps a row per chunk for each {', '.join(cols)}: several models' vectors side by side. The "
           "engine writes these values and replaces only these rows; scope and verify read only them. ")
    if len(combos) == 1:
        why = f"measured: {why}Every stored row has them ({stored})"
    elif named and all(f"{c}: {TODO}" not in values for c in cols):
        why = (f"measured: {why}Stored: {stored}; " + ", ".join(f"{c} {_scalar(v)} is the {where}, which names {model}"
                                                              for c, (v, where) in named.items()))
    elif combos:
        why = f"TODO: {why}Stored: {stored}; give the values of the rows provider.model makes"
    else:
        why = f"TODO: {why}No row is stored yet: give the values the application writes for provider.model's rows"
    w.lines.append("  filter: {" + ", ".join(values) + "}  # " + why)


# A chunk table's column by which an application hides rows without deleting them (Rails' deleted_at, is_deleted,
# archived): its search reads only the others, which chunks.filter would say; whether it does is the owner's to say.
_SOFT_DELETE = re.compile(r"^(?:is_)?(?:deleted|archived|trashed)(?:_at|_on)?$", re.I)


def _soft_deleted(w: _Writer, columns: tuple[Column, ...]) -> None:
    """``chunks.filter`` TODO per soft-delete column of the chunk table (``_SOFT_DELETE``), with the value that keeps
    the rows not deleted suggested (null, or false for a boolean): never guessed, since embedding only those while the
    application searches every row (or the reverse) leaves rows it shows without a current vector."""
    found = [c for c in columns if _SOFT_DELETE.match(c.name)]
    if not found:
        return
    for c in found:
        w.todo.append(f"chunks.filter.{c.name}")
    kept = ", ".join(f"{c.name}: {'false' if c.type == 'boolean' else 'null'}" for c in found)
    w.lines.append("  filter: {" + ", ".join(f"{c.name}: {TODO}" for c in found) + "}  # TODO: "
                   f"{', '.join(c.name for c in found)} "
                   f"{'looks like a soft-delete column' if len(found) == 1 else 'look like soft-delete columns'}: "
                   "where the application searches "
                   f"only the rows not deleted, give {{{kept}}} (only those are counted, embedded and verified); "
                   "where it searches every row, remove this filter")


def _defaults(w: _Writer, shape: Shape) -> None:
    """``embeddings.defaults`` for the NOT NULL columns without a default the engine would leave empty: ``now()`` for
    a timestamp (Rails' created_at/updated_at, when the row is written), TODO naming the rest (what the application
    writes there is its own: a version, its digest of the text)."""
    types = {c.name: c.type for c in shape.embeddings.columns}
    values, todo = [], []
    for column in shape.unfilled:
        if types.get(column, "").startswith(("timestamp", "date")):
            values.append(f"{column}: \"now()\"")
        else:
            values.append(f"{column}: {TODO}")
            todo.append(column)
            w.todo.append(f"embeddings.defaults.{column}")
    line = "  defaults: {" + ", ".join(values) + "}  # "
    if todo:
        line += (f"TODO: NOT NULL without a default, which the engine would leave empty: {', '.join(todo)}; give "
                 "each an SQL expression of what the application writes there ({model}, {dims}, {collection} "
                 "placeholders), or let the application's own backfill run")
    else:
        line += "NOT NULL without a default: the time the engine writes the row"
    w.lines.append(line)


def _session(w: _Writer, settings: dict[str, str | None]) -> None:
    """database.session for policies that apply to the connecting role: the first setting they read carries the
    tenant; the tenants themselves are hidden from this role, so they are the user's to list."""
    first, via = next(iter(settings.items()))
    how = f"through {via}" if via else "in the policy itself"
    others = [n for n in settings if n != first]
    w.lines.append(f"  session: {{{json.dumps(first)}: \"{{tenant}}\"}}  # guess: the row-level-security policies read "
                   f"{first} ({how}); one value per tenant"
                   + (f"; they also read: {', '.join(others)}" if others else ""))
    w.value("database.tenants", "tenants", TODO,
            "the tenants to read one by one (values of {tenant}); the policies hide them from this role")


def _unreachable(contract: Any, model: str | None = None, chunks: str | None = None, vectors: str | None = None) -> str:
    """Why no backfill.env can give the command our database or provider, or it is no backfill of ``model``'s vectors
    or of the ``chunks`` table's rows (their vectors in the ``vectors`` table where separate) ("" when one can, or
    nothing is known)."""
    if contract is None or not contract.known:
        return ""
    why = []
    if contract.serves:
        why.append(contract.serves)
    if contract.reaches_no_database() and (models := _models_of(contract)):
        # Nothing reaches a database and it embeds with another model than the one the collection is of: a demo or
        # another store's embedder (imara's Milvus and PCA scripts beside its Postgres collection), not this backfill.
        # With the collection's model unknown, nothing says its vectors are the collection's either.
        if model and not any(same_model(m, model) for m in models):
            why.append(f"it reads no database setting and embeds with {', '.join(models)}, not {model}")
        elif not model:
            why.append(f"it reads no database setting and embeds with {', '.join(models)}: nothing says its vectors "
                       "are this column's")
    if apis := contract.database_apis():
        why.append(f"it reaches its database only through an HTTP API ({', '.join(apis)}), never DATABASE_URL")
    if contract.drops:
        why.append(contract.drops)
    if contract.adds_only:
        why.append(contract.adds_only)
    elif chunks and (again := contract.adds_again(chunks, vectors)):
        why.append(again)
    if hosted := contract.hosted_embedding_urls():
        why.append(f"it posts to {hosted[0]}, written in its code, and reads no provider URL: never the provider")
    if contract.openai_base_url() == "":
        why.append("it embeds with openai-node 3's client, which takes no base URL but from code: it calls "
                   "api.openai.com, never the provider")
    return "; ".join(why)


def contract_models(entrypoint: Any) -> tuple[str, ...]:
    """Models the entrypoint hard-codes or loads (empty when locate could not read its contract, or it reaches no
    database: its vectors go elsewhere, and say nothing of the column's model)."""
    contract = getattr(entrypoint, "contract", None)
    return () if contract is not None and contract.reaches_no_database() else _models_of(contract)


def _models_of(contract: Any) -> tuple[str, ...]:
    if contract is None or not contract.known:
        return ()
    defaults = contract.defaults()
    # The default of a variable that carries the model (EMBEDDING_MODEL=nomic-embed-text) names it too.
    from_env = [defaults[n] for n, p in contract.backfill_env().items() if p == "{model}" and defaults.get(n)]
    # An in-process embedder whose model locate could not read is "?", or "$NAME" for the variable it reads: no name.
    loads = [m for m in contract.in_process_models if m != "?" and not m.startswith("$")]
    return tuple(dict.fromkeys([*contract.hardcoded_models, *from_env, *loads]))


def _stripping_embedders(calls: Any, model: str | None) -> tuple[str, ...]:
    """The application's embedders of ``model`` (those naming it, else those naming none) as "name, path:line", where
    every one of them makes newlines spaces; none where one keeps them. A setting naming the model is none: the
    embedder reading it says how its texts are sent."""
    embedders = [c for c in calls if not c.is_setting]
    named = [c for c in embedders if model and c.model and same_model(c.model, model)]
    mine = named or [c for c in embedders if not c.model]
    return tuple(f"{c.name}, {c.path}:{c.line}" for c in mine) if mine and all(c.newlines_to_spaces for c in mine) else ()


def app_provider_urls(calls: Any) -> tuple[str, ...]:
    """The names the application's Ollama embedders read their URL from (OLLAMA_HOST aside, the harness's own), each
    with the defaults the code gives it and where: "OLLAMA_URL (default http://ollama:11434 at path:line, ...)"."""
    by_env: dict[str, dict[str, list[str]]] = {}
    for c in calls:
        if c.is_ollama and c.url_env and c.url_env != "OLLAMA_HOST":
            defaults = by_env.setdefault(c.url_env, {})
            if c.url:  # the draft is written to a file as it is: a default's password masked here
                defaults.setdefault(redact.safe_dsn(c.url), []).append(f"{c.path}:{c.line}")
    # one default many embedders share is said once, with each place
    said = {env: ", ".join(f"{url} at {', '.join(at)}" for url, at in defaults.items()) for env, defaults in by_env.items()}
    return tuple(f"{env} (default {text})" if text else env for env, text in said.items())


def app_fixed_urls(calls: Any) -> tuple[str, ...]:
    """The URLs the application's Ollama embedders hard-code (no environment name read), each with where it is said
    (the call, or where the client it is given is made), once per URL: "http://ollama:11434 at path:line, path:line"."""
    places: dict[str, list[str]] = {}
    for c in calls:
        if c.is_ollama and c.url and not c.url_env:
            at = places.setdefault(redact.safe_dsn(c.url), [])  # no password
            at += [] if (where := c.url_at or f"{c.path}:{c.line}") in at else [where]
    return tuple(f"{url} at {', '.join(at)}" for url, at in places.items())


def draft_profile(shape: Shape | None, *, name: str, entrypoint: Any = None, workdir: str | None = None,
                  rls_applies: dict[str, bool] | None = None, model: str | None = None,
                  model_envs: tuple[str, ...] = (), rls_settings: dict[str, str | None] | None = None,
                  app_models: dict[str, str] | None = None, model_dims: int | None = None,
                  padding: Padding | None = None, served_model: str | None = None, served_ollama: bool = True,
                  measured: MeasuredText | None = None, stored_dims: int | None = None,
                  app_distance: tuple[str, str] | None = None, declared_otherwise: tuple[Any, ...] = (),
                  migrated_as_is: tuple[Any, ...] = (),
                  declared_by_setting: tuple[Any, ...] = (), code_distances: tuple[Any, ...] = (),
                  native_dims: int | None = None, truncation: tuple[int, str, str | None] | None = None,
                  task_prefixes: tuple[tuple[str, str], ...] = (),
                  filter_named: dict[str, tuple[Any, str]] | None = None,
                  stripping_embedders: tuple[str, ...] = (),
                  configured: dict[str, str] | None = None, configured_conflict: str = "",
                  app_urls: tuple[str, ...] = (), fixed_urls: tuple[str, ...] = (),
                  never_exit: tuple[Any, ...] = (), alike: tuple[str, ...] = (),
                  env_given: tuple[str, str, int | None] | None = None,
                  pgai: dict[str, Any] | None = None, float_arrays: tuple[str, ...] = ()) -> Draft:
    """The YAML text of a draft profile (comments included) and the keys it leaves TODO. ``filter_named``: per
    side-by-side column, the value whose row of another table names the model, and where. ``served_ollama``: the
    embedder naming ``served_model`` is an Ollama one. ``migrated_as_is``: the application's latest migrations
    declaring the column as the database has it. ``stripping_embedders``: "name, path:line" of the application's
    embedders, where each makes newlines spaces (a library's default). ``pgai``: the vectorizer pgai's catalog says
    writes the chunk table (harness.profiles.pgai_names.vectorizer_of_store). ``configured``: the models rows of the
    database's configuration tables name that the provider serves at the column's dimension, with where; one
    ``measured`` to reproduce the stored vectors is the model; ``configured_conflict``: why the one that does is not
    (another row is the active one). ``app_urls``: ``app_provider_urls`` of the application's embedders;
    ``fixed_urls``: their ``app_fixed_urls``. ``never_exit``: the entrypoints ranked above ``entrypoint`` that serve
    (Contract.serves), left out. ``alike``: the commands of the other entrypoints ranked as the drafted one.
    ``env_given``: (model, "path:line sets $NAME to model", its dimension as the provider states it) where the
    repository's own configuration gives the variable the application's embedder reads its model from."""
    app_models = app_models or {}
    configured = configured or {}
    w = _Writer()
    w.comment(f"{DRAFT_HEADER}\n"
              "The profile loader refuses this file while any value is still TODO.")
    w.value("name", "name", name, indent=0)
    w.section("database", "The DSN is never written here: it comes from DATABASE_URL.")
    w.value("database.url", "url", "${DATABASE_URL:-}")
    if rls_settings and any((rls_applies or {}).values()):
        _session(w, rls_settings)
    if shape is None:
        w.section("provider")
        w.value("provider.model", "model", model or TODO, "the embedding model the application queries with")
        w.section("chunks")
        w.value("chunks.table", "table", TODO, "no vector or halfvec column found in this database" + (
            f"; float arrays, which no pgvector distance reads: {', '.join(float_arrays)} (the harness reads and "
            "writes pgvector columns: vector, halfvec or sparsevec)" if float_arrays else ""))
        w.value("chunks.collection_name", "collection_name", TODO, "a name for the table's one collection")
        return Draft("\n".join(w.lines) + "\n", tuple(w.todo), None)

    vc, ch, em = shape.vector, shape.chunks, shape.embeddings
    stored = max(shape.stored_models, key=shape.stored_models.__getitem__) if shape.stored_models else None
    w.section("provider")
    # The application's own name for the URL is said, not read: its default may be a container's hostname.
    w.value("provider.url", "url", "${OLLAMA_HOST:-}", "OLLAMA_HOST wins" + (
        f"; the application reads {'; '.join(app_urls)}: set OLLAMA_HOST to the server it is given (scheme, host "
        "and port: the harness adds Ollama's /api path)" if app_urls else "")
        + (f"; the application's embedders hard-code {'; '.join(fixed_urls)}: set OLLAMA_HOST to that server"
           if fixed_urls else ""))
    if model:
        w.value("provider.model", "model", model, "given with --model")
    elif pgai is not None and pgai.get("model") and served_model == pgai["model"]:
        fixed = pgai.get("base_url")
        w.value("provider.model", "model", served_model,
                f"pgai's catalog: vectorizer {pgai['id']} embeds with it ({pgai.get('implementation')}, "
                f"{pgai.get('dimensions')} dimensions)" + (f"; at its base_url {fixed}, not OLLAMA_HOST: pgai's worker "
                                                           "embeds there" if fixed else ""))
    elif stored is None and contract_models(entrypoint):
        models = contract_models(entrypoint)
        w.value("provider.model", "model", models[0], "guess: the model the entrypoint names"
                + (f"; also named: {', '.join(models[1:])}" if models[1:] else ""))
    elif stored:
        others = ", ".join(f"{m} ({n})" for m, n in shape.stored_models.items() if m != stored)
        w.value("provider.model", "model", stored,
                f"guess: most stored vectors are of this model ({shape.stored_models[stored]})"
                + (f"; also stored: {others}" if others else ""))
    elif env_given is not None and served_model == env_given[0]:
        w.value("provider.model", "model", served_model,
                f"guess: {env_given[1]}, the variable the application's embedder reads its model from; the provider "
                f"serves it at {env_given[2]} dimensions, as "
                + (f"{em.name}.{vc.column} holds" if vc.dimensions else f"the stored vectors of {em.name}.{vc.column} are"))
    elif served_model:
        others = ", ".join(m for m in app_models if not same_model(m, served_model))
        w.value("provider.model", "model", served_model,
                f"guess: the application's {'Ollama ' if served_ollama else ''}embedder names it ({app_models.get(served_model) or app_models.get(served_model + ':latest', '')}) and the "
                f"provider serves it at {vc.dimensions or stored_dims} dimensions, as "
                + (f"{em.name}.{vc.column} holds" if vc.dimensions else f"the stored vectors of {em.name}.{vc.column} are")
                + (f"; its other embedders name {others}" if others else ""))
    elif len(configured) == 1 and measured is not None and measured.matched:
        [(chosen, where)] = configured.items()
        w.value("provider.model", "model", chosen,
                f"measured: the application keeps its model in its database ({where}); the provider serves it at "
                f"{vc.dimensions or stored_dims} dimensions and {measured.why.removeprefix('measured: ')}")
    else:
        reads = f"; its embedder reads it from {', '.join('$' + e for e in model_envs)}" if model_envs else ""
        if env_given is not None:
            reads += (f"; {env_given[1]}, which the provider serves at {env_given[2]} dimensions, not "
                      f"{vc.dimensions or stored_dims}" if env_given[2] else f"; {env_given[1]}, which the provider "
                      "does not serve")
        named = ", ".join(f"{m} ({how})" for m, how in app_models.items())
        reads += f"; the application's embedders name {named}: the Ollama name of the one that fills this column" \
            if named else ""
        kept = ", ".join(f"{m} ({where})" for m, where in configured.items())
        reads += (f"; its database's configuration names {kept}, served at {vc.dimensions or stored_dims} dimensions"
                  " but none measured to reproduce the stored vectors") if kept else ""
        reads += f"; {configured_conflict}" if configured_conflict else ""
        w.value("provider.model", "model", TODO,
                f"the model the application embeds with (no model column holds one in {em.qualified}{reads})")
    if padding is not None and padding.pads:
        w.value("provider.dimensions", "dimensions", padding.model_dims,
                f"the model's, as the provider says; {em.name}.{vc.column} is {vc.type}({vc.dimensions}): "
                "see embeddings.pad_to")
    elif truncation is not None:
        asked, where, env = truncation
        if native_dims is not None:
            w.value("provider.dimensions", "dimensions", native_dims, "the model's own, as the provider says")
        w.value("provider.request_dimensions", "request_dimensions", f"${{{env}:-{asked}}}" if env else asked,
                f"the application's Ollama embedder asks for dimensions: {asked} ({where}"
                + (f", from ${env}" if env else "") + f"): the model's vectors truncated to {asked} and re-normalised"
                + (f", as {em.name}.{vc.column} ({vc.type}({vc.dimensions})) holds" if vc.dimensions else ""))
    elif vc.dimensions:
        if native_dims is not None and vc.dimensions < native_dims:
            w.comment(f"{em.name}.{vc.column} ({vc.type}({vc.dimensions})) is narrower than the model's own "
                      f"{native_dims} dimensions, and no Ollama embedder call of the application asks for "
                      f"dimensions: {vc.dimensions}: a likely Matryoshka truncation (then set provider."
                      f"request_dimensions: {vc.dimensions}) or another model", 2)
        # The application's schema (its models, its latest migration) declaring another dimension for this column: a
        # database behind the code, whose column the application's model cannot fill.
        otherwise = sorted({d.dimensions for d in declared_otherwise})
        where = ", ".join(f"{d.path}:{d.line}" for d in declared_otherwise)
        # A dimension the schema reads from a setting (a migration's `limit: ENV.fetch("EMBEDDING_DIMENSIONS", 768)`)
        # differs by installation: a schema dumped elsewhere says the value it was made with, no missing migration.
        settings = "; ".join(f"${d.dims_env} (default {d.dimensions}, {d.path}:{d.line})" for d in declared_by_setting)
        from .locate.schema import STORE_KINDS, in_migration

        # Every migration applied, the ORM's schema changed since (drizzle's schema.ts at 520, its latest migration at
        # 2000 as the database is): the next migration generated would change the column, none is missing.
        ahead = bool(migrated_as_is) and not any(in_migration(d.path) for d in declared_otherwise)
        w.value("provider.dimensions", "dimensions", vc.dimensions, f"declared by {em.name}.{vc.column} ({vc.type})"
                + ((f"; the application's schema declares {', '.join(map(str, otherwise))} ({where}) and its migration "
                    f"takes the dimension from {settings}: a setting the database and that schema were made with "
                    "different values of") if otherwise and settings else
                   (f"; so does the application's latest migration ({', '.join(f'{d.path}:{d.line}' for d in migrated_as_is)}), "
                    f"but its schema declares {', '.join(map(str, otherwise))} ({where}): a schema change no migration "
                    "was made for yet (the next one would change the column)?") if otherwise and ahead else
                   # a store's table made by an earlier run (Mastra's createIndex at another dimension): no migration
                   # changes it; the store never alters a table it finds
                   (f"; but the application's vector store creates it with {', '.join(map(str, otherwise))} ({where}) "
                    f"only where it does not exist yet: this table was made before, at {vc.dimensions}, and is kept as "
                    "it is (the code's vectors cannot fill it until it is made again)")
                   if otherwise and all(d.kind in STORE_KINDS for d in declared_otherwise) else
                   f"; but the application's schema declares {', '.join(map(str, otherwise))} ({where}): a migration "
                   "not applied?" if otherwise else ""))
    else:
        w.comment(f"dimensions: (none declared: {em.name}.{vc.column} is an untyped {vc.type}; the model's is used)", 2)

    w.section("chunks")
    if ch.schema != "public":
        w.value("chunks.schema", "schema", ch.schema)
    w.value("chunks.table", "table", ch.name, "inline vector column" if shape.inline else shape.key.why)
    w.guess("chunks.id", "id", shape.chunk_id, required=True)
    if measured is not None and measured.matched and measured.json_style:
        members = [c if k == c else {k: c} for k, c in zip(measured.json_keys, measured.columns)]
        w.value("chunks.text", "text", members, measured.why)
        w.value("chunks.text_json", "text_json", measured.json_style)
    elif measured is not None and measured.matched and measured.columns != (shape.text.column,):
        shown = measured.columns[0] if len(measured.columns) == 1 else list(measured.columns)
        w.value("chunks.text", "text", shown, measured.why + f" (the names alone suggested {shape.text.column})")
        if len(measured.columns) > 1:
            w.value("chunks.text_separator", "text_separator", measured.separator)
    elif measured is not None:
        w.guess("chunks.text", "text", Guess(shape.text.column, f"{shape.text.why}; {measured.why}",
                                             shape.text.alternatives), required=True)
    else:
        w.guess("chunks.text", "text", shape.text, required=True)
    if not (measured is not None and measured.matched):
        _composed_in_code(w, shape, getattr(getattr(entrypoint, "contract", None), "composed_texts", ()))
    if pgai is not None:
        w.value("chunks.text_format", "text_format", "pgai",
                f"pgai's vectorizer {pgai['id']} (view {pgai['view']}) writes this table: its worker embeds its "
                f"formatting template of each chunk with the {pgai['source']} row, as ai.vectorizer keeps it")
    if shape.llamaindex_metadata:
        w.value("chunks.text_format", "text_format", "llamaindex",
                f"every row read holds a LlamaIndex node in {shape.llamaindex_metadata}->>'_node_content': what "
                "LlamaIndex embeds is its metadata lines, a blank line, then the text")
        w.value("chunks.metadata", "metadata", shape.llamaindex_metadata)
    newlines = getattr(getattr(entrypoint, "contract", None), "newlines_to_spaces", ())
    if newlines and not shape.llamaindex_metadata:
        w.value("chunks.text_newlines", "text_newlines", "space",
                f"guess: the entrypoint makes each newline a space before embedding ({', '.join(newlines[:2])})")
    elif stripping_embedders and not shape.llamaindex_metadata:
        w.value("chunks.text_newlines", "text_newlines", "space",
                f"guess: the application's embedder makes each newline a space before embedding "
                f"({', '.join(stripping_embedders[:2])})")
    _prefixes(w, measured, task_prefixes)
    if shape.collection.column:
        w.guess("chunks.collection", "collection", shape.collection, required=True)
        cj = shape.collection_join
        if cj is not None:
            w.lines.append(f"  collection_join:  # guess: a chunk is in each collection a row of {cj.table} names")
            if cj.schema != ch.schema:
                w.value("chunks.collection_join.schema", "schema", cj.schema, indent=4)
            for key, value in (("table", cj.table), ("key", cj.key), ("chunk", cj.chunk)):
                w.value(f"chunks.collection_join.{key}", key, value, indent=4)
        ct = shape.collection_table
        if ct is not None:
            w.lines.append(f"  collection_table:  # guess: {shape.collection_table_why}")
            if ct.schema != "public":
                w.value("chunks.collection_table.schema", "schema", ct.schema, indent=4)
            for key, value in (("table", ct.table), ("key", ct.key), ("name", ct.name)):
                w.value(f"chunks.collection_table.{key}", key, value, indent=4)
        elif shape.collection_table_why:
            w.comment(f"collection_table: (none: {shape.collection_table_why})", 2)
    elif pgai is not None:
        w.value("chunks.collection_name", "collection_name", pgai["source"],
                f"pgai's source table: every {pgai['source']} row is embedded into this one store")
    else:
        w.value("chunks.collection_name", "collection_name", ch.name,
                f"no collection column: the whole table is one collection, named after it ({shape.collection.why})")
        if shape.parent_collection is not None and shape.source_table is not None:
            column, ct = shape.parent_collection
            src = shape.source_table
            where = "" if ct.schema == "public" else f", schema: {ct.schema}"
            join_schema = "" if src.schema == ch.schema else f", schema: {src.schema}"
            w.comment(f"or one collection per {ct.table} row, as each chunk's {src.table} row places it ({src.table}."
                      f"{column} references {ct.table}.{ct.key}, named by its {ct.name}): in place of collection_name,\n"
                      f"collection: {column}\n"
                      f"collection_join: {{table: {src.table}, key: {src.key}, chunk: {src.field}{join_schema}}}\n"
                      f"collection_table: {{table: {ct.table}, key: {ct.key}, name: {ct.name}{where}}}", 2)
    w.guess("chunks.tenant", "tenant", shape.tenant, required=False)
    _soft_deleted(w, ch.columns)
    left_out = (f"; left out, empty in some rows read: {', '.join(shape.empty_sources)}" if shape.empty_sources else "")
    if pgai is not None:
        cited = pgai.get("citation")
        w.value("chunks.sources", "sources", [f"source.{cited or pgai['key'][0]}", pgai["key"][0]],
                f"guess: {pgai['source']}.{cited}, named like a citation, of the {pgai['source']} row each chunk is of"
                if cited else f"the {pgai['source']} row each chunk is of (no column of {pgai['source']} is named "
                "like a citation in every row read)")
    elif shape.sources:
        w.value("chunks.sources", "sources", list(shape.sources),
                ("guess: citation keys of a JSON column by name" if any("->>" in x for x in shape.sources)
                 else f"guess: {shape.sources_why}" if shape.sources_why else "guess: citation columns by name")
                + left_out)
    else:
        w.comment("sources: (none found: no url/source/title column" + (left_out or "")
                  + "; spot queries cannot expect a citation)", 2)

    w.section("embeddings")
    if not shape.inline:
        if em.schema != ch.schema:
            w.value("embeddings.schema", "schema", em.schema)
        w.value("embeddings.table", "table", em.name)
        w.guess("embeddings.key", "key", shape.key, required=True)
    else:
        w.comment("inline: the vector column is on the chunk table (no embeddings.table)", 2)
    vec_note = f"{vc.type}({vc.dimensions or '?'})"
    other_vectors = [c.name for c in em.columns if c.type in ("vector", "halfvec") and c.name != vc.column]
    if other_vectors and model_dims is not None and model_dims == vc.dimensions:
        vec_note += (f"; the dimension of {model} ({model_dims}, as the provider says); this table has other vector "
                     f"columns: {', '.join(other_vectors)}")
    elif other_vectors:
        vec_note += f"; this table has other vector columns: {', '.join(other_vectors)} (pick the one the model fills)"
    w.value("embeddings.vector", "vector", vc.column, vec_note)
    if padding is not None and padding.pads:
        unpadded = padding.vectors - padding.padded
        w.value("embeddings.pad_to", "pad_to", vc.dimensions,
                f"measured: {padding.padded} of {padding.vectors} stored vectors read are zeros beyond the model's "
                f"{padding.model_dims} dimensions: the application pads them to the column, and the engine will too"
                + (f"; {unpadded} are not (not this model's vectors padded): scope and verify name them"
                   if unpadded else ""))
    elif padding is not None:
        w.comment(f"pad_to: (not set: {padding.padded} of {padding.vectors} stored vectors read are zeros beyond the "
                  f"model's {padding.model_dims} dimensions, the others not: set it to {vc.dimensions} if the "
                  "application pads every vector)", 2)
    if shape.side_by_side:
        _side_by_side(w, shape, filter_named or {}, model)
    w.guess("embeddings.model", "model", shape.model, required=False)
    input_hash = shape.input_hash
    if (input_hash.column and shape.input_hash_of and measured is not None and measured.matched
            and shape.input_hash_of not in measured.columns):
        # The stored vectors say which text they embed; digests of another column are no hash of it (SurfSense's
        # content_hash, one row's value the MD5 of its title): the engine would overwrite them with digests of the text.
        input_hash = Guess(None, f"{em.name}.{input_hash.column} is not an input hash: its values read are digests of "
                           f"{shape.input_hash_of} ({input_hash.why.rsplit('measured: ', 1)[-1]}), not the "
                           f"{', '.join(measured.columns)} the stored vectors are made from")
    w.guess("embeddings.input_hash", "input_hash", input_hash, required=False)
    if input_hash.column and shape.input_hash_algorithm != hashing.DEFAULT:
        w.value("embeddings.input_hash_algorithm", "input_hash_algorithm", shape.input_hash_algorithm,
                f"measured: the application's hash; the engine writes the {hashing.algorithm(shape.input_hash_algorithm).label} "
                "there as the application does")
    if not shape.inline:
        w.guess("embeddings.collection", "collection", shape.embedding_collection, required=False)
        w.guess("embeddings.tenant", "tenant", shape.embedding_tenant, required=False)
    w.guess("embeddings.dimensions", "dimensions", shape.dimensions_column, required=False)
    if shape.timestamps:
        w.comment(f"timestamps seen on {em.name}: {', '.join(shape.timestamps)} (not needed by the profile)", 2)
    if shape.unfilled:
        _defaults(w, shape)
    for table in {ch.qualified: ch, em.qualified: em}.values():
        if table.rls:
            applies = (rls_applies or {}).get(table.qualified)
            w.comment(f"row-level security on {table.qualified}"
                      f"{' (forced)' if table.force_rls else ''}: policies "
                      f"{', '.join(p.name for p in table.policies) or 'none'}; "
                      + ("the connecting role bypasses it" if not applies
                         else "it applies to the connecting role: counts see only its rows" if table.policies
                         else "it hides every row from the connecting role (no policy shows one, whatever a session "
                              "sets): connect as a role exempt from it (the owner, or a BYPASSRLS role such as "
                              "Supabase's service_role)"), 2)
    if shape.others:
        w.comment(f"other vector columns in this database: {', '.join(shape.others)}", 2)

    w.section("backfill")
    if pgai is not None:
        # pgai's worker is the application's backfill, and with --once it exits when the queue is drained (a worker
        # started in the background, a container's, would embed after run has returned and verified)
        w.value("backfill.command", "command", f'pgai vectorizer worker -d "$DATABASE_URL" -i {pgai["id"]} --once',
                f"guess: pgai's own worker (the pgai package's CLI), once, on vectorizer {pgai['id']}: it embeds the "
                f"{pgai['source']} rows pgai's queue holds and exits; "
                + (f"it embeds at the vectorizer's base_url, {pgai['base_url']}, whatever OLLAMA_HOST says"
                   if pgai.get("base_url") else "its Ollama client reads OLLAMA_HOST"))
        if entrypoint is not None:
            w.comment(f"locate's best entrypoint, {json.dumps(entrypoint.command)} ({entrypoint.kind} "
                      f"{entrypoint.path}), left out: pgai's worker run once in its place", 2)
        entrypoint, never_exit = None, ()
    contract = getattr(entrypoint, "contract", None)
    chunks, vectors = shape.chunks.name, None if shape.inline else shape.embeddings.name
    unreachable = _unreachable(contract, model or stored, chunks, vectors)
    for server in never_exit:
        # run waits for the command to exit: a server would hold it until backfill.timeout_s, serving meanwhile
        instead = ("the application's batch command below instead" if entrypoint is not None and not unreachable
                   else "run with --engine, the harness's own backfill")
        w.comment(f"command: {json.dumps(server.command)}  # locate's entrypoint ({server.kind} {server.path}), left "
                  f"out: {_unreachable(server.contract, model or stored, chunks, vectors)}; {instead}", 2)
    if entrypoint is not None and unreachable:
        # No profile key can point it at our database or provider, and scope would refuse it.
        w.comment(f"command: {json.dumps(entrypoint.command)}  # locate's best entrypoint ({entrypoint.kind} "
                  f"{entrypoint.path}), left out: {unreachable}; run with --engine, the harness's own backfill", 2)
    elif entrypoint is not None:
        command, told, missing = _drafted_command(entrypoint.command, contract, model)
        if missing:
            # it stops before it starts, and scope refuses it: what to give it is the application's data, not ours
            w.value("backfill.command", "command", TODO,
                    f"locate's best entrypoint ({entrypoint.kind} {entrypoint.path}){told}, {json.dumps(command)}, "
                    f"requires {', '.join(missing)}, which it is not given: write it with them, or remove this line "
                    "to run with --engine")
        else:
            w.value("backfill.command", "command", command,
                    f"guess: locate's best entrypoint ({entrypoint.kind} {entrypoint.path}){told}")
        w.value("backfill.workdir", "workdir", workdir or getattr(entrypoint, "workdir", ".") or ".",
                "where the command works (relative to where backfill-harness runs)")
        if alike:
            # OWASP Nest's ai_update_<entity>_chunks: each fills one entity type's rows of the one table
            w.comment("ranked alike (each may fill its own part of the collection: run them one after another, or "
                      f"--engine): {', '.join(alike)}", 2)
    elif not never_exit and pgai is None:
        w.comment("command: (no entrypoint that embeds: run with --engine, the harness's own backfill)", 2)
    if unreachable:
        # the left-out command's names, env and in-process model are no settings of the engine that runs instead
        contract = None
    if contract is not None and contract.known:
        mapping = contract.backfill_env()
        if mapping:
            w.lines.append("  env:  # the names the entrypoint reads, given our settings (placeholders filled by run)")
            for env_name, placeholder in mapping.items():
                w.value(f"backfill.env.{env_name}", env_name, placeholder, indent=4)
        unmapped = [n for n in contract.reads_env if n not in mapping]
        if unmapped:
            w.comment(f"the entrypoint also reads: {', '.join(unmapped)}", 2)
        for what, items in (("hard-codes URLs", contract.hardcoded_urls), ("hard-codes models", contract.hardcoded_models)):
            if items:
                w.comment(f"the entrypoint {what}: {', '.join(items)} (serve them, or change the code)", 2)
        if contract.in_process_models:
            kinds = {call.rsplit(" ", 1)[-1] for call in contract.embedding_calls}
            loads = [m for m in contract.in_process_models if m != "?" and not m.startswith("$")]
            if kinds and kinds <= IN_PROCESS_KINDS:
                w.value("backfill.embeds_in_process", "embeds_in_process", True,
                        "guess: every embedding call it makes loads its own model")
                w.value("backfill.in_process_model", "in_process_model", loads[0] if loads else TODO,
                        "what it loads" + (f"; also: {', '.join(loads[1:])}" if loads[1:] else "")
                        if loads else f"it loads {', '.join(contract.in_process_models)}: name the model or path")
            else:
                w.comment(f"the entrypoint may also embed in-process ({', '.join(contract.in_process_models)}) besides "
                          f"{', '.join(sorted(kinds - IN_PROCESS_KINDS))}: if it does, set embeds_in_process: true", 2)
    elif contract is not None:
        w.comment(f"contract unknown ({contract.reason}): check by hand which names the command reads", 2)
    if pgai is not None:
        # Set, not said: pgai's queue holds the source rows its worker has still to embed, which no chunk row shows
        w.section("source", f"pgai's source table: a {pgai['source']} row without chunks is covered only while pgai's "
                            "queue holds it (its worker has still to embed it)")
        if pgai["source_schema"] != "public":
            w.value("source.schema", "schema", pgai["source_schema"])
        w.value("source.table", "table", pgai["source"])
        w.value("source.key", "key", pgai["key"][0])
        w.value("source.queue", "queue", "pgai")
    elif shape.source_table:
        src = shape.source_table
        # Said, not set: rows of it the application has not embedded yet (ingest on first use) would fail
        # source_coverage, which also fails on chunks whose row is gone once this is set.
        parts = [*([f"schema: {src.schema}"] if src.schema != "public" else []), f"table: {src.table}",
                 f"key: {src.key}", f"chunk_key: {_scalar(src.field)}",
                 *([f"collection: {_scalar(src.collection)}"] if src.collection else []),
                 *(["chunk_filter: {" + ", ".join(f"{c}: {_scalar(v)}" for c, v in src.chunk_filter) + "}"]
                   if src.chunk_filter else [])]
        of_type = "".join(f" of type {v}" for _, v in src.chunk_filter)
        also = (f"; also {', '.join(f'{t} ({table})' for t, table in src.others)}: a profile per source table"
                if src.others else "")
        w.comment(f"source: {{{', '.join(parts)}}}  # every row read{of_type} names a {src.table} row: uncomment for "
                  f"source_coverage (chunks of a deleted {src.table} row fail, and so do {src.table} rows without "
                  f"chunks){also}", 0)
        if shape.source_hash:
            w.comment(f"{src.table}.{shape.source_hash} is a hash of the whole {src.table} row's document, not of a "
                      "chunk's text: no input hash for the chunks (a chunk edited without its document, or an earlier "
                      "model's vectors the application skipped by it, are found by verify's recompute only)", 0)
    said = {d.distance for d in code_distances} | ({app_distance[0]} if app_distance else set())
    if shape.distance is not None:
        # the index wins, but a search of another distance is one the index does not serve: said, never hidden
        other = {d.distance for d in code_distances if not d.kind.endswith("index")} - {shape.distance[0]}
        but = "; ".join(f"but the application's code searches {em.name}.{vc.column} with {d} (" + _where_said(
            [u for u in code_distances if u.distance == d], None) + "), which this index does not serve: check which "
            "distance it means" for d in sorted(other))
        w.value("distance", "distance", shape.distance[0], shape.distance[1] + (f"; {but}" if but else ""), indent=0)
    elif app_distance is not None and len(said) == 1 and not code_distances:
        w.value("distance", "distance", app_distance[0], "guess: the distance the application's store queries with "
                f"({app_distance[1]}; no index on {em.name}.{vc.column} says one)", indent=0)
    elif len(said) == 1:
        w.value("distance", "distance", said.pop(), "guess: the distance the application's code searches "
                f"{em.name}.{vc.column} with ({_where_said(code_distances, app_distance)}; no index on "
                f"{em.name}.{vc.column} says one)", indent=0)
    elif said:
        by = "; ".join(f"{d}: " + _where_said([u for u in code_distances if u.distance == d],
                                               app_distance if app_distance and app_distance[0] == d else None)
                       for d in sorted(said))
        w.value("distance", "distance", "cosine", "guess: the most common operator class; the application's code "
                f"says several distances for {em.name}.{vc.column} ({by}) and no index on it says one: set the one its "
                "searches use", indent=0)
    else:
        w.value("distance", "distance", "cosine", "guess: the most common operator class (no index on "
                f"{em.name}.{vc.column} and no function searching {em.name} says another); check the app's queries",
                indent=0)
    return Draft("\n".join(w.lines) + "\n", tuple(w.todo), shape)


@dataclass(frozen=True)
class Padding:
    """Stored vectors read that are wider than the model: how many are its vectors with zeros after them."""

    model_dims: int
    vectors: int
    padded: int

    @property
    def pads(self) -> bool:
        """Most vectors read are the model's padded: the application pads (the others are what scope names)."""
        return 2 * self.padded > self.vectors


def measure_padding(conn: Any, shape: Shape, model_dims: int | None, limit: int = 1000) -> Padding | None:
    """Up to ``limit`` stored vectors of a column wider than the model, and how many are zeros beyond its
    dimension (Letta pads to MAX_EMBEDDING_DIM, Open WebUI to PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH); None
    when the column is not wider or holds no vector."""
    from psycopg import sql

    vc = shape.vector
    if not model_dims or not vc.dimensions or vc.dimensions <= model_dims:
        return None
    row = conn.execute(sql.SQL(
        "SELECT count(*) AS vectors, count(*) FILTER (WHERE vector_norm(subvector(v, %(next)s, vector_dims(v) - %(dims)s)) "
        "= 0) AS padded FROM (SELECT {col}::vector AS v FROM {t} WHERE {col} IS NOT NULL LIMIT %(limit)s) AS s "
        "WHERE vector_dims(v) > %(dims)s").format(col=sql.Identifier(vc.column),
                                                 t=sql.Identifier(shape.embeddings.schema, shape.embeddings.name)),
        {"dims": model_dims, "next": model_dims + 1, "limit": limit}).fetchone()
    vectors, padded = (row["vectors"], row["padded"]) if isinstance(row, dict) else row
    return Padding(model_dims, int(vectors), int(padded)) if vectors else None


def _where_said(uses: Any, store: tuple[str, str] | None, most: int = 3) -> str:
    """Where the code says a distance: what it writes and at which path:line, the first ``most`` places."""
    places = [f"{u.said} at {u.where}" for u in uses] + ([f"its store at {store[1]}"] if store else [])
    return ", ".join(places[:most]) + (f" and {len(places) - most} more" if len(places) > most else "")


def code_distances(found: Any, shape: Shape | None, shapes: Any = ()) -> tuple[Any, ...]:
    """The places the application's code says a distance for the draft's vector column (queries, ORM helpers, index
    declarations a migration may not have applied yet), tied to it as ``harness.locate.distances.for_column`` ties."""
    from .locate.distances import for_column
    from .locate.schema import superseded

    if shape is None:
        return ()
    old = superseded(found.declarations)
    columns = [(d.table, d.column) for d in found.declarations if d not in old]
    column = shape.vector.column
    # The code declares this column only in a table named at runtime (cognee's `__tablename__ = collection_name`): the
    # database's tables with it are its collections, one table, not others a use of the column might mean.
    runtime = [t for t, c in columns if c == column]
    per_collection = bool(runtime) and all(t is not None and t.startswith("{") for t in runtime)
    if per_collection:
        columns = [(t, c) for t, c in columns if c != column]
    columns += [(s.embeddings.qualified, s.vector.column) for s in (*shapes, shape)
                if not (per_collection and s is not shape and s.vector.column == column)]
    return tuple(for_column(found.distances, shape.embeddings.name, shape.embeddings.qualified, column, columns))


def _store_distance(declarations: Any, shape: Shape | None) -> tuple[str, str] | None:
    """The distance the application's vector store library queries this column with, and where it says so; None
    unless its declarations of the column agree on one."""
    if shape is None:
        return None
    said = [(d.distance, f"{d.path}:{d.line}") for d in declarations if d.distance
            and d.table in (shape.embeddings.name, shape.embeddings.qualified) and d.column == shape.vector.column]
    return said[0] if len({d for d, _ in said}) == 1 else None


def stored_dimensions(conn: Any, shape: Shape, limit: int = 1000) -> int | None:
    """The dimension of an untyped vector column's stored vectors: that of every one of up to ``limit`` read, else
    None (none stored, or several dimensions: which is the application's is not for a draft to guess)."""
    from psycopg import sql

    vc = shape.vector
    rows = conn.execute(sql.SQL(
        "SELECT DISTINCT vector_dims(v) FROM (SELECT {col}::vector AS v FROM {t} WHERE {col} IS NOT NULL "
        "LIMIT %(limit)s) AS s").format(col=sql.Identifier(vc.column),
                                        t=sql.Identifier(shape.embeddings.schema, shape.embeddings.name)),
        {"limit": limit}).fetchall()
    dims = [r["vector_dims"] if isinstance(r, dict) else r[0] for r in rows]
    return int(dims[0]) if len(dims) == 1 else None


def _env_given(settings: Any, model_envs: tuple[str, ...]) -> tuple[str, str] | None:
    """(model, "path:line sets $NAME to model") where the repository's configuration files give one value to the
    variables the application's embedder reads its model from (None where none does, or they disagree)."""
    from .locate.files import is_code, is_config

    given = [s for s in settings if s.name in model_envs and s.value and is_config(s.path) and not is_code(s.path)]
    if len({s.value for s in given}) != 1:
        return None
    first = given[0]
    return first.value, f"{first.path}:{first.line} sets ${first.name} to {first.value}"


def _model_dimensions(provider_url: str | None, model: str | None) -> int | None:
    """The model's dimension as the provider states it (None when there is no provider, model or answer)."""
    if not provider_url or not model:
        return None
    from .errors import HarnessError
    from .provider import OllamaProvider

    try:
        with OllamaProvider(provider_url, model, timeout_s=10.0, retries=0) as provider:
            return provider.dimensions(model)
    except (HarnessError, OSError, ValueError):
        return None


def _truncation(calls: Any, column_dims: int | None, native: int | None) -> tuple[int, str, str | None] | None:
    """(dimensions, path:line, env name) of the application's Ollama embedder call asking for ``dimensions``
    (Matryoshka truncation) at the column's dimension (any, for a column without one) below the model's own; None
    unless exactly one value is asked, or where the model's own is unknown (a configuration's dimension beside its
    model, R2R's base_dimension, is then the model's as likely as a truncation of it)."""
    if native is None:
        return None
    asked = [c for c in calls if c.dimensions and (c.kind.startswith("ollama") or "Ollama" in c.name)
             and (column_dims is None or c.dimensions == column_dims) and c.dimensions < native]
    if len({c.dimensions for c in asked}) != 1:
        return None
    return asked[0].dimensions, f"{asked[0].path}:{asked[0].line}", asked[0].dimensions_env


def _served_at(provider_url: str | None, dimensions: int | None, calls: Any) -> str | None:
    """Of the models the application's Ollama embedders name (a library with an embedder per provider: mem0), the
    one the provider serves at the vector column's dimension; failing that, of the models its other embedders name
    (the AI SDK's ``openai.embedding('text-embedding-ada-002')``, served under that name by an Ollama-compatible
    server); None unless exactly one is (``name:latest`` is ``name``)."""
    if not provider_url or not dimensions:
        return None
    for ollama in (True, False):
        names = dict.fromkeys(c.model for c in calls if c.model and c.is_ollama == ollama)
        fits = {n.removesuffix(":latest"): n for n in names if _model_dimensions(provider_url, n) == dimensions}
        if fits:
            return next(iter(fits)) if len(fits) == 1 else None
    return None


def _discover(conn: Any) -> list:
    """``discover``, its reads of rows made as a role exempt from row-level security where the connecting role may
    become one (Supabase's service_role): the policies may show the connecting role no row until a tenant is set,
    and samples of nothing say nothing (as ``rls.counted_as`` counts)."""
    import psycopg

    from . import rls
    from .discover import discover

    role = None if rls.exempt_everywhere(conn) else rls.exempt_role(conn)
    if role is not None:
        try:
            # Rolled back, not released: a released savepoint would keep the role for the rest of the draft.
            with conn.transaction(force_rollback=True):
                rls.become(conn, role)
                return discover(conn)
        except psycopg.Error:
            pass  # that role may not read these tables: read as the connecting role
    return discover(conn)


def _rows_of(shape: Shape, named: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    """The side-by-side columns' values of the model's rows, where known: the one every stored row has, or the one a
    row of another table names the model by."""
    out = {c: v for c, (v, _) in named.items()}
    for i, column in enumerate(shape.side_by_side):
        seen = {combo[i] for combo, _ in shape.side_by_side_values}
        if len(seen) == 1:
            out[column] = next(iter(seen))
    return out


def _never_exit(entrypoints: Any, chosen: Any) -> tuple[Any, ...]:
    """The entrypoints ranked above ``chosen`` (all, when none is) that would have been the backfill but serve."""
    above = []
    for e in entrypoints:
        if e is chosen:
            break
        if e.may_embed and not e.host and e.contract is not None and e.contract.serves:
            above.append(e)
    return tuple(above)


def _in_code(entrypoint: Any, shape: Shape) -> tuple[tuple[str, ...], str] | None:
    """The one text the entrypoint's files join from labelled parts for this table (parts, separator), if one."""
    one = _composed_for(shape, getattr(getattr(entrypoint, "contract", None), "composed_texts", ()))
    return (one[1], one[0]) if one is not None else None


def _measured_text(conn: Any, shape: Shape, provider_url: str | None, model: str | None,
                   request_dimensions: int | None = None, rows_of: dict[str, Any] | None = None,
                   in_code: tuple[tuple[str, ...], str] | None = None, documents: tuple[Any, ...] = ()
                   ) -> MeasuredText | None:
    """The text the stored vectors embed, measured with the model through the provider (None without either); with
    ``request_dimensions`` the vectors asked for are the model's truncated as the application asks for them."""
    if not provider_url or not model:
        return None
    from .errors import HarnessError
    from .provider import OllamaProvider
    from .text_probe import measure_text

    try:
        with OllamaProvider(provider_url, model, timeout_s=30.0, retries=0,
                            request_dimensions=request_dimensions) as provider:
            return measure_text(conn, shape, lambda texts: provider.embed(texts).vectors, model, rows_of, in_code,
                                documents)
    except (HarnessError, OSError, ValueError):
        return None


def _configured_model(dsn: str, shape: Shape, provider_url: str, dims: int | None,
                      in_code: tuple[tuple[str, ...], str] | None) -> tuple[dict[str, str], MeasuredText | None, str]:
    """The models the database's configuration tables name that the provider serves at ``dims`` (labs keeps its
    embedder's in core_embeddingmodel, no code names one), with where; narrowed to the one whose re-embedding
    reproduces the stored vectors, with that measurement, when exactly one does (``name:latest`` is ``name``) and no
    other row of its table is marked the active one (the application queries with that one: then why not, said)."""
    from . import db as dbmod
    from .discover import models_named_in_tables

    with dbmod.connect(dsn, autocommit=True) as conn, dbmod.read_only(conn):
        named = models_named_in_tables(conn, shape)
        fits = {m: n for m, n in named.items() if _model_dimensions(provider_url, m) == dims}
        reproduced = {}
        for candidate in fits:
            measured = _measured_text(conn, shape, provider_url, candidate, in_code=in_code)
            if measured is not None and measured.matched:
                reproduced[candidate] = measured
    wheres = {m: n.where for m, n in fits.items()}
    if len({tagged(m) for m in reproduced}) != 1:
        return wheres, None, ""
    chosen, measured = next(iter(reproduced.items()))
    row = fits[chosen]
    active = [n for n in named.values() if (n.table, n.column) == (row.table, row.column) and n.active]
    if row.active is False and active:
        return {}, None, (f"{chosen} ({row.where}) reproduces the stored vectors, but the active row names "
                          + ", ".join(f"{n.name} ({n.where})" for n in active)
                          + ": the application queries with that one; give the model to embed with")
    return {chosen: row.where}, measured, ""


def profile_init(repo: str, dsn: str, *, model: str | None = None, table: str | None = None,
                 provider_url: str | None = None) -> Draft:
    """Read the database (read-only) and locate the repository; return the draft profile. With ``model`` and a
    provider, of several vector columns the one of the model's dimension comes first."""
    from pathlib import Path

    from . import db as dbmod
    from . import rls
    from .discover import float_arrays, rls_applies, rows_naming_model
    from .target import _qualified
    from .errors import ConfigError
    from .steps.locate import locate

    found = locate(repo)
    with dbmod.connect(dsn, autocommit=True) as conn, dbmod.read_only(conn):
        shapes = every_shape = _discover(conn)
        if table is not None:
            wanted = [s for s in shapes if table in (s.embeddings.name, s.embeddings.qualified)]
            if not wanted:
                seen = ", ".join(sorted({s.embeddings.qualified for s in shapes})) or "none"
                raise ConfigError(f"--table {table!r} has no vector column; tables with one: {seen}")
            shapes = wanted
        model_dims = _model_dimensions(provider_url, model) \
            if len({s.vector.dimensions for s in shapes}) > 1 else None
        if model_dims is not None:  # the column the model can fill (a stable sort keeps discover's order otherwise)
            shapes = sorted(shapes, key=lambda s: s.vector.dimensions != model_dims)
        shape = shapes[0] if shapes else None
        arrays = float_arrays(conn) if shape is None else ()
        if shape is not None:
            from .discover import with_search_partition

            kept = {f: u.where for u in code_distances(found, shape, every_shape) for f in getattr(u, "filters", ())}
            shape = with_search_partition(conn, shape, kept)
        padding = native = truncation = None
        if shape is not None:
            stored = max(shape.stored_models, key=shape.stored_models.__getitem__) if shape.stored_models else None
            native = _model_dimensions(provider_url, model or stored)
            padding = measure_padding(conn, shape, native)
            truncation = _truncation(found.embedding_calls, shape.vector.dimensions, native)
        naming = rows_naming_model(conn, shape, model) if shape is not None and shape.side_by_side and model else {}
        measured = _measured_text(conn, shape, provider_url, model, truncation[0] if truncation else None,
                                  _rows_of(shape, naming), _in_code(found.best_entrypoint, shape),
                                  found.json_documents) if shape is not None else None
        stored_dims = stored_dimensions(conn, shape) if shape is not None and not shape.vector.dimensions else None
        applies = {t.qualified: rls_applies(conn, t) for t in ((shape.chunks, shape.embeddings) if shape else ())}
        # a pgai vectorizer's store: its chunks are of a source table, which its queue keeps (one key column: the
        # profile's source.key is one)
        from .profiles.pgai_names import vectorizer_of_store

        pgai = vectorizer_of_store(conn, shape.chunks.schema, shape.chunks.name) if shape is not None else None
        pgai = pgai if pgai is not None and len(pgai["key"]) == 1 else None
        if pgai is not None:
            from .discover import citation_of

            pgai["citation"] = citation_of(conn, pgai["source_schema"], pgai["source"])
            # said in the draft, never used: a password in it is masked, as every other URL the draft says
            pgai["base_url"] = redact.safe_dsn(pgai.get("base_url"))
        settings: dict[str, str | None] = {}
        for t in ((shape.chunks, shape.embeddings) if shape else ()):
            if applies.get(t.qualified):
                for name, via in rls.policy_settings(conn, _qualified(t.schema, t.name)).items():
                    settings.setdefault(name, via)
    entrypoint = found.best_entrypoint
    root = Path(repo).resolve()
    workdir = None
    if entrypoint is not None:
        # run starts the command in backfill.workdir as seen from where the harness runs: inside the current
        # folder a relative path (a profile kept in the repository), else an absolute one.
        folder = (root / (entrypoint.workdir or ".")).resolve()
        workdir = str(folder.relative_to(Path.cwd())) if folder.is_relative_to(Path.cwd()) else str(folder)
    # Where the application's own Ollama embedder takes its model from, when no literal names it.
    model_envs = tuple(dict.fromkeys(c.model_env for c in found.embedding_calls
                                     if c.model_env and not c.model and c.is_ollama))
    if not model_envs and any(not c.model and c.is_ollama
                              for c in found.embedding_calls):
        # The call takes its model as an argument (Open WebUI's): the settings that name an embedding model.
        from .locate.config import placeholder_for

        model_envs = tuple(dict.fromkeys(s.name for s in found.settings if placeholder_for(s.name) == "{model}"
                                         and re.search(r"MODEL(?:_NAME|_ID)?$", s.name)))
    if not model_envs and not any(c.is_ollama for c in found.embedding_calls):
        # no Ollama embedder: where the application's own one takes its model (an Azure deployment's setting), which
        # the model to serve under its Ollama name is the model of
        model_envs = tuple(dict.fromkeys(c.model_env for c in found.embedding_calls if c.model_env and not c.model))
    served = None
    if model is None and pgai is not None and pgai.get("model") and shape is not None and not shape.stored_models:
        # pgai's catalog keeps the model its worker embeds with, as the vectorizer was made (whatever the code reads
        # it from: an env variable, a setting): measured as a --model would be
        served = pgai["model"]
        with dbmod.connect(dsn, autocommit=True) as conn, dbmod.read_only(conn):
            measured = _measured_text(conn, shape, provider_url, served, in_code=_in_code(entrypoint, shape),
                                      documents=found.json_documents)
    elif model is None and shape is not None and not shape.stored_models and not contract_models(entrypoint):
        served = _served_at(provider_url, shape.vector.dimensions or stored_dims, found.embedding_calls)
        if served is not None and measured is None:
            # the model the draft names is measured as a --model would be: the text its stored vectors embed
            with dbmod.connect(dsn, autocommit=True) as conn, dbmod.read_only(conn):
                measured = _measured_text(conn, shape, provider_url, served, in_code=_in_code(entrypoint, shape),
                                          documents=found.json_documents)
    env_given = None
    if model is None and served is None and shape is not None and not shape.stored_models \
            and not contract_models(entrypoint) and (given := _env_given(found.settings, model_envs)):
        # the repository's own configuration (.env.example, a launch configuration) gives the embedder's variable
        dims = _model_dimensions(provider_url, given[0])
        env_given = (*given, dims)
        if dims is not None and dims == (shape.vector.dimensions or stored_dims):
            served = given[0]
            if measured is None:
                with dbmod.connect(dsn, autocommit=True) as conn, dbmod.read_only(conn):
                    measured = _measured_text(conn, shape, provider_url, served, in_code=_in_code(entrypoint, shape),
                                              documents=found.json_documents)
    named = contract_models(entrypoint)
    configured: dict[str, str] = {}
    configured_conflict = ""
    if model is None and served is None and measured is None and shape is not None and not shape.stored_models \
            and not named and provider_url and (shape.vector.dimensions or stored_dims):
        configured, measured, configured_conflict = _configured_model(
            dsn, shape, provider_url, shape.vector.dimensions or stored_dims, _in_code(entrypoint, shape))
    loaded = getattr(getattr(entrypoint, "contract", None), "in_process_models", ())
    if model is None and measured is None and shape is not None and len(named) == 1 and named[0] not in loaded:
        # the one model the entrypoint sends to the provider is measured as a --model would be (Haystack's script:
        # OllamaDocumentEmbedder(model=...) embeds a title before the content, which the column names do not say)
        with dbmod.connect(dsn, autocommit=True) as conn, dbmod.read_only(conn):
            measured = _measured_text(conn, shape, provider_url, named[0], in_code=_in_code(entrypoint, shape),
                                      documents=found.json_documents)
    declared_otherwise: tuple[Any, ...] = ()
    migrated_as_is: tuple[Any, ...] = ()
    declared_by_setting: tuple[Any, ...] = ()
    if shape is not None and shape.vector.dimensions:
        from .locate.schema import in_migration, superseded

        old = superseded(found.declarations)
        this_column = sorted((d for d in found.declarations if d not in old and d.column == shape.vector.column and d.table
                              and d.table.strip('"') in (shape.embeddings.name, shape.embeddings.qualified)),
                             key=lambda d: (d.path, d.line))
        declared_otherwise = tuple(d for d in this_column if d.dimensions and d.dimensions != shape.vector.dimensions)
        migrated_as_is = tuple(d for d in this_column if d.dimensions == shape.vector.dimensions and in_migration(d.path))
        declared_by_setting = tuple(d for d in this_column if d.dims_env)
    alike = tuple(e.command for e in found.entrypoints if entrypoint is not None and e is not entrypoint
                  and e.may_embed and not e.host and e.score == entrypoint.score
                  and not getattr(e.contract, "serves", ""))  # a server is left out, never run beside it
    return draft_profile(shape, name=root.name or "target", entrypoint=entrypoint, workdir=workdir, alike=alike,
                         declared_otherwise=declared_otherwise, declared_by_setting=declared_by_setting,
                         migrated_as_is=migrated_as_is,
                         rls_applies=applies, model=model, model_envs=model_envs, rls_settings=settings,
                         model_dims=model_dims, padding=padding, served_model=served, measured=measured,
                         served_ollama=served is not None and any(c.is_ollama and c.model and same_model(c.model, served)
                                           for c in found.embedding_calls),
                         stored_dims=stored_dims, app_distance=_store_distance(found.declarations, shape),
                         code_distances=code_distances(found, shape, every_shape),
                         native_dims=native, truncation=truncation, filter_named=naming,
                         stripping_embedders=_stripping_embedders(found.embedding_calls, model or served),
                         configured=configured, configured_conflict=configured_conflict,
                         app_urls=app_provider_urls(found.embedding_calls),
                         fixed_urls=app_fixed_urls(found.embedding_calls),
                         never_exit=_never_exit(found.entrypoints, entrypoint),
                         env_given=env_given,
                         pgai=pgai, float_arrays=arrays,
                         # the backfill's own files first: of several prefixes, the one its texts are given
                         task_prefixes=tuple(dict.fromkeys([*getattr(getattr(entrypoint, "contract", None),
                                                                     "task_prefixes", ()), *found.task_prefixes])),
                         app_models={c.model: f"{c.kind}{', in process' if c.in_process else ''}, {c.path}:{c.line}"
                                     + (f", the default of ${c.model_env}" if c.model_env else "")
                                     # an Ollama embedder's line is the one cited for its model (read last)
                                     for c in sorted(reversed(found.embedding_calls), key=lambda c: c.is_ollama)
                                     if c.model})

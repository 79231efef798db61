"""Does the backfill command receive the database, provider and model it is meant to use? Read from its contract
(what it reads and hard-codes), checked against the environment ``run`` would give it, before anything runs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import cast
from pathlib import Path
from urllib.parse import urlsplit

from ..checks.outcome import FAIL, UNPROVEN, Outcome, unproven, verdict
from ..locate.config import database_api, database_part, kind_of, model_names
from ..locate.contract import DATABASE_FLAG, Contract, command_contract, is_model_flag
from ..model_names import same_model
from ..settings import Settings
from .commandline import into_unreceived
from .common import BackfillCommand, backfill_env, database_parts

_PROVIDER_FLAG = re.compile(r"ollama|embed\w*[-_](?:url|host)|provider[-_]?url|--host$|base[-_]?url", re.I)
_BASE_URL = re.compile(r"BASE_?UR[LI]|API_BASE|BASE_PATH|ENDPOINT|_HOST$|_URL$", re.I)  # an SDK client's base URL
_LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "[::1]"}
DEFAULT_NAMES = "DATABASE_URL, OLLAMA_HOST, EMBED_MODEL and EMBED_BATCH_SIZE"


@dataclass(frozen=True)
class ContractCheck:
    contract: Contract | None
    outcomes: tuple[Outcome, ...]
    assumptions: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not any(o.status == FAIL for o in self.outcomes)


def contract_for_profile(settings: Settings) -> Contract | None:
    """The contract of the profile's backfill.command, run in backfill.workdir; None when there is no command."""
    b = settings.profile.backfill
    if not b.command:
        return None
    workdir = Path(b.workdir or ".")
    line = " ".join([b.command, *(shlex.quote(a) for a in b.args)])  # backfill.args are given flags too
    return command_contract(line, workdir, _root_of(workdir))


def contract_for_command(settings: Settings, command: BackfillCommand | None) -> Contract | None:
    """The contract of the command that will run (``--command``, the profile's, locate's pick or the engine);
    the profile's backfill.command when it is not known yet."""
    if command is None:
        return contract_for_profile(settings)
    if command.source == "engine":
        return Contract(reads_env=("DATABASE_URL", "OLLAMA_HOST"), engine=True)
    workdir = Path(command.workdir or ".")
    return command_contract(command.command, workdir, _root_of(workdir))


def check_contract(settings: Settings, collection: str, into: str | None = None, *,
                   contract: Contract | None = None, caller_env: Mapping[str, str] | None = None,
                   command: BackfillCommand | None = None) -> ContractCheck:
    """Outcomes for database, provider, model and, with ``into``, the collection it writes; and what scope must state
    as assumed."""
    checked = _check_contract(settings, collection, into, contract=contract, caller_env=caller_env, command=command)
    if (target := _target_collection(settings, collection, into, command, contract)) is None:
        return checked
    return replace(checked, outcomes=(*checked.outcomes, target))


def _target_collection(settings: Settings, collection: str, into: str | None,
                       command: BackfillCommand | None, contract: Contract | None) -> Outcome | None:
    """With ``--into NEW``: the target's own command is given NEW (``commandline.into_unreceived``, the rule run
    refuses by); None without --into, for the engine, or where no command is known."""
    name = "command receives the target collection"
    if not into or into == collection:
        return None
    if command is None:
        b = settings.profile.backfill
        if not b.command:
            return None
        refusal = into_unreceived(b.command, b.args, b.env, "profile backfill.command", into)
        if refusal:  # its code may read the variable carrying NEW
            reads = (contract if contract is not None else contract_for_profile(settings) or Contract()).reads_env
            refusal = into_unreceived(b.command, b.args, b.env, "profile backfill.command", into, reads)
    elif command.source == "engine":
        return None
    else:
        refusal = command.refusal
    if refusal:
        return verdict(name, collection, False, "{into} in the backfill command (or backfill.env)", refusal)
    return verdict(name, collection, True, "", f"it is given {into!r} through {{into}}")


def _check_contract(settings: Settings, collection: str, into: str | None = None, *,
                    contract: Contract | None = None, caller_env: Mapping[str, str] | None = None,
                    command: BackfillCommand | None = None) -> ContractCheck:
    contract = contract if contract is not None else contract_for_command(settings, command)
    b = settings.profile.backfill
    assumptions: list[str] = []
    if b.embeds_in_process:
        assumptions.append(
            f"the command embeds in-process with {b.in_process_model} (backfill.embeds_in_process); "
            f"{settings.model} at {settings.provider_url} is used only to check: recompute compares the stored "
            f"vectors with the server's {settings.model}, which holds only if it is the same model")
    if contract is None:
        assumptions.append(f"contract unknown: the profile names no backfill.command; the command is assumed to read "
                           f"{DEFAULT_NAMES} (with --engine, the harness's own engine reads the profile)")
        return ContractCheck(None, (unproven("contract", collection, "contract unknown: the profile names no "
                                             "backfill.command"),), tuple(assumptions))
    never = _runs_to_completion(contract, collection)
    if not contract.known:
        assumptions.append(f"contract unknown: {contract.reason}; the command is assumed to read {DEFAULT_NAMES}")
        return ContractCheck(contract, (unproven("contract", collection, f"contract unknown: {contract.reason}"),
                                        *([never] if never else [])), tuple(assumptions))
    if contract.engine:
        return ContractCheck(contract, (verdict("command receives the database", collection, True, "",
                                                "backfill-harness's own engine reads the profile"),), tuple(assumptions))
    env = backfill_env(settings, collection, into)
    caller = os.environ if caller_env is None else caller_env
    given = _Given(env, caller, contract)
    outcomes = [_database(settings, contract, given, collection)]
    if not b.embeds_in_process:
        outcomes.append(_provider(settings, contract, given, collection))
    outcomes.append(_model(settings, contract, given, collection))
    if contract.required_flags:
        outcomes.append(_required_flags(contract, collection))
    if (prefix := _prefix(settings, contract, collection)) is not None:
        outcomes.append(prefix)
    if language_model := _language_model(contract, collection):
        outcomes.append(language_model)
    if never:
        outcomes.append(never)
    if into is None and (adds := _adds_only(settings, contract, collection)):
        outcomes.append(adds)
    assumptions.append(f"the backfill command's contract, read from {', '.join(contract.files[:4]) or 'its command'}: "
                       f"{contract.text(most=24)}")
    for o in outcomes:
        if o.status == UNPROVEN:
            assumptions.append(f"{o.check}: unknown ({o.note})")
    return ContractCheck(contract, tuple(outcomes), tuple(assumptions))


def _prefix(settings: Settings, c: Contract, collection: str) -> Outcome | None:
    """The task prefix the command puts before what it embeds is the profile's (chunks.text_prefix): else its vectors
    are of another text than the one the engine writes and recompute re-embeds. None where neither has one."""
    from ..task_prefixes import DOCUMENT_PREFIXES

    name = "command embeds the profile's text"
    wanted = settings.profile.chunks.text_prefix
    found = [(p, where) for p, where in c.task_prefixes if p in DOCUMENT_PREFIXES]
    if not found:
        return unproven(name, collection, f"chunks.text_prefix is {wanted!r}, but the command puts no task prefix "
                                          "locate can see before what it embeds") if wanted else None
    if any(p == wanted for p, _ in found):
        where = next(w for p, w in found if p == wanted)
        return verdict(name, collection, True, "", f"it puts {wanted!r} before what it embeds ({where})")
    prefix, where = found[0]
    return _fail(name, collection, f"chunks.text_prefix: {prefix!r} in the profile",
                 f"the command puts {prefix!r} before what it embeds ({where}), while chunks.text_prefix is {wanted!r}")

def _language_model(c: Contract, collection: str) -> Outcome | None:
    """Unproven where the command reads a language model's settings: the provider here serves embeddings only."""
    names = c.language_model_settings()
    if not names:
        return None
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return unproven("command needs only the embedder", collection,
                    f"it reads a language model's settings ({shown}): besides embedding it may call that model "
                    "(to extract or summarise), which the provider here does not serve; run it where that model "
                    "answers, or backfill with --engine (the harness's own engine embeds only)")


def _runs_to_completion(c: Contract, collection: str) -> Outcome | None:
    """Failed where the command never exits (Contract.serves): run would wait for it until backfill.timeout_s, and
    meanwhile it serves against the database it is given."""
    if not c.serves:
        return None
    return _fail("command runs to completion", collection,
                 "a command that exits once its backfill is done (the application's batch command), or --engine",
                 f"{c.serves}: run would wait for it until backfill.timeout_s")


def _adds_only(settings: Settings, c: Contract, collection: str) -> Outcome | None:
    """Failed where the command only adds rows (``Contract.adds_only``, or it inserts the chunk table's rows again:
    ``Contract.adds_again``): run would add every text beside the chunks there are, and re-embed none of them."""
    em = settings.profile.embeddings
    why = c.adds_only or c.adds_again(settings.profile.chunks.table, None if settings.profile.inline else em.table)
    if not why:
        return None
    return _fail("command backfills in place", collection,
                 "a command that re-embeds the stored rows (the application's re-embed or backfill command), or --engine",
                 why)


def _required_flags(c: Contract, collection: str) -> Outcome:
    """Flags the command's parser requires: without them it stops before it starts (argparse exits 2)."""
    name = "command's required flags"
    missing = c.missing_flags()
    if missing:
        return _fail(name, collection, f"pass {', '.join(missing)} in backfill.command (or backfill.args)",
                     f"the command requires {', '.join(missing)}, which it is not given")
    return verdict(name, collection, True, "", f"it is given {', '.join(c.required_flags)}")


class _Given:
    """What value the command sees for a name: ours, the profile's mapping, or the caller's environment."""

    def __init__(self, env: Mapping[str, str], caller: Mapping[str, str], contract: Contract):
        self.env, self.caller, self.inline = env, caller, set(contract.given_env)

    def value(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        return self.caller.get(name) or None

    def source(self, name: str) -> str:
        return "the profile" if name in self.env else "the caller's environment"


def _fail(check: str, collection: str, fix: str, finding: str) -> Outcome:
    """A failed contract check whose finding also says what to change (scope's reason shows the finding)."""
    return verdict(check, collection, False, fix, f"{finding}; expected {fix}")


def _fix(name: str, placeholder: str, suffix: str = "") -> str:
    return f'add backfill.env: {{{name}: "{{{placeholder}}}{suffix}"}} to the profile'


def _database(settings: Settings, c: Contract, given: _Given, collection: str) -> Outcome:
    name = "command receives the database"
    names = [n for n in c.reads_env if kind_of(n) == "database" and database_part(n) is None]
    parts = {n: database_part(n) for n in c.reads_env if kind_of(n) == "database" and database_part(n) not in (None, "other")}
    if parts and not names:
        return _database_parts(settings, cast(dict[str, str], parts), given, collection)  # None filtered out
    flags = [f for f in c.flags if DATABASE_FLAG.search(f)]
    passed_flags = [f for f in c.given_flags if DATABASE_FLAG.search(f)]
    ours = [n for n in names if given.value(n) == settings.database_url]
    inline = [n for n in names if n in given.inline]
    others = [n for n in names if given.value(n) not in (None, settings.database_url) and n not in given.inline]
    flag_env = dict(c.flag_env)
    if others:
        n = others[0]
        return _fail(name, collection, _fix(n, "database_url"),
                       f"the command reads {n}, which {given.source(n)} sets to another database")
    if ours or inline or passed_flags:
        how = ", ".join([*ours, *inline, *passed_flags])
        return verdict(name, collection, True, "", f"it reads {how}")
    for f in flags:
        if flag_env.get(f) and given.value(flag_env[f]) == settings.database_url:
            return verdict(name, collection, True, "", f"{f} defaults to {flag_env[f]}")
    if names:
        return _fail(name, collection, _fix(names[0], "database_url"),
                       f"the command reads {', '.join(names)} and nothing maps it")
    required = [f for f in c.required_flags if DATABASE_FLAG.search(f)]
    if flags:
        return _fail(name, collection, f'pass it in backfill.command: {flags[0]} "$DATABASE_URL"',
                       f"the command takes the database as {flags[0]}" + (" (required)" if required else "")
                       + " and it is not given")
    dsns = [u for u in c.hardcoded_urls if u.startswith(("postgres://", "postgresql://"))]
    if dsns:
        return _fail(name, collection, "the command to read its database from the environment",
                       f"the command hard-codes {dsns[0]}")
    if apis := list(c.database_apis()):
        return _database_api(apis, given, collection)
    return unproven(name, collection, "the command reads no database setting that locate can see")


def _database_api(apis: list[str], given: _Given, collection: str) -> Outcome:
    """A command that reaches its database only through an HTTP API (Supabase's REST API): no DSN reaches it, and
    which database the API serves cannot be read here."""
    name = "command receives the database"
    what = f"an HTTP API ({', '.join(apis)}: Supabase's REST API), not a Postgres connection"
    set_ = [n for n in apis if given.value(n)]
    if not set_:
        return _fail(name, collection,
                     f"run --engine (the harness writes DATABASE_URL itself), or backfill.env: {{{apis[0]}: the URL of "
                     "an API whose database is DATABASE_URL}",
                     f"the command reaches its database through {what}, and nothing sets it: DATABASE_URL cannot be "
                     "given to it")
    n = set_[0]
    return unproven(name, collection,
                    f"the command reaches its database through {what}; {n} is {given.value(n)} ({given.source(n)}), "
                    "and which Postgres database that API serves cannot be read here: run's closing count measures "
                    "DATABASE_URL only")


def _database_parts(settings: Settings, parts: dict[str, str], given: _Given, collection: str) -> Outcome:
    """A target that reads host, user, password, database name separately: each must be ours."""
    name = "command receives the database"
    ours = database_parts(settings.database_url)
    wrong = {n: p for n, p in parts.items() if given.value(n) != ours.get(f"database_{p}") and n not in given.inline}
    if not wrong:
        return verdict(name, collection, True, "", f"it reads {', '.join(parts)}")
    fix = ", ".join(f'{n}: "{{database_{p}}}"' for n, p in wrong.items())
    unset = [n for n in wrong if given.value(n) is None]
    found = (f"the command reads {', '.join(wrong)} and nothing maps {'it' if len(wrong) == 1 else 'them'}"
             if len(unset) == len(wrong) else f"the command reads {', '.join(wrong)}, not all of them ours")
    return _fail(name, collection, f"add backfill.env: {{{fix}}} to the profile", found)


def _provider(settings: Settings, c: Contract, given: _Given, collection: str) -> Outcome:
    name = "command reaches the provider"
    names = [n for n in c.reads_env if kind_of(n) == "provider" and n not in c.selectors]
    ours = [n for n in names if _same_host(given.value(n), settings.provider_url)]
    inline = [n for n in names if n in given.inline]
    passed = [f for f in c.given_flags if _PROVIDER_FLAG.search(f)]
    hard = [u for u in c.hardcoded_urls if not u.startswith(("postgres://", "postgresql://"))
            and (":11434" in u or "/api/" in u or "ollama" in u or "embed" in u)]
    elsewhere = [u for u in hard if not _same_host(u, settings.provider_url)]
    endpoints = {n: (path, where) for n, path, where in c.endpoint_paths}
    short = [n for n in ours if n in endpoints and not (given.value(n) or "").rstrip("/").endswith(endpoints[n][0])]
    if short:
        n = short[0]
        path, where = endpoints[n]
        return _fail(name, collection, _fix(n, "provider_url", path),
                     (f"the command reads {n} as the embedding endpoint's full URL" if path != "/api" else
                      f"the command reads {n} under Ollama's path") + f" ({path} in {where}), and "
                     f"{given.source(n)} sets it to {given.value(n)}: it would post "
                     + ("to the server's root" if path != "/api" else "outside Ollama's API"))
    if ours or inline or passed:
        return verdict(name, collection, True, "", f"it reads {', '.join([*ours, *inline, *passed])}")
    if names:
        set_elsewhere = [n for n in names if given.value(n)]
        n = (set_elsewhere or names)[0]
        found = (f"the command reads {n}, which {given.source(n)} sets to another host" if set_elsewhere
                 else f"the command reads {', '.join(names)} and nothing maps it")
        return _fail(name, collection, _fix(n, "provider_url", endpoints.get(n, ("",))[0]), found)
    if elsewhere:
        return _fail(name, collection,
                       f"the provider at that address (backfill-harness serve-embeddings --port "
                       f"{_port(elsewhere[0]) or 11434}, or provider.url there), or a command that reads its URL",
                       f"the command hard-codes {elsewhere[0]} while the provider is {settings.provider_url}")
    if hard:
        return verdict(name, collection, True, "", f"it hard-codes {hard[0]}, the provider's address")
    sdk_env = c.openai_base_url()
    if sdk_env is not None and not any(
            _BASE_URL.search(n) and not database_api(n) and kind_of(n) != "database" for n in c.reads_env):
        return _openai_sdk(settings, c, sdk_env, given, collection)
    return unproven(name, collection, "the command reads no provider URL that locate can see")


def _openai_sdk(settings: Settings, c: Contract, env_name: str, given: _Given, collection: str) -> Outcome:
    """Every embedding call is an OpenAI SDK client given no URL in code: it calls api.openai.com unless the SDK's own
    environment variable points it at the provider's OpenAI-compatible API (Ollama's /v1)."""
    name = "command reaches the provider"
    calls = ", ".join(call.split(" ")[0] for call in c.openai_sdk[:3])
    if not env_name:
        return _fail(name, collection, "run --engine, or the command's client given the provider's URL in code "
                     "(openai-node 3: Configuration's basePath)",
                     f"the command embeds through OpenAI's API ({calls}: openai-node 3's client, which takes its URL "
                     f"only from code) and reads no base URL: it calls api.openai.com, never {settings.provider_url}")
    value = given.value(env_name)
    if value and _same_host(value, settings.provider_url):
        return verdict(name, collection, True, "", f"its OpenAI SDK client reads {env_name} ({given.source(env_name)})")
    fix = f'add backfill.env: {{{env_name}: "{{provider_url}}/v1"}} to the profile (Ollama\'s OpenAI-compatible API)'
    found = (f"the command embeds through OpenAI's API ({calls}: an OpenAI SDK client given no URL), which reads "
             f"{env_name}; " + (f"{given.source(env_name)} sets it to another host" if value else "nothing sets it")
             + f": it calls {'that host' if value else 'api.openai.com'}, never {settings.provider_url}")
    return _fail(name, collection, fix, found)


def _model(settings: Settings, c: Contract, given: _Given, collection: str) -> Outcome:
    name = "command uses the model"
    b = settings.profile.backfill
    # the profile requires in_process_model whenever embeds_in_process is set
    wanted = cast(str, b.in_process_model) if b.embeds_in_process else settings.model
    placeholder = "model"
    names = list(model_names(c.reads_env))
    defaults = c.defaults()
    ours = [n for n in names if given.value(n) == wanted]
    long_name = dict(c.flag_aliases)  # `-m` given is `--model` given, where the script declares both

    def model_flag(flag: str) -> bool:
        return is_model_flag(flag, c.flags)

    told = [(long_name.get(f, f), v) for f, v in c.given_flag_values if model_flag(long_name.get(f, f))]
    # a model flag's value is the model the command embeds with: any other fails, whatever else it reads
    for flag, said in told:
        if re.search(r"[$%{]", said):  # a shell or make variable (`--model $$model`): its value is not read here
            return unproven(name, collection, f"the command is given {flag} {said}, whose value locate cannot read")
        if not same_model(said, wanted):
            return _fail(name, collection, f"the command to be given {flag} {wanted}",
                         f"the command is given {flag} {said} while the profile's model is {wanted}")
    if told:
        return verdict(name, collection, True, "", "it is given " + ", ".join(f"{f} {v}" for f, v in told))
    passed = [f for f in c.given_flags if model_flag(f)]
    hard = list(c.in_process_models if b.embeds_in_process else c.hardcoded_models)
    if ours or passed:
        return verdict(name, collection, True, "", f"it reads {', '.join([*ours, *passed])}")
    if names:
        n = names[0]
        value = given.value(n)
        if value is not None:
            return _fail(name, collection, f"{n} set to {wanted}" if b.embeds_in_process else _fix(n, placeholder),
                           f"the command reads {n}, which {given.source(n)} sets to {value!r}, not {wanted!r}")
        if b.embeds_in_process and defaults.get(n) == wanted:
            return verdict(name, collection, True, "", f"{n} is unset and defaults to {wanted}")
        fix = f'add backfill.env: {{{n}: "{wanted}"}} to the profile' if b.embeds_in_process else _fix(n, placeholder)
        passed_names = ", ".join(sorted(x for x in given.env if kind_of(x) == "model")) or "none"
        return _fail(name, collection, fix,
                       f"the command reads {', '.join(names)} but only {passed_names} is passed"
                       + (f" (it would use its default {defaults[n]!r})" if defaults.get(n) else ""))
    # a model flag the command line does not give: the command embeds with its literal default
    for flag, default in c.flag_defaults:
        if model_flag(flag) and flag not in c.given_flags and not b.embeds_in_process:
            if same_model(default, wanted):
                return verdict(name, collection, True, "", f"its {flag} defaults to {default}")
            return _fail(name, collection, f"the command to be given {flag} {wanted}",
                         f"the command is not given {flag}, which defaults to {default}, while the profile's model "
                         f"is {wanted}")
    if hard:
        if wanted in hard or any(same_model(h, wanted) for h in hard):
            return verdict(name, collection, True, "", f"it hard-codes {wanted}")
        return _fail(name, collection, f"the command to use {wanted} (or the profile to name {hard[0]})",
                       f"the command hard-codes model {hard[0]} while the profile's model is {wanted}")
    return unproven(name, collection, "the command reads no model setting that locate can see")


def _host_port(url: str | None) -> tuple[str, int | None] | None:
    if not url:
        return None
    text = url if "://" in url else f"http://{url}"
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    except ValueError:
        return None
    return ("localhost" if host in _LOCAL else host), port


def _same_host(a: str | None, b: str | None) -> bool:
    pa, pb = _host_port(a), _host_port(b)
    return pa is not None and pa == pb


def _port(url: str) -> int | None:
    hp = _host_port(url)
    return hp[1] if hp else None


def _root_of(workdir: Path) -> Path:
    """The repository (or JS workspace) around the working directory, for following imports."""
    try:
        top = subprocess.run(["git", "-C", str(workdir), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=10)
        if top.returncode == 0 and top.stdout.strip():
            root = Path(top.stdout.strip())
            # Inside a bigger checkout (a fixture in a repo), stop at the nearest project marker instead.
            for parent in [workdir.resolve(), *workdir.resolve().parents]:
                if any((parent / m).exists() for m in ("pnpm-workspace.yaml", "pyproject.toml", ".git")) or \
                        _workspaces(parent):
                    return parent
                if parent == root:
                    break
            return root
    except (OSError, subprocess.SubprocessError):
        pass
    return workdir


def _workspaces(folder: Path) -> bool:
    import json

    try:
        return "workspaces" in json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False

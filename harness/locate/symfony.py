"""Symfony applications: the embedding clients the service container builds from ``config/services*.yaml`` (NeuronAI's
``OllamaEmbeddingsProvider`` wired with ``$model: '%app.ollama_model%'``), which no ``new`` in the code shows, with
the model and URL each argument is given: a literal, ``%env(NAME)%``, or a parameter that is one; and the console
commands that embed (``php bin/console NAME``) with their contract."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path, PurePosixPath

import yaml

from .contract import Contract
from .orm_writes import only_adds
from .embedding_calls import EmbeddingCall
from .entrypoints import Entrypoint

# config/services.yaml and its per-environment files (services_dev.yaml), wherever the config folder sits
_SERVICES_FILE = re.compile(r"(?:^|/)config/services(?:_\w+)?\.ya?ml$")
# A class that embeds: its own name says so (OllamaEmbeddingsProvider, OpenAIEmbeddings, App\Ai\Embedder); one that
# keeps or reads embeddings (an EmbeddingStore, an EmbeddingRepository) does not.
_EMBEDDER = re.compile(r"^(?!.*(?:Store|Repository)$).*Embedd?(?:ing|er)", re.I)
# `%env(NAME)%`, with processors before the name (`%env(resolve:NAME)%`, `%env(default:param:NAME)%`)
_ENV = re.compile(r"^%env\((?:[\w-]+:)*(?P<name>\w+)\)%$")
_PARAMETER = re.compile(r"^%(?P<name>[^%\s]+)%$")
# The named arguments (`$model`, `$baseUrl`) that take the model and the server's URL.
_MODEL_ARGS = frozenset({"model", "modelname", "embeddingmodel", "modelid"})
_URL_ARGS = frozenset({"url", "baseurl", "host", "endpoint", "apiurl", "baseuri", "uri"})


def is_services_config(rel: str) -> bool:
    return bool(_SERVICES_FILE.search(rel))


def embedding_calls(rel: str, text: str) -> list[EmbeddingCall]:
    """The services whose class embeds, each with its model and URL as a literal or the env variable filling them."""
    try:
        # composed, not loaded: Symfony's tags (`!tagged_iterator`) are nodes like any other, and keys keep their lines
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    top = _mapping(root)
    parameters = {k: v.value for k, v in _mapping(top.get("parameters")).items() if isinstance(v, yaml.ScalarNode)}
    found = []
    for service, (key, node) in _entries(top.get("services")).items():
        definition = _mapping(node)
        cls = definition.get("class")
        name = cls.value if isinstance(cls, yaml.ScalarNode) else service
        if not _EMBEDDER.search(name.rsplit("\\", 1)[-1]):
            continue
        args = {k.lstrip("$").replace("_", "").lower(): v.value
                for k, v in _mapping(definition.get("arguments")).items() if isinstance(v, yaml.ScalarNode)}
        model = _value(next((args[a] for a in args if a in _MODEL_ARGS), None), parameters)
        url = _value(next((args[a] for a in args if a in _URL_ARGS), None), parameters)
        found.append(EmbeddingCall(rel, key.start_mark.line + 1, "ollama-config" if "ollama" in name.lower() else "config",
                                   name, model=model[0], model_env=model[1], url=url[0], url_env=url[1]))
    return found


def _value(given: str | None, parameters: dict[str, str]) -> tuple[str | None, str | None]:
    """(literal or env default, env name) of an argument: a parameter's value in its place, then ``%env(NAME)%``
    with the default a parameter ``env(NAME)`` gives it."""
    seen = set()
    while given is not None and (m := _PARAMETER.match(given)) and not _ENV.match(given) and given not in seen:
        seen.add(given)
        given = parameters.get(m.group("name"))
    if given is None or given in seen:
        return None, None
    if m := _ENV.match(given):
        return parameters.get(f"env({m.group('name')})"), m.group("name")
    return (given, None) if "%" not in given else (None, None)


def _mapping(node) -> dict[str, yaml.Node]:
    return {k: v for k, (_, v) in _entries(node).items()}


def _entries(node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}



# -- console commands (`php bin/console NAME`) -------------------------------------------------------------------

_AS_COMMAND = re.compile(r"""#\[\s*AsCommand\s*\(\s*(?:name\s*:\s*)?(['"])(?P<name>[^'"]+)\1""")
_DEFAULT_NAME = re.compile(r"""\$defaultName\s*=\s*(['"])(?P<name>[^'"]+)\1""")  # before Symfony 6.1's attribute
_COMMAND = re.compile(r"\bclass\s+\w+\s+extends\s+(?:[\w\\]*\\)?Command\b")
_USE = re.compile(r"(?m)^\s*use\s+(?P<cls>[\w\\]+)\s*(?:as\s+\w+\s*)?;")
_ENV_IN_CONFIG = re.compile(r"%env\((?:[\w-]+:)*(?P<name>\w+)\)%")
def console_command(root: Path, rel: str, data: bytes) -> Entrypoint | None:
    """A console command class of a Symfony application (a ``bin/console`` at or above it) that embeds, itself, through
    a class of the application it uses, or through a service of the container it is given: ``php bin/console NAME``
    from that folder."""
    if not rel.endswith(".php") or not (b"AsCommand" in data or b"$defaultName" in data) or b"extends" not in data:
        return None
    text = data.decode("utf-8", "replace")
    named = _AS_COMMAND.search(text) or _DEFAULT_NAME.search(text)
    folder = next((p for p in PurePosixPath(rel).parents if (root / p / "bin" / "console").is_file()), None)
    if named is None or folder is None or not _COMMAND.search(text):
        return None
    contract = _contract(root, folder, rel, text)
    if not contract.embedding_calls:
        return None
    name = named.group("name").split("|")[0]
    return Entrypoint(rel, "symfony-command", name, f"php bin/console {name}", str(folder), contract=contract)


def console_contract(name: str, workdir: Path, root: Path) -> Contract | None:
    """The contract of ``php bin/console NAME`` run in ``workdir``: the command class of that name under its
    ``src/``; None where none has it."""
    for path in sorted((workdir / "src").rglob("*.php")):
        text = path.read_text("utf-8", "replace")
        named = _AS_COMMAND.search(text) or _DEFAULT_NAME.search(text)
        if named and name in named.group("name").split("|") and _COMMAND.search(text):
            folder = PurePosixPath(workdir.relative_to(root).as_posix()) if workdir != root else PurePosixPath(".")
            return _contract(root, folder, path.relative_to(root).as_posix(), text)
    return None


def _contract(root: Path, folder: PurePosixPath, rel: str, text: str) -> Contract:
    """What the command, the application's classes it uses and the container's services it is given read: every
    ``%env(NAME)%`` of the configuration the kernel loads (the `.env` files give their defaults), the embedders
    among those services and the calls of those files."""
    from .contract import _endpoint_paths, _keeps, _mask
    from .lexing import lex
    from .embedding_calls import has_calls, scan
    from .laravel import embedding_calls as php_calls
    from .literals import dotenv_line

    base = root / folder
    texts = {rel: text}
    for used in _USE.finditer(text):
        cls = used.group("cls")
        if cls.startswith("App\\") and (path := base / "src" / (cls[4:].replace("\\", "/") + ".php")).is_file():
            texts[path.relative_to(root).as_posix()] = path.read_text("utf-8", "replace")
    named = {u.group("cls") for t in texts.values() for u in _USE.finditer(t)}
    calls = [c for path, t in texts.items() for c in (scan(path, t, "php") if has_calls(t) else []) + php_calls(path, t)]
    env: dict[str, None] = {}
    for config in sorted((base / "config").rglob("*.y*ml")):
        config_text = config.read_text("utf-8", "replace")
        env.update(dict.fromkeys(m.group("name") for m in _ENV_IN_CONFIG.finditer(config_text)))
        if is_services_config(config.relative_to(root).as_posix()):
            calls += [c for c in embedding_calls(config.relative_to(root).as_posix(), config_text)
                      if c.name in named or c.name.rsplit("\\", 1)[-1] in " ".join(texts.values())]
    defaults = {}
    # Symfony's Dotenv: .env, then .env.local, .env.$APP_ENV (dev unless told), each over the one before; the
    # environment over them all
    for dotenv in (base / ".env", base / ".env.local", base / ".env.dev", base / ".env.dev.local"):
        for line in (dotenv.read_text("utf-8", "replace").splitlines() if dotenv.is_file() else ()):
            setting = dotenv_line(line) if not line.lstrip().startswith("#") else None
            if setting and setting[0] in env and setting[1]:
                defaults[setting[0]] = setting[1]
    contract = Contract(reads_env=tuple(env), files=tuple(texts),
                        env_defaults=tuple((n, _mask(d)) for n, d in defaults.items()
                                           if not re.search(r"PASS|SECRET|KEY|TOKEN", n)),
                        embedding_calls=tuple(f"{c.path}:{c.line} {c.kind}" for c in calls),
                        hardcoded_models=tuple(dict.fromkeys(c.model for c in calls if c.model and not c.model_env)),
                        keeps=tuple(k for path, t in texts.items() for k in _keeps(path, t, *lex(t, "php"))),
                        adds_only=_adds_only(texts))
    # the defaults are the .env files' own values, said as theirs (not as code's)
    return replace(contract, endpoint_paths=tuple(_endpoint_paths([base], replace(contract, env_defaults=()))))


def _adds_only(texts: dict[str, str]) -> str:
    """Why the files only add rows (``contract.only_adds`` of this framework's calls)."""
    return only_adds(texts, "symfony")


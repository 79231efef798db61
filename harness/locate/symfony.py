"""Symfony applications: the embedding clients the service container builds from ``config/services*.yaml`` (NeuronAI's
``OllamaEmbeddingsProvider`` wired with ``$model: '%app.ollama_model%'``), which no ``new`` in the code shows, with
the model and URL each argument is given: a literal, ``%env(NAME)%``, or a parameter that is one."""

from __future__ import annotations

import re

import yaml

from .embedding_calls import EmbeddingCall

# config/services.yaml and its per-environment files (services_dev.yaml), wherever the config folder sits
_SERVICES_FILE = re.compile(r"(?:^|/)config/services(?:_\w+)?\.ya?ml$")
# A class that embeds: its own name says so (OllamaEmbeddingsProvider, OpenAIEmbeddings, App\Ai\Embedder).
_EMBEDDER = re.compile(r"Embedd?(?:ing|er)", re.I)
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


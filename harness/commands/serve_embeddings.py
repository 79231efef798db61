"""``backfill-harness serve-embeddings``: the Ollama-compatible server, in the foreground."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve-embeddings",
        help="serve real embedding models over Ollama's API (for rehearsals and tests)",
        description="Serve hash-embed:N (and all-minilm when installed) over Ollama's embedding API.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=11434, help="port (default 11434, Ollama's)")
    p.add_argument("--model", action="append", dest="models", metavar="NAME",
                   help="model to list in /api/tags (repeatable; default hash-embed:384)")
    p.add_argument("--alias", action="append", default=[], metavar="NAME=MODEL",
                   help="serve MODEL under NAME too, e.g. nomic-embed-text=hash-embed:768 (repeatable)")
    p.set_defaults(handler=run)


def parse_aliases(items: list[str]) -> dict[str, str]:
    aliases = {}
    for item in items:
        name, sep, model = item.partition("=")
        if not sep or not name.strip() or not model.strip():
            raise ConfigError(f"--alias {item!r} is not NAME=MODEL; expected e.g. nomic-embed-text=hash-embed:768")
        aliases[name.strip()] = model.strip()
    return aliases


def run(args: argparse.Namespace) -> int:
    from ..embedserver import EmbeddingServer
    from ..embedserver.models import ModelRegistry, canonical

    aliases = parse_aliases(args.alias)
    try:
        registry = ModelRegistry(args.models, aliases)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    unserved = [given for given in args.models or [] if canonical(given) in registry.unserved()]
    if unserved:
        raise ConfigError(f"--model {unserved[0]!r} is not a model this server can run; expected hash-embed:N (N from 2 "
                          "to 16000), all-minilm (extra minilm), or an application's model name served with "
                          "--alias NAME=MODEL (e.g. --alias nomic-embed-text=hash-embed:768)")
    try:
        server = EmbeddingServer(args.host, args.port, models=args.models, aliases=aliases)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    names = ", ".join(server.registry.names())
    print(f"serving {names} at {server.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0

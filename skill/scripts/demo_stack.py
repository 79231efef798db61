"""A throwaway demo target: embedded PostgreSQL + pgvector with the demo RAG app's corpus loaded, not yet embedded.

    python skill/scripts/demo_stack.py --dir /tmp/bh-demo

When the database is ready it writes the demo app's profile to DIR/profile.yaml and DIR/env.sh
(DATABASE_URL, OLLAMA_HOST, EMBED_MODEL, PYTHON, and P: that profile; readable by you only) and waits
until interrupted; then it stops Postgres and deletes DIR. Pair it with ``backfill-harness serve-embeddings``.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import sys
import threading
from importlib import resources
from pathlib import Path

DATABASE = "ragapp"


def env_lines(database_url: str, ollama_host: str, model: str, profile: Path) -> list[str]:
    """The ``export`` lines a shell sources to reach this stack."""
    values = {"DATABASE_URL": database_url, "OLLAMA_HOST": ollama_host, "EMBED_MODEL": model, "PYTHON": sys.executable,
              "P": str(profile)}
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="a folder that does not exist yet (it is deleted at exit)")
    parser.add_argument("--ollama-host", default="http://127.0.0.1:11434",
                        help="where serve-embeddings (or Ollama) listens (default http://127.0.0.1:11434)")
    parser.add_argument("--model", default="hash-embed:384", help="EMBED_MODEL for the demo app (default hash-embed:384)")
    args = parser.parse_args(argv)
    if args.dir.exists() and any(args.dir.iterdir()):
        print(f"demo_stack: {args.dir} is not empty; expected a new folder", file=sys.stderr)
        return 2

    from examples.ragapp.app import load_corpus
    from harness.stack import EmbeddedPostgres

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = EmbeddedPostgres(root=args.dir / "pg")
    try:
        server.start()
        dsn = server.create_database(DATABASE)
        counts = load_corpus(dsn)
        # The demo app's profile ships with the package: the skill's commands need no path inside a checkout.
        profile = args.dir / "profile.yaml"
        profile.write_text((resources.files("examples.ragapp") / "profile.yaml").read_text(encoding="utf-8"))
        env_file = args.dir / "env.sh"
        env_file.touch(mode=0o600)
        env_file.write_text("\n".join(env_lines(dsn, args.ollama_host, args.model, profile)) + "\n")
        loaded = ", ".join(f"{name} {n} chunks" for name, n in counts.items())
        print(f"demo stack ready: database {DATABASE} ({loaded}); run: . {env_file}", flush=True)
        stop.wait()
    finally:
        server.stop("immediate")
        shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

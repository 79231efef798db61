"""The demo app's own backfill entrypoint: ``python -m examples.ragapp.backfill_embeddings --collection C``.

Settings come from the environment, the way apps usually do it: DATABASE_URL,
OLLAMA_HOST, EMBED_MODEL (default all-minilm), EMBED_BATCH_SIZE (default 100).
It embeds with the harness engine, used as a library.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from harness import BackfillOptions, HarnessError, resolve, run_backfill

from .app import PROFILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", required=True, help="collection to backfill, e.g. global_corpus or tenant_acme")
    parser.add_argument("--dry-run", action="store_true", help="count what needs embedding; write nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the progress
    try:
        batch = os.environ.get("EMBED_BATCH_SIZE")
        # The profile names DATABASE_URL, OLLAMA_HOST and EMBED_MODEL; its provider headers and retries come along.
        settings = resolve(PROFILE, batch_size=int(batch) if batch else None)
        summary = run_backfill(settings, BackfillOptions(collection=args.collection, batch_size=settings.batch_size,
                                                         dry_run=args.dry_run))
    except (HarnessError, ValueError) as exc:
        print(f"backfill_embeddings: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    print(summary.line())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())

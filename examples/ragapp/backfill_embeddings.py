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

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import HarnessError
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.stack import normalise_ollama_host

from .app import PROFILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", required=True, help="collection to backfill, e.g. global_corpus or tenant_acme")
    parser.add_argument("--dry-run", action="store_true", help="count what needs embedding; write nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the progress
    for name in ("DATABASE_URL", "OLLAMA_HOST"):
        if not os.environ.get(name):
            print(f"backfill_embeddings: {name} is not set; expected the {name.split('_')[0].lower()} address", file=sys.stderr)
            return 2
    try:
        profile = load_profile(PROFILE)
        batch = int(os.environ.get("EMBED_BATCH_SIZE") or profile.backfill.batch_size)
        with OllamaProvider(normalise_ollama_host(os.environ["OLLAMA_HOST"]), profile.provider.model,
                            timeout_s=profile.provider.timeout_s) as provider:
            summary = run_backfill(
                profile, os.environ["DATABASE_URL"], provider,
                BackfillOptions(collection=args.collection, batch_size=batch, dry_run=args.dry_run),
            )
    except (HarnessError, ValueError) as exc:
        print(f"backfill_embeddings: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    print(summary.line())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())

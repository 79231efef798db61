"""``backfill-harness profile init``: a commented draft profile from the database and the repository."""

from __future__ import annotations

import argparse

from ._common import add_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="write a draft profile for a target",
                       description="Draft a target's profile from its database and repository.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    text = "write a commented draft profile: guesses explained, unknowns marked TODO (refused until resolved)"
    v = verbs.add_parser("init", help=text, description=text)
    v.add_argument("--repo", default=".", help="the target's repository (default: the current folder)")
    v.add_argument("--database-url", help="the target's database (default: DATABASE_URL); never written to the draft")
    v.add_argument("--output", help="write the draft here (default: print it); an existing file is not replaced")
    v.add_argument("--model", help="the embedding model, when the database does not say")
    v.add_argument("--table", help="the table holding the vector column, when the database has several")
    add_json(v)
    v.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from ..errors import ConfigError
    from ..files import atomic_write_text
    from ..output import emit
    from ..profile_draft import profile_init

    dsn = args.database_url or os.environ.get("DATABASE_URL")
    if not dsn:
        raise ConfigError("profile init needs the target's database: give --database-url URL or set DATABASE_URL")
    if not Path(args.repo).is_dir():
        raise ConfigError(f"--repo {args.repo!r} is not a folder; expected the target's repository")
    out = Path(args.output) if args.output else None
    if out is not None and out.exists():
        raise ConfigError(f"--output {str(out)!r} exists; expected a new file (a draft never replaces a profile)")
    draft = profile_init(args.repo, dsn, model=args.model, table=args.table, provider_url=os.environ.get("OLLAMA_HOST"))
    if out is not None:
        atomic_write_text(out, draft.text)
    todo = ", ".join(draft.todo) or "none"
    human = (f"Draft profile written to {out}; TODO keys: {todo}." if out else draft.text.rstrip("\n")
             + f"\n# TODO keys: {todo}")
    emit({"ok": True, "output": str(out) if out else None, **draft.as_dict()}, args.json, human)
    return 0
